"""Running an MCTS preset: progress, checkpoints that resume exactly, the verified solution.

A checkpoint directory holds the committed game so far as a verified solution record
(``mcts-partial.json``) and the whole search (``mcts-tree.npz``, see :mod:`.state`):
resumed, the search plays the very moves an uninterrupted run would have.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from ...engine import MAX_CHILDREN
from .arrays import BACKUPS
from .tree import MCTS

PARTIAL_FILE = "mcts-partial.json"
TREE_FILE = "mcts-tree.npz"


def mcts_fingerprint(preset, settings: dict[str, Any], seed: int) -> dict:
    from ... import __version__

    return {"solver": preset.name, "kind": "mcts", **settings, "seed": seed,
            "eval": preset.eval, "quiescence": preset.quiescence,
            "engine_version": __version__}


def run_mcts(preset, *, width: int | None = None, max_depth: int | None = None,
             workers: int | None = None, seed: int = 0, checkpoint: str | None = None,
             resume: bool = False, checkpoint_every: int | None = None,
             progress: bool = True, on_step: Callable | None = None,
             simulations: int | None = None) -> dict:
    """Play a whole game with an MCTS preset (or to Ctrl-C); return the verified solution.

    ``width`` is ignored (beam only). With ``checkpoint=DIR`` the committed game
    (``DIR/mcts-partial.json``, a verified solution record) and the search
    (``DIR/mcts-tree.npz``) are saved every ``checkpoint_every`` moves and at the end;
    ``resume`` continues that search exactly: the same game as an uninterrupted run.
    ``max_depth`` may be raised on resume.
    """
    import numba
    from tqdm import tqdm

    from ...codecs import encode
    from ...presets import PresetError, make_evaluation
    from ..checkpoint import CheckpointError
    from ...solution import SolutionError, load_solution, make_solution, save_solution, verify
    from ...running import drive, memory_mb, peak_memory_mb
    from .state import load_tree, save_tree

    s = preset.search
    sims = int(simulations or s.get("simulations", 1000))
    exploration = float(s.get("exploration", 0.3))
    max_nodes = int(s.get("max_nodes", 1_000_000))
    backup = s.get("backup", "max")
    max_depth = max_depth or s.get("max_depth")
    # Batches are small: thread launches cost more than they save (and far more on a
    # loaded machine), so one thread unless asked. The game does not depend on it.
    workers = int(workers or s.get("workers") or 1)
    every = int(checkpoint_every or s.get("checkpoint_every", 25))
    if backup not in BACKUPS:
        raise PresetError(f"{preset.path}: [search] backup must be one of "
                          f"{', '.join(BACKUPS)}, not {backup!r}")
    if exploration < 0:
        raise PresetError(f"{preset.path}: [search] exploration must not be negative")
    if max_nodes < 2 * MAX_CHILDREN:
        raise PresetError(f"{preset.path}: [search] max_nodes must be at least "
                          f"{2 * MAX_CHILDREN}")
    if resume and not checkpoint:
        raise ValueError("--resume needs --checkpoint DIR")
    numba.set_num_threads(min(workers, numba.config.NUMBA_NUM_THREADS))
    settings = {"simulations": sims, "exploration": exploration, "max_nodes": max_nodes,
                "backup": backup}
    fingerprint = mcts_fingerprint(preset, settings, seed)
    evaluation = make_evaluation(preset)
    search = MCTS(evaluation, simulations=sims, exploration=exploration, max_nodes=max_nodes,
                  backup=backup, max_depth=max_depth, seed=seed)
    partial_path = Path(checkpoint) / PARTIAL_FILE if checkpoint else None
    tree_path = Path(checkpoint) / TREE_FILE if checkpoint else None
    elapsed_before = 0.0
    if resume:
        if not partial_path.exists():
            raise CheckpointError(f"no MCTS checkpoint in {checkpoint} ({PARTIAL_FILE})")
        try:
            saved = load_solution(partial_path)
            verify(saved["replay"], int(saved["score"]), saved.get("pieces"))
        except SolutionError as e:
            raise CheckpointError(f"{partial_path}: {e}") from None
        if saved.get("fingerprint") != fingerprint:
            raise CheckpointError(f"{partial_path} is from a different run (solver, settings, "
                                  f"seed or engine version differ); not resuming")
        keys = saved.get("keys")
        if not isinstance(keys, str) or encode(keys) != saved["replay"]:
            raise CheckpointError(f"{partial_path}: its keys do not match its replay")
        if not tree_path.exists():
            raise CheckpointError(f"{checkpoint} holds no MCTS tree ({TREE_FILE}; an older "
                                  f"checkpoint): it cannot be resumed exactly")
        try:
            search = load_tree(tree_path, evaluation)
        except (ValueError, KeyError, TypeError) as e:
            raise CheckpointError(f"corrupt checkpoint {tree_path}: {e}") from None
        if search.keys != keys:
            raise CheckpointError(f"{tree_path} and {partial_path} are from different moves "
                                  f"of the run; not resuming")
        search.max_depth = max_depth
        elapsed_before = float(saved.get("elapsed", 0.0))

    def solution(interrupted: bool, wall: float) -> dict:
        return make_solution(
            search.keys, search.score, search.depth,
            solver=preset.name,
            parameters={**preset.to_json(), **settings, "max_depth": max_depth,
                        "batch": search.batch, "commit": search.commit},
            seed=seed,
            elapsed=round(search.elapsed, 3),  # the saved search carries its past
            wall_this_run=round(wall, 3),
            resumed_from=round(elapsed_before, 3) if resume else None,
            workers=workers,
            depth_reached=search.depth,
            children=int(search.children_evaluated),
            simulations_total=int(search.simulations_total),
            loop_rule_hits=int(search.loops_total),
            reexpansions=int(search.reexpansions),
            peak_memory_mb=round(peak_memory_mb(), 1),
            interrupted=interrupted,
        )

    def save_partial(interrupted: bool, wall: float) -> None:
        partial_path.parent.mkdir(parents=True, exist_ok=True)
        save_tree(tree_path, search)  # first: the record names a move the tree has reached
        save_solution(partial_path, {**solution(interrupted, wall), "fingerprint": fingerprint,
                                     "keys": search.keys})

    t_start = time.perf_counter()
    bar = tqdm(total=max_depth, initial=search.depth, disable=not progress, unit="piece",
               dynamic_ncols=True, desc=f"{preset.name} sims={sims}")

    def describe(stats) -> str:
        rate = stats.simulations / stats.seconds if stats.seconds > 0 else 0.0
        return (f"depth={stats.depth} best={stats.score} nodes={stats.nodes} "
                f"sims/s={rate:,.0f} mem={memory_mb():,.0f}MB")

    interrupted = drive(
        search.step, bar, describe,
        on_step=(lambda stats: on_step(search, stats)) if on_step is not None else None,
        save=(lambda: save_partial(False, time.perf_counter() - t_start))
        if partial_path is not None else None, every=every)
    bar.close()
    wall = time.perf_counter() - t_start
    if partial_path is not None:
        save_partial(interrupted, wall)
    return solution(interrupted, wall)
