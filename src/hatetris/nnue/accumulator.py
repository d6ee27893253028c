"""The NNUE accumulator of a well, and its update from a parent to a child.

A well's accumulator is the int32 sum of the ``w1`` columns of its active features (the
hidden layer before tanh). A child differs from its parent only in the rows the piece
touched, unless it cleared a line, so its accumulator is the parent's minus the features
that changed and plus their replacements, as Stockfish's is per move:

* a ``rows`` feature changes only in a row that changed;
* a window (shared or positional) changes only if one of its 4 rows and one of its 3
  columns holds a changed cell, so only windows near the piece are looked at;
* a ``columns`` feature (a column's height) changes only in a column with a changed cell.

When the changed rows make the update dearer than a fresh sum (a line clear shifts every
row above it), the child is summed afresh. ``counts`` features are not incremental: a
layout with them always sums afresh. Both paths give the same integers, exactly; the
tests hold the update to the fresh sum on random wells and after line clears.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..config import NJIT
from ..rules import BAR, HEIGHT, WIDTH
from .features import WINDOW_COLS, active_features, band_pattern, window_band

LIVE_ROWS = HEIGHT - BAR
# A fresh sum costs one column per active feature; an update costs two per changed one.


@njit(inline="always", **NJIT)
def swap_column(acc, w1, old, new):
    """``acc`` with column ``old`` replaced by ``new``: one pass through ``acc``."""
    # Unsigned indices: no negative-index wraparound code around the vector loop.
    a = np.uint64(old)
    b = np.uint64(new)
    for h in range(acc.shape[0]):
        acc[h] += np.int32(w1[b, h]) - np.int32(w1[a, h])


@njit(inline="always", **NJIT)
def _sum_columns(acc, w1, idx, n, hidden):
    for h in range(hidden):
        acc[h] = 0
    # Four columns a pass: one load, add and store of ``acc`` per four features instead
    # of one each (the store-to-load chain through ``acc`` bounded the one-column loop);
    # integer sums, so the result is the same to the bit.
    i = 0
    while i + 3 < n:
        f0 = np.uint64(idx[i])
        f1 = np.uint64(idx[i + 1])
        f2 = np.uint64(idx[i + 2])
        f3 = np.uint64(idx[i + 3])
        for h in range(hidden):
            acc[h] += ((np.int32(w1[f0, h]) + np.int32(w1[f1, h]))
                       + (np.int32(w1[f2, h]) + np.int32(w1[f3, h])))
        i += 4
    while i < n:
        f = np.uint64(idx[i])
        for h in range(hidden):
            acc[h] += np.int32(w1[f, h])
        i += 1


@njit(**NJIT)
def fresh_accumulator(rows, k, bases, w1, idx, acc) -> None:
    """``acc`` = the sum of ``w1``'s columns over the active features of ``rows[k]``."""
    n = active_features(rows, k, bases, idx)
    # The shipped width as a constant: the compiler then unrolls the loop over hidden
    # units into whole vectors (about 10% of a sum).
    if acc.shape[0] == 32:
        _sum_columns(acc, w1, idx, n, 32)
    else:
        _sum_columns(acc, w1, idx, n, acc.shape[0])


@njit(**NJIT)
def child_accumulator(prows, p, pacc, rows, k, bases, w1, idx, acc) -> bool:
    """``acc`` for well ``rows[k]`` from its parent ``prows[p]`` and the parent's ``pacc``.

    Returns True if it was updated incrementally, False if summed afresh.
    """
    first = -1
    last = -1
    diff = 0
    for r in range(BAR, HEIGHT):
        d = np.int64(prows[p, r]) ^ np.int64(rows[k, r])
        if d != 0:
            if first < 0:
                first = r
            last = r
            diff |= d
    if bases[3] >= 0 or (first >= 0 and last - first >= 4):
        fresh_accumulator(rows, k, bases, w1, idx, acc)
        return False
    for h in range(acc.shape[0]):
        acc[h] = pacc[h]
    if first < 0:
        return True
    if bases[0] >= 0:
        for r in range(first, last + 1):
            a = np.int64(prows[p, r])
            b = np.int64(rows[k, r])
            if a != b:
                base = bases[0] + (r - BAR) * 1024
                swap_column(acc, w1, base + a, base + b)
    if bases[1] >= 0 or bases[2] >= 0:
        lo_col = 0
        while (diff >> lo_col) & 1 == 0:
            lo_col += 1
        hi_col = 9
        while (diff >> hi_col) & 1 == 0:
            hi_col -= 1
        t_lo = max(BAR, first - 3)
        t_hi = min(HEIGHT - 4, last)
        c_lo = max(0, lo_col - 2)
        c_hi = min(WINDOW_COLS - 1, hi_col)
        for t in range(t_lo, t_hi + 1):
            band_a = window_band(prows, p, t)
            band_b = window_band(rows, k, t)
            changed = band_a ^ band_b
            for c in range(c_lo, c_hi + 1):
                if (changed >> (4 * c)) & 0xFFF == 0:
                    continue
                a = band_pattern(band_a, c)
                b = band_pattern(band_b, c)
                if bases[1] >= 0:
                    swap_column(acc, w1, bases[1] + a, bases[1] + b)
                if bases[2] >= 0:
                    pos = bases[2] + ((t - BAR) * WINDOW_COLS + c) * 4096
                    swap_column(acc, w1, pos + a, pos + b)
    if bases[4] >= 0:
        for c in range(WIDTH):
            if (diff >> c) & 1:
                a = column_height(prows, p, c)
                b = column_height(rows, k, c)
                if a != b:
                    base = bases[4] + c * (LIVE_ROWS + 1)
                    swap_column(acc, w1, base + a, base + b)
    return True


@njit(inline="always", **NJIT)
def column_height(rows, k, c) -> int:
    """Live rows from the floor to column ``c``'s highest filled cell (0: empty)."""
    for r in range(BAR, HEIGHT):
        if (np.int64(rows[k, r]) >> c) & 1:
            return HEIGHT - r
    return 0
