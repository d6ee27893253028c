"""An anchor against drift: hold a new network to its parent's values where its teacher
is silent.

Run steady-16's generation 1 (a wide beam's futures from steady-state positions) lifted
the gate and lost lines from the empty well: the probes never showed the opening, and
the network forgot it. Here the parent (the run's best network) plays the empty well at
a few widths; wells drawn from every depth of those beams keep the parent's own value
as their label (a distillation term beside the records' values and the teacher's pairs).
Where the teacher speaks (the steady state) its pairs move the network; where it does
not (the opening), the parent's values hold it.

    python docs/examples/anchor_fit.py collect --widths 1000,2000,3000,5000 \\
        --out runs/anchor
    python docs/examples/anchor_fit.py fit --run data/training/steady-16 \\
        --anchor runs/anchor --copies 1 --out runs/anchor/fit-1

``collect`` writes ``width-W.npz`` per width (resumes: skips widths written), up to
``--keep`` wells a depth drawn at random (seeded by the width) and, with
``--children N``, N random children of each (the candidates the beam ranked there, kept
or not), each with the parent's value. ``fit`` refits the run's generation 1 exactly as ``hatetris train`` did (its
``training_data(1)``, from ``init``, seed ``seed + 1``; with ``--copies 0`` it is that
fit, checked against the run's recorded validation loss) with the anchor wells added
``--copies`` times, and writes ``OUT/net.npz`` and the gate's preset ``OUT/net.toml``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

GAME = Path("data/records/david-felipe-6-first-5000.txt")


def network_values(net, rows: np.ndarray) -> np.ndarray:
    from hatetris.nnue.fit import predict_from_rows

    out = np.zeros(len(rows))
    predict_from_rows(np.ascontiguousarray(rows), net.layout.bases, net.layout.max_active,
                      net.w1, net.w2, net.b2, out)
    return out


def collect(args) -> None:
    from hatetris.atomic import write_atomic
    from hatetris.nnue.network import load_network
    from hatetris.presets import load_preset, make_evaluation
    from hatetris.search.beam import BeamSearch
    from hatetris.search.tree import game_nodes
    from hatetris.suite import read_game

    preset = load_preset(args.solver)
    evaluation = make_evaluation(preset)
    net = load_network(preset.eval["network"])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    keys = read_game(GAME)
    for w in (int(x) for x in args.widths.split(",")):
        path = out / f"width-{w}.npz"
        if path.exists():
            continue
        s = BeamSearch(evaluation, w, args.pieces, None, game_nodes(keys, 0))
        while s.step() is not None:
            pass
        bounds = s.level_start + [s.store.size]
        rng = np.random.default_rng(w)
        idx = np.concatenate([np.sort(rng.choice(np.arange(bounds[t], bounds[t + 1]),
                                                 min(args.keep, bounds[t + 1] - bounds[t]),
                                                 replace=False))
                              for t in range(1, len(bounds) - 1)])
        rows = s.store.rows[idx]
        if args.children:  # the candidates the beam ranked there, kept or not
            from hatetris.nnue.samples import candidate_children

            kids, _ = candidate_children(rows, s.store.score[idx].astype(np.int64),
                                         args.children, w)
            rows = np.concatenate([rows, kids])
        meta = json.dumps({"width": w, "pieces": len(bounds) - 2,
                           "lines": int(s.best_score), "solver": args.solver})
        write_atomic(path, lambda fh: np.savez_compressed(
            fh, rows=rows, value=network_values(net, rows),
            meta=np.array(meta)), "wb")
        print(json.dumps({"width": w, "pieces": len(bounds) - 2, "lines": int(s.best_score),
                          "wells": int(len(rows)), "seconds": round(s.elapsed, 1)}), flush=True)


def fit_net(args) -> None:
    from hatetris.nnue.gate import gate_preset
    from hatetris.nnue.network import load_network, save_network
    from hatetris.nnue.run_config import RunConfig
    from hatetris.nnue.training_run import TrainingRun

    run_dir = Path(args.run)
    config = RunConfig.from_json(json.loads(
        (run_dir.parent / f"{run_dir.name}.json").read_text()))
    run = TrainingRun(config, run_dir)
    run.load_state()
    rows, labels, kinds, pairs = run.training_data(1)
    a_rows, a_vals = [], []
    for f in sorted(Path(args.anchor).glob("width-*.npz")):
        with np.load(f) as z:
            a_rows.append(z["rows"])
            a_vals.append(z["value"])
    ar = np.concatenate(a_rows) if a_rows else None
    av = np.concatenate(a_vals) if a_vals else None
    if args.copies and ar is not None:
        n = len(rows)
        rows = np.ascontiguousarray(np.concatenate([rows] + [ar] * args.copies))
        labels = np.concatenate([labels] + [av] * args.copies)
        print(f"anchor: {len(ar):,} wells x {args.copies} after {n:,} rows", flush=True)
    net = load_network(config.init)
    result = run.fit_generation(1, net, rows, labels, pairs, lambda e, t, v: print(
        f"epoch {e}: train {t:.4f} val {v:.4f}", flush=True))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save_network(out / "net.npz", net, trained={
        "from": "docs/examples/anchor_fit.py", "run": args.run, "anchor": args.anchor,
        "copies": args.copies, "val_loss": result.val_loss, "epochs": result.epochs})
    (out / "net.toml").write_text(gate_preset(
        run_dir.name, 1, (out / "net.npz").resolve().as_posix(), config.chain_piece,
        config.chain_depth, config.chain_shortlist))
    print(f"fit: {result}")
    if ar is not None:
        drift = network_values(net, ar) - av
        print(f"anchor wells: parent's value {av.mean():.4f}, new minus parent: mean "
              f"{drift.mean():+.4f}, rms {np.sqrt((drift ** 2).mean()):.4f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--solver", default="nnue-beam")
    c.add_argument("--widths", default="1000,2000,3000,5000")
    c.add_argument("--pieces", type=int, default=1000)
    c.add_argument("--keep", type=int, default=256)
    c.add_argument("--children", type=int, default=0,
                   help="also this many random children of each drawn well")
    c.add_argument("--out", required=True)
    f = sub.add_parser("fit")
    f.add_argument("--run", default="data/training/steady-16")
    f.add_argument("--anchor", required=True)
    f.add_argument("--copies", type=int, default=1)
    f.add_argument("--out", required=True)
    args = ap.parse_args()
    collect(args) if args.cmd == "collect" else fit_net(args)


if __name__ == "__main__":
    main()
