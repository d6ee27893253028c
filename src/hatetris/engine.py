"""Bitboard kernels: where a piece can go, where it locks, and what the well becomes.

A well is 20 row integers (row 0 on top, bit x = column x). Kernels work on a *padded*
copy, ``pad`` (uint16[24]), whose rows 20..23 are solid so that a piece's 4x4 box may hang
below the floor without special cases.

Reachability is bit-parallel: every position of a piece whose box top is at row ``y``
is one bit of a 64-bit mask (four 16-bit lanes, one per orientation, slot = x + 3).
``L``/``R`` are shifts by one, ``U`` is a rotation of the mask by one lane, ``D`` steps
the whole set to the next row. A position that is reachable at row ``y`` but not legal
at row ``y + 1`` is a lock position (the ``D`` key fails there).

The legal mask of a row is four table lookups: ``COLLIDE[p, r, w]`` holds every
position whose box row ``r`` overlaps a well row ``w``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .config import NJIT
from .core import same_well, trailing_zeros
from .rules import (
    BAR,
    CANONICAL,
    COLLIDE,
    FULL_ROW,
    HEIGHT,
    INBOUNDS,
    LANE,
    PAD_ROWS,
    PIECE_BOTTOM,
    PIECE_ROWS,
    PIECE_TOP,
    PIECE_TOP_MIN,
    POPCOUNT,
    SLOT_OFFSET,
    SPAWN_O,
    SPAWN_X,
    WIDTH,
)

SPAWN_BIT = np.int64(1 << (SPAWN_O * LANE + SPAWN_X + SLOT_OFFSET))
LANE_MASK = np.int64(0xFFFF)


def _row_fills() -> np.ndarray:
    """``ROW_FILLS[p, i, gap]``: the positions (lock-mask bits) at which box row ``i`` of
    piece ``p`` covers exactly the empty cells ``gap`` of a well row.

    A legal lock never overlaps a filled cell, so it completes a row exactly when its cells
    in that row are the row's gap: one lookup a row instead of a test a lock.
    """
    table = np.zeros((PIECE_ROWS.shape[0], 4, FULL_ROW + 1), np.int64)
    for p in range(PIECE_ROWS.shape[0]):
        for o in range(4):
            for i in range(4):
                cells = int(PIECE_ROWS[p, o, i])
                if cells == 0:
                    continue
                for slot in range(LANE):
                    x = slot - SLOT_OFFSET
                    placed = cells << x if x >= 0 else cells >> -x
                    if (placed >> x if x >= 0 else placed << -x) != cells or placed > FULL_ROW:
                        continue  # a cell off the well's edge
                    table[p, i, placed] |= 1 << (o * LANE + slot)
    return table


ROW_FILLS = _row_fills()


def _below_bar() -> np.ndarray:
    """``BELOW_BAR[p, y]``: the positions of piece ``p`` with box top at row ``y`` whose
    top cell is at or below the bar (only such a lock clears lines; the others end the
    game)."""
    table = np.zeros((len(INBOUNDS), PAD_ROWS), np.int64)
    for p in range(len(INBOUNDS)):
        for y in range(PAD_ROWS):
            for o in range(4):
                if y + PIECE_TOP[p, o] >= BAR:
                    table[p, y] |= np.int64(0xFFFF) << (o * LANE)
    return table


BELOW_BAR = _below_bar()


@njit(inline="always", **NJIT)
def clearing_locks(pad, p, y):
    """The positions of piece ``p`` with box top at row ``y`` whose cells would complete a
    row of ``pad`` with no cell above the bar: the locks that clear lines (whether legal
    or locking or not: mask with ``locks[p, y]``)."""
    return BELOW_BAR[p, y] & (
        ROW_FILLS[p, 0, FULL_ROW ^ pad[y]] | ROW_FILLS[p, 1, FULL_ROW ^ pad[y + 1]]
        | ROW_FILLS[p, 2, FULL_ROW ^ pad[y + 2]] | ROW_FILLS[p, 3, FULL_ROW ^ pad[y + 3]])


@njit(**NJIT)
def pad_well(well, pad) -> int:
    """Copy ``well`` into the padded buffer; return its top (first non-empty row, 20 if empty)."""
    top = HEIGHT
    for r in range(HEIGHT):
        v = well[r]
        pad[r] = v
        if v != 0 and top == HEIGHT:
            top = r
    for r in range(HEIGHT, PAD_ROWS):
        pad[r] = FULL_ROW
    return top


@njit(**NJIT)
def top_row(rows, k=0) -> int:
    """Index of the first non-empty row of ``rows[k]`` (20 for an empty well)."""
    for r in range(HEIGHT):
        if rows[k, r] != 0:
            return r
    return HEIGHT


@njit(inline="always", **NJIT)
def legal_positions(pad, p, y):
    """Mask of the positions (x, o) of piece ``p`` that fit with their box top at row ``y``."""
    return INBOUNDS[p] & ~(
        COLLIDE[p, 0, pad[y]]
        | COLLIDE[p, 1, pad[y + 1]]
        | COLLIDE[p, 2, pad[y + 2]]
        | COLLIDE[p, 3, pad[y + 3]]
    )


@njit(**NJIT)
def fits(pad, p, x, y, o) -> bool:
    """Whether piece ``p`` fits at (x, y, o)."""
    slot = x + SLOT_OFFSET
    if slot < 0 or slot >= LANE or y < 0 or y > HEIGHT:
        return False
    return (legal_positions(pad, p, y) >> (o * LANE + slot)) & 1 == 1


@njit(inline="always", **NJIT)
def _closure(reach, legal):
    """Every position reachable from ``reach`` by L, R and U inside ``legal``."""
    while True:
        grown = reach | (((reach << 1) | (reach >> 1) | (reach << 16) | (reach >> 48)) & legal)
        if grown == reach:
            return reach
        reach = grown


@njit(**NJIT)
def lock_masks(pad, top, p, locks, reject_peak=HEIGHT + 1):
    """Fill ``locks[p, y]`` with every lock position of piece ``p`` whose box top is at row ``y``.

    Orientations that draw the same cells (I, O, S, Z) are folded onto one canonical
    orientation, so every set bit is a distinct set of cells and thus a distinct well.
    Returns the first and last row holding a lock.

    The adversary passes ``reject_peak``: once the piece reaches a row from which every
    lock leaves a stack no higher than that (``min(top, y + top cell) >= reject_peak``),
    the piece cannot be its choice and the search stops with ``(-1, -2)``.
    """
    for y in range(PAD_ROWS):
        locks[p, y] = 0
    if top >= BAR:
        # Rows y..y+3 are empty: every in-bounds position is reachable there.
        y = top - BAR
        reach = INBOUNDS[p]
    else:
        y = 0
        legal = legal_positions(pad, p, 0)
        reach = _closure(SPAWN_BIT & legal, legal)
    y_first = -1
    top_min = PIECE_TOP_MIN[p]
    while reach != 0:
        if min(top, y + top_min) >= reject_peak:
            return -1, -2
        legal_below = legal_positions(pad, p, y + 1)
        stuck = reach & ~legal_below
        if stuck != 0:
            locks[p, y] = stuck
            if y_first < 0:
                y_first = y
        seed = reach & legal_below
        if seed == 0:
            break
        reach = _closure(seed, legal_below)
        y += 1
    y_last = y
    if y_first < 0:
        return 0, -1
    for o in range(4):
        co = CANONICAL[p, o, 0]
        if co == o:
            continue
        dx = CANONICAL[p, o, 1]
        dy = CANONICAL[p, o, 2]
        shift_out = o * LANE
        shift_in = co * LANE
        for yy in range(y_last, y_first - 1, -1):
            lane = (locks[p, yy] >> shift_out) & LANE_MASK
            if lane == 0:
                continue
            locks[p, yy] ^= lane << shift_out
            lane = lane << dx if dx >= 0 else lane >> -dx
            locks[p, yy + dy] |= lane << shift_in
        if dy > 0:
            y_last = y_last + dy
    while y_first <= y_last and locks[p, y_first] == 0:
        y_first += 1
    while y_last >= y_first and locks[p, y_last] == 0:
        y_last -= 1
    return y_first, y_last


@njit(inline="always", **NJIT)
def piece_row(p, o, r, x):
    m = PIECE_ROWS[p, o, r]
    return m << x if x >= 0 else m >> -x


@njit(inline="always", **NJIT)
def place_cells(pad, p, o, x, y, out, k) -> None:
    """``out[k]`` = the well with piece ``p``'s cells at (x, y, o) added; nothing cleared."""
    # ``out[k]`` is indexed in place, never sliced: a view costs a reference count.
    for r in range(HEIGHT):
        out[k, r] = pad[r]
    for r in range(y + PIECE_TOP[p, o], y + PIECE_BOTTOM[p, o] + 1):
        out[k, r] |= piece_row(p, o, r - y, x)


