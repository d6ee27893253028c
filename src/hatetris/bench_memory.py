"""Peak memory of a beam search against its depth (``hatetris bench memory``).

Each measurement is a fresh process (``python -m hatetris.bench_memory``, its parameters
on standard input) that runs one beam search to a depth and reports the kernel's account
of its own peak resident memory, so one run's buffers never count in another's figure.
With pruning, memory should follow the width, not the depth.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass


@dataclass
class MemoryRun:
    solver: str
    width: int
    depth: int  # pieces searched (asked)
    prune: bool
    reached: int  # pieces searched before the beam died or the depth was reached
    nodes: int  # nodes in the store at the end
    peak_mb: float
    seconds: float

    def to_json(self) -> dict:
        return dict(self.__dict__)


def measure(solver: str, width: int, depth: int, prune: bool, workers: int = 1,
            keys: str | None = None, from_piece: int = 0) -> MemoryRun:
    """Run one search in a child process (continuing ``keys`` after ``from_piece`` pieces,
    if given) and read its peak memory."""
    spec = {"solver": solver, "width": width, "depth": depth, "prune": prune,
            "workers": workers, "keys": keys, "from_piece": from_piece}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "hatetris.bench_memory"], input=json.dumps(spec),
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the measuring process failed: {last}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    return MemoryRun(solver, width, depth, prune, r["reached"], r["nodes"], r["peak_mb"],
                     seconds)


def _child(spec: dict) -> dict:
    import resource

    import numba

    from .presets import load_preset, make_evaluation
    from .search.beam import BeamSearch
    from .search.tree import game_nodes

    numba.set_num_threads(min(int(spec["workers"]), numba.config.NUMBA_NUM_THREADS))
    evaluation = make_evaluation(load_preset(spec["solver"]))
    start = game_nodes(spec["keys"], int(spec["from_piece"])) if spec.get("keys") else None
    first = 0 if start is None else len(start["score"])
    search = BeamSearch(evaluation, int(spec["width"]), first + int(spec["depth"]),
                        start=start, prune=bool(spec["prune"]))
    while search.step() is not None:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"reached": search.depth - first, "nodes": search.store.size, "peak_mb": peak}


def table(runs: list[MemoryRun]) -> str:
    """A Markdown table of the runs."""
    lines = ["| solver | width | prune | depth | reached | nodes | peak MB | seconds |",
             "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(f"| {r.solver} | {r.width:,} | {'yes' if r.prune else 'no'} | "
                     f"{r.depth:,} | {r.reached:,} | {r.nodes:,} | {r.peak_mb:,.0f} | "
                     f"{r.seconds:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(json.dumps(_child(json.loads(sys.stdin.read()))))
