"""Who sends the next piece.

HATETRIS evaluates, for each piece in the order S, Z, O, I, L, J, T, every well the
player could make with it, and sends the piece whose *best* outcome (the lowest stack,
``peak`` = first non-empty row) is worst for the player, after first avoiding pieces that
could recreate a well already seen in this game (``loops``, the loop-prevention history).

Two facts keep this fast:

* Without a history hit the choice is the "mild" choice, and a piece can be abandoned as
  soon as one of its placements reaches the best ``peak`` found so far (ties go to the
  earlier piece).
* The history only matters if the mild choice itself has a child in the history: any
  piece with ``loops > 0`` loses to a piece with ``loops == 0``, and the mild choice is
  the best piece among all. Only then are all seven pieces evaluated in full.

The history is an explicit value: :class:`History` arrays, passed to the kernels.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .config import NJIT
from .core import rows_hash, trailing_zeros, well_is
from .engine import (
    MAX_CHILDREN,
    children_into,
    clearing_locks,
    lock_masks,
    pad_well,
    peak_after_lock,
    top_row,
)
from .rules import (
    BAR,
    HEIGHT,
    PAD_ROWS,
    PIECE_NAMES,
    PIECE_TOP,
    SLOT_OFFSET,
)

ADVERSARIES = ("hatetris", "hatetris-mild", "lovetris", "burgiel", "brzustowski")
HATETRIS, HATETRIS_MILD, LOVETRIS, BURGIEL, BRZUSTOWSKI = range(5)
N_PIECES = len(PIECE_NAMES)
PIECE_S, PIECE_Z, PIECE_I = PIECE_NAMES.index("S"), PIECE_NAMES.index("Z"), PIECE_NAMES.index("I")


class UnknownAdversary(ValueError):
    pass


def adversary_id(name: str) -> int:
    """The kernel id of an adversary name.

    >>> adversary_id("lovetris")
    2
    """
    try:
        return ADVERSARIES.index(name)
    except ValueError:
        raise UnknownAdversary(
            f"unknown AI {name!r}; choose one of: {', '.join(ADVERSARIES)}"
        ) from None


@njit(**NJIT)
def mild_piece(pad, top, locks, buf):
    """The HATETRIS choice ignoring the history: (piece, its first and last lock row).

    ``locks`` is int64[7, 24]; the chosen piece's row holds its full lock masks.
    ``buf`` is a 20-row scratch buffer.
    """
    p, y_first, y_last, _ = mild_choice(pad, top, locks, buf)
    return p, y_first, y_last


# Stands in for ``spans`` when the lock masks are not known yet.
NO_SPANS = np.zeros((N_PIECES, 2), np.int64)


@njit(**NJIT)
def mild_choice(pad, top, locks, buf):
    """:func:`mild_piece` and the ``peak`` of its best placement: (piece, first, last, peak).

    ``peak`` is the first non-empty row the player can keep after this piece: how high
    the stack will stand after the adversary's next move, played well.
    """
    return mild_choice_from(pad, top, locks, buf, NO_SPANS, False)


# Inlined so that mild_choice's copy drops the ``known`` branch: the game and the beam
# call it for every well.
@njit(inline="always", **NJIT)
def mild_choice_from(pad, top, locks, buf, spans, known):
    """:func:`mild_choice`; with ``known``, from full lock masks already in ``locks``.

    ``spans[p]`` then holds piece ``p``'s (first, last) lock row. Callers that need every
    piece's masks anyway save the reachability passes. The choice is the same: a piece
    that the early stop of :func:`lock_masks` would reject has a lock no lower than the
    row where it stopped, and the scan below rejects it on that lock.
    """
    best_peak = HEIGHT + 1
    best = -1
    best_first = 0
    best_last = -1
    for p in range(N_PIECES):
        if known:
            y_first, y_last = spans[p, 0], spans[p, 1]
        else:
            y_first, y_last = lock_masks(pad, top, p, locks, best_peak)
        if y_first < 0:
            continue
        worst_case = -1  # the player's best outcome with this piece
        rejected = False
        # Low placements leave low stacks: look at them first to reject a piece early.
        for y in range(y_last, y_first - 1, -1):
            m = locks[p, y]
            if m == 0:
                continue
            # Only the locks that complete a row can clear lines; every other lock
            # leaves the stack at min(top, its top cell).
            clearing = m & clearing_locks(pad, p, y)
            for o in range(4):
                lane = (m >> (o * 16)) & 0xFFFF
                if lane == 0:
                    continue
                top_cell = y + PIECE_TOP[p, o]
                peak = min(top, top_cell)
                if peak >= best_peak:
                    rejected = True
                    break
                lane = (clearing >> (o * 16)) & 0xFFFF  # none with a cell above the bar
                while lane != 0:
                    bit = trailing_zeros(lane)
                    lane &= lane - 1
                    x = bit - SLOT_OFFSET
                    cleared_peak = peak_after_lock(pad, top, p, o, x, y)
                    if cleared_peak > peak:
                        peak = cleared_peak
                        if peak >= best_peak:
                            rejected = True
                            break
                if rejected:
                    break
                if peak > worst_case:
                    worst_case = peak
            if rejected:
                break
        if not rejected:
            best_peak = worst_case
            best = p
            best_first = y_first
            best_last = y_last
    return best, best_first, best_last, best_peak


# --- the seen-well history: an open-addressing table of wells with counts ---------------


def new_history(capacity: int):
    """Empty history arrays for up to ``capacity`` distinct wells."""
    slots = 1
    while slots < 2 * capacity:
        slots *= 2
    return (
        np.zeros((capacity, HEIGHT), np.uint16),  # wells
        np.zeros(capacity, np.int64),  # counts
        np.full(slots, -1, np.int64),  # table: slot -> index into wells, -1 empty
        np.zeros(1, np.int64),  # size
    )


@njit(**NJIT)
def history_count(wells, counts, table, size, rows) -> int:
    """How many times ``rows`` was recorded (0 if never)."""
    mask = table.shape[0] - 1
    slot = np.int64(rows_hash(rows) & np.uint64(mask))
    while True:
        i = table[slot]
        if i < 0:
            return 0
        if well_is(wells, i, rows):
            return counts[i]
        slot = (slot + 1) & mask


@njit(**NJIT)
def history_record(wells, counts, table, size, rows):
    """Record one more sighting of ``rows``."""
    mask = table.shape[0] - 1
    slot = np.int64(rows_hash(rows) & np.uint64(mask))
    while True:
        i = table[slot]
        if i < 0:
            i = size[0]
            size[0] += 1
            for r in range(HEIGHT):
                wells[i, r] = rows[r]
            counts[i] = 1
            table[slot] = i
            return
        if well_is(wells, i, rows):
            counts[i] += 1
            return
        slot = (slot + 1) & mask


@njit(**NJIT)
def piece_outcomes(pad, top, q, locks, outs, gains, moves, scratch) -> int:
    """Every distinct well piece ``q`` can leave, game overs included, into ``outs[:n]``.

    ``gains[j]`` is the number of lines outcome ``j`` cleared. Returns ``n``.
    """
    y_first, y_last = lock_masks(pad, top, q, locks)
    return children_into(pad, q, locks, y_first, y_last, 0, True, outs, gains, moves, 0,
                         scratch)


@njit(**NJIT)
def beats(loops, peak, best, best_loops, best_peak) -> bool:
    """Whether a piece with (``loops``, ``peak``) is a better choice than the best so far.

    Fewer loops first, then the lower peak; pieces are tried in order, so an equal one
    loses to the earlier.
    """
    return best < 0 or loops < best_loops or (loops == best_loops and peak < best_peak)


def outcome_buffers():
    """Scratch for :func:`piece_outcomes`: (outs, gains, moves)."""
    return (np.zeros((MAX_CHILDREN, HEIGHT), np.uint16), np.zeros(MAX_CHILDREN, np.int64),
            np.zeros(MAX_CHILDREN, np.int64))


@njit(**NJIT)
def _piece_loops(pad, top, q, locks, hist_wells, hist_counts, hist_table, hist_size, buf,
                 outs, gains, moves):
    n = piece_outcomes(pad, top, q, locks, outs, gains, moves, buf)
    loops = 0
    peak = -1
    for j in range(n):
        loops = max(loops, history_count(hist_wells, hist_counts, hist_table, hist_size,
                                         outs[j]))
        peak = max(peak, top_row(outs, j))
    return loops, peak


@njit(**NJIT)
def hatetris_piece(pad, top, locks, buf, hist_wells, hist_counts, hist_table, hist_size, outs,
                   gains, moves):
    """The HATETRIS choice with the loop-prevention history (already holding this well)."""
    p, y_first, y_last = mild_piece(pad, top, locks, buf)
    loops, _ = _piece_loops(pad, top, p, locks, hist_wells, hist_counts, hist_table,
                            hist_size, buf, outs, gains, moves)
    if loops == 0:
        return p
    best = -1
    best_loops = 0
    best_peak = 0
    for q in range(N_PIECES):
        lq, pq = _piece_loops(pad, top, q, locks, hist_wells, hist_counts, hist_table,
                              hist_size, buf, outs, gains, moves)
        if beats(lq, pq, best, best_loops, best_peak):
            best, best_loops, best_peak = q, lq, pq
    return best


@njit(**NJIT)
def expand(well, score, pad, locks, buf, out_rows, out_scores, out_moves):
    """The benchmark's expansion: the mild choice (empty history) and its live children.

    Returns (piece, number of children written to ``out_*``).
    """
    top = pad_well(well, pad)
    if top < BAR:
        return -1, 0
    p, y_first, y_last = mild_piece(pad, top, locks, buf)
    n = children_into(pad, p, locks, y_first, y_last, score, False,
                      out_rows, out_scores, out_moves, 0, buf)
    return p, n


def scratch():
    """Per-thread scratch buffers for :func:`expand` and friends."""
    return (
        np.zeros(PAD_ROWS, np.uint16),
        np.zeros((N_PIECES, PAD_ROWS), np.int64),
        np.zeros((1, HEIGHT), np.int64),
    )


def adversary_piece(well, history: dict | None = None, mild: bool = False) -> int:
    """HATETRIS's choice for ``well`` (Python-facing; ``history`` maps row tuples to counts).

    The history must already count ``well`` itself, as the game records it before choosing.

    >>> PIECE_NAMES[adversary_piece([0] * 20)]
    'S'
    """
    pad, locks, buf = scratch()
    top = pad_well(np.asarray(well, dtype=np.uint16), pad)
    if mild or not history:
        return int(mild_piece(pad, top, locks, buf)[0])
    hist = new_history(len(history) + 1)
    for rows, count in history.items():
        for _ in range(count):
            history_record(*hist, np.asarray(rows, dtype=np.uint16))
    return int(hatetris_piece(pad, top, locks, buf, *hist, *outcome_buffers()))
