"""Compaction: keep the current root's subtree, rebuild the transposition table and filter."""

from __future__ import annotations

import numpy as np
from numba import njit

from ...config import NJIT
from ...core import rows_hash
from ...rules import HEIGHT
from ..tt import filter_insert


@njit(**NJIT)
def mark_reachable(root, edge_start, edge_count, e_child, expanded, keep, stack) -> int:
    """Mark in ``keep`` every node reachable from ``root``; return how many."""
    keep[root] = True
    count = 1
    top = 0
    stack[0] = root
    top = 1
    while top > 0:
        top -= 1
        node = stack[top]
        if not expanded[node]:
            continue
        for e in range(edge_start[node], edge_start[node] + edge_count[node]):
            child = e_child[e]
            if not keep[child]:
                keep[child] = True
                count += 1
                stack[top] = child
                top += 1
    return count


@njit(**NJIT)
def compact_nodes(size, keep, new_index, rows, score, depth, hsh, static, visits, leaf_visits,
                  vsum, vmax, virtual, edge_start, edge_count, piece, expanded, terminal,
                  pending, e_child, e_move, e_piece, e_visits, n_child, n_move, n_piece,
                  n_visits) -> int:
    """Move the kept nodes to the front (in order) and their edges to the ``n_*`` arrays.

    Returns the number of edges written.
    """
    k = 0
    for i in range(size):
        if keep[i]:
            new_index[i] = k
            k += 1
        else:
            new_index[i] = -1
    ne = 0
    for i in range(size):
        if not keep[i]:
            continue
        j = new_index[i]
        start = edge_start[i]
        count = edge_count[i]
        if expanded[i]:
            for e in range(start, start + count):
                n_child[ne + e - start] = new_index[e_child[e]]
                n_move[ne + e - start] = e_move[e]
                n_piece[ne + e - start] = e_piece[e]
                n_visits[ne + e - start] = e_visits[e]
            start = ne
            ne += count
        else:
            start = 0
            count = 0
        if j != i:
            for r in range(HEIGHT):
                rows[j, r] = rows[i, r]
            score[j] = score[i]
            depth[j] = depth[i]
            hsh[j] = hsh[i]
            static[j] = static[i]
            visits[j] = visits[i]
            leaf_visits[j] = leaf_visits[i]
            vsum[j] = vsum[i]
            vmax[j] = vmax[i]
            virtual[j] = virtual[i]
            piece[j] = piece[i]
            expanded[j] = expanded[i]
            terminal[j] = terminal[i]
            pending[j] = pending[i]
        edge_start[j] = start
        edge_count[j] = count
    return ne


@njit(**NJIT)
def _filter_rows(seen, rows):
    filter_insert(seen, rows_hash(rows))


@njit(**NJIT)
def rebuild_tables(size, rows, hsh, table, seen, hist_wells, hist_size):
    """Refill the transposition table and the seen-well filter from scratch."""
    table[:] = -1
    seen[:] = 0
    mask = table.shape[0] - 1
    for i in range(size):
        slot = np.int64(hsh[i] & np.uint64(mask))
        while table[slot] >= 0:
            slot = (slot + 1) & mask
        table[slot] = i
        filter_insert(seen, rows_hash(rows[i]))
    for i in range(hist_size[0]):
        filter_insert(seen, rows_hash(hist_wells[i]))
