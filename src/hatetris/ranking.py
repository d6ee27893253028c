"""The best ``k`` of many values, exactly and in parallel: the beam's selection and the
quiescence shortlist's cut.

At width 1,000,000 a step ranks about 29 M children; ``np.partition`` does that on one
core (about half a second each time), while the rest of the step runs on every core.
Here a strided sample brackets the ``k``-th largest value, one parallel pass counts and
gathers the values inside the bracket, and only those are partitioned. A bracket that
misses (or a small input) falls back to ``np.partition``, so the result is always exact.

``-inf`` and NaN are never counted (``v > -inf`` is False for both), as in the beam.

>>> v = np.array([1.0, 3.0, -np.inf, 3.0, 2.0])
>>> float(kth_largest(v, 2)), best_indices(v, 2).tolist()
(3.0, [1, 3])
>>> best_indices(np.array([1.0, 2.0, 2.0, 2.0]), 2).tolist()
[1, 2]
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .config import NJIT_PARALLEL

CHUNK = 1 << 16
SAMPLE = 1 << 16  # values in the sample that brackets the k-th
SMALL = 1 << 18  # below this many values, np.partition is as fast


@njit(**NJIT_PARALLEL)
def _counts(values, lo, hi, out):
    """Per chunk: how many values are > ``hi``, how many in [``lo``, ``hi``], how many
    are > -inf (``out[c, 0..2]``)."""
    n = values.shape[0]
    for c in prange(out.shape[0]):
        above = 0
        inside = 0
        finite = 0
        for j in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            v = values[j]
            if v > -np.inf:
                finite += 1
                if v > hi:
                    above += 1
                elif v >= lo:
                    inside += 1
        out[c, 0] = above
        out[c, 1] = inside
        out[c, 2] = finite


@njit(**NJIT_PARALLEL)
def _gather_inside(values, lo, hi, offsets, out):
    n = values.shape[0]
    for c in prange(offsets.shape[0]):
        at = offsets[c]
        for j in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            v = values[j]
            if v >= lo and v <= hi and v > -np.inf:
                out[at] = v
                at += 1


def _chunks(n: int) -> int:
    return max(1, (n + CHUNK - 1) // CHUNK)


def _finite(values: np.ndarray) -> np.ndarray:
    return values[values > -np.inf]


def finite_count(values: np.ndarray) -> int:
    """How many values are above -inf (NaN is not)."""
    counts = np.zeros((_chunks(len(values)), 3), np.int64)
    _counts(values, np.inf, np.inf, counts)
    return int(counts[:, 2].sum())


def kth_largest(values: np.ndarray, k: int, finite: int | None = None) -> float:
    """The ``k``-th largest value above -inf; ``finite`` is their number if known
    (:func:`finite_count`). Raises ValueError unless ``1 <= k <= finite``."""
    n = len(values)
    if n >= SMALL:
        finite = finite_count(values) if finite is None else finite
    else:
        finite = int(np.count_nonzero(values > -np.inf))
    if not 1 <= k <= finite:
        raise ValueError(f"k must be between 1 and {finite}")
    if n >= SMALL:
        sample = np.sort(_finite(values[:: max(1, n // SAMPLE)]))[::-1]
        if len(sample) >= 64:
            # The k-th of the finite values sits near rank k * m / finite of the
            # sample's m; a margin of several standard deviations makes a miss (and the
            # fallback below) rare.
            rank = k * len(sample) / finite
            margin = 8.0 * np.sqrt(rank + 1.0) + 16.0
            hi = float(sample[max(0, int(rank - margin))])
            lo = float(sample[min(len(sample) - 1, int(rank + margin))])
            counts = np.zeros((_chunks(n), 3), np.int64)
            _counts(values, lo, hi, counts)
            above = int(counts[:, 0].sum())
            inside = counts[:, 1]
            if above < k <= above + int(inside.sum()):
                offsets = np.zeros(len(inside), np.int64)
                np.cumsum(inside[:-1], out=offsets[1:])
                bracket = np.empty(int(inside.sum()), np.float64)
                _gather_inside(values, lo, hi, offsets, bracket)
                r = k - above  # the r-th largest inside the bracket
                return float(np.partition(bracket, len(bracket) - r)[len(bracket) - r])
    v = _finite(values)
    return float(np.partition(v, len(v) - k)[len(v) - k])


@njit(**NJIT_PARALLEL)
def _take(values, kth, ties, offsets, out):
    """Indices of the values > ``kth`` and of the first ``ties[c]`` equal to it, chunk by
    chunk from ``offsets[c]``: in index order."""
    n = values.shape[0]
    for c in prange(offsets.shape[0]):
        at = offsets[c]
        left = ties[c]
        for j in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            v = values[j]
            if v > kth:
                out[at] = j
                at += 1
            elif v == kth and left > 0:
                out[at] = j
                at += 1
                left -= 1


def best_indices(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest values above -inf, ties to the lower index, sorted
    (all of them if there are no more than ``k``).

    >>> best_indices(np.array([2.0, -np.inf, 5.0, 5.0]), 2).tolist()
    [2, 3]
    >>> best_indices(np.array([2.0, 5.0]), 0).tolist()
    []
    """
    if k < 1:
        return np.empty(0, np.int64)
    n = len(values)
    if n < SMALL:
        idx = np.flatnonzero(values > -np.inf)
        if len(idx) <= k:
            return idx
        v = values[idx]
        kth = np.partition(v, len(v) - k)[len(v) - k]
        above = idx[v > kth]
        tied = idx[v == kth][: k - len(above)]
        return np.sort(np.concatenate([above, tied]))
    finite = finite_count(values)
    if finite <= k:
        return np.flatnonzero(values > -np.inf)
    kth = kth_largest(values, k, finite)
    ae = np.zeros((_chunks(n), 3), np.int64)
    _counts(values, kth, kth, ae)  # above kth, equal to it (kth is finite)
    ties_left = k - int(ae[:, 0].sum())
    ties = np.zeros(len(ae), np.int64)
    for c in range(len(ae)):  # the lowest indices win the ties
        ties[c] = min(int(ae[c, 1]), ties_left)
        ties_left -= ties[c]
    per_chunk = ae[:, 0] + ties
    offsets = np.zeros(len(ae), np.int64)
    np.cumsum(per_chunk[:-1], out=offsets[1:])
    out = np.empty(int(per_chunk.sum()), np.int64)
    _take(values, kth, ties, offsets, out)
    return out
