"""Beam search over wells, the method behind every HATETRIS record since 2021.

One step takes the beam (the best ``width`` wells at one depth) to the next depth:

1. ``plan_children`` (parallel): each well's adversary piece, honouring the
   loop-prevention history of its own path, and how many live children it has;
2. ``write_children`` (parallel): every child written at its well's offset, so the
   output does not depend on the number of threads;
3. ``dedupe_children_bucketed`` (parallel): children that are the same state (rows and
   score) are merged, the first keeps its parent pointer;
4. the evaluation values every distinct child (any object with ``evaluate(rows, scores,
   out)``); the best ``width`` are kept (ties by index). With ``parent_cap``, a well
   passes on at most that many children (its best ones), so that one well's many
   near-identical children cannot crowd out the other lines of play.

The history rule: the adversary's choice ignoring history (the "mild" choice) is the
true choice unless one of *its* children is a well already on the path. Every kept well's
rows hash goes into a global filter; only a filter hit pays for the exact walk up the
path, and only a real repeat pays for evaluating all seven pieces against the path.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from ..adversary import N_PIECES, mild_piece
from ..config import NJIT, NJIT_PARALLEL
from ..core import rows_hash
from ..engine import children_into, expand_scratch, lock_masks, pad_well
from ..ranking import best_indices
from ..rules import HEIGHT, PAD_ROWS
from .tree import NodeStore, hatetris_piece_on_path, path_count
from .tt import (bucket_bits, dedupe_children_bucketed, filter_contains, filter_insert,
                 table_slots)

CHUNK = 256  # wells per parallel task: scratch is allocated once per chunk


@njit(**NJIT_PARALLEL)
def plan_children(rows, score, depth, parent, wells, seen, out_piece, out_count, out_loop):
    """Adversary piece and number of live children of the store's wells ``wells[i]``.

    ``wells`` is the beam (``arange(start, end)``) or, on a cluster, the beam wells of
    one shard, scattered through the level.
    """
    n = wells.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    for c in prange(n_chunks):
        pad, locks, buf, kid_rows, kid_scores, kid_moves = expand_scratch()
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            g = wells[i]
            top = pad_well(rows[g], pad)
            p, y_first, y_last = mild_piece(pad, top, locks, buf)
            k = children_into(pad, p, locks, y_first, y_last, score[g], False,
                              kid_rows, kid_scores, kid_moves, 0, buf)
            loop = False
            for j in range(k):
                if filter_contains(seen, rows_hash(kid_rows[j])):
                    if path_count(rows, score, depth, parent, g, kid_rows, j, kid_scores[j],
                                  depth[g] + 1) > 0:
                        loop = True
                        break
            if loop:
                p = hatetris_piece_on_path(rows, score, depth, parent, g, pad, top, locks, buf)
                y_first, y_last = lock_masks(pad, top, p, locks)
                k = children_into(pad, p, locks, y_first, y_last, score[g], False,
                                  kid_rows, kid_scores, kid_moves, 0, buf)
            out_piece[i] = p
            out_count[i] = k
            out_loop[i] = loop


@njit(**NJIT_PARALLEL)
def write_children(rows, score, wells, piece, offsets, out_rows, out_scores, out_moves,
                   out_parent):
    """Write the children of the store's wells ``wells[i]`` at their offsets; a child's
    ``out_parent`` is ``i``, its parent's position in ``wells``."""
    n = wells.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    for c in prange(n_chunks):
        pad = np.zeros(PAD_ROWS, np.uint16)
        locks = np.zeros((N_PIECES, PAD_ROWS), np.int64)
        scratch = np.zeros((1, HEIGHT), np.int64)
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            g = wells[i]
            top = pad_well(rows[g], pad)
            p = piece[i]
            y_first, y_last = lock_masks(pad, top, p, locks)
            k = children_into(pad, p, locks, y_first, y_last, score[g], False,
                              out_rows, out_scores, out_moves, offsets[i], scratch)
            for j in range(offsets[i], offsets[i] + k):
                out_parent[j] = i


