"""Which futures pairs a network ranks right, by how high the beam valued the loser.

A futures pair is two wells of one step of a wide beam, one with a descendant 20 pieces
on and one without (``nnue.selfplay.sampled_pairs``, 64 a step). The pairs that decide a
beam's game are those whose well without a future ranks high by the value the search
used: the beam keeps it. This prints, for each network, the share of pairs ranked right
over all pairs and by where the well without a future stands among its step's wells
without one, by the reference network's value (the lowest half, the next quarter, the
next 15%, the top tenth):

    python docs/examples/futures_boundary.py \\
        --selfplay data/training/steady-29/selfplay-5.npz --lookahead runs/la/lookahead-5.npy
    python docs/examples/futures_boundary.py --teacher runs/lead runs/refit/la64/net.npz

(``--selfplay``: a run's self-play file with futures at one horizon, its ``group`` and
``life``; ``--teacher``: a ``teacher_beam.py collect`` directory, futures at 20 pieces;
``--lookahead``: that self-play file's ``lookahead_pairs.py collect`` values, ranked as
one more network.) The thirty-seventh session's figures (docs/steady-state-runs.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

BINS = (0.5, 0.75, 0.9)  # the loser's quantile among its step's wells without a future
LABELS = ("all", "0-50%", "50-75%", "75-90%", "top 10%")


def read_pairs_data(args):
    """(rows, scores, step group, future) of the wells."""
    from hatetris.nnue.dataset import load_dataset

    if args.selfplay:
        d = load_dataset(args.selfplay)
        return (d.rows, np.asarray(d.scores, np.int64), np.asarray(d.meta["group"]),
                np.asarray(d.meta["life"]))
    sys.path.insert(0, str(Path(__file__).parent))
    from teacher_beam import HORIZONS  # noqa: E402  (the sibling example)

    rows, scores, group, alive = [], [], [], []
    for i, f in enumerate(sorted(Path(args.teacher).glob("start-*.npz"))):
        with np.load(f) as z:
            rows.append(z["rows"])
            scores.append(z["score"].astype(np.int64))
            group.append(i * 100_000 + z["level"].astype(np.int64))
            alive.append((z["futures"] >> HORIZONS.index(20)) & 1)
    return (np.concatenate(rows), np.concatenate(scores), np.concatenate(group),
            np.concatenate(alive))


def network_values(path: str, rows: np.ndarray, scores: np.ndarray) -> np.ndarray:
    from hatetris.nnue.evaluation import NNUEEvaluation
    from hatetris.nnue.network import load_network

    out = np.empty(len(rows))
    NNUEEvaluation(load_network(path)).evaluate(np.ascontiguousarray(rows), scores, out)
    return out


def loser_quantile(group: np.ndarray, alive: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Each well without a future: its rank by ``value`` among its step's wells without
    one, from 0 (lowest) to 1 (highest); 0 for the others.

    >>> loser_quantile(np.array([1, 1, 1, 2]), np.array([0, 0, 1, 0]),
    ...                np.array([0.3, 0.1, 0.9, 0.5])).tolist()
    [1.0, 0.0, 0.0, 0.0]
    """
    q = np.zeros(len(group))
    order = np.argsort(group, kind="stable")
    for ids in np.split(order, np.flatnonzero(np.diff(group[order])) + 1):
        dead = ids[alive[ids] == 0]
        if len(dead) > 1:
            q[dead] = np.argsort(np.argsort(value[dead])) / (len(dead) - 1)
    return q


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--selfplay", help="a run's selfplay-K.npz (futures as pairs)")
    src.add_argument("--teacher", help="a teacher_beam.py collect directory")
    ap.add_argument("--reference", default="data/nets/positional-4.npz",
                    help="the network whose values place the losers (the probes')")
    ap.add_argument("--lookahead", help="lookahead values of the --selfplay wells (.npy)")
    ap.add_argument("nets", nargs="*", help="more networks to rank the pairs with")
    args = ap.parse_args()
    from hatetris.nnue.selfplay import sampled_pairs

    rows, scores, group, alive = read_pairs_data(args)
    pairs = sampled_pairs(group, alive, 64, np.random.default_rng(0))
    ref = network_values(args.reference, rows, scores)
    where = np.digitize(loser_quantile(group, alive, ref)[pairs[:, 1]], BINS)
    print(f"{len(rows):,} wells, {len(pairs):,} pairs;", "  ".join(LABELS))
    rankers = {args.reference: ref, **{n: None for n in args.nets}}
    if args.lookahead:
        rankers[args.lookahead] = np.nan_to_num(np.load(args.lookahead).astype(np.float64),
                                                neginf=-2.0)
    for name, value in rankers.items():
        value = network_values(name, rows, scores) if value is None else value
        right = value[pairs[:, 0]] > value[pairs[:, 1]]
        shares = [right.mean(), *(right[where == b].mean() for b in range(len(BINS) + 1))]
        print(name, "  ".join(f"{x:.3f}" for x in shares), flush=True)


if __name__ == "__main__":
    main()
