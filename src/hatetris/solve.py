"""Running a solver preset: progress, checkpoints, Ctrl-C, verification, the solution file.

``hatetris.solve(...)`` calls :func:`solve` (this module is callable, see the end).
"""

from __future__ import annotations

import hashlib
import sys
import time
import types
from typing import Any, Callable

import numba

from . import __version__
from .presets import Preset, make_evaluation
# deferred_interrupt and default_workers are imported from here by callers.
from .running import (  # noqa: F401
    default_workers,
    deferred_interrupt,
    drive,
    memory_mb,
    peak_memory_mb,
)
from .solution import make_solution


def beam_postfix(search, stats) -> str:
    """A beam's progress-bar postfix: beam size, best score so far, children/s."""
    return (f"beam={stats.beam} best={search.best_score} "
            f"children/s={stats.children_per_second:,.0f}")


def finish_search(search, bar, save: Callable | None = None, every: int = 50) -> None:
    """Step a beam search to its end under ``bar``. On Ctrl-C, ``save()`` (if given) and
    raise ``KeyboardInterrupt``: a rerun resumes from what was saved. A search resumed
    at its end is not saved again (a wide beam's checkpoint is large)."""
    start = search.depth
    interrupted = drive(search.step, bar, lambda stats: beam_postfix(search, stats),
                        save=save, every=every)
    bar.close()
    if save is not None and (interrupted or search.depth != start):
        save()
    if interrupted:
        raise KeyboardInterrupt


def beam_fingerprint(preset: Preset, width: int, start: tuple[str, int] | None = None) -> dict:
    """What must match for a checkpoint to be resumed (workers and depth limit need not)."""
    fingerprint = {"solver": preset.name, "kind": "beam", "width": width,
                   "eval": preset.eval, "quiescence": preset.quiescence,
                   "engine_version": __version__}
    # Only when set, so that older checkpoints stay resumable.
    if "parent_cap" in preset.search:
        fingerprint["parent_cap"] = preset.search["parent_cap"]
    if preset.lookahead:
        fingerprint["lookahead"] = preset.lookahead
    if start is not None:
        keys, piece = start
        fingerprint["start"] = {"game": hashlib.sha256(keys.encode()).hexdigest()[:16],
                                "piece": piece}
    return fingerprint


def run_beam(preset: Preset, *, width: int | None = None, max_depth: int | None = None,
             workers: int | None = None, seed: int = 0, checkpoint: str | None = None,
             resume: bool = False, checkpoint_every: int | None = None,
             progress: bool = True, on_step: Callable | None = None,
             start: tuple[str, int] | None = None) -> dict:
    """Run a beam preset to the end (or Ctrl-C); return the verified solution record.

    ``start = (keys, k)`` continues the game ``keys`` after its k-th piece: the search
    begins from that well, with the game's wells as its history, and the solution is the
    whole game, replayed from the empty well.
    """
    from tqdm import tqdm

    from .search.beam import BeamSearch
    from .search.checkpoint import load_checkpoint, save_checkpoint
    from .search.tree import game_nodes

    width = int(width or preset.search.get("width", 1000))
    max_depth = max_depth or preset.search.get("max_depth")
    workers = int(workers or preset.search.get("workers") or default_workers())
    every = int(checkpoint_every or preset.search.get("checkpoint_every", 25))
    numba.set_num_threads(min(workers, numba.config.NUMBA_NUM_THREADS))
    evaluation = make_evaluation(preset)
    BeamSearch.warm_up(evaluation)
    fingerprint = beam_fingerprint(preset, width, start)
    if resume:
        if not checkpoint:
            raise ValueError("--resume needs --checkpoint DIR")
        search = load_checkpoint(checkpoint, fingerprint, evaluation, max_depth)
    else:
        search = BeamSearch(evaluation, width, max_depth, preset.search.get("parent_cap"),
                            game_nodes(*start) if start else None, prune=True)
    t_start = time.perf_counter()
    elapsed_before = search.elapsed
    bar = tqdm(total=max_depth, initial=search.depth, disable=not progress, unit="piece",
               dynamic_ncols=True, desc=f"{preset.name} w={width}")

    def describe(stats) -> str:
        return f"depth={search.depth} {beam_postfix(search, stats)} mem={memory_mb():,.0f}MB"

    interrupted = drive(search.step, bar, describe,
                        on_step=(lambda stats: on_step(search, stats)) if on_step else None,
                        save=(lambda: save_checkpoint(checkpoint, search, fingerprint))
                        if checkpoint else None, every=every)
    bar.close()
    if checkpoint:
        save_checkpoint(checkpoint, search, fingerprint)
    return beam_solution(preset, search, width=width, max_depth=max_depth, start=start,
                         seed=seed, wall=time.perf_counter() - t_start,
                         resumed_from=elapsed_before if resume else None, workers=workers,
                         interrupted=interrupted)


def beam_solution(preset: Preset, search, *, width: int, max_depth: int | None,
                  start: tuple[str, int] | None, seed: int, wall: float,
                  resumed_from: float | None, workers: int, interrupted: bool,
                  **extra: Any) -> dict:
    """The verified solution record of a finished (or stopped) beam search, one process
    or a cluster (``extra`` adds the cluster's own fields)."""
    from .search.tree import path_keys

    node = search.best_node
    keys = path_keys(search.store, node)
    return make_solution(
        keys, int(search.store.score[node]), int(search.store.depth[node]),
        solver=preset.name,
        parameters={**preset.to_json(),
                    "search": {**preset.search, "width": width, "max_depth": max_depth},
                    "width": width, "max_depth": max_depth,
                    **({"start_piece": start[1]} if start else {})},
        seed=seed,
        elapsed=round(search.elapsed, 3),
        wall_this_run=round(wall, 3),
        resumed_from=None if resumed_from is None else round(resumed_from, 3),
        workers=workers,
        **extra,
        depth_reached=search.depth,
        children=int(search.children_total),
        loop_rule_hits=int(search.loops_total),
        peak_memory_mb=round(peak_memory_mb(), 1),
        interrupted=interrupted,
    )


def run_preset(preset: Preset, **kwargs: Any) -> dict:
    kind = preset.search.get("kind")
    if kind == "beam":
        for k in ("simulations",):
            kwargs.pop(k, None)
        return run_beam(preset, **kwargs)
    if kind == "mcts":
        from .search.mcts import run_mcts

        return run_mcts(preset, **kwargs)
    raise ValueError(f"unknown search kind {kind!r}")


def solve(solver: str = "quick", *, progress: bool = False, **options: Any) -> dict:
    """Search for a long game with a solver preset (a name from ``hatetris solvers`` or a
    .toml path) and return its solution record, verified by replay: ``score``,
    ``pieces``, ``replay`` and how it was found. ``options`` are those of
    ``hatetris solve``: ``width`` (beam), ``simulations`` (MCTS), ``max_depth``,
    ``workers``, ``seed``, ``checkpoint``, ``resume``, ``start=(keys, piece)`` (beam).

    >>> solve("quick", width=5, max_depth=4)["pieces"]
    4
    """
    from .presets import load_preset

    return run_preset(load_preset(solver), progress=progress, **options)


class _CallableModule(types.ModuleType):
    """``hatetris.solve`` is both this module and the API function :func:`solve`: the
    import system binds the package attribute to the module, so the module is callable."""

    def __call__(self, solver: str = "quick", **options: Any) -> dict:
        return solve(solver, **options)


sys.modules[__name__].__class__ = _CallableModule
