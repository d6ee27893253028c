"""Running a long search: Ctrl-C between steps, the worker default, memory figures.

Shared by every search driver (beam in :mod:`hatetris.solve`, MCTS in
:mod:`hatetris.search.mcts.runner`), so neither imports the other.
"""

from __future__ import annotations

import os
import resource
import signal
from contextlib import contextmanager
from typing import Callable

import numba


def peak_memory_mb() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return peak_memory_mb()


def default_workers() -> int:
    """Threads a search uses unless told (``--workers``, a preset's ``workers``).

    One, or ``$HATETRIS_WORKERS``: on a shared machine a second thread waits for a busy
    core at every parallel step. Measured on the 2-core machine with a busy loop on one
    core: beam quick w=1000, 120 pieces, 12.0-15.1 s with 1 worker, 27.7-34.8 s with 2;
    MCTS 100 simulations, 40 pieces, 1.5 s with 1, 21.9 s with 2 (docs/results.md).
    """
    try:
        return max(1, int(os.environ.get("HATETRIS_WORKERS", "1")))
    except ValueError:
        return 1


@contextmanager
def deferred_interrupt():
    """Turn Ctrl-C into a flag checked between steps, so a step is never half-done."""
    flag = {"set": False}

    def handler(signum, frame):
        if flag["set"]:  # a second Ctrl-C: stop at once
            raise KeyboardInterrupt
        flag["set"] = True

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not in the main thread
        yield flag
        return
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def drive(step: Callable, bar, describe: Callable, on_step: Callable | None = None,
          save: Callable | None = None, every: int = 25) -> bool:
    """Call ``step()`` until it returns None or Ctrl-C; True if interrupted.

    After each step: the progress bar, ``on_step(stats)``, and every ``every`` steps
    ``save()`` (a checkpoint). Ctrl-C is honoured between steps only.
    """
    with deferred_interrupt() as stop:
        steps = 0
        while True:
            if stop["set"]:
                return True
            stats = step()
            if stats is None:
                return False
            steps += 1
            bar.update(1)
            bar.set_postfix_str(describe(stats), refresh=False)
            if on_step is not None:
                on_step(stats)
            if save is not None and steps % every == 0:
                save()


# Measured on the 2 shared cores: a cold `hatetris solve --solver quick --max-depth 5`
# took 52 s of wall time (3.6 s of it searching; 42 s in an earlier measurement); the
# README's command in a fresh clone, 30-50 s before its first pieces, under load.
COLD_COMPILE_SECONDS = 60


def kernels_cached() -> bool:
    """True if Numba's on-disk cache holds the beam search's main kernels for the current
    sources (their index files exist and match), so a run starts without compiling.

    Cheap: it reads three small index files, compiles nothing. Any surprise in Numba's
    cache internals counts as cached (no first-run notice rather than a wrong one).
    """
    try:
        from .engine import children_into
        from .eval.heuristic import evaluate_heuristic
        from .search.beam import plan_children

        return all(bool(f._cache._cache_file._load_index())
                   for f in (children_into, evaluate_heuristic, plan_children))
    except Exception:  # noqa: BLE001 - private numba API; fail quiet
        return True
