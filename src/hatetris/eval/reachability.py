"""Well features that depend on where pieces can go: enclosed cells, erasability, dead holes.

Kernels for :mod:`hatetris.eval.heuristic`: a flood fill of the empty cells connected
to the spawn zone, and walks over every piece's reachable locks (the engine's exact
reachability) to find the ones that clear a line or cover a hole.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..config import NJIT
from ..core import popcount, trailing_zeros
from ..engine import clearing_locks, lock_masks
from ..rules import (BAR, FULL_ROW, HEIGHT, LANE, PIECE_BOTTOM, PIECE_NAMES, PIECE_ROWS,
                     PIECE_TOP, SLOT_OFFSET)

N_PIECES = PIECE_ROWS.shape[0]
PIECE_O = PIECE_NAMES.index("O")  # S and Z come before it
assert PIECE_NAMES.index("S") < PIECE_O and PIECE_NAMES.index("Z") < PIECE_O


def _piece_widths() -> np.ndarray:
    """Bit ``w`` of entry ``p``: piece ``p`` has a box row of exactly ``w`` cells.

    Every row of every piece is one run of cells, so a piece can complete a row only
    if the row's empty cells are one run whose length is one of these widths.
    """
    widths = np.zeros(N_PIECES, np.int64)
    for p in range(N_PIECES):
        for o in range(4):
            for r in range(4):
                m = int(PIECE_ROWS[p, o, r])
                if m:
                    assert (m + (m & -m)) & m == 0, "piece rows are contiguous runs"
                    widths[p] |= 1 << bin(m).count("1")
    return widths


PIECE_WIDTHS = _piece_widths()


@njit(inline="always", **NJIT)
def _fill_row(seed, empty):
    """Grow ``seed`` left and right through the runs of ``empty`` it touches.

    ``seed`` is a subset of ``empty``. A plain loop: seeds are dense (every non-hole is
    one), so it usually stops after a step or two, which measured faster than a
    branch-free doubling (Kogge-Stone) fill.
    """
    x = seed
    while True:
        g = x | (((x << 1) | (x >> 1)) & empty)
        if g == x:
            return x
        x = g


@njit(**NJIT)
def enclosed_region(rows2d, k, first, last, reach):
    """(enclosed cells, mask of the rows holding one) of well ``k``, with holes in ``first..last``.

    On entry ``reach[r]`` holds the holes of row ``r`` (``first <= r <= last``); on exit,
    its open cells. Every empty cell that is not a hole is open (it sees the spawn zone
    straight up), and so is every empty cell above the bar, so rows outside
    ``first..last`` are open wherever empty and the flood fill starts with the non-holes
    as seeds. It runs a row at a time: a downward pass carries open cells down and
    across, an upward pass carries them back up (pockets entered from below), until
    a pass changes nothing or no hole is left to open.
    """
    closed = 0  # holes not yet reached, summed over rows: 0 means nothing is enclosed
    above = ~np.int64(rows2d[k, first - 1]) & FULL_ROW
    for r in range(first, last + 1):
        empty = ~np.int64(rows2d[k, r]) & FULL_ROW
        hole = np.int64(reach[r])
        above = _fill_row((empty & ~hole) | (above & empty), empty)
        reach[r] = above
        closed |= empty & ~above
    changed = True
    while closed != 0 and changed:
        # Upward, from the fully open row under the holes (none under the floor).
        below = ~np.int64(rows2d[k, last + 1]) & FULL_ROW if last + 1 < HEIGHT else 0
        changed = False
        for r in range(last, first - 1, -1):
            empty = ~np.int64(rows2d[k, r]) & FULL_ROW
            old = np.int64(reach[r])
            below = _fill_row(old | (below & empty), empty)
            if below != old:
                reach[r] = below
                changed = True
        if not changed:
            break
        changed = False
        closed = 0
        above = ~np.int64(rows2d[k, first - 1]) & FULL_ROW
        for r in range(first, last + 1):
            empty = ~np.int64(rows2d[k, r]) & FULL_ROW
            old = np.int64(reach[r])
            above = _fill_row(old | (above & empty), empty)
            if above != old:
                reach[r] = above
                changed = True
            closed |= empty & ~above
    cells = 0
    lines = np.int64(0)  # bit r: row r holds an enclosed cell
    if closed != 0:
        for r in range(first, last + 1):
            enclosed = ~(np.int64(rows2d[k, r]) | np.int64(reach[r])) & FULL_ROW
            if enclosed != 0:
                cells += popcount(enclosed)
                lines |= np.int64(1) << r
    return cells, lines


@njit(**NJIT)
def erasability(pad, top, locks, sealed, spans, known) -> int:
    """How many pieces have a reachable lock that clears a line (``pad``: padded well).

    Only rows whose empty cells are one run of 1..4 cells can be completed (piece rows
    are single runs and must fill the gap exactly), and not rows in the mask ``sealed``
    (rows with an enclosed cell: a piece moves its cells one step at a time and every
    rotation keeps a cell in place, so it never leaves the empty region connected to the
    spawn). Pieces without a row of a matching width skip the reachability pass; the
    others' clearing locks are one table lookup a row (``engine.clearing_locks``). With
    ``known``, ``locks`` already holds every piece's full masks, ``spans[p]`` their
    (first, last) rows.
    """
    rows_w1 = np.int64(0)  # bit r: row r's gap is one run of 1 cell; likewise 2, 3, 4
    rows_w2 = np.int64(0)
    rows_w3 = np.int64(0)
    rows_w4 = np.int64(0)
    for r in range(BAR, HEIGHT):
        empty = ~np.int64(pad[r]) & FULL_ROW
        if (sealed >> r) & 1 or empty == 0 or (empty + (empty & -empty)) & empty != 0:
            continue  # sealed, full (impossible between locks) or more than one gap
        w = popcount(empty)
        if w == 1:
            rows_w1 |= 1 << r
        elif w == 2:
            rows_w2 |= 1 << r
        elif w == 3:
            rows_w3 |= 1 << r
        elif w == 4:
            rows_w4 |= 1 << r
    if rows_w1 | rows_w2 | rows_w3 | rows_w4 == 0:
        return 0
    count = 0
    for p in range(N_PIECES):
        pw = PIECE_WIDTHS[p]
        targets = 0
        if pw & 2:
            targets |= rows_w1
        if pw & 4:
            targets |= rows_w2
        if pw & 8:
            targets |= rows_w3
        if pw & 16:
            targets |= rows_w4
        if targets == 0:
            continue
        if known:
            y_first, y_last = spans[p, 0], spans[p, 1]
        else:
            y_first, y_last = lock_masks(pad, top, p, locks)
        # Clearing locks are at the bottom of the reachable region: look there first.
        for y in range(y_last, y_first - 1, -1):
            if locks[p, y] & clearing_locks(pad, p, y) != 0:
                count += 1
                break
    return count


@njit(**NJIT)
def dead_holes(pad, top, locks, fill, first, last, spans):
    """(dead cells, dead rows, S/Z-dead rows) of the padded well ``pad``.

    Its holes lie in rows ``first..last``. Leaves every piece's full lock masks in
    ``locks`` and their rows in ``spans``.

    ``fill[r]`` (scratch) collects the cells of row ``r`` that some reachable lock of
    some piece covers; the holes it misses are dead. Only locks whose box meets the
    hole rows are walked.
    """
    for r in range(first, last + 1):
        fill[r] = 0
    sz_rows = 0
    for p in range(N_PIECES):
        if p == PIECE_O:  # S and Z are done: their cover so far decides the S/Z-dead rows
            sz_rows = _uncovered_holes(pad, top, fill, first, last)[1]
        y_first, y_last = lock_masks(pad, top, p, locks)
        spans[p, 0] = y_first
        spans[p, 1] = y_last
        for y in range(max(y_first, first - 3), min(y_last, last) + 1):
            m = locks[p, y]
            if m == 0:
                continue
            for o in range(4):
                lane = (m >> (o * LANE)) & 0xFFFF
                if lane == 0:
                    continue
                for r in range(max(y + PIECE_TOP[p, o], first),
                               min(y + PIECE_BOTTOM[p, o], last) + 1):
                    # The row's cells over every x of the lane at once: the lane's slots
                    # dilated by the piece row (one run of cells), then slots -> columns.
                    run = np.int64(PIECE_ROWS[p, o, r - y])
                    cover = np.int64(0)
                    while run != 0:
                        cover |= lane << trailing_zeros(run)
                        run &= run - 1
                    fill[r] |= (cover >> SLOT_OFFSET) & FULL_ROW
    cells, rows = _uncovered_holes(pad, top, fill, first, last)
    return cells, rows, sz_rows


@njit(**NJIT)
def _uncovered_holes(pad, top, fill, first, last):
    """(cells, rows) of the holes in rows ``first..last`` that ``fill`` does not cover."""
    cells = 0
    rows = 0
    seen = np.int64(0)
    for r in range(top, last + 1):
        v = np.int64(pad[r])
        if r >= first:
            uncovered = ~v & seen & ~np.int64(fill[r]) & FULL_ROW
            if uncovered != 0:
                cells += popcount(uncovered)
                rows += 1
        seen |= v
    return cells, rows
