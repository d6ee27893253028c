"""Training labels from short lookahead searches with the current network.

A sampled well is labelled by a narrow beam (``width`` wells, ``depth`` pieces) from it,
ranked by the network: -1 if every line of play dies within ``depth`` pieces, else the
best network value reached at the end. The adversary here is the mild one (no history):
a label is an estimate, and a repeat within ten pieces is vanishingly rare. The beam holds
distinct wells: two parents often share a child, and a copy would take a slot from another
line of play.

With ``grace`` pieces more, the beam plays on after ``depth``: a well whose lines all die
in that stretch is only partly good. ``lookahead`` reports the value at ``depth`` and the
fraction of the grace stretch survived; :func:`graded` makes a label of the two (as the
2023 open-source trainer does: -1 before ``depth``, scaled toward the value after).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..adversary import N_PIECES, mild_piece
from ..config import NJIT, NJIT_PARALLEL
from ..core import rows_hash, same_well
from ..engine import MAX_CHILDREN, children_into, pad_well
from ..rules import HEIGHT, PAD_ROWS
from .network import forward_one


@njit(**NJIT)
def _lookahead_one(rows, scores, i, depth, grace, width, bases, max_active, w1, w2, b2):
    """One well's label beam: (best network value after ``depth`` pieces or -1 if lost
    before, pieces placed before every line of play died, at most ``depth + grace``)."""
    pad = np.zeros(PAD_ROWS, np.uint16)
    locks = np.zeros((N_PIECES, PAD_ROWS), np.int64)
    buf = np.zeros((1, HEIGHT), np.int64)
    idx = np.zeros(max_active, np.int64)
    acc = np.zeros(w1.shape[1], np.float32)
    beam = np.zeros((width, HEIGHT), np.uint16)
    beam_scores = np.zeros(width, np.int64)
    kids = np.zeros((width * MAX_CHILDREN, HEIGHT), np.uint16)
    kid_scores = np.zeros(width * MAX_CHILDREN, np.int64)
    kid_moves = np.zeros(width * MAX_CHILDREN, np.int64)
    values = np.zeros(width * MAX_CHILDREN, np.float64)
    slots = 1
    while slots < 2 * width:
        slots *= 2
    slot_hash = np.zeros(slots, np.uint64)
    slot_kid = np.zeros(slots, np.int64)
    for r in range(HEIGHT):
        beam[0, r] = rows[i, r]
    beam_scores[0] = scores[i]
    size = 1
    v = -1.0
    lasted = 0
    for step in range(depth + grace):
        total = 0
        for b in range(size):
            top = pad_well(beam[b], pad)
            p, y_first, y_last = mild_piece(pad, top, locks, buf)
            total += children_into(pad, p, locks, y_first, y_last, beam_scores[b],
                                   False, kids, kid_scores, kid_moves, total, buf)
        if total == 0:
            break
        for k in range(total):
            values[k] = forward_one(kids, k, bases, w1, w2, b2, idx, acc)
        order = np.argsort(-values[:total], kind="mergesort")
        slot_hash[:] = 0
        size = 0
        for j in range(total):
            if size == width:
                break
            k = order[j]
            h = rows_hash(kids[k]) | np.uint64(1)  # 0 marks an empty slot
            s = np.int64(h & np.uint64(slots - 1))
            copy = False
            while slot_hash[s] != 0:
                if slot_hash[s] == h and same_well(kids, slot_kid[s], kids, k):
                    copy = True
                    break
                s = (s + 1) & (slots - 1)
            if copy:
                continue
            slot_hash[s] = h
            slot_kid[s] = k
            for r in range(HEIGHT):
                beam[size, r] = kids[k, r]
            beam_scores[size] = kid_scores[k]
            size += 1
        lasted = step + 1
        if lasted == depth:
            v = values[order[0]]
    return v, lasted


@njit(**NJIT_PARALLEL)
def lookahead(rows, scores, depth, grace, width, bases, max_active, w1, w2, b2, value,
              survived):
    """``value[i]``: the best network value after ``depth`` pieces (-1 if lost before);
    ``survived[i]``: 0 if lost before ``depth``, else (pieces survived after ``depth``
    + 1) / (grace + 1), so 1 for a well that lasts the whole ``depth + grace``."""
    for i in prange(rows.shape[0]):
        v, lasted = _lookahead_one(rows, scores, i, depth, grace, width, bases, max_active,
                                   w1, w2, b2)
        value[i] = v
        survived[i] = 0.0 if lasted < depth else (lasted - depth + 1) / (grace + 1)


@njit(**NJIT_PARALLEL)
def lookahead_lasted(rows, scores, depth, grace, width, bases, max_active, w1, w2, b2,
                     value, lasted):
    """As :func:`lookahead`, but ``lasted[i]`` is the pieces the label beam placed before
    every line of play died (``depth + grace`` if one lasted throughout)."""
    for i in prange(rows.shape[0]):
        v, n = _lookahead_one(rows, scores, i, depth, grace, width, bases, max_active,
                              w1, w2, b2)
        value[i] = v
        lasted[i] = n


def graded(value: np.ndarray, survived: np.ndarray) -> np.ndarray:
    """-1 for a well lost within the depth, ``value`` for one that lasts the grace too,
    and in between a straight line from -1 toward ``value`` by the fraction survived."""
    value = np.asarray(value, np.float64)
    partial = -1.0 + (value + 1.0) * survived
    return np.where(survived >= 1, value, np.where(survived > 0, partial, -1.0))


def lineage_reach(parent: np.ndarray, level_start: list[int], size: int) -> np.ndarray:
    """For every node of a beam's tree, the depth of its deepest descendant still in the
    tree (its own depth for a leaf): how long its line of play lasted in the beam.

    ``level_start[d]`` is the first node of depth d; nodes of one depth are contiguous.
    """
    reach = node_depths(level_start, size)
    bounds = list(level_start) + [size]
    for d in range(len(bounds) - 2, 0, -1):
        lo, hi = bounds[d], bounds[d + 1]
        np.maximum.at(reach, parent[lo:hi], reach[lo:hi])
    return reach


def node_depths(level_start: list[int], size: int) -> np.ndarray:
    """Each node's depth, from the first node of each depth (contiguous levels)."""
    depth = np.zeros(size, np.int64)
    bounds = list(level_start) + [size]
    for d in range(len(bounds) - 1):
        depth[bounds[d]:bounds[d + 1]] = d
    return depth


