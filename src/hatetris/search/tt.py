"""Transposition tables: open-addressing hash tables over flat numpy arrays.

Two uses:

* ``dedupe_children``: within one search step, children that are the same state (rows
  and score) are merged; the first one (lowest index, so the result does not depend on
  thread count) keeps its parent pointer, the others are dropped.
* the *seen-well filter*: the rows hash of every well the search ever kept, so that the
  loop-prevention rule costs one lookup per child in the common case. A hit is only a
  hint; the exact check walks the node's own ancestry (``tree.path_count``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..config import NJIT
from ..core import same_well, state_hash

EMPTY = np.uint64(0)


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
