"""One piece of lookahead as a teacher: a run's self-play wells valued by their best child.

The lookahead (``[lookahead]``, ``eval/lookahead.py``) gains about 19 pieces a start at
width 3,000 on the second opinion (thirty-fourth session). It is the network's own value
one adversary piece on: a well is worth its best child under the piece the adversary
sends (a function of the well). Distilling it asks the network to value a well as it
values what the adversary leaves it, the one-step backup of temporal-difference
learning, on the self-play wells of a run (which come from wide beams in the record's
steady state). ``collect`` writes each self-play file's values:

    python docs/examples/lookahead_pairs.py collect --run data/training/steady-29 \\
        --generation 5 --solver docs/examples/presets/lookahead.toml --out runs/la

(one ``lookahead-J.npy`` a self-play file J, float32, ``-inf`` where the adversary's
piece can only end the game; a file already written is skipped, so it resumes), and
``refit.py fit --lookahead runs/la`` draws pairs from them: within one probe depth, two
wells whose lookahead values differ by more than ``--lookahead-margin``, the higher
above.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np


def lookahead_values(evaluation, rows: np.ndarray, scores: np.ndarray,
                     block: int = 1 << 16) -> np.ndarray:
    """``evaluation.evaluate`` of the wells, ``block`` at a time, with progress."""
    out = np.empty(len(rows))
    t0 = time.time()
    for b0 in range(0, len(rows), block):
        b1 = min(len(rows), b0 + block)
        evaluation.evaluate(np.ascontiguousarray(rows[b0:b1]),
                            np.asarray(scores[b0:b1], np.int64), out[b0:b1])
        print(f"  {b1:,} of {len(rows):,} wells, {time.time() - t0:.0f} s", flush=True)
    return out


def collect(args) -> None:
    from hatetris.eval.lookahead import LookaheadEvaluation
    from hatetris.nnue.dataset import load_dataset
    from hatetris.nnue.training_run import TrainingRun
    from hatetris.presets import load_preset, make_evaluation

    sys.path.insert(0, str(Path(__file__).parent))
    from refit import run_config  # noqa: E402  (the sibling example)

    run_dir = Path(args.run)
    run = TrainingRun(run_config(run_dir), run_dir)
    run.load_state()
    evaluation = make_evaluation(load_preset(args.solver))
    if not isinstance(evaluation, LookaheadEvaluation):
        raise SystemExit(f"{args.solver}: its preset has no [lookahead] table")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for j in run.selfplay_generations(args.generation):
        target = out / f"lookahead-{j}.npy"
        if target.exists():
            continue
        sp = load_dataset(run.checked(f"selfplay-{j}.npz"))
        print(f"selfplay-{j}: {len(sp.rows):,} wells", flush=True)
        values = lookahead_values(evaluation, sp.rows, sp.scores).astype(np.float32)
        tmp = out / f".lookahead-{j}.npy.tmp"
        with open(tmp, "wb") as f:
            np.save(f, values)
        os.replace(tmp, target)


def lookahead_pairs(group: np.ndarray, value: np.ndarray, per_group: int, margin: float,
                    rng) -> np.ndarray:
    """Up to ``per_group`` pairs ``[higher, lower]`` a group: two of its wells drawn at
    random (with replacement), kept when their values differ by more than ``margin``.

    >>> lookahead_pairs(np.array([1, 1, 2, 2]), np.array([0.1, 0.5, -np.inf, 0.2]), 3,
    ...                 0.05, np.random.default_rng(0)).tolist()
    [[1, 0], [1, 0], [1, 0], [3, 2], [3, 2], [3, 2]]
    """
    order = np.argsort(group, kind="stable")
    cut = np.flatnonzero(np.diff(group[order])) + 1
    out = []
    for ids in np.split(order, cut):
        a, b = rng.choice(ids, per_group), rng.choice(ids, per_group)
        va, vb = value[a], value[b]
        hi = np.where(va > vb, a, b)
        lo = np.where(va > vb, b, a)
        with np.errstate(invalid="ignore"):  # two dead wells: -inf - -inf, no pair
            apart = np.abs(np.nan_to_num(va - vb, nan=0.0, posinf=2.0, neginf=2.0)) > margin
        out.append(np.stack([hi[apart], lo[apart]], 1))
    return np.concatenate(out) if out else np.zeros((0, 2), np.int64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--run", required=True)
    c.add_argument("--generation", type=int, required=True,
                   help="the generation whose fit reads the self-play files")
    c.add_argument("--solver", default="docs/examples/presets/lookahead.toml",
                   help="a preset with [lookahead]: the network and quiescence it values with")
    c.add_argument("--out", required=True)
    args = ap.parse_args()
    {"collect": collect}[args.cmd](args)


if __name__ == "__main__":
    main()
