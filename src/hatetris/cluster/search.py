"""The client's driver of the sharded beam: :class:`ClusterBeamSearch`.

One step, as Dask tasks pinned to the workers holding each shard:

1. ``expand`` on every shard: append the previous step's kept children to the shard's
   store replica, then plan and write the children of the shard's beam wells, each with
   its key (parent's beam index, slot) and sorted into one bucket per owning shard;
2. ``receive`` on every shard, fed with its bucket from every shard (Dask moves them
   worker to worker): dedupe in key order, value, report the shard's top values;
3. the client finds the exact threshold (``topk``), the shards keep what it says
   (``commit``) and the client merges the kept children by key into the next level of
   its node store, in the order the single-process search would have.

The commit of one step and the expansion of the next go in one round trip.

The client's node store is the single-process one (same arrays, same order), so the game
is rebuilt with ``path_keys`` and checkpoints are the single-process format: a checkpoint
written on a cluster resumes in one process and the converse.
"""

from __future__ import annotations

import time
import uuid

import numpy as np

from .. import __version__
from ..eval.lookahead import LookaheadEvaluation
from ..search.beam import StepStats
from ..search.tree import NodeStore, game_nodes
from . import shards, topk
from .shards import Pruning


class ClusterError(RuntimeError):
    """The cluster cannot run the search (a worker lost, a task failed): one line."""


class WorkerLost(Exception):
    def __init__(self, address: str):
        super().__init__(address)
        self.address = address


