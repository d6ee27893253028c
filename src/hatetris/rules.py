"""The game's constants: well size, the bar, the seven pieces and their lookup tables.

Everything here is plain data, built once at import from the piece drawings of
``hatetris-rules.md``. Pieces are numbered in the adversary's order
S, Z, O, I, L, J, T (index 0..6), so "earliest in the order" is "smallest index".

>>> PIECE_NAMES
'SZOILJT'
>>> piece_row_masks("T", 0)
[0, 14, 4, 0]
>>> [bin(m) for m in piece_row_masks("I", 0) if m]
['0b1111']

A live piece's horizontal position ``x`` is stored as a *slot* ``x + SLOT_OFFSET``
in a 16-bit lane; the four lanes of a 64-bit mask are the four orientations.  Slots
0 and 13-15 are never legal, so a shift that crosses a lane boundary always lands on
an illegal slot and is masked away.

>>> position_bit(x=3, o=0) == 1 << 6
True
"""

from __future__ import annotations

import numpy as np

WIDTH = 10
HEIGHT = 20
BAR = 4  # rows 0..3 are the spawn zone above the bar
FULL_ROW = (1 << WIDTH) - 1
SPAWN_X, SPAWN_Y, SPAWN_O = 3, 0, 0

PIECE_NAMES = "SZOILJT"  # the adversary's tie-break order
KEYS = "LRDU"  # key codes 0..3, the order used by the hex and Base2048 codecs
KEY_L, KEY_R, KEY_D, KEY_U = 0, 1, 2, 3

LANE = 16
SLOT_OFFSET = 3
PAD_ROWS = HEIGHT + 4  # rows 20..23 hold a solid floor so a box can hang below row 19

# Each orientation is a 4x4 box, rows top to bottom, '#' filled; straight from the rules.
SHAPES: dict[str, tuple[str, str, str, str]] = {
    "I": ("....####........", "..#...#...#...#.", "........####....", ".#...#...#...#.."),
    "J": (".....##..#...#..", "....###...#.....", "..#...#..##.....", ".....#...###...."),
    "L": (".....###.#......", ".....##...#...#.", "......#.###.....", ".#...#...##....."),
    "O": (".....##..##.....",) * 4,
    "S": ("......##.##.....", ".....#...##...#.", ".....##.##......", ".#...##...#....."),
    "T": (".....###..#.....", "......#..##...#.", ".....#..###.....", ".#...##..#......"),
    "Z": (".....##...##....", "......#..##..#..", "....##...##.....", "..#..##..#......"),
}


def piece_row_masks(name: str, o: int) -> list[int]:
    """The four box rows of piece ``name`` in orientation ``o``, bit c = box column c."""
    box = SHAPES[name][o]
    return [sum(1 << c for c in range(4) if box[4 * r + c] == "#") for r in range(4)]


def position_bit(x: int, o: int) -> int:
    """The bit of position (x, o) in a 64-bit position mask."""
    return 1 << (o * LANE + x + SLOT_OFFSET)


def _shift(mask: int, x: int) -> int:
    return mask << x if x >= 0 else mask >> -x


def _in_bounds(rows: list[int], x: int) -> bool:
    return all(0 <= x + c < WIDTH for m in rows for c in range(4) if m >> c & 1)


def _build_tables():
    n = len(PIECE_NAMES)
    rows = np.zeros((n, 4, 4), dtype=np.int64)  # [piece, o, box row] -> mask at x = 0
    top = np.zeros((n, 4), dtype=np.int64)  # first box row with a cell
    bottom = np.zeros((n, 4), dtype=np.int64)  # last box row with a cell
    inbounds = np.zeros(n, dtype=np.int64)  # positions with every cell inside the walls
    collide = np.zeros((n, 4, FULL_ROW + 1), dtype=np.int64)  # [piece, box row, well row]
    canon = np.zeros((n, 4, 3), dtype=np.int64)  # (o', dx, dy): same cells as (x+dx, y+dy, o')
    for p, name in enumerate(PIECE_NAMES):
        for o in range(4):
            rm = piece_row_masks(name, o)
            rows[p, o] = rm
            filled = [r for r in range(4) if rm[r]]
            top[p, o], bottom[p, o] = filled[0], filled[-1]
            for slot in range(LANE):
                x = slot - SLOT_OFFSET
                if not _in_bounds(rm, x):
                    continue
                bit = 1 << (o * LANE + slot)
                inbounds[p] |= bit
                for r in range(4):
                    if rm[r]:
                        placed = _shift(rm[r], x)
                        for w in range(FULL_ROW + 1):
                            if placed & w:
                                collide[p, r, w] |= bit
        # Orientations that draw the same cells up to a translation (I, O, S, Z) give the
        # same wells; map each to the one drawn highest in its box so that dy >= 0.
        def cells(o):
            return {(r, c) for r in range(4) for c in range(4) if rows[p, o, r] >> c & 1}

        def normalized(o):
            cs = cells(o)
            r0, c0 = min(r for r, _ in cs), min(c for _, c in cs)
            return frozenset((r - r0, c - c0) for r, c in cs), r0, c0

        for o in range(4):
            shape, r0, c0 = normalized(o)
            best = min((normalized(q)[1], q) for q in range(4) if normalized(q)[0] == shape)[1]
            _, r1, c1 = normalized(best)
            canon[p, o] = (best, c0 - c1, r0 - r1)
    return rows, top, bottom, inbounds, collide, canon


PIECE_ROWS, PIECE_TOP, PIECE_BOTTOM, INBOUNDS, COLLIDE, CANONICAL = _build_tables()
PIECE_TOP_MIN = PIECE_TOP.min(axis=1)  # a piece at box row y never locks above y + this
POPCOUNT = np.array([bin(w).count("1") for w in range(FULL_ROW + 1)], dtype=np.int64)
