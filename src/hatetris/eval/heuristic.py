"""The hand-crafted evaluation: a weighted sum of well features, for beam search.

A well's value is ``sum_j weights[j] * feature_j(well)``; the search keeps the wells with
the largest values, so penalties get negative weights. Every feature is an integer
computed from the 20 rows and the score alone (stored as float64), so a value never
depends on the batch, the order of evaluation or the number of threads.

The features, in the order of :data:`FEATURES` (``h[c]`` is the height of column ``c``:
20 minus the row of its topmost filled cell, 0 for an empty column):

``lines``
    The score: lines cleared so far.
``height``
    ``20 - top``, where ``top`` is the first non-empty row (0 for the empty well).
``holes``
    Empty cells with a filled cell somewhere above them in their column.
``enclosed_holes``
    Empty cells in rows 4..19 that are not 4-connected, through empty cells, to an empty
    cell of the spawn zone (rows 0..3). No piece can ever reach them: a piece moves its
    cells one step at a time and every rotation keeps one cell in place, so its cells
    never leave the spawn's region. They are a subset of ``holes``. The converse does
    not hold: a one-cell-wide channel connects cells that no piece can reach.
``enclosed_lines``
    Rows containing at least one enclosed hole: rows that can only be cleared after the
    rows above them are.
``covered_lines``
    Rows containing at least one hole.
``erasability``
    How many of the 7 pieces have a reachable lock position (from the spawn, with the
    engine's exact reachability) that clears at least one line, 0..7. A clear lowers
    the stack, so the adversary shuns those pieces: a larger value leaves it fewer
    pieces to choose from. It costs up to
    seven reachability passes, so it is computed only when its weight is non-zero
    (it reads 0 otherwise).
``bumpiness``
    ``sum_c |h[c] - h[c + 1]|`` over the 9 pairs of neighbouring columns.
``cells``
    Filled cells (``4 * pieces - 10 * lines``).
``wells_depth``
    ``sum_c max(0, min(h[c - 1], h[c + 1]) - h[c])``, the walls counting as height 20:
    the total depth of one-column shafts (past depth 2, only a vertical I fills one).
``row_transitions``
    In every non-empty row, the number of horizontally neighbouring pairs (walls
    included, as filled) where one cell is filled and the other empty.
``column_transitions``
    In every column, the number of vertically neighbouring pairs (the floor included, as
    filled) where one cell is filled and the other empty; the empty well has 10.
``next_height``
    The stack height after the adversary's next piece, placed as well as possible:
    ``20 - peak`` of the HATETRIS choice (ignoring history). This is the adversary's own
    criterion turned around; like erasability it costs a reachability pass per piece and
    is computed only when its weight is non-zero (it reads 0 otherwise).
``dead_holes``
    Holes below the bar that no reachable lock position of any of the 7 pieces covers:
    cells the next piece cannot fill, whatever it is. A hole under an overhang that a
    piece can slide into is not dead; every enclosed hole is. Costs a reachability pass
    per piece on wells with holes, so it is computed only when its weight (or
    ``dead_lines``'s) is non-zero.
``dead_lines``
    Rows containing a dead hole: rows no single placement can help complete. Unlike
    ``covered_lines`` it does not penalise a jagged open shaft that a vertical S or Z
    can still fill.
``sz_dead_lines``
    Rows containing a hole below the bar that no reachable S or Z lock covers (a superset
    of ``dead_lines``). The adversary sends S and Z unless they would help: a hole that
    only another piece can fill waits for a piece that rarely comes. Computed with the
    dead holes.

>>> [FEATURES.index(name) for name in ("lines", "height", "holes")]
[0, 1, 2]

Kernels: :func:`well_features` fills the feature vector of one well (Numba, scratch
passed in); :func:`evaluate_heuristic` and :func:`heuristic_features` do a batch in
parallel. :class:`HeuristicEvaluation` is the Python-facing object with the calling
convention shared by every evaluation, ``evaluate(rows, scores, out)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

from ..config import NJIT, NJIT_PARALLEL
from ..adversary import mild_choice_from
from ..core import trailing_zeros
from ..engine import clears_lines, decode_lock, lock_masks
from ..rules import (BAR, FULL_ROW, HEIGHT, LANE, PAD_ROWS, PIECE_BOTTOM, PIECE_NAMES,
                     PIECE_ROWS, PIECE_TOP, SLOT_OFFSET)

FEATURES: tuple[str, ...] = (
    "lines",
    "height",
    "holes",
    "enclosed_holes",
    "enclosed_lines",
    "covered_lines",
    "erasability",
    "bumpiness",
    "cells",
    "wells_depth",
    "row_transitions",
    "column_transitions",
    "next_height",
    "dead_holes",
    "dead_lines",
    "sz_dead_lines",
)
N_FEATURES = len(FEATURES)

# Indices into a feature vector: compile-time constants inside the kernels.
F_LINES = FEATURES.index("lines")
F_HEIGHT = FEATURES.index("height")
F_HOLES = FEATURES.index("holes")
F_ENCLOSED_HOLES = FEATURES.index("enclosed_holes")
F_ENCLOSED_LINES = FEATURES.index("enclosed_lines")
F_COVERED_LINES = FEATURES.index("covered_lines")
F_ERASABILITY = FEATURES.index("erasability")
F_BUMPINESS = FEATURES.index("bumpiness")
F_CELLS = FEATURES.index("cells")
F_WELLS_DEPTH = FEATURES.index("wells_depth")
F_ROW_TRANSITIONS = FEATURES.index("row_transitions")
F_COLUMN_TRANSITIONS = FEATURES.index("column_transitions")
F_NEXT_HEIGHT = FEATURES.index("next_height")
F_DEAD_HOLES = FEATURES.index("dead_holes")
F_DEAD_LINES = FEATURES.index("dead_lines")
F_SZ_DEAD_LINES = FEATURES.index("sz_dead_lines")

N_PIECES = PIECE_ROWS.shape[0]
PIECE_O = PIECE_NAMES.index("O")  # S and Z come before it
assert PIECE_NAMES.index("S") < PIECE_O and PIECE_NAMES.index("Z") < PIECE_O
CHUNK = 256  # wells per parallel work item: scratch is allocated once per chunk
LEFT_COLUMN = 1
RIGHT_COLUMN = 1 << 9
INNER_PAIRS = (1 << 9) - 1  # bit c: the pair of columns (c, c + 1)


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


@intrinsic
def popcount(typingctx, x):
    """Number of set bits of an integer (LLVM ``ctpop``: one ``popcnt`` instruction)."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[0], x, types.int64)
        return builder.ctpop(value)

    return types.int64(x), codegen


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
def _enclosed(rows2d, k, first, last, reach):
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
    spawn). Pieces without a row of a matching width skip the reachability pass, and
    locks not touching such a row are never placed. With ``known``, ``locks`` already
    holds every piece's full masks, ``spans[p]`` their (first, last) rows.
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
        found = False
        # Clearing locks are at the bottom of the reachable region: look there first.
        for y in range(y_last, y_first - 1, -1):
            m = locks[p, y]
            if m == 0:
                continue
            for o in range(4):
                lane = (m >> (o * 16)) & 0xFFFF
                if lane == 0:
                    continue
                top_cell = y + PIECE_TOP[p, o]
                span = ((1 << (PIECE_BOTTOM[p, o] - PIECE_TOP[p, o] + 1)) - 1) << top_cell
                if top_cell < BAR or span & targets == 0:
                    continue
                lane <<= o * 16
                while lane != 0:
                    bit = trailing_zeros(lane)
                    lane &= lane - 1
                    oo, x = decode_lock(bit)
                    if clears_lines(pad, p, oo, x, y):
                        found = True
                        break
                if found:
                    break
            if found:
                break
        if found:
            count += 1
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


