"""``hatetris solve --cluster``: a beam preset run on a Dask cluster, with the progress,
checkpoints, Ctrl-C and verified solution record of ``solve.run_beam``."""

from __future__ import annotations

import time
from typing import Callable

from ..presets import Preset, make_evaluation
from ..running import drive
from .local import connect, parse_cluster
from .search import ClusterBeamSearch


class ClusterPresetError(ValueError):
    """A preset the cluster search cannot run (MCTS, a parent cap): one line."""


def check_cluster_option(cluster: str, preset: Preset) -> None:
    """Refuse, before anything starts, a bad ``--cluster`` or a preset it cannot run."""
    parse_cluster(cluster)
    check_preset(preset)


def check_preset(preset: Preset) -> None:
    if preset.search.get("kind") != "beam":
        raise ClusterPresetError(f"--cluster needs a beam solver; {preset.name!r} is "
                                 f"{preset.search.get('kind')}")
    if "parent_cap" in preset.search:
        raise ClusterPresetError(f"--cluster does not support parent_cap yet "
                                 f"({preset.name!r} sets it)")
    if preset.lookahead.get("enabled", False):
        raise ClusterPresetError(f"--cluster does not support [lookahead] yet "
                                 f"({preset.name!r} enables it)")


def memory_postfix(search: ClusterBeamSearch) -> str:
    """Each worker's resident memory, in shard order of first appearance."""
    return "/".join(f"{m:,.0f}" for m in search.memory_mb.values()) + "MB"


def cluster_postfix(search: ClusterBeamSearch, stats) -> str:
    return (f"depth={search.depth} beam={stats.beam} best={search.best_score} "
            f"children/s={stats.children_per_second:,.0f} mem/worker={memory_postfix(search)}")


def run_cluster_beam(preset: Preset, cluster, *, width: int | None = None,
                     max_depth: int | None = None, workers: int | None = None,
                     seed: int = 0, checkpoint: str | None = None, resume: bool = False,
                     checkpoint_every: int | None = None, progress: bool = True,
                     on_step: Callable | None = None,
                     start: tuple[str, int] | None = None, shards: int | None = None) -> dict:
    """Run a beam preset on ``cluster`` (``local:N``, a scheduler address or a Client);
    return the verified solution record. ``workers`` is each worker's Numba thread count
    (default: the cores shared out for ``local:N``, Numba's default on a real cluster).
    The game is the single-process ``run_beam``'s, and the checkpoints are its format."""
    from tqdm import tqdm

    from ..search.checkpoint import load_checkpoint
    from ..search.tree import game_nodes
    from ..solve import beam_fingerprint, beam_solution

    check_preset(preset)
    width = int(width or preset.search.get("width", 1000))
    max_depth = max_depth or preset.search.get("max_depth")
    every = int(checkpoint_every or preset.search.get("checkpoint_every", 25))
    evaluation = make_evaluation(preset)
    fingerprint = beam_fingerprint(preset, width, start)
    if resume and not checkpoint:
        raise ValueError("--resume needs --checkpoint DIR")
    loaded = load_checkpoint(checkpoint, fingerprint, evaluation, max_depth) if resume else None
    with connect(cluster) as (client, local_threads):
        threads = workers or local_threads
        ClusterBeamSearch.warm_up(client, evaluation, threads=threads)
        if loaded is not None:
            search = ClusterBeamSearch.from_search(client, loaded, shards=shards,
                                                   threads=threads, prune=True)
        else:
            search = ClusterBeamSearch(client, evaluation, width, max_depth,
                                       start=game_nodes(*start) if start else None,
                                       shards=shards, threads=threads, prune=True)
        t_start = time.perf_counter()
        elapsed_before = search.elapsed
        bar = tqdm(total=max_depth, initial=search.depth, disable=not progress, unit="piece",
                   dynamic_ncols=True, desc=f"{preset.name} w={width} cluster")
        try:
            interrupted = drive(search.step, bar, lambda stats: cluster_postfix(search, stats),
                                on_step=(lambda stats: on_step(search, stats))
                                if on_step else None,
                                save=(lambda: search.save_checkpoint(checkpoint, fingerprint))
                                if checkpoint else None, every=every)
        finally:
            bar.close()
            n_workers = len(set(search.addresses))
            memory = dict(search.peak_memory_mb)
            search.close()
    if checkpoint:
        search.save_checkpoint(checkpoint, fingerprint)
    return beam_solution(
        preset, search, width=width, max_depth=max_depth, start=start, seed=seed,
        wall=time.perf_counter() - t_start, resumed_from=elapsed_before if resume else None,
        workers=threads, interrupted=interrupted,
        cluster={"address": cluster if isinstance(cluster, str) else "client",
                 "workers": n_workers, "shards": search.n_shards,
                 "recoveries": search.recoveries,
                 "peak_worker_memory_mb": {a: round(m, 1) for a, m in memory.items()}})
