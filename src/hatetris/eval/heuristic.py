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
The features that walk the pieces' reachable locks (enclosed cells, erasability, dead
holes) are computed in :mod:`hatetris.eval.reachability`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numba import njit, prange

from ..adversary import mild_choice_from
from ..config import NJIT, NJIT_PARALLEL
from ..core import popcount
from ..rules import BAR, FULL_ROW, HEIGHT, PAD_ROWS
from .reachability import N_PIECES, dead_holes, enclosed_region, erasability

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

CHUNK = 256  # wells per parallel work item: scratch is allocated once per chunk
LEFT_COLUMN = 1
RIGHT_COLUMN = 1 << 9
INNER_PAIRS = (1 << 9) - 1  # bit c: the pair of columns (c, c + 1)


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
        enclosed_cells, enclosed_rows = enclosed_region(rows2d, k, first_hole, last_hole, pad)

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