@njit(**NJIT)
def well_features(rows2d, k, score, pad, locks, out, with_erasability, with_next, buf,
                  with_dead, fill, spans) -> None:
    """Fill ``out[:N_FEATURES]`` with the features of well ``rows2d[k]`` (score ``score``).

    ``pad`` (uint16[24]) and ``locks`` (int64[7, 24]) are scratch: ``pad`` holds the
    holes, then the flood fill's open cells, then the padded well for erasability.
    Erasability is computed only ``with_erasability``, next_height only ``with_next``
    (``buf``: int64[1, 20] scratch), the dead holes only ``with_dead`` (``fill``:
    int64[24] scratch); each reads 0 otherwise. ``spans`` (int64[7, 2]) is scratch for
    the lock rows of :func:`dead_holes`. Rows are read as ``rows2d[k, r]``: no array
    view is made per well.
    """
    # Empty rows above the stack add to no feature: start at the top.
    top = 0
    while top < HEIGHT and rows2d[k, top] == 0:
        top += 1
    cells = 0
    holes = 0
    covered = 0
    bumpiness = 0
    wells = 0
    row_tr = 0
    col_tr = 0
    first_hole = HEIGHT  # rows BAR..19 holding holes: first_hole..last_hole
    last_hole = HEIGHT
    seen = np.int64(0)  # columns with a filled cell in this row or above: the covered ones
    # The row above the stack is empty; above row 0 there is nothing (no transition).
    prev = np.int64(rows2d[k, top - 1]) if top > 0 else np.int64(rows2d[k, 0])
    for r in range(top, HEIGHT):
        v = np.int64(rows2d[k, r])
        col_tr += popcount(v ^ prev)
        prev = v
        if v != 0:
            cells += popcount(v)
            row_tr += popcount((v ^ (v >> 1)) & INNER_PAIRS)
            row_tr += (~v & LEFT_COLUMN) + ((~v & RIGHT_COLUMN) >> 9)
        hole = ~v & seen & FULL_ROW
        pad[r] = hole  # the flood fill's input (it reads rows first_hole..last_hole only)
        if hole != 0:
            holes += popcount(hole)
            covered += 1
            if r >= BAR:
                if first_hole == HEIGHT:
                    first_hole = r
                last_hole = r
        seen |= v
        # Column c counts in h[c] rows from its top down; summed over rows, the columns
        # whose "covered" state differs from a neighbour's give |h[c] - h[c + 1]|, and the
        # uncovered ones between covered neighbours (or walls) give the shaft depths.
        bumpiness += popcount((seen ^ (seen >> 1)) & INNER_PAIRS)
        wells += popcount(~seen & ((seen << 1) | LEFT_COLUMN) & ((seen >> 1) | RIGHT_COLUMN)
                          & FULL_ROW)
    col_tr += popcount(prev ^ FULL_ROW)  # the floor

    enclosed_cells = 0
    enclosed_rows = np.int64(0)
    # An enclosed cell is a hole below the bar (any other empty cell sees the spawn zone
    # straight up), so most of the well needs no flood fill, and many wells none at all.
    if first_hole < HEIGHT:
        enclosed_cells, enclosed_rows = _enclosed(rows2d, k, first_hole, last_hole, pad)

    out[F_LINES] = score
    out[F_HEIGHT] = HEIGHT - top
    out[F_HOLES] = holes
    out[F_ENCLOSED_HOLES] = enclosed_cells
    out[F_ENCLOSED_LINES] = popcount(enclosed_rows)
    out[F_COVERED_LINES] = covered
    out[F_BUMPINESS] = bumpiness
    out[F_CELLS] = cells
    out[F_WELLS_DEPTH] = wells
    out[F_ROW_TRANSITIONS] = row_tr
    out[F_COLUMN_TRANSITIONS] = col_tr
    out[F_ERASABILITY] = 0
    out[F_NEXT_HEIGHT] = 0
    out[F_DEAD_HOLES] = 0
    out[F_DEAD_LINES] = 0
    out[F_SZ_DEAD_LINES] = 0
    if with_erasability or with_next or with_dead:
        for r in range(HEIGHT):
            pad[r] = rows2d[k, r]
        for r in range(HEIGHT, PAD_ROWS):
            pad[r] = FULL_ROW
    # The dead holes need every piece's full lock masks: the other two features reuse them.
    known = with_dead and first_hole < HEIGHT
    if known:
        out[F_DEAD_HOLES], out[F_DEAD_LINES], out[F_SZ_DEAD_LINES] = dead_holes(
            pad, top, locks, fill, first_hole, last_hole, spans)
    if with_erasability:
        out[F_ERASABILITY] = erasability(pad, top, locks, enclosed_rows, spans, known)
    if with_next and top >= BAR:
        out[F_NEXT_HEIGHT] = HEIGHT - mild_choice_from(pad, top, locks, buf, spans, known)[3]


