"""One piece of lookahead around any evaluation: a well valued by its best child.

The adversary's next piece is a function of the well (its mild choice, the loop rule
aside), so a well's future one piece on is known exactly: every placement of that piece.
:class:`LookaheadEvaluation` values a well by the best of those children's values under
its inner evaluation (the inner one's quiescence included), and a well from which that
piece can only end the game below every living one.

For a beam, only a *shortlist* of a step's children gets the lookahead: the best
``shortlist x width`` by their own (inner) value; the others rank below all of them, in
their own order. A shortlist of 1 would change nothing (the beam keeps the same
children, only reordered), so it must be above 1.

This is search, not knowledge: a child costs about the inner evaluation of the
adversary's placements from it (some 10 to 15 wells) more. docs/steady-state-runs.md
measures what it buys against the width it costs.

>>> from hatetris.eval.heuristic import HeuristicEvaluation
>>> rows = np.zeros((1, 20), np.uint16)
>>> rows[0, 19] = 0b0111111111           # one gap: a piece that fills it clears a line
>>> out = np.zeros(1)
>>> LookaheadEvaluation(HeuristicEvaluation({"cells": -1.0})).evaluate(
...     rows, np.zeros(1, np.int64), out)
>>> float(out[0]) > -np.inf               # the adversary's piece has a child
True
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..adversary import mild_piece
from ..config import NJIT_PARALLEL
from ..core import same_well, state_hash
from ..engine import children_into, expand_scratch, pad_well
from ..rules import HEIGHT
from ..search.beam import write_children
from .children import evaluate_distinct, evaluate_kept_children
from .phased import in_opening
from .quiescence import fold_max

CHUNK = 256
DEAD = -np.inf  # a well whose next piece can only end the game


@njit(**NJIT_PARALLEL)
def adversary_children_count(rows, piece, count):
    """The adversary's (mild) piece of each well and how many children it has that do
    not end the game."""
    n = rows.shape[0]
    for c in prange((n + CHUNK - 1) // CHUNK):
        pad, locks, buf, kid_rows, kid_scores, kid_moves = expand_scratch()
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            top = pad_well(rows[i], pad)
            p, y_first, y_last = mild_piece(pad, top, locks, buf)
            piece[i] = p
            count[i] = children_into(pad, p, locks, y_first, y_last, 0, False, kid_rows,
                                     kid_scores, kid_moves, 0, buf)


@njit(**NJIT_PARALLEL)
def state_hashes(rows, scores, out):
    for j in prange(rows.shape[0]):
        out[j] = state_hash(rows[j], scores[j])


@njit(**NJIT_PARALLEL)
def find_states(table_hashes, table_index, table_rows, table_scores, rows, scores, hashes,
                out):
    """``out[j]``: the index in the table of state ``j`` (rows and score), or -1.
    ``table_hashes`` is sorted, ``table_index[t]`` the table row of its ``t``-th hash."""
    m = table_hashes.shape[0]
    for j in prange(rows.shape[0]):
        h = hashes[j]
        lo, hi = 0, m
        while lo < hi:
            mid = (lo + hi) // 2
            if table_hashes[mid] < h:
                lo = mid + 1
            else:
                hi = mid
        out[j] = -1
        while lo < m and table_hashes[lo] == h:
            k = table_index[lo]
            if table_scores[k] == scores[j] and same_well(table_rows, k, rows, j):
                out[j] = k
                break
            lo += 1


class LookaheadEvaluation:
    """``inner``'s value of a well's best child under the adversary's next piece.

    A beam step's own values are the inner ones (every child's quiescence, not a
    shortlist's). The children a step looks ahead to are next step's children (when the
    beam keeps their parent and the loop rule sends the mild piece), so their values are
    kept for one step: a step then evaluates its shortlist's children and little else.
    The values are the inner evaluation's either way, so the search is the same (and a
    resumed search, which starts without them, too). They cost some 14 x shortlist x
    width wells of memory (rows, score, value: 56 bytes each; 4.7 MB at width 3,000).
    """

    def __init__(self, inner, shortlist: float = 2.0, from_pieces: int = 0,
                 block: int = 1 << 14) -> None:
        if not shortlist > 1:
            raise ValueError("lookahead shortlist must be above 1 (times the width)")
        if from_pieces < 0:
            raise ValueError("lookahead from_pieces must be at least 0")
        self.inner = inner
        self.shortlist = float(shortlist)
        # A beam step whose children have fewer pieces placed is the inner evaluation's
        # alone (a step's children all have the same number placed).
        self.from_pieces = int(from_pieces)
        self.block = int(block)  # wells expanded at once (bounds the children's buffers)
        self._known = None  # (sorted hashes, their rows' index, rows, scores, values)
        self.reused = 0  # children whose values a step found from the step before
        self.evaluated = 0  # wells the inner evaluation was asked for

    def evaluate(self, rows: np.ndarray, scores: np.ndarray, out: np.ndarray) -> None:
        """Every well's best child's value (:data:`DEAD` if its piece ends the game)."""
        self._ahead(np.ascontiguousarray(rows), np.asarray(scores, dtype=np.int64), out,
                    remember=False)

    def _ahead(self, rows, scores, out, remember: bool) -> None:
        known = []
        for b0 in range(0, len(rows), self.block):
            b1 = min(len(rows), b0 + self.block)
            best, kids = self._best_child(rows[b0:b1], scores[b0:b1])
            out[b0:b1] = best
            if remember:
                known.append(kids)
        if remember:
            self._remember(known)

    def _best_child(self, rows, scores):
        n = len(rows)
        piece = np.zeros(n, np.int8)
        count = np.zeros(n, np.int64)
        adversary_children_count(rows, piece, count)
        offsets = np.zeros(n, np.int64)
        np.cumsum(count[:-1], out=offsets[1:])
        total = int(count.sum())
        kid_rows = np.zeros((total, HEIGHT), np.uint16)
        kid_scores = np.zeros(total, np.int64)
        kid_moves = np.zeros(total, np.int64)
        root = np.zeros(total, np.int64)
        write_children(rows, scores, np.arange(n), piece, offsets, kid_rows, kid_scores,
                       kid_moves, root)
        values = np.zeros(total, np.float64)
        if total:
            self.evaluated += evaluate_distinct(self.inner, kid_rows, kid_scores, values)
        best = np.full(n, DEAD)
        fold_max(best, root, values)
        return best, (kid_rows, kid_scores, values)

    def _remember(self, parts) -> None:
        rows = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, HEIGHT),
                                                                            np.uint16)
        scores = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
        values = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
        hashes = np.empty(len(rows), np.uint64)
        state_hashes(rows, scores, hashes)
        order = np.argsort(hashes, kind="stable")
        self._known = (hashes[order], order, rows, scores, values)

    def _own_values(self, rows, scores, kept, out) -> None:
        """The inner values of ``rows[kept]`` into ``out[kept]``: those the last step
        looked ahead to from what it remembered, the others evaluated now."""
        sub_rows, sub_scores = rows[kept], scores[kept]
        found = np.full(len(kept), -1, np.int64)
        if self._known is not None and len(self._known[0]):
            hashes = np.empty(len(kept), np.uint64)
            state_hashes(sub_rows, sub_scores, hashes)
            table_hashes, index, t_rows, t_scores, t_values = self._known
            find_states(table_hashes, index, t_rows, t_scores, sub_rows, sub_scores, hashes,
                        found)
            hit = found >= 0
            out[kept[hit]] = t_values[found[hit]]
            self.reused += int(hit.sum())
        missing = np.flatnonzero(found < 0)
        if len(missing):
            values = np.empty(len(missing))
            self.evaluated += evaluate_distinct(
                self.inner, np.ascontiguousarray(sub_rows[missing]), sub_scores[missing],
                values)
            out[kept[missing]] = values

    def evaluate_children(self, parent_rows: np.ndarray, parent_start: int,
                          offsets: np.ndarray, count: np.ndarray, rows: np.ndarray,
                          scores: np.ndarray, keep: np.ndarray, out: np.ndarray,
                          keep_best: int | None = None) -> None:
        """A beam step's children: the inner values of those with ``keep``, then the
        lookahead for the best ``shortlist x keep_best`` of them (all if None); the
        others shifted below every value the shortlist has."""
        n = len(rows)
        kept = np.flatnonzero(keep[:n])
        if len(kept) == 0:
            self._known = None
            return
        if self.from_pieces:
            opening = np.empty(len(kept), np.bool_)
            in_opening(rows[kept], np.asarray(scores[kept], dtype=np.int64),
                       self.from_pieces, opening)
            if opening.all():
                self._known = None
                evaluate_kept_children(self.inner, parent_rows, parent_start, offsets, count,
                                       rows, scores, keep, out, keep_best)
                return
        self._own_values(rows, np.asarray(scores, dtype=np.int64), kept, out)
        size = len(kept) if keep_best is None else min(len(kept),
                                                       int(self.shortlist * keep_best))
        # Stable: equal values keep the children's order, as the beam's selection does.
        order = np.argsort(-out[kept], kind="stable")
        short, rest = kept[order[:size]], kept[order[size:]]
        ahead = np.empty(len(short))
        self._ahead(np.ascontiguousarray(rows[short]),
                    np.asarray(scores[short], dtype=np.int64), ahead, remember=True)
        dead = ahead == DEAD
        low = float(ahead[~dead].min()) if (~dead).any() else 0.0
        if len(rest):
            out[rest] += low - float(out[rest].max()) - 1.0
            low = float(out[rest].min())
        # A child whose next piece can only end the game ranks below every other.
        ahead[dead] = low - 1.0
        out[short] = ahead
