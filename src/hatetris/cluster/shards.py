"""Worker side of the sharded beam: one :class:`Shard` per (run, shard) in each worker.

Every worker holds a replica of the kept-node store (the same arrays, in the same order,
as the client's and as the single-process search's) and the global seen-well filter, so
that the loop rule's exact walk up a path never leaves the process. What a shard owns is
its part of the beam (the wells whose state hash falls in it) and, during a step, the
children sent to it: it expands its wells, routes each child to the shard of the child's
state hash, dedupes and values what it receives, and keeps what the client's exact
threshold says.

The functions below are the Dask tasks; each takes the run's id and the shard number and
finds its state in this process's ``_SHARDS``.
"""

from __future__ import annotations

import os

import numba
import numpy as np

from .. import __version__
from ..engine import MAX_CHILDREN
from ..rules import HEIGHT
from ..search.beam import (compact_nodes, insert_rows_hashes, mark_live, plan_children,
                           write_children)
from ..search.tree import NodeStore
from ..search.tt import dedupe_in_order, table_slots
from . import topk
from .kernels import group_by_shard, shards_of

_SHARDS: dict[tuple[str, int], "Shard"] = {}
_EXIT_AT_DEPTH: list[int] = []  # fault injection for the tests: exit at that depth's expand

LEVEL_FIELDS = ("rows", "score", "move", "piece", "key")


def shortlist_size(evaluation, width: int) -> int | None:
    """How many children of a step get quiescence chains (None: all of them)."""
    size = getattr(evaluation, "shortlist_size", None)
    return None if size is None else size(width)