@njit(**NJIT)
def feature_scratch():
    """The scratch :func:`well_features` needs (``pad``, ``locks``, ``buf``, ``fill``,
    ``spans``) and a feature vector ``f``."""
    return (np.zeros(PAD_ROWS, np.uint16), np.zeros((N_PIECES, PAD_ROWS), np.int64),
            np.zeros((1, HEIGHT), np.int64), np.zeros(PAD_ROWS, np.int64),
            np.zeros((N_PIECES, 2), np.int64), np.zeros(N_FEATURES, np.float64))


@njit(**NJIT_PARALLEL)
def evaluate_heuristic(rows2d, scores, weights, opening, opening_pieces, out) -> None:
    """``out[i] = sum_j weights[j] * feature_j(rows2d[i], scores[i])`` for every well.

    Wells with fewer than ``opening_pieces`` pieces placed (``(cells + 10 * lines) / 4``,
    a function of the well and its score) are valued with the ``opening`` weights
    instead. The costly features are computed only when a weight of theirs is non-zero.
    The sum runs in feature order for every well, so the result does not depend on how
    wells meet threads.
    """
    n = rows2d.shape[0]
    used = np.abs(weights)
    if opening_pieces > 0:
        used += np.abs(opening)
    with_erasability = used[F_ERASABILITY] != 0.0
    with_next = used[F_NEXT_HEIGHT] != 0.0
    with_dead = (used[F_DEAD_HOLES] != 0.0 or used[F_DEAD_LINES] != 0.0
                 or used[F_SZ_DEAD_LINES] != 0.0)
    n_chunks = (n + CHUNK - 1) // CHUNK
    for c in prange(n_chunks):
        # Scratch per chunk, not per well: an allocation costs about as much as a well.
        pad, locks, buf, fill, spans, f = feature_scratch()
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            well_features(rows2d, i, scores[i], pad, locks, f, with_erasability, with_next,
                          buf, with_dead, fill, spans)
            w = weights
            if (f[F_CELLS] + 10.0 * f[F_LINES]) < 4.0 * opening_pieces:
                w = opening
            value = 0.0
            for j in range(N_FEATURES):
                value += w[j] * f[j]
            out[i] = value


