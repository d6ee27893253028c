"""Training labels from short lookahead searches with the current network.

A sampled well is labelled by a narrow beam (``width`` wells, ``depth`` pieces) from it,
ranked by the network: -1 if every line of play dies within ``depth`` pieces, else the
best network value reached at the end. The adversary here is the mild one (no history):
a label is an estimate, and a repeat within ten pieces is vanishingly rare.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..adversary import N_PIECES, mild_piece
from ..config import NJIT_PARALLEL
from ..engine import MAX_CHILDREN, children_into, pad_well
from ..rules import HEIGHT, PAD_ROWS
from .network import forward_one



@njit(**NJIT_PARALLEL)
def lookahead_labels(rows, scores, depth, width, bases, max_active, w1, w2, b2, out):
    n = rows.shape[0]
    for i in prange(n):
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
        for r in range(HEIGHT):
            beam[0, r] = rows[i, r]
        beam_scores[0] = scores[i]
        size = 1
        label = -1.0
        for step in range(depth):
            total = 0
            for b in range(size):
                top = pad_well(beam[b], pad)
                p, y_first, y_last = mild_piece(pad, top, locks, buf)
                total += children_into(pad, p, locks, y_first, y_last, beam_scores[b],
                                       False, kids, kid_scores, kid_moves, total, buf)
            if total == 0:
                label = -1.0
                break
            for k in range(total):
                values[k] = forward_one(kids, k, bases, w1, w2, b2, idx, acc)
            order = np.argsort(-values[:total], kind="mergesort")
            size = min(width, total)
            for b in range(size):
                k = order[b]
                for r in range(HEIGHT):
                    beam[b, r] = kids[k, r]
                beam_scores[b] = kid_scores[k]
            label = values[order[0]]
        out[i] = label