def beam_futures(parent: np.ndarray, level_start: list[int], size: int,
                 horizon: int) -> np.ndarray:
    """For every node of a beam's tree: has it a descendant ``horizon`` depths below?
    (False where the tree does not reach that deep.) A wide beam's verdict on a well:
    its line of play was still worth keeping ``horizon`` pieces later."""
    return futures_grade(parent, level_start, size, [horizon]) > 0


def futures_grade(parent: np.ndarray, level_start: list[int], size: int,
                  horizons: list[int]) -> np.ndarray:
    """For every node, how many of ``horizons`` its lineage reached (``beam_futures`` at
    each, counted), the tree walked once.

    >>> parent = np.array([-1, 0, 0, 1, 3])  # a chain 0-1-3-4, node 2 a dead end
    >>> futures_grade(parent, [0, 1, 3, 4], 5, [1, 2, 3]).tolist()
    [3, 2, 0, 1, 0]
    """
    ahead = lineage_ahead(parent, level_start, size)
    return sum((ahead >= h).astype(np.int64) for h in horizons)


def lineage_ahead(parent: np.ndarray, level_start: list[int], size: int) -> np.ndarray:
    """For every node, how many depths below it its deepest descendant lies
    (:func:`lineage_reach` less its own depth): a node has a future at ``h`` exactly
    when this is at least ``h``.

    >>> lineage_ahead(np.array([-1, 0, 0, 1, 3]), [0, 1, 3, 4], 5).tolist()
    [3, 2, 0, 1, 0]
    """
    return lineage_reach(parent, level_start, size) - node_depths(level_start, size)


def order_by_hindsight(labels: np.ndarray, depth: np.ndarray, life: np.ndarray) -> np.ndarray:
    """Each depth's labels, handed out again in the order of ``life`` (ties: old order).

    A lookahead of a few pieces cannot see a loss fifty pieces on; the probe beam saw
    which of its wells' lines lasted. Among the wells of one depth the longest-lived get
    the highest of that depth's labels: the values stay, their order becomes hindsight's.
    """
    out = np.array(labels, np.float64)
    for d in np.unique(depth):
        ids = np.flatnonzero(depth == d)
        order = np.lexsort((out[ids], life[ids]))
        new = np.empty(len(ids))
        new[order] = np.sort(out[ids])
        out[ids] = new
    return out