@njit(**NJIT_PARALLEL)
def heuristic_features(rows2d, scores, with_erasability, out2d) -> None:
    """``out2d[i, :]`` = the feature vector of well ``i`` (float64[N, N_FEATURES]).

    ``with_erasability`` turns on the lookahead features (erasability, next_height and
    the dead holes).
    """
    n = rows2d.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    for c in prange(n_chunks):
        pad, locks, buf, fill, spans, f = feature_scratch()
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            well_features(rows2d, i, scores[i], pad, locks, f, with_erasability,
                          with_erasability, buf, with_erasability, fill, spans)
            for j in range(N_FEATURES):
                out2d[i, j] = f[j]


def _check_batch(rows: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows = np.asarray(rows)
    scores = np.asarray(scores)
    if rows.ndim != 2 or rows.shape[1] != HEIGHT or rows.dtype != np.uint16:
        raise ValueError(f"rows must be uint16[N, {HEIGHT}], got {rows.dtype}{list(rows.shape)}")
    if scores.shape != (rows.shape[0],) or scores.dtype not in (np.int64, np.int32):
        raise ValueError(f"scores must be int64 or int32[{rows.shape[0]}], "
                         f"got {scores.dtype}{list(scores.shape)}")
    return rows, scores


def _weight_vector(weights: Mapping[str, float]) -> np.ndarray:
    unknown = [name for name in weights if name not in FEATURES]
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        raise ValueError(
            f"unknown heuristic feature{plural} {', '.join(map(repr, unknown))}; "
            f"valid names: {', '.join(FEATURES)}"
        )
    vector = np.array([float(weights.get(name, 0.0)) for name in FEATURES], dtype=np.float64)
    if not np.isfinite(vector).all():
        # 0 * inf is NaN: one such weight would make every value NaN.
        bad = [n for n, w in zip(FEATURES, vector) if not np.isfinite(w)]
        raise ValueError(f"heuristic weights must be finite: {', '.join(bad)}")
    return vector


class HeuristicEvaluation:
    """A weighted sum of the :data:`FEATURES`; names not given weigh 0.

    With ``opening_weights`` and ``opening_pieces``, wells with fewer than
    ``opening_pieces`` pieces placed are valued with the opening weights: the published
    record games open with a tall wall and holes under it that a single set of weights
    tuned for the middle game prunes from the beam (issue 3's note).

    >>> ev = HeuristicEvaluation({"holes": -1.0, "height": -0.5})
    >>> rows = np.zeros((1, 20), np.uint16)
    >>> rows[0, 18], rows[0, 19] = 0b11, 0b01   # column 1 overhangs an empty cell
    >>> out = np.zeros(1)
    >>> ev.evaluate(rows, np.zeros(1, np.int64), out)
    >>> out.tolist()                            # -1 * 1 hole - 0.5 * height 2
    [-2.0]
    >>> dict(zip(FEATURES, ev.features(rows, np.zeros(1, np.int64))[0].astype(int).tolist()))
    ... # doctest: +NORMALIZE_WHITESPACE
    {'lines': 0, 'height': 2, 'holes': 1, 'enclosed_holes': 0, 'enclosed_lines': 0,
     'covered_lines': 1, 'erasability': 0, 'bumpiness': 2, 'cells': 3, 'wells_depth': 0,
     'row_transitions': 4, 'column_transitions': 12, 'next_height': 2, 'dead_holes': 0,
     'dead_lines': 0, 'sz_dead_lines': 0}
    >>> HeuristicEvaluation({"hole": 1.0})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown heuristic feature 'hole'; valid names: lines, height, holes, ...
    """

    def __init__(self, weights: Mapping[str, float],
                 opening_weights: Mapping[str, float] | None = None,
                 opening_pieces: int = 0) -> None:
        self.weights: np.ndarray = _weight_vector(weights)
        if (opening_weights is None) != (opening_pieces == 0):
            raise ValueError("opening weights need opening_pieces >= 1, and the converse")
        if opening_pieces < 0:
            raise ValueError("opening_pieces must not be negative")
        self.opening_pieces = int(opening_pieces)
        self.opening_weights: np.ndarray = (
            self.weights if opening_weights is None else _weight_vector(opening_weights))

    def __repr__(self) -> str:
        def given(vector):
            return {n: w for n, w in zip(FEATURES, vector.tolist()) if w != 0.0}

        if self.opening_pieces == 0:
            return f"HeuristicEvaluation({given(self.weights)!r})"
        return (f"HeuristicEvaluation({given(self.weights)!r}, "
                f"{given(self.opening_weights)!r}, {self.opening_pieces})")

    def evaluate(self, rows: np.ndarray, scores: np.ndarray, out: np.ndarray) -> None:
        """Write the value of well ``i`` (``rows[i]``, ``scores[i]``) to ``out[i]``.

        ``rows`` uint16[N, 20], ``scores`` int64 or int32[N], ``out`` float64[N].
        """
        rows, scores = _check_batch(rows, scores)
        if not isinstance(out, np.ndarray) or out.dtype != np.float64 or out.shape != (
            rows.shape[0],
        ):
            raise ValueError(f"out must be float64[{rows.shape[0]}]")
        evaluate_heuristic(rows, scores, self.weights, self.opening_weights,
                           self.opening_pieces, out)

    def features(self, rows: np.ndarray, scores: np.ndarray,
                 with_erasability: bool = True) -> np.ndarray:
        """The feature matrix float64[N, len(FEATURES)] of a batch (for inspection, fitting)."""
        rows, scores = _check_batch(rows, scores)
        out = np.zeros((rows.shape[0], N_FEATURES), np.float64)
        heuristic_features(rows, scores, bool(with_erasability), out)
        return out
