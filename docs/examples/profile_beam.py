"""Where a beam search's time per child goes: each kernel's share of one game.

Runs one beam preset from the empty well at a width (one Numba thread by default) with
every kernel of a step wrapped in a CPU-time counter, then prints each kernel's seconds,
share and microseconds per child. CPU time (not wall time) so that other jobs on a shared
machine distort it less; compare two trees in the same session, e.g. a checkout of an
older commit with ``PYTHONPATH=OLD/src``.

    NUMBA_NUM_THREADS=1 python docs/examples/profile_beam.py nnue-beam 2000
    NUMBA_NUM_THREADS=1 python docs/examples/profile_beam.py nnue-beam 200000 30

(the third argument stops after that many pieces: large widths cost more per child,
since their steps outgrow the caches). ``PROFILE_CLOCK=wall`` counts wall time instead,
to see with several threads which kernels run on one core.
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict

CLOCK = time.perf_counter if os.environ.get("PROFILE_CLOCK") == "wall" else time.process_time
COUNTERS: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)

# module, function name: every kernel a beam step (and quiescence, the NNUE) calls.
KERNELS = {
    "hatetris.search.beam": ("plan_children", "write_children", "dedupe_children",
                             "dedupe_children_bucketed",
                             "select_best", "cap_per_parent", "_append_nodes",
                             "insert_rows_hashes", "_insert_rows_hashes"),
    "hatetris.eval.quiescence": ("count_clearing_children", "write_clearing_children",
                                 "collect_clearing_children", "compact_chunks",
                                 "fold_max", "compose", "kth_largest", "mark_shortlist"),
    "hatetris.nnue.evaluation": ("evaluate_network", "evaluate_quantized",
                                 "evaluate_children_quantized"),
    "hatetris.eval.heuristic": ("evaluate_heuristic",),
}


def wrap(module, name: str) -> None:
    f = getattr(module, name, None)
    if f is None:  # an older tree without this kernel
        return

    def timed(*args, **kwargs):
        t = CLOCK()
        result = f(*args, **kwargs)
        COUNTERS[name] += CLOCK() - t
        CALLS[name] += 1
        return result

    setattr(module, name, timed)


def main(solver: str, width: int, max_depth: int | None = None) -> None:
    import importlib

    from hatetris.presets import load_preset, make_evaluation
    from hatetris.search.beam import BeamSearch

    for module_name, names in KERNELS.items():
        module = importlib.import_module(module_name)
        for name in names:
            wrap(module, name)
    evaluation = make_evaluation(load_preset(solver))
    BeamSearch.warm_up(evaluation)
    COUNTERS.clear()
    CALLS.clear()
    search = BeamSearch(evaluation, width, max_depth, prune=True)  # as solve runs it
    t0 = CLOCK()
    children = 0
    while (stats := search.step()) is not None:
        children += stats.children
    total = CLOCK() - t0
    clock = "wall" if CLOCK is time.perf_counter else "CPU"
    print(f"{solver} width {width:,}: {search.depth} pieces, {search.best_score} lines, "
          f"{children:,} children, {total:.2f} s {clock}, {1e6 * total / children:.3f} us/child")
    rest = total - sum(COUNTERS.values())
    for name, seconds in sorted(COUNTERS.items(), key=lambda kv: -kv[1]) + [("(rest)", rest)]:
        print(f"  {name:30s} {seconds:7.2f} s {100 * seconds / total:5.1f}% "
              f"{1e6 * seconds / children:6.3f} us/child")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else None)
