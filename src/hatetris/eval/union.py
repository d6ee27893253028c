"""Two evaluations' favourites side by side: a beam keeps the union of their best wells.

A steady-state beam collapses onto one line of play within 20-40 pieces (see
docs/steady-state-runs.md, nineteenth session) and dies when that line meets a wall its
network cannot see. Two networks fitted apart pick different lines (over the gate's starts
their survivals correlate at 0.2-0.4), so a beam that keeps each one's favourites keeps two
lines alive where they disagree, and the full width on one line where they agree.

The value of a well is a *rank*, not a value: with ``r_a`` and ``r_b`` its places (0 the
best) among the batch by each evaluation, it is ``-(min(r_a, r_b) + max(r_a, r_b) / (n +
1))``. The ``k`` best by that value are exactly the union of the two evaluations' best
``j`` for the ``j`` that fills ``k`` (the second term only orders wells of the same best
place). So the values compare wells of one batch only: this is an evaluation for a beam's
selection (a step's children are one batch), not for labels or training.

>>> from hatetris.eval.heuristic import HeuristicEvaluation
>>> rows = np.zeros((3, 20), np.uint16)
>>> rows[0, 19] = 0b1                 # height 1, 1 cell
>>> rows[1, 18:20] = 0b1              # height 2, 2 cells
>>> rows[2, 17:20] = 0b1              # height 3, 3 cells
>>> union = UnionEvaluation(HeuristicEvaluation({"height": -1.0}),
...                         HeuristicEvaluation({"cells": 1.0}))
>>> out = np.zeros(3)
>>> union.evaluate(rows, np.zeros(3, np.int64), out)
>>> [int(i) for i in np.argsort(-out, kind="stable")]   # each one's favourite first
[0, 2, 1]
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..config import NJIT
from .children import evaluate_kept_children


@njit(**NJIT)
def union_ranks(a, b, order_a, order_b, out) -> None:
    """``out[i]``: well i's value by its places in ``a`` and ``b`` (argsorts, best
    first); see the module's docstring."""
    n = len(a)
    rank_a = np.empty(n, np.int64)
    rank_b = np.empty(n, np.int64)
    for r in range(n):
        rank_a[order_a[r]] = r
        rank_b[order_b[r]] = r
    for i in range(n):
        lo, hi = min(rank_a[i], rank_b[i]), max(rank_a[i], rank_b[i])
        out[i] = -(lo + hi / (n + 1.0))


def best_first(values: np.ndarray) -> np.ndarray:
    """Indices of ``values`` from the largest down, ties to the lower index (as the
    beam's own selection breaks them)."""
    return np.argsort(-values, kind="stable")


def union_values(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The union values of wells valued ``a`` by one evaluation and ``b`` by the other."""
    out = np.empty(len(a), np.float64)
    union_ranks(a, b, best_first(a), best_first(b), out)
    return out


class UnionEvaluation:
    """The wells either ``first`` or ``second`` ranks best, by rank (module docstring)."""

    batch_relative = True  # a value compares wells of its own batch only

    def __init__(self, first, second) -> None:
        self.first, self.second = first, second

    def __repr__(self) -> str:
        return f"UnionEvaluation({self.first!r}, {self.second!r})"

    def evaluate(self, rows: np.ndarray, scores: np.ndarray, out: np.ndarray) -> None:
        """Write the union value of well ``i`` among the batch to ``out[i]``."""
        a = np.empty(len(rows), np.float64)
        b = np.empty(len(rows), np.float64)
        self.first.evaluate(rows, scores, a)
        self.second.evaluate(rows, scores, b)
        out[:] = union_values(a, b)

    def evaluate_children(self, parent_rows: np.ndarray, parent_start: int,
                          offsets: np.ndarray, count: np.ndarray, rows: np.ndarray,
                          scores: np.ndarray, keep: np.ndarray, out: np.ndarray,
                          keep_best: int | None = None) -> None:
        """:meth:`evaluate` of the children ``rows[j]`` with ``keep[j]`` as one batch
        (the others' ``out[j]`` is left as it is); each evaluation updates its own
        children from their parents where it can, and sees ``keep_best``."""
        n = len(rows)
        a = np.full(n, -np.inf)
        b = np.full(n, -np.inf)
        kept = np.flatnonzero(keep[:n])
        for evaluation, values in ((self.first, a), (self.second, b)):
            if hasattr(evaluation, "evaluate_children"):
                evaluation.evaluate_children(parent_rows, parent_start, offsets, count, rows,
                                             scores, keep, values, keep_best=keep_best)
            else:
                evaluate_kept_children(evaluation, parent_rows, parent_start, offsets, count,
                                       rows, scores, keep, values)
        out[kept] = union_values(a[kept], b[kept])
