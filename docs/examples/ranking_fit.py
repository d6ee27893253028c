"""Records as a ranking: teach a network that the record's placement beats its siblings.

The steady-state runs (docs/steady-state.md) label a record well by the pieces the record
still played from it and two random siblings per step by a short lookahead. This adds
every sibling of every record step as a *pair* (record well > sibling), trained with a
ranking loss beside the usual value loss: no search labels the pairs, so all ~13
siblings of a step cost nothing to use.

    python docs/examples/ranking_fit.py --run data/training/steady-2 --out runs/ranking \
        --pair-weight 1.0 --temperature 0.1

It fits generation 0 of the run again (the run's records.npz and labels-0.npz, the same
init) with the pairs added, writes ``OUT/net.npz`` and a preset ``OUT/presets/net.toml``, and
prints, for each network named with ``--compare``, how often the record's placement is
ranked first among its siblings and how many sibling pairs are ordered right, on the
trained part of the records and on the held-out part (the 3,711-line prefix from piece
2,750). Survival is then measured with
``hatetris bench starts --suite data/suites/heldout.json --solvers OUT/presets/net.toml``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from hatetris.nnue.dataset import load_dataset, read_games, record_pairs
from hatetris.nnue.fit import feature_matrix, fit, predict_idx
from hatetris.nnue.network import Network, load_network, save_network


def ranking_report(net, rows, better, worse) -> tuple[float, float]:
    """(record placement ranked first among its siblings, pairs ordered right)."""
    lay = net.layout
    idx = np.zeros((len(rows), lay.max_active), np.int64)
    nact = np.zeros(len(rows), np.int64)
    feature_matrix(rows, lay.bases, lay.max_active, idx, nact)
    v = np.zeros(len(rows))
    predict_idx(idx, nact, net.w1.astype(np.float64), net.w2.astype(np.float64),
                net.b2.astype(np.float64), v)
    return ranking_of(v, better, worse)


def ranking_of(v, better, worse) -> tuple[float, float]:
    """(record placement ranked first among its siblings, pairs ordered right) by the
    values ``v`` of the wells."""
    right = v[better] > v[worse]
    steps = np.unique(better)
    first = np.ones(len(steps), np.bool_)
    np.logical_and.at(first, np.searchsorted(steps, better), right)
    return float(first.mean()), float(right.mean())


def run_records(run_arg: str) -> tuple[Path, dict, list, tuple]:
    """A run's folder, its config, its games and their ``record_pairs``."""
    run = Path(run_arg)
    config = json.loads((run.parent / f"{run.name}.json").read_text())
    games = read_games(config["games"], config["min_pieces"])
    return run, config, games, record_pairs(games, config["hold_out"])


def generation_zero_data(run: Path, config: dict) -> tuple[list, list]:
    """A run's generation-0 value data as its fit saw it: ``([rows], [labels])``, the
    records' wells ``record_copies`` times with their pieces-to-go labels, then the two
    siblings a step with their lookahead labels."""
    rec = load_dataset(run / "records.npz")
    with np.load(run / "labels-0.npz") as z:
        sib_labels = z["labels"].astype(np.float64)
    rec_w = rec.kind == 0
    copies = config.get("record_copies", 2)
    return ([np.repeat(rec.rows[rec_w], copies, 0), rec.rows[rec.kind == 1]],
            [np.repeat(rec.labels[rec_w], copies), sib_labels[: int((rec.kind == 1).sum())]])


def preset_text(description: str, network: str, depth: int = 3) -> str:
    """A preset of the shipped search (chains of ``depth``, optimistic piece, shortlist
    8) with ``network``, resolved from the folder above the preset's own."""
    return (f'description = "{description}"\n\n'
            '[search]\nkind = "beam"\nwidth = 3000\ncheckpoint_every = 10\n\n'
            f'[eval]\nkind = "nnue"\nnetwork = "{network}"\n\n'
            f'[quiescence]\nenabled = true\ndepth = {depth}\npiece = "optimistic"\n'
            'shortlist = 8\n')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="data/training/steady-2")
    ap.add_argument("--out", default="runs/ranking")
    ap.add_argument("--pair-weight", type=float, default=1.0)
    ap.add_argument("--temperature", type=float, default=0.1)
    ap.add_argument("--init", default=None, help="start from this network (default: the "
                    "run's init)")
    ap.add_argument("--sets", default=None, help="start from a random network with these "
                    "feature sets (comma-separated, e.g. rows,windows_positional) instead")
    ap.add_argument("--hidden", type=int, default=32, help="hidden units of --sets")
    ap.add_argument("--lr", type=float, default=None, help="default: the run's")
    ap.add_argument("--epochs", type=int, default=None, help="default: the run's")
    ap.add_argument("--compare", default="", help="comma-separated .npz networks to report")
    args = ap.parse_args()

    run, config, games, (rows, labels, better, worse, held) = run_records(args.run)

    # The run's generation-0 data, then every sibling as a pair member only.
    base_rows, base_labels = generation_zero_data(run, config)
    n_base = sum(len(r) for r in base_rows)
    train_pairs = ~held
    all_rows = np.ascontiguousarray(np.concatenate(base_rows + [rows]))
    all_labels = np.concatenate(base_labels + [np.full(len(rows), np.nan)])
    pairs = (n_base + better[train_pairs], n_base + worse[train_pairs])

    if args.sets:
        net = Network.random(tuple(args.sets.split(",")), hidden=args.hidden,
                             seed=config["seed"])
    else:
        net = load_network(args.init or config["init"])
    result = fit(net, all_rows, all_labels, seed=config["seed"],
                 epochs=args.epochs or config["epochs"], batch=config["batch"],
                 lr=args.lr or config["lr"], pairs=pairs,
                 pair_weight=args.pair_weight, temperature=args.temperature,
                 progress=lambda e, t, v: print(f"epoch {e}: train {t:.4f} val {v:.4f}",
                                                flush=True))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save_network(out / "net.npz", net, trained={
        "from": str(run), "pair_weight": args.pair_weight, "temperature": args.temperature,
        "sets": args.sets, "hidden": args.hidden, "val_loss": result.val_loss,
        "val_pair_accuracy": result.val_pair_accuracy,
        "epochs": result.epochs})
    # A preset resolves its network from the folder above its own, as a run's presets do.
    (out / "presets").mkdir(exist_ok=True)
    (out / "presets" / "net.toml").write_text(
        'description = "Records as a ranking (docs/examples/ranking_fit.py)"\n\n'
        '[search]\nkind = "beam"\nwidth = 3000\ncheckpoint_every = 10\n\n'
        '[eval]\nkind = "nnue"\nnetwork = "net.npz"\n\n'
        '[quiescence]\nenabled = true\ndepth = 2\n')
    print(f"fit: {result}")
    names = [n for n in args.compare.split(",") if n] + [str(out / "net.npz")]
    print("network | trained: first, pairs | held out: first, pairs")
    for name in names:
        other = load_network(name)
        tr = ranking_report(other, rows, better[~held], worse[~held])
        ho = ranking_report(other, rows, better[held], worse[held])
        print(f"{name} | {tr[0]:.3f}, {tr[1]:.3f} | {ho[0]:.3f}, {ho[1]:.3f}")


if __name__ == "__main__":
    main()
