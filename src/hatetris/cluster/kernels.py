"""Numba kernels of the sharded beam: the single-process kernels over a shard's wells.

``search.beam.plan_children`` and ``write_children`` expand a contiguous range of the
node store; a shard's beam wells are scattered through the level (they are the wells
whose state hash falls in the shard), so these variants take an index array instead. The
per-well work is the same calls in the same order (the adversary's mild piece, the seen
filter, the exact walk up the path, the full HATETRIS choice on a real repeat), which is
what makes every child identical to the single-process search's.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..adversary import N_PIECES, mild_piece
from ..config import NJIT, NJIT_PARALLEL
from ..core import fmix64, rows_hash, same_well, state_hash
from ..engine import children_into, expand_scratch, lock_masks, pad_well
from ..rules import HEIGHT, PAD_ROWS
from ..search.tree import hatetris_piece_on_path, path_count
from ..search.tt import filter_contains, filter_insert

CHUNK = 256  # wells per parallel task, as in search.beam
_SHARD_SALT = np.uint64(0x9E3779B97F4A7C15)


@njit(**NJIT_PARALLEL)
def plan_subset(rows, score, depth, parent, beam, seen, out_piece, out_count, out_loop):
    """Adversary piece and number of live children of the store's wells ``beam[i]``."""
    n = beam.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    for c in prange(n_chunks):
        pad, locks, buf, kid_rows, kid_scores, kid_moves = expand_scratch()
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            g = beam[i]
            top = pad_well(rows[g], pad)
            p, y_first, y_last = mild_piece(pad, top, locks, buf)
            k = children_into(pad, p, locks, y_first, y_last, score[g], False,
                              kid_rows, kid_scores, kid_moves, 0, buf)
            loop = False
            for j in range(k):
                if filter_contains(seen, rows_hash(kid_rows[j])):
                    if path_count(rows, score, depth, parent, g, kid_rows, j, kid_scores[j],
                                  depth[g] + 1) > 0:
                        loop = True
                        break
            if loop:
                p = hatetris_piece_on_path(rows, score, depth, parent, g, pad, top, locks, buf)
                y_first, y_last = lock_masks(pad, top, p, locks)
                k = children_into(pad, p, locks, y_first, y_last, score[g], False,
                                  kid_rows, kid_scores, kid_moves, 0, buf)
            out_piece[i] = p
            out_count[i] = k
            out_loop[i] = loop


@njit(**NJIT_PARALLEL)
def write_subset(rows, score, beam, piece, offsets, out_rows, out_scores, out_moves,
                 out_parent):
    """Write the children of the store's wells ``beam[i]`` at their offsets; a child's
    ``out_parent`` is ``i`` (its parent's position in ``beam``)."""
    n = beam.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    for c in prange(n_chunks):
        pad = np.zeros(PAD_ROWS, np.uint16)
        locks = np.zeros((N_PIECES, PAD_ROWS), np.int64)
        scratch = np.zeros((1, HEIGHT), np.int64)
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            g = beam[i]
            top = pad_well(rows[g], pad)
            y_first, y_last = lock_masks(pad, top, piece[i], locks)
            k = children_into(pad, piece[i], locks, y_first, y_last, score[g], False,
                              out_rows, out_scores, out_moves, offsets[i], scratch)
            for j in range(offsets[i], offsets[i] + k):
                out_parent[j] = i


@njit(**NJIT)
def shard_of(rows, score, n_shards) -> int:
    """The shard that owns the state (rows, score): equal states, equal shards.

    The state hash is mixed once more so that the shard does not use the low bits the
    dedupe table probes with (each shard's table would otherwise see one residue only).
    """
    return np.int64(fmix64(state_hash(rows, score) ^ _SHARD_SALT) % np.uint64(n_shards))


@njit(**NJIT)
def shards_of(rows, scores, n, n_shards, out):
    for j in range(n):
        out[j] = shard_of(rows[j], scores[j], n_shards)


@njit(**NJIT)
def insert_rows_hashes(rows, start, end, seen):
    """Put the rows hash of wells ``start..end-1`` in the seen filter."""
    for i in range(start, end):
        filter_insert(seen, rows_hash(rows[i]))


@njit(**NJIT)
def group_by_shard(dest, n_shards, order, bounds):
    """Counting sort of children by destination shard, stable: ``order[bounds[d]:
    bounds[d + 1]]`` are shard d's children in their original order."""
    bounds[:] = 0
    for j in range(dest.shape[0]):
        bounds[dest[j] + 1] += 1
    for d in range(n_shards):
        bounds[d + 1] += bounds[d]
    fill = bounds[:n_shards].copy()
    for j in range(dest.shape[0]):
        order[fill[dest[j]]] = j
        fill[dest[j]] += 1


@njit(**NJIT)
def dedupe_in_order(rows, scores, order, hashes, table, keep) -> int:
    """``tt.dedupe_children`` visiting the children in ``order``: the first of each
    distinct state *in that order* is kept (``keep`` is indexed like ``rows``)."""
    table[:] = -1
    mask = table.shape[0] - 1
    distinct = 0
    for t in range(order.shape[0]):
        j = order[t]
        h = state_hash(rows[j], scores[j])
        hashes[j] = h
        slot = np.int64(h & np.uint64(mask))
        keep[j] = True
        while True:
            k = table[slot]
            if k < 0:
                table[slot] = j
                distinct += 1
                break
            if hashes[k] == h and scores[k] == scores[j] and same_well(rows, k, rows, j):
                keep[j] = False
                break
            slot = (slot + 1) & mask
    return distinct


@njit(**NJIT)
def mark_live(parent, start, size, best, live):
    """``live[i]`` for the beam nodes ``start..size-1``, node ``best`` and all their
    ancestors: every node a game traced back from the beam or the best node reaches."""
    live[:size] = False
    for i in range(start, size + 1):
        a = i if i < size else best
        while a >= 0 and not live[a]:
            live[a] = True
            a = parent[a]


@njit(**NJIT)
def compact_nodes(live, size, rows, score, depth, parent, move, piece, new_index) -> int:
    """Move the live nodes down in order, parents renumbered; return how many are left.
    Order is kept, so the beam, its order and the game are an unpruned search's."""
    n = 0
    for i in range(size):
        if not live[i]:
            new_index[i] = -1
            continue
        new_index[i] = n
        for r in range(rows.shape[1]):
            rows[n, r] = rows[i, r]
        score[n] = score[i]
        depth[n] = depth[i]
        parent[n] = -1 if parent[i] < 0 else new_index[parent[i]]
        move[n] = move[i]
        piece[n] = piece[i]
        n += 1
    return n