def process_memory_mb() -> float:
    """Resident memory of this worker process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def merge_level(parts: list[dict], level_base: int, depth: int) -> dict[str, np.ndarray]:
    """The shards' kept children as one level in the single-process order (by key), with
    store fields: ``parent`` is the store index of the parent, ``level_base`` plus its
    beam index. Run on the client and in every worker, so all hold the same store."""
    key = np.concatenate([p["key"] for p in parts]) if parts else np.zeros(0, np.int64)
    order = np.argsort(key, kind="stable")
    level = {name: np.concatenate([p[name] for p in parts])[order]
             for name in ("rows", "score", "move", "piece")}
    level["rows"] = level["rows"].reshape(-1, HEIGHT)
    level["parent"] = level_base + key[order] // MAX_CHILDREN
    level["depth"] = np.full(len(order), depth, np.int32)
    return level


def append_level(store: NodeStore, level: dict[str, np.ndarray]) -> int:
    """Append a merged level to ``store``; return the index of its first node."""
    n = len(level["score"])
    store.reserve(n)
    at = store.size
    for name in NodeStore.FIELDS:
        store.arrays[name][at:at + n] = level[name]
    store.size += n
    return at


MIN_COMPACT_NODES = 1 << 16  # as the single-process pruning search


class Pruning:
    """When and how a store drops dead lineages, the same rule on the client and in
    every worker (so the replicas stay equal without a message): after a level is
    appended, once the store holds ``compact_at`` nodes, keep only the beam, the best
    node and their ancestors; then wait for twice what was left."""

    def __init__(self, enabled: bool, compact_at: int = MIN_COMPACT_NODES,
                 min_compact: int = MIN_COMPACT_NODES, compactions: int = 0):
        self.enabled = enabled
        self.compact_at = compact_at
        self.min_compact = min_compact
        self.compactions = compactions

    def state(self) -> tuple:
        return self.enabled, self.compact_at, self.min_compact, self.compactions

    def after_append(self, store: NodeStore, level_start: list[int],
                     best_node: int) -> tuple[list[int], int] | None:
        """New (level_start, best_node) if the store was compacted, else None."""
        if not self.enabled or store.size < self.compact_at:
            return None
        s = store
        live = np.zeros(s.size, np.bool_)
        mark_live(s.parent, level_start[-1], s.size, best_node, live)
        new_index = np.zeros(s.size, np.int64)
        kept = compact_nodes(live, s.size, s.rows, s.score, s.depth, s.parent, s.move, s.piece,
                             new_index)
        before = np.concatenate([[0], np.cumsum(live)])
        s.size = kept
        self.compactions += 1
        self.compact_at = max(2 * kept, self.min_compact)
        return [int(before[i]) for i in level_start], int(new_index[best_node])


def best_after(store: NodeStore, at: int, best_node: int) -> int:
    """The best node once the level ``at..`` is in: its first highest score if that is
    at least the best so far (as BeamSearch)."""
    if store.size > at:
        best_here = at + int(np.argmax(store.score[at:store.size]))
        if store.score[best_here] >= store.score[best_node]:
            return best_here
    return best_node


class Shard:
    """One shard's replica of the store, its beam wells, and one step's children."""

    def __init__(self, shard: int, n_shards: int, width: int, evaluation, state: dict,
                 level_start: list[int], threads: int | None, best_node: int = 0,
                 pruning: tuple = (False,)):
        self.shard = shard
        self.best_node = best_node
        self.pruning = Pruning(*pruning)
        self.n_shards = n_shards
        self.width = width
        self.evaluation = evaluation
        self.threads = threads
        self.store = NodeStore.from_state(state)
        self.level_start = list(level_start)
        self.seen = np.zeros(table_slots(self.store.size * 2), np.uint64)
        insert_rows_hashes(self.store.rows, 0, self.store.size, self.seen)
        self.candidates: dict[str, np.ndarray] | None = None
        self._own_beam()

    def _own_beam(self) -> None:
        start, end = self.level_start[-1], self.store.size
        owner = np.zeros(end - start, np.int64)
        shards_of(self.store.rows[start:end], self.store.score[start:end], end - start,
                  self.n_shards, owner)
        self.beam = start + np.flatnonzero(owner == self.shard)

    def _threads(self) -> None:
        # Numba's thread count is per calling thread, and Dask may run a task on any
        # thread of its pool: set it in every task.
        if self.threads is not None:
            numba.set_num_threads(min(self.threads, numba.config.NUMBA_NUM_THREADS))

    def add_level(self, parts: list[dict]) -> None:
        """Append the previous step's kept children (every shard's) to the replica."""
        s = self.store
        level = merge_level(parts, self.level_start[-1], len(self.level_start))
        at = append_level(s, level)
        self.level_start.append(at)
        self.best_node = best_after(s, at, self.best_node)
        compacted = self.pruning.after_append(s, self.level_start, self.best_node)
        if compacted is not None:
            self.level_start, self.best_node = compacted
            self.seen = np.zeros(table_slots(s.size * 2), np.uint64)
            insert_rows_hashes(s.rows, 0, s.size, self.seen)
        elif 2 * s.size > len(self.seen):
            self.seen = np.zeros(table_slots(s.size * 2), np.uint64)
            insert_rows_hashes(s.rows, 0, s.size, self.seen)
        else:
            insert_rows_hashes(s.rows, at, s.size, self.seen)
        self._own_beam()

    def expand(self) -> list[dict]:
        """This shard's children, one bucket per destination shard."""
        self._threads()
        s = self.store
        beam = self.beam
        n = len(beam)
        piece = np.zeros(n, np.int8)
        count = np.zeros(n, np.int64)
        loop = np.zeros(n, np.bool_)
        plan_children(s.rows, s.score, s.depth, s.parent, beam, self.seen, piece, count, loop)
        total = int(count.sum())
        offsets = np.zeros(n, np.int64)
        if n:
            np.cumsum(count[:-1], out=offsets[1:])
        rows = np.zeros((total, HEIGHT), np.uint16)
        scores = np.zeros(total, np.int64)
        moves = np.zeros(total, np.int64)
        parent = np.zeros(total, np.int64)
        write_children(s.rows, s.score, beam, piece, offsets, rows, scores, moves, parent)
        slot = np.arange(total, dtype=np.int64) - offsets[parent]
        key = (beam[parent] - self.level_start[-1]) * MAX_CHILDREN + slot
        dest = np.zeros(total, np.int64)
        shards_of(rows, scores, total, self.n_shards, dest)
        order = np.zeros(total, np.int64)
        bounds = np.zeros(self.n_shards + 1, np.int64)
        group_by_shard(dest, self.n_shards, order, bounds)
        # Each bucket carries its source's statistics, so the owners' reports bring them
        # back without a task of their own.
        stats = {"shard": self.shard, "wells": n, "children": total,
                 "loops": int(loop.sum()), "memory_mb": process_memory_mb()}
        buckets = []
        for d in range(self.n_shards):
            sel = order[bounds[d]:bounds[d + 1]]
            buckets.append({"rows": rows[sel], "score": scores[sel], "move": moves[sel],
                            "piece": piece[parent[sel]], "key": key[sel], "stats": stats})
        return buckets

    def receive(self, parts: list[dict]) -> dict:
        """Dedupe (first in global order keeps its parent) and value the children sent
        here; report this shard's top-``width`` values (largest first)."""
        self._threads()
        kids = {name: np.concatenate([p[name] for p in parts])
                for name in ("rows", "score", "move", "piece", "key")}
        kids["rows"] = kids["rows"].reshape(-1, HEIGHT)
        n = len(kids["key"])
        # Visit in key order (the single-process child order) rather than moving rows.
        order = np.argsort(kids["key"])
        keep = np.zeros(n, np.bool_)
        hashes = np.zeros(n, np.uint64)
        table = np.zeros(table_slots(n), np.int64)
        distinct = dedupe_in_order(kids["rows"], kids["score"], order, hashes, table, keep)
        kept = np.flatnonzero(keep)
        if len(kept) < n:
            kids = {name: a[kept] for name, a in kids.items()}
        values = np.zeros(len(kids["key"]), np.float64)
        # With a shortlist, the chains wait for the step's best own values (chain()):
        # the report then carries the top own values.
        size = shortlist_size(self.evaluation, self.width)
        if len(values):
            if size is None:
                self.evaluation.evaluate(kids["rows"], kids["score"], values)
            else:
                self.evaluation.inner.evaluate(kids["rows"], kids["score"], values)
        kids["value"] = values
        self.candidates = kids
        return {"distinct": int(distinct), "memory_mb": process_memory_mb(),
                "sources": [p["stats"] for p in parts],
                **self._report(self.width if size is None else size)}

    def _report(self, k: int) -> dict:
        values = self.candidates["value"]
        return {"finite": int(np.count_nonzero(values > -np.inf)),
                "top": topk.top_values(values, topk.report_size(k, self.n_shards))}

    def chain(self, kth: float | None) -> dict:
        """Follow the chains of the children whose own value is at least ``kth`` (the
        step's shortlist; None: every child); report the top values as receive does."""
        self._threads()
        c = self.candidates
        if len(c["value"]):
            mask = topk.keep_mask(c["value"], c["key"], kth)
            self.evaluation.improve(c["rows"], c["score"], c["value"], mask)
        return self._report(self.width)

    def top_values(self, k: int | None = None) -> np.ndarray:
        return topk.top_values(self.candidates["value"], self.width if k is None else k)

    def tied_keys(self, kth: float, need: int) -> np.ndarray:
        c = self.candidates
        return topk.tied_keys(c["value"], c["key"], kth, need)

    def commit(self, kth: float | None, cut: int) -> dict:
        """The kept children of this shard (store fields and key), candidates freed."""
        c = self.candidates
        keep = topk.keep_mask(c["value"], c["key"], kth, cut)
        self.candidates = None
        return {"rows": c["rows"][keep], "score": c["score"][keep].astype(np.int32),
                "move": c["move"][keep].astype(np.int16), "piece": c["piece"][keep],
                "key": c["key"][keep]}


