"""One evaluation plus a share of another: ``primary + share * secondary``.

The shipped network fills holes and takes clears that the records defer; a share of the
hand-made heuristic (holes, covered lines, dead lines, erasability) tilts it back. As a
preset, ``[eval] heuristic_share`` with an ``[eval.heuristic_weights]`` table. Measured in
docs/steady-state-runs.md (twenty-first session): at a fixed width it survives a little
longer in the records' steady state, at about three times the cost of a child, so no
shipped preset uses it. The primary evaluation keeps its incremental path for a beam's
children; the secondary is evaluated on the kept children only.

>>> from hatetris.eval.heuristic import HeuristicEvaluation
>>> rows = np.zeros((1, 20), np.uint16)
>>> rows[0, 19] = 0b1
>>> mixed = MixedEvaluation(HeuristicEvaluation({"height": -1.0}),
...                         HeuristicEvaluation({"holes": 1.0, "cells": 1.0}), 0.5)
>>> out = np.zeros(1)
>>> mixed.evaluate(rows, np.zeros(1, np.int64), out)
>>> out.tolist()                     # -1 * height 1 + 0.5 * (0 holes + 1 cell)
[-0.5]
"""

from __future__ import annotations

import math

import numpy as np

from .children import evaluate_kept_children


class MixedEvaluation:
    """``primary``'s value plus ``share`` times ``secondary``'s, well by well.

    Each value is computed as it would be alone, then ``share * secondary`` is added, so
    the sum is the same whichever path (a batch, or a beam's children) computes it.
    """

    def __init__(self, primary, secondary, share: float) -> None:
        share = float(share)
        if not math.isfinite(share):
            raise ValueError("the secondary evaluation's share must be a finite number")
        self.primary, self.secondary, self.share = primary, secondary, share

    def __repr__(self) -> str:
        return f"MixedEvaluation({self.primary!r}, {self.secondary!r}, {self.share!r})"

    def evaluate(self, rows: np.ndarray, scores: np.ndarray, out: np.ndarray) -> None:
        """Write the value of well ``i`` (``rows[i]``, ``scores[i]``) to ``out[i]``."""
        self.primary.evaluate(rows, scores, out)
        extra = np.zeros(len(rows), np.float64)
        self.secondary.evaluate(rows, scores, extra)
        out += self.share * extra

    def evaluate_children(self, parent_rows: np.ndarray, parent_start: int,
                          offsets: np.ndarray, count: np.ndarray, rows: np.ndarray,
                          scores: np.ndarray, keep: np.ndarray, out: np.ndarray,
                          keep_best: int | None = None) -> None:
        """:meth:`evaluate` of the children ``rows[j]`` with ``keep[j]`` (the others'
        ``out[j]`` is left as it is); the primary updates each child from its parent
        where it can."""
        kept = evaluate_kept_children(self.primary, parent_rows, parent_start, offsets, count,
                                      rows, scores, keep, out)
        extra = np.zeros(len(kept), np.float64)
        self.secondary.evaluate(rows[kept], np.asarray(scores)[kept], extra)
        out[kept] += self.share * extra
