"""The record as a long-horizon teacher: its well against the learner's beam, piece by piece.

Every teacher so far judged a well within ten pieces (lookaheads, a wide beam's futures);
the gate's games die 100-200 pieces after a start, as the record's deep clears fade
(docs/examples/gate_line_rate.py). This teacher sees that far, and needs no search to
be right: from a start ``t`` in the record's steady state, the shipped search (the gate's:
``nnue-beam`` at width 3,000) continues the record until its beam dies, at piece ``D``.
At every piece ``t + j`` before that, the record's well has thousands of pieces still to
come and every well of the learner's beam has at most ``D - t - j``; so the record's
well ranks above each of them, a pair that is true by construction (no label is a guess),
at the positions the learner's own search reaches as it drifts::

    python docs/examples/record_vs_beam.py collect --starts 1000-2700/50 --out runs/rvb
    python docs/examples/record_vs_beam.py fit --pairs runs/rvb --min-offset 10 \\
        --out runs/rvb/fit            # steady-18's generation 2, plus these pairs
    hatetris bench starts --suite gate --solvers runs/rvb/fit/net.toml --width 3000

A training run does the same each generation with ``selfplay_as = "record-vs-beam"``
(``probe_width`` the gate's width, ``probe_pieces`` its cap). ``collect`` writes one file a start (``start-T.npz``: the sampled beam wells and the
record's, grouped by piece, ``life`` 1 for the record's), so it resumes start by start;
``--shard i/n`` takes every n-th start, for n processes side by side. ``fit`` refits a
training run's generation exactly as the run made it (``docs/examples/refit.py``) with
these pairs added to its ranking pairs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

RECORD = "data/records/david-felipe-6-first-5000.txt"


def parse_starts(text: str) -> list[int]:
    """``1000-2700/50`` or ``1000,1050``: the start pieces."""
    if "-" in text:
        span, _, step = text.partition("/")
        lo, hi = (int(x) for x in span.split("-"))
        return list(range(lo, hi + 1, int(step or 50)))
    return [int(x) for x in text.split(",")]


def collect_start(evaluation, keys: str, t: int, width: int, cap: int, per_depth: int,
                  seed: int):
    """The beam from piece ``t`` of ``keys`` and, at each piece it reached, up to
    ``per_depth`` of its live wells (drawn, seeded) beside the record's well there
    (:func:`hatetris.nnue.selfplay.record_vs_beam`, from the first piece on)."""
    from hatetris.diagnose import game_wells
    from hatetris.nnue.selfplay import record_vs_beam
    from hatetris.search.beam import BeamSearch
    from hatetris.search.tree import game_nodes
    from hatetris.solve import finish_search
    from tqdm import tqdm

    search = BeamSearch(evaluation, width, t + cap, None, game_nodes(keys, t))
    finish_search(search, tqdm(initial=search.depth, unit="piece", desc=f"start {t}"))
    rows, sc, depth, life = record_vs_beam(search, game_wells(keys), t, 1, per_depth,
                                           np.random.default_rng(seed))
    return rows, sc, depth, life, depth - t, int(search.depth - t)


def collect(args) -> None:
    from hatetris.nnue.dataset import save_dataset
    from hatetris.presets import load_preset, make_evaluation
    from hatetris.suite import read_game

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    keys = read_game(Path(RECORD))
    evaluation = make_evaluation(load_preset(args.solver))
    i, n = (int(x) for x in args.shard.split("/"))
    for t in parse_starts(args.starts)[i::n]:
        path = out / f"start-{t}.npz"
        if path.exists():
            continue
        rows, sc, group, life, offset, survived = collect_start(
            evaluation, keys, t, args.width, args.cap, args.per_depth, t)
        save_dataset(path, rows, sc, np.ones(len(rows)), np.full(len(rows), 2, np.uint8),
                     group=group.tolist(), life=life.tolist(), offset=offset.tolist(),
                     start=t, survived=survived, solver=args.solver, width=args.width)
        print(f"start {t}: survived {survived}, {len(rows):,} wells", flush=True)


def record_pairs_from(pairs_dir: Path, min_offset: int, per_depth: int | None):
    """Rows and ``(better, worse)`` index pairs from ``collect``'s files: at each piece at
    least ``min_offset`` after its start, the record's well above each sampled beam well
    (the first ``per_depth`` of them, if given)."""
    from hatetris.nnue.dataset import load_dataset
    from hatetris.nnue.selfplay import ordered_pairs

    rows, pairs, base = [], [], 0
    for path in sorted(pairs_dir.glob("start-*.npz")):
        d = load_dataset(path)
        group, life = np.asarray(d.meta["group"]), np.asarray(d.meta["life"])
        keep = np.asarray(d.meta["offset"]) >= min_offset
        if per_depth is not None:  # each group is its record well, then its beam wells
            keep &= np.arange(len(group)) - np.searchsorted(group, group) <= per_depth
        ids = np.flatnonzero(keep)
        pairs.append(base + ids[ordered_pairs(group[ids], life[ids])])
        rows.append(d.rows)
        base += len(d.rows)
    both = np.concatenate(pairs)
    return np.concatenate(rows), both[:, 0], both[:, 1]


def fit(args) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from refit import fit_and_write, run_config  # noqa: E402  (the sibling example)

    from hatetris.nnue.network import load_network
    from hatetris.nnue.training_run import TrainingRun

    run_dir, k = Path(args.run), args.generation
    config = run_config(run_dir)
    run = TrainingRun(config, run_dir)
    run.load_state()
    rows, labels, kinds, pairs = run.training_data(k)
    x_rows, better, worse = record_pairs_from(Path(args.pairs), args.min_offset,
                                              args.per_depth)
    better, worse = np.tile(better, args.copies), np.tile(worse, args.copies)
    base = len(rows)
    rows = np.ascontiguousarray(np.concatenate([rows, x_rows]))
    labels = np.concatenate([labels, np.full(len(x_rows), np.nan)])
    pairs = (np.concatenate([pairs[0], base + better]), np.concatenate([pairs[1], base + worse]))
    print(f"{len(rows):,} rows, {len(pairs[0]):,} pairs ({len(better):,} record-vs-beam)",
          flush=True)
    result = fit_and_write(run, k, load_network(config.init), rows, labels, pairs,
                           Path(args.out), {
                               "from": "docs/examples/record_vs_beam.py", "pairs": args.pairs,
                               "min_offset": args.min_offset, "per_depth": args.per_depth,
                               "copies": args.copies, "record_vs_beam_pairs": int(len(better))},
                           f"{run_dir.name}: generation {k} refitted with record-vs-beam pairs")
    print(json.dumps({"val_loss": result.val_loss, "epochs": result.epochs}))


def rank(args) -> None:
    """For each network: the share of pairs (record's well, beam's well) it orders right,
    by 25-piece bands after the start."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from anchor_fit import network_values  # noqa: E402  (the sibling example)

    from hatetris.nnue.dataset import load_dataset
    from hatetris.nnue.network import load_network

    for name in args.nets:
        net = load_network(name)
        right: dict[int, list[float]] = {}
        for path in sorted(Path(args.pairs).glob("start-*.npz")):
            d = load_dataset(path)
            group, life = np.asarray(d.meta["group"]), np.asarray(d.meta["life"])
            offset = np.asarray(d.meta["offset"])
            value = network_values(net, d.rows)
            for g in np.unique(group):
                ids = np.flatnonzero(group == g)
                top = value[ids[life[ids] == 1]][0]
                band = min(int(offset[ids[0]]) // 25, 8)
                low = value[ids[life[ids] == 0]]
                right.setdefault(band, []).append(float((top > low).mean()))
        print(name, " ".join(f"{25 * b}+: {np.mean(x):.3f}" for b, x in sorted(right.items())))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--starts", default="1000-2700/50")
    c.add_argument("--solver", default="nnue-beam")
    c.add_argument("--width", type=int, default=3000)
    c.add_argument("--cap", type=int, default=300, help="pieces after the start, at most")
    c.add_argument("--per-depth", type=int, default=32)
    c.add_argument("--shard", default="0/1")
    c.add_argument("--out", required=True)
    f = sub.add_parser("fit")
    f.add_argument("--run", default="data/training/steady-18")
    f.add_argument("--generation", type=int, default=2)
    f.add_argument("--pairs", required=True)
    f.add_argument("--min-offset", type=int, default=10)
    f.add_argument("--per-depth", type=int, help="beam wells a piece (default: all sampled)")
    f.add_argument("--copies", type=int, default=1)
    f.add_argument("--out", required=True)
    r = sub.add_parser("rank")
    r.add_argument("--pairs", required=True)
    r.add_argument("nets", nargs="+")
    args = ap.parse_args()
    {"collect": collect, "fit": fit, "rank": rank}[args.cmd](args)


if __name__ == "__main__":
    main()