def select_best(values: np.ndarray, width: int) -> np.ndarray:
    """Indices of the ``width`` largest finite values, ties to the lower index, sorted
    (:func:`hatetris.ranking.best_indices`, parallel at large widths).

    >>> select_best(np.array([1.0, 3.0, -np.inf, 3.0, 2.0]), 2).tolist()
    [1, 3]
    >>> select_best(np.array([1.0, 2.0, 2.0, 2.0]), 2).tolist()
    [1, 2]
    """
    return best_indices(values, width)


@njit(**NJIT)
def cap_per_parent(values, offsets, count, cap):
    """Drop (value -inf) every child ranked below the ``cap`` best of its parent.

    A parent's children are contiguous (``offsets``, ``count``); ranks break ties by
    index, like ``select_best``.
    """
    drop = np.zeros(values.shape[0], np.bool_)
    for i in range(offsets.shape[0]):
        a = offsets[i]
        b = a + count[i]
        if b - a <= cap:
            continue
        for j in range(a, b):
            v = values[j]
            if v == -np.inf:
                continue
            better = 0
            for k in range(a, b):
                if values[k] > v or (values[k] == v and k < j):
                    better += 1
            drop[j] = better >= cap
    for j in range(values.shape[0]):
        if drop[j]:
            values[j] = -np.inf


@njit(**NJIT)
def insert_rows_hashes(rows, start, end, seen):
    """Put the rows hash of wells ``start..end-1`` in the seen filter."""
    for i in range(start, end):
        filter_insert(seen, rows_hash(rows[i]))


@njit(**NJIT)
def _append_nodes(sel, parent_base, kid_rows, kid_scores, kid_moves, kid_parent, piece,
                  depth, at, rows, score, depth_arr, parent, move, piece_arr):
    for t in range(sel.shape[0]):
        j = sel[t]
        i = at + t
        for r in range(HEIGHT):
            rows[i, r] = kid_rows[j, r]
        score[i] = kid_scores[j]
        depth_arr[i] = depth
        parent[i] = parent_base + kid_parent[j]
        move[i] = kid_moves[j]
        piece_arr[i] = piece[kid_parent[j]]


@njit(**NJIT)
def mark_live(parent, start, size, best, live):
    """``live[i]`` for the beam nodes ``start..size-1``, node ``best`` and every ancestor of
    them: the nodes a game traced back from the beam (or the best node) can reach."""
    live[:size] = False
    for i in range(start, size + 1):
        a = i if i < size else best
        while a >= 0 and not live[a]:
            live[a] = True
            a = parent[a]


@njit(**NJIT)
def compact_nodes(live, size, rows, score, depth, parent, move, piece, new_index) -> int:
    """Move the live nodes down, in order, with their parents renumbered; return how many.

    Order is kept, so parents still precede children and a depth's nodes stay together.
    """
    n = 0
    for i in range(size):
        if not live[i]:
            new_index[i] = -1
            continue
        new_index[i] = n
        for r in range(rows.shape[1]):
            rows[n, r] = rows[i, r]
        score[n] = score[i]
        depth[n] = depth[i]
        parent[n] = -1 if parent[i] < 0 else new_index[parent[i]]
        move[n] = move[i]
        piece[n] = piece[i]
        n += 1
    return n


# A pruning search compacts its store once it holds this many nodes, or twice what the
# last compaction left, whichever is more: amortized O(1) per node, memory <= 2x live.
MIN_COMPACT_NODES = 1 << 16


@dataclass
class StepStats:
    depth: int
    beam: int
    children: int
    distinct: int
    loops: int
    seconds: float

    @property
    def children_per_second(self) -> float:
        return self.children / self.seconds if self.seconds > 0 else 0.0


