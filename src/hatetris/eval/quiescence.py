"""Quiescence ("bird in the hand") lookahead around any evaluation.

A well that the adversary's next piece lets you clear a line from is better than it
looks. Such a well is valued by the best value over the wells reachable from it by a
chain of line-clearing placements, up to ``depth`` placements deep, of one piece per
well. Which piece (:data:`CHAIN_PIECES`):

* ``adversary``: the piece the adversary would send (the mild choice: this is an
  estimate, not the game);
* ``optimistic``: the first piece in S, Z, O, I, L, J, T order none of whose placements
  clears two lines or more, and its single clears (the rule of the 2023 open-source
  record search). The adversary sends S or Z most of the time, so this values a well
  by what an S (or Z) could clear, even where the adversary would send another piece.

Batched, so that it wraps any evaluation with ``evaluate(rows, scores, out)``: each level
collects the clearing children of the previous level's wells, evaluates them in one
call and folds the values back into their root wells with ``max``.

A beam that keeps ``width`` of a step's children can ask for a *shortlist*: only the
best ``shortlist x width`` children by their own value get chains. Quiescence can only
raise a value, so this changes the search only where a child from below the shortlist
would have been lifted into the beam (docs/speed.md measures how often, and what it
does to the games); the chains are most of a child's cost.

A *discount* ``d`` values a well ``k`` clears down a chain at its inner value less
``k d``: the chain piece is a guess at what comes (the adversary may send another), so a
value that needs more clears to reach is trusted less. 0 is the plain max.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..adversary import N_PIECES, mild_piece
from ..config import NJIT, NJIT_PARALLEL
from ..engine import (
    MAX_CHILDREN,
    clearing_children_into,
    lock_masks,
    near_full_rows,
    pad_well,
)
from ..ranking import kth_largest
from ..rules import BAR, HEIGHT, PAD_ROWS
from .children import evaluate_distinct, evaluate_kept_children

CHUNK = 512
BLOCK = 64 * CHUNK  # wells a level collects at once (bounds the scratch regions)
CHAIN_PIECES = ("adversary", "optimistic")
MARK_CHUNK = 1 << 16


@njit(**NJIT)
def optimistic_piece(pad, top, locks, score, kid_rows, kid_scores, buf):
    """(piece, its clearing children written to ``kid_rows``) by the ``optimistic`` rule;
    (-1, 0) if every piece can clear two lines at once."""
    for p in range(N_PIECES):
        y_first, y_last = lock_masks(pad, top, p, locks)
        n = clearing_children_into(pad, p, locks, y_first, y_last, score,
                                   kid_rows, kid_scores, 0, buf)
        single = True
        for j in range(n):
            if kid_scores[j] != score + 1:
                single = False
                break
        if single:
            return p, n
    return -1, 0


@njit(**NJIT_PARALLEL)
def collect_clearing_children(rows, scores, optimistic, region, out_rows, out_scores,
                              out_parent, chunk_count, mask=None) -> bool:
    """Each well's chain piece and the children of it that clear a line.

    Chunk ``c``'s children go to ``out_*[c * region:]``, its count to ``chunk_count[c]``
    (compact them with :func:`compact_chunks`). False if a chunk had more than
    ``region``: the caller grows the region and calls again. Written where they are
    found, so one reachability pass a well (counting first, then writing at known
    offsets, took two). Wells without a row one piece row could complete have none, nor
    wells with ``mask[i]`` False.
    """
    n = rows.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    fits = np.ones(n_chunks, np.bool_)
    for c in prange(n_chunks):
        pad = np.zeros(PAD_ROWS, np.uint16)
        locks = np.zeros((N_PIECES, PAD_ROWS), np.int64)
        buf = np.zeros((1, HEIGHT), np.int64)
        kid_rows = np.zeros((MAX_CHILDREN, HEIGHT), np.uint16)
        kid_scores = np.zeros(MAX_CHILDREN, np.int64)
        at = c * region
        end = at + region
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            if mask is not None and not mask[i]:
                continue
            top = pad_well(rows[i], pad)
            if top < BAR:
                continue
            if near_full_rows(pad) == 0:
                continue  # no piece can clear a line
            if optimistic:
                k = optimistic_piece(pad, top, locks, scores[i], kid_rows, kid_scores,
                                     buf)[1]
            else:
                p, y_first, y_last = mild_piece(pad, top, locks, buf)
                k = clearing_children_into(pad, p, locks, y_first, y_last, scores[i],
                                           kid_rows, kid_scores, 0, buf)
            if at + k > end:
                fits[c] = False
                break
            for j in range(k):
                out_rows[at + j] = kid_rows[j]
                out_scores[at + j] = kid_scores[j]
                out_parent[at + j] = i
            at += k
        chunk_count[c] = at - c * region
    return fits.all()


@njit(**NJIT_PARALLEL)
def compact_chunks(region, chunk_count, offsets, parent_base, rows, scores, parent, out_rows,
                   out_scores, out_parent):
    """Move chunk ``c``'s ``chunk_count[c]`` entries from ``c * region`` to ``offsets[c]``,
    the parents shifted by ``parent_base``."""
    for c in prange(chunk_count.shape[0]):
        src = c * region
        dst = offsets[c]
        for j in range(chunk_count[c]):
            out_rows[dst + j] = rows[src + j]
            out_scores[dst + j] = scores[src + j]
            out_parent[dst + j] = parent_base + parent[src + j]


@njit(**NJIT)
def fold_max(out, root, values):
    """``out[root[j]] = max(out[root[j]], values[j])`` for each new well ``j``."""
    for j in range(values.shape[0]):
        r = root[j]
        if values[j] > out[r]:
            out[r] = values[j]


@njit(**NJIT)
def compose(owner, parent, new_owner):
    for j in range(parent.shape[0]):
        new_owner[j] = owner[parent[j]]


@njit(**NJIT_PARALLEL)
def mark_shortlist(values, keep, threshold, mask):
    """``mask[j]``: child ``j`` is kept and its own value is at least ``threshold``."""
    n = values.shape[0]
    for c in prange((n + MARK_CHUNK - 1) // MARK_CHUNK):
        for j in range(c * MARK_CHUNK, min(n, (c + 1) * MARK_CHUNK)):
            mask[j] = keep[j] and values[j] >= threshold


class QuiescenceEvaluation:
    """``inner``'s value, improved by chains of line clears up to ``depth`` placements.

    Level buffers grow and are reused from call to call: a beam step allocates nothing
    here once the first steps have sized them.
    """

    def __init__(self, inner, depth: int = 2, piece: str = "adversary",
                 shortlist: float | None = None, discount: float = 0.0):
        if depth < 1:
            raise ValueError("quiescence depth must be at least 1")
        if piece not in CHAIN_PIECES:
            raise ValueError(f"quiescence piece must be one of {', '.join(CHAIN_PIECES)}")
        if shortlist is not None and not shortlist >= 1:
            raise ValueError("quiescence shortlist must be at least 1 (times the width)")
        if not 0 <= discount < 1:
            raise ValueError("quiescence discount must be at least 0 and below 1")
        self.inner = inner
        self.depth = int(depth)
        self.optimistic = piece == "optimistic"
        self.shortlist = None if shortlist is None else float(shortlist)
        self.discount = float(discount)
        self._buffers: dict[tuple[str, int], np.ndarray] = {}
        self._regions: dict[int, int] = {}
        self._per_well: dict[int, float] = {}

    def _buffer(self, name: str, level: int, n: int, dtype, shape=()) -> np.ndarray:
        a = self._buffers.get((name, level))
        if a is None or len(a) < n:
            a = np.empty((max(n, 1024) * 5 // 4,) + shape, dtype)
            self._buffers[(name, level)] = a
        return a[:n]

    def evaluate(self, rows: np.ndarray, scores: np.ndarray, out: np.ndarray) -> None:
        self.inner.evaluate(rows, scores, out)
        self.improve(rows, scores, out)

    def evaluate_children(self, parent_rows: np.ndarray, parent_start: int,
                          offsets: np.ndarray, count: np.ndarray, rows: np.ndarray,
                          scores: np.ndarray, keep: np.ndarray, out: np.ndarray,
                          keep_best: int | None = None) -> None:
        """:meth:`evaluate` of the children ``rows[j]`` with ``keep[j]``, the inner
        evaluation updating each child from its parent where it can (see
        :meth:`hatetris.nnue.evaluation.NNUEEvaluation.evaluate_children`).

        ``keep_best``: how many children the caller keeps; with a shortlist, only the
        best ``shortlist x keep_best`` by their own value (and ties with the last) get
        chains, the others keep their own value.
        """
        kept = evaluate_kept_children(self.inner, parent_rows, parent_start, offsets, count,
                                      rows, scores, keep, out)
        mask = None if len(kept) == len(rows) else keep[: len(rows)]
        size = None if keep_best is None else self.shortlist_size(keep_best)
        if size is not None:
            mask = self._shortlist(out[: len(rows)], keep[: len(rows)], kept, size)
        self.improve(rows, scores, out, mask)

    def shortlist_size(self, width: int) -> int | None:
        """How many of a step's children get chains when ``width`` are kept (None: all).
        The one rule, so that a cluster cuts where one process does."""
        return None if self.shortlist is None else int(self.shortlist * width)

    def improve(self, rows: np.ndarray, scores: np.ndarray, out: np.ndarray,
                mask: np.ndarray | None = None) -> None:
        """Raise ``out[i]`` (the inner values of ``rows``) by the chains of the wells with
        ``mask`` (every well if None); a cluster shard runs it once the step's
        shortlist is known."""
        owner = self._buffer("owner", -1, len(rows), np.int64)
        owner[:] = np.arange(len(rows))
        self._improve(rows, np.asarray(scores, dtype=np.int64), owner, out, mask)

    def chain_wells(self, rows: np.ndarray, scores: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every well of the chains from ``rows``: ``(wells, their scores, root)``,
        ``root[j]`` the index in ``rows`` whose chain reaches well ``j``. The roots
        themselves are not repeated. :meth:`improve`'s value of root ``i`` is the max of
        its own value and the inner values of the wells with ``root == i``: which well
        that is tells what the search's value of a well rests on (a fit can teach the
        wells the search compares, not only the ones it starts from).
        """
        owner = np.arange(len(rows))
        # Concatenating copies the level buffers, which the next call reuses.
        found = [(wells, well_scores, root) for _, wells, well_scores, root in
                 self._levels(np.ascontiguousarray(rows), np.asarray(scores, dtype=np.int64),
                              owner)]
        if not found:
            return rows[:0].copy(), np.zeros(0, np.int64), np.zeros(0, np.int64)
        return tuple(np.concatenate(parts) for parts in zip(*found))

    def _shortlist(self, values: np.ndarray, keep: np.ndarray, kept: np.ndarray,
                   n: int) -> np.ndarray:
        """The mask of kept children whose own value is at least the ``n``-th best."""
        mask = self._buffer("shortlist", -1, len(values), np.bool_)
        if n >= len(kept):
            mask[:] = keep
            return mask
        own = values[kept]
        mark_shortlist(values, keep, kth_largest(own, n, len(own)), mask)
        return mask

    def _improve(self, level_rows, level_scores, owner, out, mask=None) -> None:
        """Fold the values of the clearing chains from ``level_rows`` (those with
        ``mask``, if given) into ``out[owner[i]]``, level by level."""
        for level, rows, scores, root in self._levels(level_rows, level_scores, owner, mask):
            values = self._buffer("values", level, len(rows), np.float64)
            self._evaluate_distinct(level, rows, scores, values)
            if self.discount:
                values -= self.discount * (level + 1)
            fold_max(out, root, values)

    def _levels(self, rows, scores, owner, mask=None):
        """Each level of the chains from ``rows`` (those with ``mask``, if given), as
        ``(level, wells, scores, root)``, ``root[j] = owner[i]`` of the well ``i`` of
        ``rows`` the chain started from; until a level is empty. Views of the level
        buffers, valid until the next call."""
        for level in range(self.depth):
            new_rows, new_scores, parent = self._clearing_children(
                level, rows, scores, mask if level == 0 else None)
            if len(new_rows) == 0:
                return
            new_owner = self._buffer("owner", level, len(new_rows), np.int64)
            compose(owner, parent, new_owner)
            yield level, new_rows, new_scores, new_owner
            owner, rows, scores = new_owner, new_rows, new_scores

    def _evaluate_distinct(self, level, rows, scores, values) -> None:
        """``inner.evaluate`` of ``rows``, each distinct (well, score) evaluated once.

        In the steady state siblings' chains meet: about 30% of a step's chain wells
        repeat another of the same level (from the empty well about 10%), and a fresh
        sum costs some twenty times the deduplication (docs/speed.md).
        """
        evaluate_distinct(self.inner, rows, scores, values,
                          lambda name, n, dtype: self._buffer(name, level, n, dtype))

    def _clearing_children(self, level, rows, scores, mask):
        """The clearing children of ``rows`` (with ``mask``), their scores and parents.

        In blocks of wells, so that the scratch regions stay small at any width.
        """
        n = len(rows)
        total = 0
        capacity = 0
        out = None
        for b0 in range(0, n, BLOCK):
            b1 = min(n, b0 + BLOCK)
            n_chunks = (b1 - b0 + CHUNK - 1) // CHUNK
            count = self._buffer("chunk_count", level, n_chunks, np.int64)
            # Regions start at two children a well and double when a chunk overflows;
            # the region a level needed is kept, so only the first steps overflow.
            region = self._regions.get(level, 2 * CHUNK)
            while True:
                tmp = (self._buffer("tmp_rows", level, n_chunks * region, np.uint16, (HEIGHT,)),
                       self._buffer("tmp_scores", level, n_chunks * region, np.int64),
                       self._buffer("tmp_parent", level, n_chunks * region, np.int64))
                if collect_clearing_children(rows[b0:b1], scores[b0:b1], self.optimistic,
                                             region, *tmp, count,
                                             None if mask is None else mask[b0:b1]):
                    break
                region *= 2
                self._regions[level] = region
            offsets = self._buffer("offsets", level, n_chunks, np.int64)
            offsets[0] = total
            np.cumsum(count[:-1], out=offsets[1:])
            offsets[1:] += total
            added = int(count.sum())
            if out is None or total + added > capacity:
                # Sized by the last call's children a well, so that a step seldom grows
                # (and copies) its output: both copies would be live at once.
                expected = int(n * self._per_well.get(level, 1.0) * 1.1)
                capacity = max(total + added, 2 * capacity, expected, 1024)
                grown = (self._buffer("rows", level, capacity, np.uint16, (HEIGHT,)),
                         self._buffer("scores", level, capacity, np.int64),
                         self._buffer("parent", level, capacity, np.int64))
                if out is not None:
                    for new, old in zip(grown, out):
                        if new.base is not old.base:  # reallocated: keep what is written
                            new[:total] = old[:total]
                out = grown
            compact_chunks(region, count, offsets, b0, *tmp, *out)
            total += added
        if n:
            self._per_well[level] = total / n
        if out is None:
            return rows[:0], scores[:0], np.zeros(0, np.int64)
        return out[0][:total], out[1][:total], out[2][:total]