@njit(inline="always", **NJIT)
def place(pad, p, o, x, y, out, k) -> int:
    """Lock piece ``p`` at (x, y, o): write the resulting 20 rows to ``out[k]``.

    Returns the number of lines cleared. Lines are cleared only when no cell of the
    piece is in the spawn zone (rows 0..3). The game is over when ``out[k, 3] != 0``.
    """
    place_cells(pad, p, o, x, y, out, k)
    top_cell = y + PIECE_TOP[p, o]
    cleared = 0
    if top_cell >= BAR:
        for r in range(top_cell, y + PIECE_BOTTOM[p, o] + 1):
            if out[k, r] == FULL_ROW:
                for q in range(r, 0, -1):
                    out[k, q] = out[k, q - 1]
                out[k, 0] = 0
                cleared += 1
    return cleared


@njit(inline="always", **NJIT)
def clears_lines(pad, p, o, x, y) -> bool:
    """Whether locking at (x, y, o) completes a row that will be cleared."""
    top_cell = y + PIECE_TOP[p, o]
    if top_cell < BAR:
        return False
    for r in range(top_cell, y + PIECE_BOTTOM[p, o] + 1):
        if pad[r] | piece_row(p, o, r - y, x) == FULL_ROW:
            return True
    return False


@njit(inline="always", **NJIT)
def peak_after_lock(pad, top, p, o, x, y) -> int:
    """``top_row`` of the well :func:`place` makes, without making it.

    ``top`` is the well's first non-empty row. After the lock the first non-empty row is
    ``min(top, top cell)``; clearing removes full rows (all among the piece's) and moves
    each remaining row down by the cleared rows below it, so the new first non-empty row
    is the first remaining non-empty row r, plus the cleared rows below r.
    """
    t0 = y + PIECE_TOP[p, o]
    t1 = y + PIECE_BOTTOM[p, o]
    clears = t0 >= BAR
    for r in range(min(top, t0), HEIGHT):
        v = np.int64(pad[r])
        if t0 <= r <= t1:
            v |= piece_row(p, o, r - y, x)
        if clears and v == FULL_ROW:
            continue
        if v != 0:
            below = 0
            for q in range(max(r + 1, t0), t1 + 1):
                if clears and (pad[q] | piece_row(p, o, q - y, x)) == FULL_ROW:
                    below += 1
            return r + below
    return HEIGHT


