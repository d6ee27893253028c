"""Expansion: the adversary's piece for each selected leaf (with its path's history) and
the leaf's children, merged into the store through the transposition table."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ...adversary import N_PIECES, mild_piece
from ...config import NJIT, NJIT_PARALLEL
from ...core import rows_hash, same_well, state_hash
from ...engine import MAX_CHILDREN, children_into, lock_masks, pad_well
from ...rules import HEIGHT, PAD_ROWS
from ..tree import history_hits, piece_with_history
from ..tt import filter_contains, filter_insert


@njit(**NJIT_PARALLEL)
def expand_leaves(sims, n, path_nodes, path_len, rows, score, depth, seen,
                  hist_wells, hist_counts, hist_table, hist_size,
                  kid_rows, kid_scores, kid_moves, out_piece, out_count, out_loop):
    """The adversary's piece and the live children of the leaves of simulations ``sims[:n]``.

    Leaf ``i`` writes its children at ``i * MAX_CHILDREN`` of the ``kid_*`` arrays. The
    piece honours the history of the leaf's own path (mild choice, filter, exact count,
    and the full choice only on a real repeat).
    """
    for i in prange(n):
        pad = np.zeros(PAD_ROWS, np.uint16)
        locks = np.zeros((N_PIECES, PAD_ROWS), np.int64)
        buf = np.zeros((1, HEIGHT), np.int64)
        s = sims[i]
        length = path_len[s]
        leaf = path_nodes[s, length - 1]
        base = i * MAX_CHILDREN
        top = pad_well(rows[leaf], pad)
        p, y_first, y_last = mild_piece(pad, top, locks, buf)
        k = children_into(pad, p, locks, y_first, y_last, score[leaf], False,
                          kid_rows, kid_scores, kid_moves, base, buf)
        below_root = path_nodes[s, 1:length]  # the root's well is in the history table
        loop = False
        for j in range(base, base + k):
            if filter_contains(seen, rows_hash(kid_rows[j])):
                if history_hits(kid_rows, j, kid_scores[j], depth[leaf] + 1, below_root, rows,
                                score, depth, hist_wells, hist_counts, hist_table,
                                hist_size) > 0:
                    loop = True
                    break
        if loop:
            q = piece_with_history(pad, top, locks, buf, score[leaf], depth[leaf], below_root,
                                   rows, score, depth, hist_wells, hist_counts, hist_table,
                                   hist_size)
            if q != p:
                p = q
                y_first, y_last = lock_masks(pad, top, p, locks)
                k = children_into(pad, p, locks, y_first, y_last, score[leaf], False,
                                  kid_rows, kid_scores, kid_moves, base, buf)
        out_piece[i] = p
        out_count[i] = k
        out_loop[i] = loop


@njit(**NJIT)
def _find_or_add(h, kid_rows, j, kid_score, kid_depth, table, counters, rows, score, depth,
                 hsh, static, visits, leaf_visits, vsum, vmax, virtual, edge_start,
                 edge_count, piece, expanded, terminal, pending, seen):
    """The node of state (``kid_rows[j]``, ``kid_score``), created if new."""
    mask = table.shape[0] - 1
    slot = np.int64(h & np.uint64(mask))
    while True:
        idx = table[slot]
        if idx < 0:
            break
        if hsh[idx] == h and score[idx] == kid_score and same_well(rows, idx, kid_rows, j):
            return idx
        slot = (slot + 1) & mask
    idx = counters[0]
    counters[0] += 1
    table[slot] = idx
    for r in range(HEIGHT):
        rows[idx, r] = kid_rows[j, r]
    score[idx] = kid_score
    depth[idx] = kid_depth
    hsh[idx] = h
    static[idx] = np.nan  # evaluated right after the insertion
    visits[idx] = 0
    leaf_visits[idx] = 0
    vsum[idx] = 0.0
    vmax[idx] = -np.inf
    virtual[idx] = 0
    edge_start[idx] = 0
    edge_count[idx] = 0
    piece[idx] = -1
    expanded[idx] = False
    terminal[idx] = False
    pending[idx] = False
    filter_insert(seen, rows_hash(rows[idx]))
    return idx


@njit(**NJIT)
def insert_children(sims, n, path_nodes, path_len, kid_rows, kid_scores, kid_moves, out_piece,
                    out_count, reset, table, counters, rows, score, depth, hsh, static, visits,
                    leaf_visits, vsum, vmax, virtual, edge_start, edge_count, piece, expanded,
                    terminal, pending, e_child, e_move, e_piece, e_visits, seen):
    """Link the children of each expanded leaf (in order: deterministic) into the DAG.

    ``counters`` = [nodes, edges]. New nodes are appended (their static value is NaN
    until evaluated). With ``reset`` the leaf's statistics restart (a re-expansion).
    """
    for i in range(n):
        s = sims[i]
        leaf = path_nodes[s, path_len[s] - 1]
        base = i * MAX_CHILDREN
        k = out_count[i]
        es = counters[1]
        for j in range(k):
            h = state_hash(kid_rows[base + j], kid_scores[base + j])
            child = _find_or_add(h, kid_rows, base + j, kid_scores[base + j], depth[leaf] + 1,
                                 table, counters, rows, score, depth, hsh, static, visits,
                                 leaf_visits, vsum, vmax, virtual, edge_start, edge_count,
                                 piece, expanded, terminal, pending, seen)
            e_child[es + j] = child
            e_move[es + j] = kid_moves[base + j]
            e_piece[es + j] = out_piece[i]
            e_visits[es + j] = 0
        counters[1] += k
        edge_start[leaf] = es
        edge_count[leaf] = k
        piece[leaf] = out_piece[i]
        expanded[leaf] = True
        terminal[leaf] = k == 0
        if reset:
            visits[leaf] = 0
            leaf_visits[leaf] = 0
            vsum[leaf] = 0.0
            vmax[leaf] = -np.inf