class ClusterBeamSearch:
    """A beam search sharded by well hash over a Dask cluster's workers.

    ``step()`` and ``run()`` as :class:`~hatetris.search.beam.BeamSearch`, with the same
    game: the kept set of every step is the single-process search's, whatever the number
    of shards or workers. ``shards`` (default: one per worker) are placed round-robin
    on ``workers`` (default: every worker of the client). ``threads`` is each shard's
    Numba thread count (default: Numba's). If a worker dies during a step, the shards are
    rebuilt from the client's store on the workers left (up to ``max_recoveries`` times)
    and the step is run again; past that, :class:`ClusterError`.
    """

    def __init__(self, client, evaluation, width: int, max_depth: int | None = None,
                 parent_cap: int | None = None, start: dict[str, np.ndarray] | None = None,
                 *, shards: int | None = None, workers: list[str] | None = None,
                 threads: int | None = None, max_recoveries: int = 1,
                 poll_seconds: float = 0.25, prune: bool = False,
                 min_compact: int = shards.MIN_COMPACT_NODES):
        if width < 1:
            raise ValueError("width must be at least 1")
        if parent_cap is not None:
            raise ValueError("parent_cap is not supported on a cluster (yet)")
        if isinstance(evaluation, LookaheadEvaluation):
            raise ValueError("a lookahead evaluation is not supported on a cluster (yet)")
        self.client = client
        self.evaluation = evaluation
        self.width = int(width)
        self.parent_cap = None
        self.max_depth = max_depth
        self.threads = threads
        self.max_recoveries = int(max_recoveries)
        self.recoveries = 0
        self.poll_seconds = poll_seconds
        self._want_workers = list(workers) if workers else None
        self.n_shards = int(shards) if shards else 0
        self.store = NodeStore()
        self.store.add_root()
        self.level_start = [0]
        self.best_node = 0
        self.children_total = 0
        self.loops_total = 0
        self.elapsed = 0.0
        self.finished = False
        # With ``prune``, the client's store and every replica drop dead lineages at the
        # same moments (shards.Pruning), as BeamSearch(prune=True): memory follows the
        # width, not the depth, and the game does not change.
        self.pruning = Pruning(bool(prune), max(min_compact, 1), max(min_compact, 1))
        self.memory_mb: dict[str, float] = {}  # per worker, the last step
        self.peak_memory_mb: dict[str, float] = {}
        self.run_id = ""
        self.addresses: list[str] = []
        self._previous: list = []  # last step's commit futures, appended by the next expand
        self._pending: list | None = None  # owners' reports of children not yet committed
        if start is not None:
            self._add_start(start)

    # -- building ------------------------------------------------------------------------

    def _add_start(self, nodes: dict[str, np.ndarray]) -> None:
        """A game's first pieces as one line of play, as ``BeamSearch(start=...)``."""
        k = self.store.add_line(nodes)
        self.level_start = list(range(k + 1))
        self.best_node = k

    @classmethod
    def from_search(cls, client, search, **kwargs) -> "ClusterBeamSearch":
        """Continue a single-process search (e.g. ``load_checkpoint``'s) on the cluster."""
        c = cls(client, search.evaluation, search.width, search.max_depth,
                search.parent_cap, **kwargs)
        c.store = NodeStore.from_state(search.store.state())
        c.level_start = list(search.level_start)
        c.best_node = int(search.best_node)
        c.children_total = int(search.children_total)
        c.loops_total = int(search.loops_total)
        c.elapsed = float(search.elapsed)
        c.finished = bool(search.finished)
        c.pruning.enabled = bool(kwargs.get("prune", getattr(search, "prune", False)))
        c.pruning.compactions = int(getattr(search, "compactions", 0))
        c.pruning.compact_at = max(int(getattr(search, "compact_at", c.pruning.compact_at)),
                                   c.pruning.min_compact)
        return c

    def as_beam_search(self):
        """A single-process :class:`BeamSearch` sharing this search's store and counters:
        what ``search.checkpoint.save_checkpoint`` writes (its format, whatever fields it
        grows), and a search that continues in one process."""
        from ..search.beam import BeamSearch

        b = BeamSearch(self.evaluation, self.width, self.max_depth)
        b.store = self.store
        b.level_start = list(self.level_start)
        b.best_node = self.best_node
        b.children_total = self.children_total
        b.loops_total = self.loops_total
        b.elapsed = self.elapsed
        b.finished = self.finished
        for name, value in (("prune", self.pruning.enabled),
                            ("compactions", self.pruning.compactions),
                            ("compact_at", self.pruning.compact_at),
                            ("min_compact", self.pruning.min_compact)):
            if hasattr(b, name):
                setattr(b, name, value)
        return b

    def save_checkpoint(self, directory, fingerprint: dict) -> None:
        """A checkpoint in the single-process format (resumable with or without a cluster)."""
        from ..search.checkpoint import save_checkpoint

        save_checkpoint(directory, self.as_beam_search(), fingerprint)

    @classmethod
    def from_game(cls, client, evaluation, width: int, keys: str, pieces: int,
                  **kwargs) -> "ClusterBeamSearch":
        return cls(client, evaluation, width, start=game_nodes(keys, pieces), **kwargs)

    def _live_workers(self) -> list[str]:
        return sorted(self.client.nthreads())

    def _setup(self) -> None:
        """(Re)build every shard's state from the client's store."""
        live = self._live_workers()
        if self._want_workers:
            chosen = [w for w in self._want_workers if w in live] or live
        else:
            chosen = live
        if not chosen:
            raise ClusterError("the cluster has no workers")
        if not self.n_shards:
            self.n_shards = len(chosen)
        if self.run_id:
            self._drop()
        self.run_id = uuid.uuid4().hex
        self.addresses = [chosen[i % len(chosen)] for i in range(self.n_shards)]
        # In a list: a dict given to scatter would be scattered as named keys.
        # The evaluation travels once to each worker, not inside every shard's task.
        state_future, evaluation_future = self.client.scatter(
            [self.store.state(), self.evaluation], broadcast=True, hash=False)
        setups = [self._submit(shards.setup, i, __version__, self.run_id, i, self.n_shards,
                               self.width,
                               evaluation_future, state_future, self.level_start,
                               self.threads,
                               self.best_node, self.pruning.state())
                  for i in range(self.n_shards)]
        self._note_memory([{"memory_mb": m} for m in self._gather(setups)])
        self._previous = []
        self._pending = None

    def _submit(self, fn, shard: int, *args):
        return self.client.submit(fn, *args, workers=[self.addresses[shard]],
                                  allow_other_workers=False, pure=False)

    def _gather(self, futures: list):
        """Results of ``futures``; WorkerLost as soon as a shard's worker leaves."""
        from distributed import wait
        from distributed.client import FutureCancelledError

        try:
            from distributed.scheduler import KilledWorker
        except ImportError:  # pragma: no cover - older distributed
            KilledWorker = RuntimeError  # noqa: N806
        while True:
            try:
                wait(futures, timeout=self.poll_seconds)
                break
            except TimeoutError:
                live = set(self.client.nthreads())
                for a in self.addresses:
                    if a not in live:
                        raise WorkerLost(a) from None
        try:
            return self.client.gather(futures)
        except (KilledWorker, FutureCancelledError, OSError) as e:
            raise WorkerLost(getattr(e, "last_worker", None) or str(e)) from None
        except Exception as e:  # noqa: BLE001 - a task raised on a worker: one line
            first = (str(e).splitlines() or [""])[0]
            raise ClusterError(f"a task failed on a worker: {type(e).__name__}: {first}"
                               ) from e

    def _note_memory(self, reports: list[dict]) -> None:
        """Each worker's resident memory in this step (the largest its tasks saw)."""
        now: dict[str, float] = {}
        for i, r in enumerate(reports):
            a = self.addresses[i % self.n_shards]
            now[a] = max(now.get(a, 0.0), r["memory_mb"])
        self.memory_mb = now
        for a, m in now.items():
            self.peak_memory_mb[a] = max(self.peak_memory_mb.get(a, 0.0), m)

    def _drop(self) -> None:
        try:
            self.client.run(shards.drop, self.run_id)
        except Exception:  # a worker just lost: nothing of ours left on it
            pass

    def close(self) -> None:
        """Free the workers' state of this search (the client keeps the store)."""
        if self.run_id:
            self._drop()
            self.run_id = ""
            self._previous = []
            self._pending = None

    # -- state ---------------------------------------------------------------------------

    @property
    def depth(self) -> int:
        return len(self.level_start) - 1

    @property
    def compactions(self) -> int:
        return self.pruning.compactions

    @property
    def beam_size(self) -> int:
        return self.store.size - self.level_start[-1]

    @property
    def best_score(self) -> int:
        return int(self.store.score[self.best_node])

    # -- one step ------------------------------------------------------------------------

    def step(self) -> StepStats | None:
        """Advance the beam one piece; None when there is nothing left to do."""
        if self.finished or (self.max_depth is not None and self.depth >= self.max_depth):
            return None
        t0 = time.perf_counter()
        while True:
            try:
                if not self.run_id:
                    self._setup()
                stats = self._step(t0)
                break
            except WorkerLost as e:
                if self.recoveries >= self.max_recoveries:
                    self.close()
                    raise ClusterError(
                        f"worker {e.address} left the cluster during the step to depth "
                        f"{self.depth + 1}; the search stopped there (resume from a "
                        f"checkpoint with --resume)") from None
                self.recoveries += 1
                self.close()
                self._wait_for_workers()  # then the loop rebuilds the shards
        return stats

    def _wait_for_workers(self, seconds: float = 30.0) -> None:
        """Give a restarting worker (a nanny restarts a dead one) time to come back."""
        want = len(set(self.addresses))
        t_end = time.monotonic() + seconds
        while time.monotonic() < t_end:
            if len(self._live_workers()) >= want:
                return
            time.sleep(0.25)

    def _submit_expand(self) -> list:
        """Expand every shard (appending the last commits first) and route the children
        to their owners; the futures of the owners' reports."""
        n = self.n_shards
        exp = [self._submit(shards.expand, i, self.run_id, i, *self._previous)
               for i in range(n)]
        self._previous = []
        return [self._submit(shards.receive, d, self.run_id, d,
                             *[self._submit(shards.bucket, s, exp[s], d) for s in range(n)])
                for d in range(n)]

    def _step(self, t0: float) -> StepStats | None:
        """Commit the step whose children wait at their owners, and (pipelined, in the
        same round trip) expand the next level: one wait per step instead of two."""
        n = self.n_shards
        if self._pending is None:
            self._pending = self._gather(self._submit_expand())
        reports = self._pending
        expand_stats = sorted(reports[0]["sources"], key=lambda r: r["shard"])
        total = sum(r["children"] for r in expand_stats)
        loops = sum(r["loops"] for r in expand_stats)
        self._note_memory(expand_stats + reports)
        if total == 0:
            self._pending = None
            self.finished = True
            self.elapsed += time.perf_counter() - t0
            return None
        distinct = sum(r["distinct"] for r in reports)
        tops = [r["top"] for r in reports]
        finite = [r["finite"] for r in reports]
        size = shards.shortlist_size(self.evaluation, self.width)
        if size is not None:
            # The reports hold own values: the step's shortlist is their size-th best
            # (ties included, as the single process's), and then the chains.
            kth_own = self._threshold(tops, finite, size)
            chained = self._gather([self._submit(shards.chain, d, self.run_id, d,
                                                 None if kth_own is None else kth_own[0])
                                    for d in range(n)])
            tops = [r["top"] for r in chained]
            finite = [r["finite"] for r in chained]
        threshold = self._threshold(tops, finite, self.width)
        kth, cut = None, topk.MAX_KEY
        if threshold is not None:
            kth, need, exact = threshold
            if not exact:
                tied = self._gather([self._submit(shards.tied_keys, d, self.run_id, d, kth,
                                                  need) for d in range(n)])
                cut = topk.key_cut(tied, need)
        commits = [self._submit(shards.commit, d, self.run_id, d, kth, cut) for d in range(n)]
        self._previous = commits
        more = self.max_depth is None or self.depth + 1 < self.max_depth
        got = self._gather(commits + (self._submit_expand() if more else []))
        kept = got[:n]
        self._pending = got[n:] if more else None
        s = self.store
        level = shards.merge_level(kept, self.level_start[-1], self.depth + 1)
        at = shards.append_level(s, level)
        self.level_start.append(at)
        beam = s.size - at
        self.best_node = shards.best_after(s, at, self.best_node)
        compacted = self.pruning.after_append(s, self.level_start, self.best_node)
        if compacted is not None:
            self.level_start, self.best_node = compacted
        self.children_total += total
        self.loops_total += loops
        dt = time.perf_counter() - t0
        self.elapsed += dt
        return StepStats(self.depth, beam, total, distinct, loops, dt)

    def _threshold(self, tops: list[np.ndarray], finite: list[int], k: int):
        """:func:`topk.value_threshold` of the top ``k``, asking the shards whose short
        lists may hide part of it for their top ``k`` (``tops`` is updated)."""
        while (threshold := topk.value_threshold(tops, finite, k)) is not None:
            short = topk.uncertain_shards(tops, finite, k, threshold[0])
            if not short:
                break
            more = self._gather([self._submit(shards.top_values, d, self.run_id, d, k)
                                 for d in short])
            for d, t in zip(short, more):
                tops[d] = t
        return threshold

    def run(self, on_step=None) -> int:
        """Step to the end; return the best node (``store`` index)."""
        while (stats := self.step()) is not None:
            if on_step is not None:
                on_step(self, stats)
        return self.best_node

    @staticmethod
    def warm_up(client, evaluation, **kwargs) -> None:
        """Compile (or load from the Numba cache) every kernel on every worker."""
        tiny = ClusterBeamSearch(client, evaluation, 2, 3, **kwargs)
        try:
            tiny.run()
        finally:
            tiny.close()
