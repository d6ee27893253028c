"""Benchmarks: engine expansion speed (``hatetris bench engine``)."""

from __future__ import annotations

import statistics
import sys
import time
from importlib import resources
from pathlib import Path

import numpy as np
from numba import njit

from .adversary import expand
from .config import NJIT
from .core import state_hash
from .engine import expand_scratch
from .rules import HEIGHT



class BenchInputError(ValueError):
    pass


def load_wells(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Wells file: one well a line, 20 row integers then the score."""
    if path is None:
        text = resources.files("hatetris").joinpath("data/wells_beam.txt").read_text()
        name = "wells_beam.txt (shipped)"
    else:
        name = "standard input" if str(path) == "-" else str(path)
        try:
            if str(path) == "-":
                text = sys.stdin.buffer.read().decode("utf-8")
            else:
                text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise BenchInputError(f"cannot read wells file {name}: {e.strerror}") from None
        except UnicodeDecodeError:
            raise BenchInputError(f"cannot read wells file {name}: not UTF-8 text") from None
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            values = [int(v) for v in line.split()]
        except ValueError:
            raise BenchInputError(f"{name}:{lineno}: expected 21 integers") from None
        if len(values) != HEIGHT + 1 or not all(0 <= v <= 1023 for v in values[:HEIGHT]):
            raise BenchInputError(f"{name}:{lineno}: expected 20 rows in 0..1023 and a score")
        rows.append(values)
    if not rows:
        raise BenchInputError(f"{name}: no wells")
    data = np.array(rows, dtype=np.int64)
    return data[:, :HEIGHT].astype(np.uint16), data[:, HEIGHT].copy()


@njit(**NJIT)
def expand_all(wells, scores, per_well_checksum, per_well_children):
    """Expand every well once (the benchmark's unit of work); fill per-well results."""
    pad, locks, buf, out_rows, out_scores, out_moves = expand_scratch()
    for i in range(wells.shape[0]):
        _, n = expand(wells[i], scores[i], pad, locks, buf, out_rows, out_scores, out_moves)
        h = np.uint64(0)
        for j in range(n):
            h += state_hash(out_rows[j], out_scores[j])
        per_well_checksum[i] = h
        per_well_children[i] = n


def bench_engine(path: str | Path | None = None, runs: int = 7) -> dict:
    """Time :func:`expand_all` over a wells file: median of ``runs`` passes after warm-up."""
    wells, scores = load_wells(path)
    checks = np.zeros(len(wells), np.uint64)
    counts = np.zeros(len(wells), np.int64)
    t0 = time.perf_counter()
    expand_all(wells[:1], scores[:1], checks[:1], counts[:1])
    compile_s = time.perf_counter() - t0
    expand_all(wells, scores, checks, counts)  # warm-up pass
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        expand_all(wells, scores, checks, counts)
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    total = int(checks.astype(np.uint64).sum(dtype=np.uint64))
    return {
        "us_per_expansion": median / len(wells) * 1e6,
        "wells": int(len(wells)),
        "distinct_children": int(counts.sum()),
        "checksum": f"{total:016x}",
        "compile_s": compile_s,
        "runs": runs,
        "per_well_checksums": [f"{int(c):016x}" for c in checks],
        "per_well_children": counts.tolist(),
    }


# --- search benchmarks: each run in its own process, for honest peak memory ------------

CHILDREN_PER_WELL = 14  # about how many children a beam well has (wells_beam.txt: 13.9)


def run_solver_process(solver: str, *, width: int | None = None,
                       simulations: int | None = None, workers: int | None = None,
                       max_depth: int | None = None, timeout: float | None = None,
                       start: tuple[str, int] | None = None) -> dict:
    """Run ``hatetris solve`` in a fresh process and return its solution record.

    ``start = (game file, k)`` continues that game after its k-th piece (``--from``).
    """
    import json
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "solution.json"
        cmd = [sys.executable, "-m", "hatetris", "solve", "--solver", solver, "--quiet",
               "--out", str(out)]
        game, piece = start if start else (None, None)
        for flag, value in (("--width", width), ("--simulations", simulations),
                            ("--workers", workers), ("--max-depth", max_depth),
                            ("--from", game), ("--from-piece", piece)):
            if value is not None:
                cmd += [flag, str(value)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        wall = time.perf_counter() - t0
        if proc.returncode in (130, -2):
            # The solver was interrupted (Ctrl-C reaches the whole process group): so is
            # the caller, which resumes as it does from its own Ctrl-C.
            raise KeyboardInterrupt
        if proc.returncode != 0:
            msg = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"{solver}: {msg}")
        record = json.loads(out.read_text())
    record["process_wall"] = wall
    return record


def bench_search(solvers: list[str], budgets: list[int], workers: list[int | None],
                 max_depth: int | None = None, progress=None) -> list[dict]:
    """Each solver at each budget (children evaluated per piece) and worker count.

    A beam of width W evaluates about 14 W children per piece; MCTS with S simulations
    per move expands about S wells, 14 S children. So budget B means width B // 14 or
    B // 14 simulations: equal work per move, whatever the strategy.
    """
    from .presets import load_preset, solver_labels

    labels = solver_labels(solvers)
    rows = []
    for solver in solvers:
        preset = load_preset(solver)
        kind = preset.search["kind"]
        for budget in budgets:
            size = max(1, budget // CHILDREN_PER_WELL)
            for w in workers:
                kwargs = {"width": size} if kind == "beam" else {"simulations": size}
                r = run_solver_process(solver, workers=w, max_depth=max_depth, **kwargs)
                elapsed = max(r["elapsed"], 1e-9)
                row = {"solver": labels[solver], "kind": kind, "budget": budget,
                       "width" if kind == "beam" else "simulations": size,
                       "workers": r.get("workers"), "lines": r["score"], "pieces": r["pieces"],
                       "children": r["children"], "seconds": round(elapsed, 2),
                       "children_per_s": round(r["children"] / elapsed),
                       "peak_memory_mb": r["peak_memory_mb"], "replay": r["replay"]}
                rows.append(row)
                if progress:
                    progress(row)
    return rows


def bench_starts(solvers: list[str], starts: list[tuple[str, int]], width: int,
                 workers: int | None = None, max_depth: int | None = None,
                 progress=None) -> list[dict]:
    """Each beam solver continues each start (a game file and a piece) at one width.

    A game from the empty well turns on its first few dozen pieces: one game per solver
    says more about its opening than about its evaluation. Continuing the same stored
    positions compares the solvers on common ground, and their mean over several starts
    varies less than one game does.
    """
    from .presets import solver_labels

    labels = solver_labels(solvers)
    rows = []
    for game, piece in starts:
        for solver in solvers:
            r = run_solver_process(solver, width=width, workers=workers, max_depth=max_depth,
                                   start=(game, piece))
            row = {"start": f"{game}:{piece}", "solver": labels[solver], "width": width,
                   "lines": r["score"], "pieces": r["pieces"],
                   "seconds": round(r["elapsed"], 2), "replay": r["replay"]}
            rows.append(row)
            if progress:
                progress(row)
    return rows


def format_starts_table(rows: list[dict]) -> str:
    """Starts down, solvers across (lines, pieces), and each solver's mean lines."""
    solvers = list(dict.fromkeys(r["solver"] for r in rows))
    starts = list(dict.fromkeys(r["start"] for r in rows))
    cell = {(r["start"], r["solver"]): r for r in rows}
    lines = ["| start | " + " | ".join(solvers) + " |", "|" + "---|" * (len(solvers) + 1)]
    for s in starts:
        lines.append(f"| {s} | " + " | ".join(
            f"{cell[s, v]['lines']} ({cell[s, v]['pieces']} pieces)" if (s, v) in cell else ""
            for v in solvers) + " |")
    means = [sum(r["lines"] for r in rows if r["solver"] == v)
             / max(1, sum(r["solver"] == v for r in rows)) for v in solvers]
    lines.append("| mean lines | " + " | ".join(f"{m:.1f}" for m in means) + " |")
    return "\n".join(lines)


def format_table(rows: list[dict]) -> str:
    head = ("solver", "budget", "size", "workers", "lines", "pieces", "children", "seconds",
            "children/s", "peak MB")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        size = r.get("width", r.get("simulations"))
        lines.append(f"| {r['solver']} | {r['budget']:,} | {size:,} | {r['workers']} | "
                     f"{r['lines']} | {r['pieces']} | {r['children']:,} | {r['seconds']} | "
                     f"{r['children_per_s']:,} | {r['peak_memory_mb']:,.0f} |")
    return "\n".join(lines)


def plot_lines(rows: list[dict], path: str) -> None:
    """Lines reached against budget, one line per solver (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for solver in dict.fromkeys(r["solver"] for r in rows):
        pts = sorted((r["budget"], r["lines"]) for r in rows if r["solver"] == solver)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=solver)
    ax.set_xscale("log")
    ax.set_xlabel("budget: children evaluated per piece")
    ax.set_ylabel("lines cleared")
    ax.set_title("HATETRIS: lines reached at equal budgets")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
