"""Records as a ranking of the wells the search compares: the chains' chosen wells.

The search values a child by the best of its own value and its quiescence chains' wells
(``QuiescenceEvaluation``), so the network's ranking of the record's placement above its
siblings (``ranking_fit.py``) is not the ranking the search sees: with ``ranked-0`` the
record's placement is first at 67% of the trained steps by the network's own values and
at 44% by the chains' (``search_ranking.py``). This fits the pairs on the wells the chains
choose: each round takes, for every record well and sibling, the well of its chain tree
with the highest value under the current network (the well itself if none is higher),
and trains ``record's chosen well > sibling's chosen well`` beside the run's value loss
(the generation-0 data of ``ranking_fit.py``), continuing from the last round's network.

    python docs/examples/chain_ranking_fit.py --init data/nets/ranked-0.npz \
        --out runs/chain-ranking --rounds 3

Each round writes ``OUT/net-R.npz`` and a preset ``OUT/presets/net-R.toml`` (the shipped
search with that network) and prints the records' ranking by the network's own values and
by the chains' (trained and held-out steps), as ``search_ranking.py`` does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ranking_fit import (  # noqa: E402
    generation_zero_data, preset_text, ranking_of, run_records)

from hatetris.eval.quiescence import QuiescenceEvaluation  # noqa: E402
from hatetris.nnue.evaluation import NNUEEvaluation  # noqa: E402
from hatetris.nnue.fit import fit  # noqa: E402
from hatetris.nnue.network import load_network, save_network  # noqa: E402

def chosen_wells(values: np.ndarray, n_roots: int, root: np.ndarray) -> np.ndarray:
    """For each root ``i < n_roots``, the index of the highest value among the root itself
    and its chain wells (``n_roots + j`` for chain well ``j`` with ``root[j] == i``);
    ties keep the root."""
    best = values[:n_roots].copy()
    chain = values[n_roots:]
    np.maximum.at(best, root, chain)
    chosen = np.arange(n_roots)
    lifted = np.flatnonzero(chain > values[:n_roots][root])
    hit = lifted[chain[lifted] == best[root[lifted]]]
    chosen[root[hit]] = n_roots + hit
    return chosen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="data/training/steady-2")
    ap.add_argument("--init", default="data/nets/ranked-0.npz")
    ap.add_argument("--out", default="runs/chain-ranking")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--depth", type=int, default=3, help="the chains' depth")
    ap.add_argument("--epochs", type=int, default=None, help="default: the run's")
    ap.add_argument("--lr", type=float, default=None, help="default: the run's")
    ap.add_argument("--pair-weight", type=float, default=1.0)
    ap.add_argument("--temperature", type=float, default=0.1)
    ap.add_argument("--own-pairs", action="store_true",
                    help="also keep the pairs on the wells themselves")
    args = ap.parse_args()

    run, config, _, (rows, _, better, worse, held) = run_records(args.run)
    quiescence = QuiescenceEvaluation(None, args.depth, "optimistic")
    chain_rows, _, root = quiescence.chain_wells(rows, np.zeros(len(rows), np.int64))
    wells = np.ascontiguousarray(np.concatenate([rows, chain_rows]))
    print(f"{len(rows)} record wells and siblings, {len(better)} pairs, "
          f"{len(chain_rows)} chain wells", flush=True)

    base_rows, base_labels = generation_zero_data(run, config)
    n_base = sum(len(r) for r in base_rows)
    all_rows = np.ascontiguousarray(np.concatenate(base_rows + [wells]))
    all_labels = np.concatenate(base_labels + [np.full(len(wells), np.nan)])

    out = Path(args.out)
    (out / "presets").mkdir(parents=True, exist_ok=True)
    net = load_network(args.init)
    values = np.zeros(len(wells))
    print("round | own values: trained first, pairs; held out first, pairs | "
          "chains: the same | lifted by a chain")
    for r in range(args.rounds + 1):
        NNUEEvaluation(net).evaluate(wells, np.zeros(len(wells), np.int64), values)
        chosen = chosen_wells(values, len(rows), root)
        chained = values[chosen]
        own = [ranking_of(values, better[m], worse[m]) for m in (~held, held)]
        ch = [ranking_of(chained, better[m], worse[m]) for m in (~held, held)]
        print(f"{r} | {own[0][0]:.3f}, {own[0][1]:.3f}; {own[1][0]:.3f}, {own[1][1]:.3f} | "
              f"{ch[0][0]:.3f}, {ch[0][1]:.3f}; {ch[1][0]:.3f}, {ch[1][1]:.3f} | "
              f"{(chosen >= len(rows)).mean():.3f}", flush=True)
        if r == args.rounds:
            break
        b, w = chosen[better[~held]], chosen[worse[~held]]
        keep = b != w
        pb, pw = [b[keep]], [w[keep]]
        if args.own_pairs:
            pb.append(better[~held])
            pw.append(worse[~held])
        pairs = (n_base + np.concatenate(pb), n_base + np.concatenate(pw))
        result = fit(net, all_rows, all_labels, seed=config["seed"] + r,
                     epochs=args.epochs or config["epochs"], batch=config["batch"],
                     lr=args.lr or config["lr"], pairs=pairs, pair_weight=args.pair_weight,
                     temperature=args.temperature)
        print(f"fit {r + 1}: {result}", flush=True)
        save_network(out / f"net-{r + 1}.npz", net, trained={
            "from": args.init, "round": r + 1, "depth": args.depth,
            "pair_weight": args.pair_weight, "temperature": args.temperature,
            "own_pairs": args.own_pairs, "val_loss": result.val_loss,
            "val_pair_accuracy": result.val_pair_accuracy, "epochs": result.epochs})
        (out / "presets" / f"net-{r + 1}.toml").write_text(
            preset_text(f"chain_ranking_fit.py round {r + 1}", f"net-{r + 1}.npz", args.depth))


if __name__ == "__main__":
    main()
