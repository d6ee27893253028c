"""Sparse binary features of a well, as lists of active feature indices.

Feature sets (any combination, in this order in the index space; feature 0 is the bias,
always active):

* ``rows``: each live row's 10-bit pattern, per row (rows 4..19): 16 x 1024 features;
* ``windows``: every 3-column x 4-row window's 12-bit pattern, position-independent
  (shared weights, the 2022 design): 4096 features, 104 active (8 x 13 windows);
* ``windows_positional``: the same windows, one weight set per window position (the 2023
  design): 104 x 4096 features;
* ``counts``: the hand-crafted evaluation's well features (holes, dead lines, erasability,
  next height, ...; not the score nor the cell count), each one-hot in 32 buckets (value
  0..31, larger values in the last): 14 x 32 features, 14 active. They cost what the
  heuristic costs (a reachability pass per piece) and let the network start from what
  the heuristic knows, and learn non-linear combinations of it;
* ``columns``: each column's height (its highest filled live row, counted from the floor;
  0 when the column is empty), per column: 10 x 17 features, 10 active. Rows and windows
  see at most four rows at once, so they cannot tell a hole that a shaft keeps open to
  the top from one that is covered; a column's height says how deep it is open.

A window's pattern packs cell (row t + i, column c + j) into bit ``3 * i + j``.

>>> layout(("rows", "windows")).n_features
20481
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..config import NJIT
from ..eval.heuristic import FEATURES, feature_scratch, well_features
from ..rules import BAR, HEIGHT, WIDTH

FEATURE_SETS = ("rows", "windows", "windows_positional", "counts", "columns")
LIVE_ROWS = HEIGHT - BAR  # 16
WINDOW_COLS = WIDTH - 2  # 8 window positions across
WINDOW_ROWS = LIVE_ROWS - 3  # 13 window positions down
N_WINDOWS = WINDOW_COLS * WINDOW_ROWS
ROW_FEATURES = LIVE_ROWS * 1024
WINDOW_FEATURES = 4096
WINDOW_POS_FEATURES = N_WINDOWS * 4096
# The heuristic's features that describe the well alone: the score and the cell count
# (the score again, at a given depth) are left out.
COUNT_FEATURES = np.array([i for i, name in enumerate(FEATURES)
                           if name not in ("lines", "cells")], np.int64)
COUNT_BUCKETS = 32
COLUMN_FEATURES = WIDTH * (LIVE_ROWS + 1)


def _spread_table() -> np.ndarray:
    """Row pattern -> the same bits at every fourth position (bit j -> bit 4j)."""
    table = np.zeros(1024, np.int64)
    for row in range(1024):
        for j in range(10):
            if row >> j & 1:
                table[row] |= 1 << (4 * j)
    return table


def _pattern_table() -> np.ndarray:
    """A 3-column band code (cell (i, j) at bit 4j + i) -> its window pattern (bit 3i + j)."""
    table = np.zeros(4096, np.int64)
    for code in range(4096):
        for i in range(4):
            for j in range(3):
                if code >> (4 * j + i) & 1:
                    table[code] |= 1 << (3 * i + j)
    return table


SPREAD = _spread_table()
PATTERN_OF_BAND = _pattern_table()
BAND_LOW3 = int("0111" * 10, 2)  # a band's rows 0-2, after it drops its row 0


@njit(inline="always", **NJIT)
def window_band(rows, k, t):
    """Rows t..t+3 of ``rows[k]`` interleaved column by column (cell (t + i, c) at bit
    4c + i): every window of that row of windows is one shift and mask of it."""
    return (SPREAD[rows[k, t]] | (SPREAD[rows[k, t + 1]] << 1)
            | (SPREAD[rows[k, t + 2]] << 2) | (SPREAD[rows[k, t + 3]] << 3))


@njit(inline="always", **NJIT)
def band_pattern(band, c):
    """The pattern (cell (i, j) at bit 3i + j) of the window at column ``c`` of ``band``."""
    return PATTERN_OF_BAND[(band >> (4 * c)) & 0xFFF]


class FeatureError(ValueError):
    pass


@dataclass(frozen=True)
class Layout:
    """Where each feature set starts in the index space (-1: not used)."""

    sets: tuple[str, ...]
    rows_base: int
    windows_base: int
    windows_pos_base: int
    counts_base: int
    columns_base: int
    n_features: int
    max_active: int

    @property
    def bases(self) -> np.ndarray:
        return np.array([self.rows_base, self.windows_base, self.windows_pos_base,
                         self.counts_base, self.columns_base], np.int64)


def layout(sets: tuple[str, ...] | list[str]) -> Layout:
    sets = tuple(sets)
    unknown = [s for s in sets if s not in FEATURE_SETS]
    if unknown or not sets or len(set(sets)) != len(sets):
        raise FeatureError(f"feature sets must be distinct names from {', '.join(FEATURE_SETS)}; "
                           f"got {', '.join(sets) or 'none'}")
    n = 1  # the bias
    active = 1
    bases = {}
    for name, size, act in (("rows", ROW_FEATURES, LIVE_ROWS),
                            ("windows", WINDOW_FEATURES, N_WINDOWS),
                            ("windows_positional", WINDOW_POS_FEATURES, N_WINDOWS),
                            ("counts", len(COUNT_FEATURES) * COUNT_BUCKETS,
                             len(COUNT_FEATURES)),
                            ("columns", COLUMN_FEATURES, WIDTH)):
        if name in sets:
            bases[name] = n
            n += size
            active += act
        else:
            bases[name] = -1
    return Layout(sets, bases["rows"], bases["windows"], bases["windows_positional"],
                  bases["counts"], bases["columns"], n, active)


@njit(**NJIT)
def active_features(rows, k, bases, out) -> int:
    """Write the active feature indices of well ``rows[k]`` to ``out``; return how many."""
    out[0] = 0
    n = 1
    if bases[0] >= 0:
        for r in range(BAR, HEIGHT):
            out[n] = bases[0] + (r - BAR) * 1024 + rows[k, r]
            n += 1
    if bases[1] >= 0 or bases[2] >= 0:
        # A window_band slid down a row at a time: each next band drops its top row and
        # adds one below (one lookup a row instead of four).
        band = (SPREAD[rows[k, BAR]] | (SPREAD[rows[k, BAR + 1]] << 1)
                | (SPREAD[rows[k, BAR + 2]] << 2))
        for t in range(BAR, HEIGHT - 3):
            band |= SPREAD[rows[k, t + 3]] << 3
            for c in range(WINDOW_COLS):
                pattern = band_pattern(band, c)
                if bases[1] >= 0:
                    out[n] = bases[1] + pattern
                    n += 1
                if bases[2] >= 0:
                    out[n] = bases[2] + ((t - BAR) * WINDOW_COLS + c) * 4096 + pattern
                    n += 1
            band = (band >> 1) & BAND_LOW3
    if bases[3] >= 0:
        n = _count_features(rows, k, bases[3], out, n)
    if bases[4] >= 0:
        n = column_features(rows, k, bases[4], out, n)
    return n


@njit(**NJIT)
def column_features(rows, k, base, out, n) -> int:
    """Append each column's height feature of ``rows[k]`` to ``out`` at ``n``."""
    seen = 0
    for r in range(BAR, HEIGHT):
        new = np.int64(rows[k, r]) & ~seen & 0x3FF
        if new:
            # Columns whose highest filled cell is row r stand HEIGHT - r rows high.
            for c in range(WIDTH):
                if (new >> c) & 1:
                    out[n] = base + c * (LIVE_ROWS + 1) + (HEIGHT - r)
                    n += 1
            seen |= new
    for c in range(WIDTH):
        if not (seen >> c) & 1:
            out[n] = base + c * (LIVE_ROWS + 1)
            n += 1
    return n


@njit(**NJIT)
def _count_features(rows, k, base, out, n) -> int:
    pad, locks, buf, fill, spans, f = feature_scratch()
    well_features(rows, k, 0, pad, locks, f, True, True, buf, True, fill, spans)
    for j in range(COUNT_FEATURES.shape[0]):
        v = min(max(int(f[COUNT_FEATURES[j]]), 0), COUNT_BUCKETS - 1)
        out[n] = base + j * COUNT_BUCKETS + v
        n += 1
    return n
