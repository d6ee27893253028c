"""Transposition tables: open-addressing hash tables over flat numpy arrays.

Two uses:

* ``dedupe_children``: within one search step, children that are the same state (rows
  and score) are merged; the first one (lowest index, so the result does not depend on
  thread count) keeps its parent pointer, the others are dropped.
  ``dedupe_children_bucketed`` is the beam's version: the same result, in parallel and
  in cache (``dedupe_children`` stays as the simple reference it is tested against).
* the *seen-well filter*: the rows hash of every well the search ever kept, so that the
  loop-prevention rule costs one lookup per child in the common case. A hit is only a
  hint; the exact check walks the node's own ancestry (``tree.path_count``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..config import NJIT, NJIT_PARALLEL
from ..core import same_well, state_hash

EMPTY = np.uint64(0)
# A bucket's children, hashes and table fit in a core's L2 cache (1 MB here); at width
# 1,000,000 a step's single table would be 512 MB, a cache miss or two per child.
BUCKET_CHILDREN = 1 << 15
SCATTER_CHUNK = 1 << 16
LOW32 = np.uint64(0xFFFFFFFF)


def table_slots(n: int) -> int:
    """A power of two at least twice ``n`` (load factor <= 1/2)."""
    slots = 1024
    while slots < 2 * n:
        slots *= 2
    return slots


@njit(**NJIT)
def _key(h):
    # 0 marks an empty slot, so a hash of 0 is stored as 1: a harmless extra collision.
    return h if h != EMPTY else np.uint64(1)


@njit(**NJIT)
def _slot(table, h):
    """The slot holding key ``h``, or the empty slot where it belongs (linear probing)."""
    mask = np.uint64(table.shape[0] - 1)
    slot = h & mask
    while table[slot] != EMPTY and table[slot] != h:
        slot = (slot + np.uint64(1)) & mask
    return slot


@njit(**NJIT)
def filter_insert(table, h) -> bool:
    """Insert hash ``h``; return False if it was already there."""
    h = _key(np.uint64(h))
    slot = _slot(table, h)
    if table[slot] == h:
        return False
    table[slot] = h
    return True


@njit(**NJIT)
def filter_contains(table, h) -> bool:
    h = _key(np.uint64(h))
    return table[_slot(table, h)] == h


@njit(**NJIT)
def _first_of_state(rows, scores, j, hashes, table) -> bool:
    """Enter child ``j`` in ``table``; True if no equal state was entered before it."""
    h = state_hash(rows[j], scores[j])
    hashes[j] = h
    mask = table.shape[0] - 1
    slot = np.int64(h & np.uint64(mask))
    while True:
        k = table[slot]
        if k < 0:
            table[slot] = j
            return True
        if hashes[k] == h and scores[k] == scores[j] and same_well(rows, k, rows, j):
            return False
        slot = (slot + 1) & mask


@njit(**NJIT)
def dedupe_children(rows, scores, n, hashes, table, keep) -> int:
    """Mark in ``keep`` the first child of every distinct state among ``rows[:n]``.

    ``table`` (int64, a power of two >= 2n slots, reset here) maps slots to child
    indices. ``hashes[j]`` receives each child's :func:`state_hash`. Returns the number
    of distinct states.
    """
    table[:] = -1
    distinct = 0
    for j in range(n):
        keep[j] = _first_of_state(rows, scores, j, hashes, table)
        distinct += keep[j]
    return distinct


@njit(**NJIT)
def dedupe_in_order(rows, scores, order, hashes, table, keep) -> int:
    """:func:`dedupe_children` visiting the children in ``order``: the first of each
    distinct state *in that order* is kept (``keep`` and ``hashes`` are indexed like
    ``rows``). A cluster shard receives children from every shard in an order of its own."""
    table[:] = -1
    distinct = 0
    for t in range(order.shape[0]):
        j = order[t]
        keep[j] = _first_of_state(rows, scores, j, hashes, table)
        distinct += keep[j]
    return distinct


def bucket_bits(n: int) -> int:
    """Hash bits that split ``n`` children into buckets of at most about
    ``BUCKET_CHILDREN`` (0: one bucket).

    >>> bucket_bits(1000), bucket_bits(1 << 16), bucket_bits(29_000_000)
    (0, 1, 10)
    """
    bits = 0
    while (n >> bits) > BUCKET_CHILDREN and bits < 20:
        bits += 1
    return bits


@njit(**NJIT_PARALLEL)
def dedupe_children_bucketed(rows, scores, n, bits, hashes, bucket_hashes, order, table,
                             keep, first=None) -> int:
    """:func:`dedupe_children`'s ``keep`` and count, in parallel and in cache; with
    ``first``, also each child's first equal child (itself if kept).

    Children are split by the top ``bits`` of their state hash into buckets, keeping
    index order inside each (a stable counting sort: ``order``, ``bucket_hashes``, both
    of length ``n``); equal states share a hash, hence a bucket, and each bucket keeps
    its first, so the result is the serial one at any thread count. Each bucket probes a
    table of its own (twice its size, in ``table``: int32, length ``2 n``).
    """
    n_chunks = (n + SCATTER_CHUNK - 1) // SCATTER_CHUNK
    n_buckets = 1 << bits
    shift = np.uint64(64 - bits) if bits > 0 else np.uint64(0)
    counts = np.zeros((max(n_chunks, 1), n_buckets), np.int64)
    for c in prange(n_chunks):
        for j in range(c * SCATTER_CHUNK, min(n, (c + 1) * SCATTER_CHUNK)):
            h = state_hash(rows[j], scores[j])
            hashes[j] = h
            b = np.int64(h >> shift) if bits > 0 else 0
            counts[c, b] += 1
    start = np.empty(n_buckets + 1, np.int64)
    at = 0
    for b in range(n_buckets):  # counts become each chunk's write position
        start[b] = at
        for c in range(n_chunks):
            k = counts[c, b]
            counts[c, b] = at
            at += k
    start[n_buckets] = at
    for c in prange(n_chunks):
        for j in range(c * SCATTER_CHUNK, min(n, (c + 1) * SCATTER_CHUNK)):
            h = hashes[j]
            b = np.int64(h >> shift) if bits > 0 else 0
            p = counts[c, b]
            order[p] = j
            bucket_hashes[p] = h
            counts[c, b] = p + 1
    distinct = np.zeros(n_buckets, np.int64)
    for b in prange(n_buckets):
        a = start[b]
        size = 2 * (start[b + 1] - a)
        base = 2 * a
        for s in range(size):
            table[base + s] = -1
        d = 0
        for t in range(a, start[b + 1]):
            j = order[t]
            h = bucket_hashes[t]
            # the low bits pick the slot: the high ones picked the bucket
            slot = np.int64(((h & LOW32) * np.uint64(size)) >> np.uint64(32))
            while True:
                k = table[base + slot]
                if k < 0:
                    table[base + slot] = t - a
                    keep[j] = True
                    if first is not None:
                        first[j] = j
                    d += 1
                    break
                u = a + k
                if (bucket_hashes[u] == h and scores[order[u]] == scores[j]
                        and same_well(rows, order[u], rows, j)):
                    keep[j] = False
                    if first is not None:
                        first[j] = order[u]
                    break
                slot += 1
                if slot == size:
                    slot = 0
        distinct[b] = d
    return distinct.sum()