@njit(inline="always", **NJIT)
def decode_lock(bit):
    """(o, x) of a lock bit."""
    return bit >> 4, (bit & 15) - SLOT_OFFSET


# An upper bound on the lock positions of one piece, hence on its children: 4 lanes of 12
# legal slots in each of 20 rows.
MAX_CHILDREN = 1024


@njit(inline="always", **NJIT)
def written_before(out_rows, out_scores, first, n, scratch, score) -> bool:
    """Whether ``out_rows[first:n]`` already holds the well in ``scratch[0]`` with ``score``.

    Two line clears can leave the same well; only clears are compared (rare and few).
    """
    for k in range(first, n):
        if out_scores[k] == score and same_well(out_rows, k, scratch, 0):
            return True
    return False


@njit(**NJIT)
def expand_scratch():
    """Scratch for expanding wells one by one: ``pad``, ``locks``, ``buf`` and the
    children's rows, scores and moves (room for :data:`MAX_CHILDREN`)."""
    return (np.zeros(PAD_ROWS, np.uint16), np.zeros((INBOUNDS.shape[0], PAD_ROWS), np.int64),
            np.zeros((1, HEIGHT), np.int64), np.zeros((MAX_CHILDREN, HEIGHT), np.uint16),
            np.zeros(MAX_CHILDREN, np.int64), np.zeros(MAX_CHILDREN, np.int64))


@njit(**NJIT)
def children_into(pad, p, locks, y_first, y_last, score, keep_game_over, out_rows, out_scores,
                  out_moves, start, scratch) -> int:
    """Write every distinct child well of piece ``p`` from its lock masks.

    Children go to ``out_rows[start:]`` (uint16[:, 20]) with their score and their move
    (``y * 64 + bit``, see :func:`decode_move`). Returns the number written. Children
    that end the game are written only when ``keep_game_over``.

    Nothing is written past the last child kept: callers give each well its own slice of
    a shared output, sized by a first pass, and fill slices from several threads. So a
    placement that may be dropped (a game over, or a line clear that can duplicate another
    one) is built in ``scratch`` (shape (1, 20)) and copied only if it is kept.
    """
    n = start
    first_clearing = -1  # clearing children are compared with each other: rare and few
    for y in range(y_first, y_last + 1):
        m = locks[p, y]
        while m != 0:
            bit = trailing_zeros(m)
            m &= m - 1
            o, x = decode_lock(bit)
            if y + PIECE_TOP[p, o] >= BAR and not clears_lines(pad, p, o, x, y):
                place_cells(pad, p, o, x, y, out_rows, n)  # the common case: always kept
                out_scores[n] = score
                out_moves[n] = y * 64 + bit
                n += 1
                continue
            cleared = place(pad, p, o, x, y, scratch, 0)
            if scratch[0, BAR - 1] != 0 and not keep_game_over:
                continue
            if cleared > 0:
                if first_clearing >= 0 and written_before(out_rows, out_scores, first_clearing,
                                                          n, scratch, score + cleared):
                    continue
                if first_clearing < 0:
                    first_clearing = n
            for r in range(HEIGHT):
                out_rows[n, r] = scratch[0, r]
            out_scores[n] = score + cleared
            out_moves[n] = y * 64 + bit
            n += 1
    return n - start


