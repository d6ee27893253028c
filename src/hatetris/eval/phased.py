"""One evaluation for the opening, another for the rest of the game.

A well is in the opening while fewer than ``opening_pieces`` pieces have been placed in
it (``(cells + 10 * lines) / 4``, a function of the well and its score, as for the
heuristic's opening weights). Networks taught by steady-state positions (run steady-16:
a wide beam's futures from the 3,711-line record's middle game) survive longer there and
lose lines from the empty well, which their teacher never showed; keeping the parent
network for the opening keeps what it knew (Stockfish selects among its network's layer
stacks by the number of pieces on the board for a like reason). As a preset: ``[eval]
opening_network`` with ``opening_pieces``.

>>> from hatetris.eval.heuristic import HeuristicEvaluation
>>> rows = np.zeros((2, 20), np.uint16)
>>> rows[0, 19] = 0b1111              # 4 cells: 1 piece placed
>>> rows[1, 18:20] = 0b1111           # 8 cells: 2 pieces placed
>>> phased = PhasedEvaluation(HeuristicEvaluation({"height": -1.0}),
...                           HeuristicEvaluation({"cells": 1.0}), 2)
>>> out = np.zeros(2)
>>> phased.evaluate(rows, np.zeros(2, np.int64), out)
>>> out.tolist()                      # the first by the opening's, the second by the other
[-1.0, 8.0]
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..config import NJIT
from ..core import popcount
from .children import evaluate_kept_children


@njit(**NJIT)
def in_opening(rows, scores, opening_pieces, out) -> None:
    """``out[i]``: fewer than ``opening_pieces`` pieces placed in well ``i``."""
    bound = 4 * opening_pieces
    most = rows.shape[1] * 10  # cells a well can hold
    for i in range(rows.shape[0]):
        # The score alone decides most wells (all those of a long game): no count.
        if 10 * scores[i] >= bound:
            out[i] = False
            continue
        if 10 * scores[i] + most < bound:
            out[i] = True
            continue
        cells = 0
        for r in range(rows.shape[1]):
            cells += popcount(np.int64(rows[i, r]) & 0x3FF)  # 10 columns: core.cell_counts
        out[i] = cells + 10 * scores[i] < bound


class PhasedEvaluation:
    """``opening``'s value for wells with fewer than ``opening_pieces`` pieces placed,
    ``rest``'s for the others; each value is the one its evaluation gives alone."""

    def __init__(self, opening, rest, opening_pieces: int) -> None:
        if int(opening_pieces) < 1:
            raise ValueError("opening_pieces must be at least 1")
        self.opening, self.rest, self.opening_pieces = opening, rest, int(opening_pieces)

    def __repr__(self) -> str:
        return f"PhasedEvaluation({self.opening!r}, {self.rest!r}, {self.opening_pieces})"

    def _phase(self, rows: np.ndarray, scores: np.ndarray) -> np.ndarray:
        early = np.zeros(len(rows), np.bool_)
        in_opening(rows, np.asarray(scores, np.int64), self.opening_pieces, early)
        return early

    def evaluate(self, rows: np.ndarray, scores: np.ndarray, out: np.ndarray) -> None:
        """Write the value of well ``i`` (``rows[i]``, ``scores[i]``) to ``out[i]``."""
        early = self._phase(rows, scores)
        for evaluation, part in ((self.opening, early), (self.rest, ~early)):
            if part.all():
                evaluation.evaluate(rows, scores, out)
            elif part.any():
                values = np.empty(int(part.sum()), np.float64)
                evaluation.evaluate(rows[part], np.asarray(scores)[part], values)
                out[part] = values

    def evaluate_children(self, parent_rows: np.ndarray, parent_start: int,
                          offsets: np.ndarray, count: np.ndarray, rows: np.ndarray,
                          scores: np.ndarray, keep: np.ndarray, out: np.ndarray,
                          keep_best: int | None = None) -> None:
        """:meth:`evaluate` of the children ``rows[j]`` with ``keep[j]``, each evaluation
        updating its own children from their parents where it can."""
        n = len(rows)
        early = self._phase(rows, scores)
        keep = keep[:n]
        for evaluation, part in ((self.opening, early), (self.rest, ~early)):
            mask = keep & part
            if mask.any():
                evaluate_kept_children(evaluation, parent_rows, parent_start, offsets, count,
                                       rows, scores, mask, out)