# -- the Dask tasks ----------------------------------------------------------------------

def setup(version: str, run: str, shard: int, n_shards: int, width: int, evaluation,
          state: dict, level_start: list[int], threads: int | None, best_node: int,
          pruning: tuple) -> float:
    """Create this worker's state for ``shard`` of ``run``; return its memory (MB)."""
    if version != __version__:
        raise RuntimeError(f"this worker runs hatetris {__version__}, the client "
                           f"{version}: install the same version on every machine")
    _SHARDS[run, shard] = Shard(shard, n_shards, width, evaluation, state, level_start,
                                threads, best_node, pruning)
    return process_memory_mb()


def expand(run: str, shard: int, *previous: dict) -> list[dict]:
    """Append the previous step's kept children (if any), then expand the beam."""
    sh = _SHARDS[run, shard]
    if previous:
        sh.add_level(list(previous))
    if _EXIT_AT_DEPTH and _EXIT_AT_DEPTH[0] == len(sh.level_start) - 1:
        os._exit(70)
    return sh.expand()


def bucket(buckets: list[dict], dest: int) -> dict:
    return buckets[dest]


def receive(run: str, shard: int, *parts: dict) -> dict:
    return _SHARDS[run, shard].receive(list(parts))


def top_values(run: str, shard: int, k: int | None = None) -> np.ndarray:
    return _SHARDS[run, shard].top_values(k)


def chain(run: str, shard: int, kth: float | None) -> dict:
    return _SHARDS[run, shard].chain(kth)


def tied_keys(run: str, shard: int, kth: float, need: int) -> np.ndarray:
    return _SHARDS[run, shard].tied_keys(kth, need)


def commit(run: str, shard: int, kth: float | None, cut: int) -> dict:
    return _SHARDS[run, shard].commit(kth, cut)


def drop(run: str) -> int:
    """Free every shard of ``run`` held by this worker (run with ``Client.run``)."""
    for k in [k for k in _SHARDS if k[0] == run]:
        del _SHARDS[k]
    return len(_SHARDS)


def exit_at_depth(depth: int) -> None:
    """Make this worker process exit when it expands ``depth`` (tests of worker loss)."""
    _EXIT_AT_DEPTH[:] = [depth]