class BeamSearch:
    """A resumable beam search. ``step()`` advances one depth; ``run()`` to the end.

    The state is the node store plus the start of each depth's beam in it; the beam at
    the current depth is ``store[level_start[-1]:]``.
    """

    def __init__(self, evaluation, width: int, max_depth: int | None = None,
                 parent_cap: int | None = None, start: dict[str, np.ndarray] | None = None,
                 prune: bool = False):
        if width < 1:
            raise ValueError("width must be at least 1")
        if parent_cap is not None and parent_cap < 1:
            raise ValueError("parent_cap must be at least 1")
        self.evaluation = evaluation
        self.width = int(width)
        self.parent_cap = None if parent_cap is None else int(parent_cap)
        self.max_depth = max_depth
        self.store = NodeStore()
        self.store.add_root()
        self.level_start = [0]
        self.seen = np.zeros(table_slots(1 << 16), np.uint64)
        insert_rows_hashes(self.store.rows, 0, 1, self.seen)
        self.best_node = 0
        self.children_total = 0
        self.loops_total = 0
        self.elapsed = 0.0
        self.finished = False
        self._buffers: dict[str, np.ndarray] = {}
        # With ``prune``, nodes whose lineage has no descendant in the beam are dropped
        # (see :meth:`compact`): memory then follows the width, not the depth. Callers
        # that read every depth's beam afterwards (the trainer) leave it off.
        self.prune = bool(prune)
        self.min_compact = MIN_COMPACT_NODES
        self.compact_at = MIN_COMPACT_NODES
        self.compactions = 0
        if start is not None:
            self._add_start(start)

    def _add_start(self, nodes: dict[str, np.ndarray]) -> None:
        """Put a game's first pieces (``tree.game_nodes``) in the store as one line of
        play: the beam starts from its last well, and the loop rule sees its history."""
        k = self.store.add_line(nodes)
        self.level_start = list(range(k + 1))
        self._grow_seen()
        insert_rows_hashes(self.store.rows, 1, self.store.size, self.seen)
        self.best_node = k

    @staticmethod
    def warm_up(evaluation) -> None:
        """Compile (or load from cache) every kernel a search uses, outside any timing."""
        tiny = BeamSearch(evaluation, 2, 3)
        while tiny.step() is not None:
            pass

    # -- state ---------------------------------------------------------------------------

    @property
    def depth(self) -> int:
        return len(self.level_start) - 1

    @property
    def beam_size(self) -> int:
        return self.store.size - self.level_start[-1]

    @property
    def best_score(self) -> int:
        return int(self.store.score[self.best_node])

    def _buffer(self, name: str, n: int, dtype, shape=()) -> np.ndarray:
        a = self._buffers.get(name)
        if a is None or len(a) < n:
            a = np.zeros((max(n * 5 // 4, 1024),) + shape, dtype)  # room to grow
            self._buffers[name] = a
        return a

    def compact(self) -> None:
        """Drop every node that neither the beam nor the best node descends from.

        The loop rule needs only the wells on each beam node's own path, all kept; the
        seen-well filter is rebuilt from the kept wells. Node order is kept, so the beam,
        its order, and every game that follows are those of an unpruned search.
        """
        s = self.store
        live = self._buffer("live", s.size, np.bool_)
        mark_live(s.parent, self.level_start[-1], s.size, self.best_node, live)
        new_index = self._buffer("new_index", s.size, np.int64)
        kept = compact_nodes(live, s.size, s.rows, s.score, s.depth, s.parent, s.move, s.piece,
                             new_index)
        before = np.concatenate([[0], np.cumsum(live[: s.size])])
        self.level_start = [int(before[i]) for i in self.level_start]
        self.best_node = int(new_index[self.best_node])
        s.size = kept
        self.compactions += 1
        self.compact_at = max(2 * kept, self.min_compact)
        self.seen = np.zeros(table_slots(2 * s.size), np.uint64)
        insert_rows_hashes(s.rows, 0, s.size, self.seen)
        for name in ("live", "new_index"):
            self._buffers.pop(name, None)

    def _grow_seen(self) -> None:
        if 2 * self.store.size <= len(self.seen):
            return
        self.seen = np.zeros(table_slots(self.store.size * 2), np.uint64)
        insert_rows_hashes(self.store.rows, 0, self.store.size, self.seen)

    # -- one step ------------------------------------------------------------------------

    def step(self) -> StepStats | None:
        """Advance the beam one piece; None when there is nothing left to do."""
        if self.finished or (self.max_depth is not None and self.depth >= self.max_depth):
            return None
        t0 = time.perf_counter()
        s = self.store
        start, end = self.level_start[-1], s.size
        n = end - start
        piece = np.zeros(n, np.int8)
        count = np.zeros(n, np.int64)
        loop = np.zeros(n, np.bool_)
        wells = np.arange(start, end, dtype=np.int64)
        plan_children(s.rows, s.score, s.depth, s.parent, wells, self.seen, piece, count, loop)
        total = int(count.sum())
        if total == 0:
            self.finished = True
            self.elapsed += time.perf_counter() - t0
            return None
        offsets = np.zeros(n, np.int64)
        np.cumsum(count[:-1], out=offsets[1:])
        kid_rows = self._buffer("rows", total, np.uint16, (HEIGHT,))
        kid_scores = self._buffer("scores", total, np.int64)
        kid_moves = self._buffer("moves", total, np.int64)
        kid_parent = self._buffer("parent", total, np.int64)
        write_children(s.rows, s.score, wells, piece, offsets, kid_rows, kid_scores, kid_moves,
                       kid_parent)
        keep = self._buffer("keep", total, np.bool_)
        distinct = dedupe_children_bucketed(
            kid_rows, kid_scores, total, bucket_bits(total),
            self._buffer("hashes", total, np.uint64),
            self._buffer("bucket_hashes", total, np.uint64),
            self._buffer("order", total, np.int64), self._buffer("table", 2 * total, np.int32),
            keep)
        values = self._buffer("values", total, np.float64)[:total]
        if hasattr(self.evaluation, "evaluate_children"):
            # The evaluation updates each child from its parent (NNUE accumulators).
            values[:] = -np.inf
            self.evaluation.evaluate_children(s.rows, start, offsets, count, kid_rows[:total],
                                              kid_scores[:total], keep[:total], values,
                                              keep_best=self.width)
        elif distinct == total:
            self.evaluation.evaluate(kid_rows[:total], kid_scores[:total], values)
        else:
            # Evaluation is nearly all of a step's time: duplicates are not evaluated.
            kept = np.flatnonzero(keep[:total])
            kept_values = np.empty(len(kept), np.float64)
            self.evaluation.evaluate(kid_rows[kept], kid_scores[kept], kept_values)
            values[:] = -np.inf
            values[kept] = kept_values
        if self.parent_cap is not None:
            cap_per_parent(values, offsets, count, self.parent_cap)
        sel = select_best(values, self.width)
        s.reserve(len(sel))
        at = s.size
        _append_nodes(sel, start, kid_rows, kid_scores, kid_moves, kid_parent, piece,
                      self.depth + 1, at, s.rows, s.score, s.depth, s.parent, s.move, s.piece)
        s.size += len(sel)
        self.level_start.append(at)
        self._grow_seen()
        insert_rows_hashes(s.rows, at, s.size, self.seen)
        new_scores = s.score[at:s.size]
        best_here = at + int(np.argmax(new_scores))
        if s.score[best_here] >= s.score[self.best_node]:
            self.best_node = best_here
        self.children_total += total
        self.loops_total += int(loop.sum())
        if self.prune and s.size >= self.compact_at:
            self.compact()
        dt = time.perf_counter() - t0
        self.elapsed += dt
        return StepStats(self.depth, len(sel), total, distinct, int(loop.sum()), dt)
