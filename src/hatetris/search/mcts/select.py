"""Selection: one batch of simulations descends from the root by UCT with virtual loss."""

from __future__ import annotations

import numpy as np
from numba import njit

from ...config import NJIT
from ...engine import MAX_CHILDREN
from .arrays import BACKUP_MAX, BACKUP_MEAN, LEAF_EXPAND, LEAF_STATIC, LEAF_TERMINAL, _COLLISION


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


@njit(**NJIT)
def _next_random(rng) -> np.uint64:
    """SplitMix64: the next 64-bit number of the generator whose state is ``rng[0]``."""
    rng[0] += _GOLDEN
    z = rng[0]
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit(inline="always", **NJIT)
def _node_value(node, mode, visits, vsum, vmax, static):
    """A node's value for the backup mode (its static value before its first visit)."""
    n = visits[node]
    if n == 0:
        return static[node]
    if mode == BACKUP_MAX:
        return vmax[node]
    mean = (vsum[node] + static[node]) / (n + 1)
    if mode == BACKUP_MEAN:
        return mean
    return 0.5 * (vmax[node] + mean)


@njit(**NJIT)
def _best_edge(node, c, mode, lo, hi, rng, visits, vsum, vmax, static, virtual, terminal,
               edge_start, edge_count, e_child):
    """The UCT choice among the out-edges of ``node`` (ties broken at random)."""
    span = hi - lo
    parent_n = visits[node] + virtual[node] + 1
    log_parent = np.log(parent_n)
    best = -1
    best_score = -np.inf
    ties = 0
    for e in range(edge_start[node], edge_start[node] + edge_count[node]):
        child = e_child[e]
        if terminal[child]:
            score = -1.0
        else:
            n = visits[child]
            v = virtual[child]
            val = _node_value(child, mode, visits, vsum, vmax, static)
            if span > 0:
                q = (val - lo) / span
                if q < 0.0:
                    q = 0.0
                elif q > 1.0:
                    q = 1.0
            else:
                q = 0.5
            q *= (n + 1) / (n + 1 + v)  # virtual loss: pending visits count as value 0
            score = q + c * np.sqrt(log_parent / (n + 1 + v))
        if score > best_score:
            best_score = score
            best = e
            ties = 1
        elif score == best_score:
            ties += 1
            if _next_random(rng) % np.uint64(ties) == np.uint64(0):
                best = e
    return best


@njit(**NJIT)
def select_batch(root, want, c, mode, lo, hi, rng, node_free, edge_free,
                 visits, vsum, vmax, static, virtual, terminal, expanded, pending,
                 edge_start, edge_count, e_child, path_nodes, path_edges, path_len, leaf_kind):
    """Select up to ``want`` simulations with virtual loss; return how many were selected.

    Simulation ``s`` descends ``path_nodes[s, :path_len[s]]`` through the edges
    ``path_edges[s, :path_len[s] - 1]`` and ends at a leaf of kind ``leaf_kind[s]``:
    to expand (marked pending), dead (terminal) or static (no room to expand, or the
    path is too long). A selection reaching a pending leaf ends the batch, undone.
    """
    max_len = path_nodes.shape[1]
    reserved = 0
    n = 0
    while n < want:
        node = root
        path_nodes[n, 0] = root
        length = 1
        virtual[root] += 1
        kind = LEAF_STATIC
        while True:
            if terminal[node]:
                kind = LEAF_TERMINAL
                break
            if not expanded[node]:
                if pending[node]:
                    kind = _COLLISION
                elif (node_free - reserved >= MAX_CHILDREN
                      and edge_free - reserved >= MAX_CHILDREN):
                    kind = LEAF_EXPAND
                    pending[node] = True
                    reserved += MAX_CHILDREN
                else:
                    kind = LEAF_STATIC
                break
            if length >= max_len:
                kind = LEAF_STATIC
                break
            e = _best_edge(node, c, mode, lo, hi, rng, visits, vsum, vmax, static, virtual,
                           terminal, edge_start, edge_count, e_child)
            node = e_child[e]
            path_edges[n, length - 1] = e
            path_nodes[n, length] = node
            length += 1
            virtual[node] += 1
        if kind == _COLLISION:
            for i in range(length):
                virtual[path_nodes[n, i]] -= 1
            break
        path_len[n] = length
        leaf_kind[n] = kind
        n += 1
    return n