@njit(inline="always", **NJIT)
def near_full_rows(pad) -> int:
    """Bit mask of rows ``BAR..19`` that one piece row (at most 4 cells) could complete."""
    near_full = 0
    for r in range(BAR, HEIGHT):
        if POPCOUNT[pad[r]] >= WIDTH - 4:
            near_full |= 1 << r
    return near_full


@njit(**NJIT)
def clearing_children_into(pad, p, locks, y_first, y_last, score, out_rows, out_scores, start,
                           scratch) -> int:
    """The children of :func:`children_into` that clear a line, and only those.

    The same wells in the same order, without building the others: only the locks of
    :func:`clearing_locks` can clear one.
    """
    n = start
    for y in range(y_first, y_last + 1):
        m = locks[p, y]
        if m == 0:
            continue
        m &= clearing_locks(pad, p, y)
        while m != 0:
            bit = trailing_zeros(m)
            m &= m - 1
            o, x = decode_lock(bit)
            cleared = place(pad, p, o, x, y, scratch, 0)
            if scratch[0, BAR - 1] != 0:
                continue
            if written_before(out_rows, out_scores, start, n, scratch, score + cleared):
                continue
            for r in range(HEIGHT):
                out_rows[n, r] = scratch[0, r]
            out_scores[n] = score + cleared
            n += 1
    return n - start


@njit(**NJIT)
def decode_move(move):
    """(o, x, y) of a move code written by :func:`children_into`."""
    y = move // 64
    o, x = decode_lock(move % 64)
    return o, x, y


def reachable_lock_positions(well, piece: int) -> list[tuple[int, int, int]]:
    """Every distinct lock position (x, y, o) of ``piece`` on ``well`` (canonical orientations).

    >>> import numpy as np
    >>> len(reachable_lock_positions(np.zeros(20, np.uint16), 2))  # O on the empty well
    9
    """
    pad = np.zeros(PAD_ROWS, np.uint16)
    top = pad_well(np.asarray(well), pad)
    locks = np.zeros((len(INBOUNDS), PAD_ROWS), np.int64)
    y_first, y_last = lock_masks(pad, top, piece, locks)
    out = []
    for y in range(y_first, y_last + 1):
        for bit in range(64):
            if int(locks[piece, y]) >> bit & 1:
                o, x = bit >> 4, (bit & 15) - SLOT_OFFSET
                out.append((x, y, o))
    return out


def children(well, score: int, piece: int, keep_game_over: bool = True):
    """Every distinct well that ``piece`` can leave on ``well`` (Python-facing).

    Returns ``(rows, scores, game_over)``: uint16[n, 20], int64[n], bool[n].

    >>> rows, scores, over = children([0] * 20, 0, 2)  # O on the empty well
    >>> len(rows), set(scores.tolist()), bool(over.any())
    (9, {0}, False)
    """
    pad = np.zeros(PAD_ROWS, np.uint16)
    top = pad_well(np.asarray(well, dtype=np.uint16), pad)
    locks = np.zeros((len(INBOUNDS), PAD_ROWS), np.int64)
    out_rows = np.zeros((MAX_CHILDREN, HEIGHT), np.uint16)
    out_scores = np.zeros(MAX_CHILDREN, np.int64)
    out_moves = np.zeros(MAX_CHILDREN, np.int64)
    y_first, y_last = lock_masks(pad, top, piece, locks)
    n = children_into(pad, piece, locks, y_first, y_last, score, keep_game_over,
                      out_rows, out_scores, out_moves, 0, np.zeros((1, HEIGHT), np.int64))
    rows = out_rows[:n].copy()
    return rows, out_scores[:n].copy(), rows[:, BAR - 1] != 0
