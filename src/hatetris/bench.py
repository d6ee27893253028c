"""Benchmarks: engine expansion speed (``hatetris bench engine``)."""

from __future__ import annotations

import statistics
import time
from importlib import resources
from pathlib import Path

import numpy as np
from numba import njit

from .adversary import N_PIECES, expand
from .config import NJIT
from .core import state_hash
from .rules import HEIGHT, PAD_ROWS

MAX_CHILDREN = 256  # more than any piece can have: 4 orientations x 16 slots x few rows


class BenchInputError(ValueError):
    pass


def load_wells(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Wells file: one well a line, 20 row integers then the score."""
    if path is None:
        text = resources.files("hatetris").joinpath("data/wells_beam.txt").read_text()
        name = "wells_beam.txt (shipped)"
    else:
        try:
            text = Path(path).read_text()
        except OSError as e:
            raise BenchInputError(f"cannot read wells file {path}: {e.strerror}") from None
        name = str(path)
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
    pad = np.zeros(PAD_ROWS, np.uint16)
    locks = np.zeros((N_PIECES, PAD_ROWS), np.int64)
    buf = np.zeros((1, HEIGHT), np.int64)
    out_rows = np.zeros((MAX_CHILDREN, HEIGHT), np.uint16)
    out_scores = np.zeros(MAX_CHILDREN, np.int64)
    out_moves = np.zeros(MAX_CHILDREN, np.int64)
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
