"""Numba kernels of the sharded beam that the single-process search has no use for.

A shard expands its wells with the single-process kernels themselves
(``search.beam.plan_children`` and ``write_children`` take the indices of the wells to
expand, ``search.tt.dedupe_in_order`` the order of the children), which is what makes
every child identical to the single-process search's. What is left here is the sharding:
which shard owns a state, and grouping children by their owner.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..config import NJIT
from ..core import fmix64, state_hash

_SHARD_SALT = np.uint64(0x9E3779B97F4A7C15)


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
