"""Backup: the values of a batch's leaves carried up their selection paths."""

from __future__ import annotations

from numba import njit

from ...config import NJIT
from .select import _node_value


@njit(**NJIT)
def _best_child_value(node, mode, worst, visits, vsum, vmax, static, terminal, edge_start,
                      edge_count, e_child):
    """The best value among the children of an expanded node (the player moves next)."""
    best = worst
    for e in range(edge_start[node], edge_start[node] + edge_count[node]):
        child = e_child[e]
        if not terminal[child]:
            cv = _node_value(child, mode, visits, vsum, vmax, static)
            if cv > best:
                best = cv
    return best


@njit(**NJIT)
def backup_batch(n, mode, worst, path_nodes, path_edges, path_len, leaf_kind, visits,
                 leaf_visits, vsum, vmax, static, virtual, terminal, expanded, pending,
                 edge_start, edge_count, e_child, e_visits):
    """Back up the value of each selected simulation along its path, in order.

    The leaf's value ``v`` is the best value of its children (an expanded leaf), the
    worst value (a dead end) or its own value (a leaf that could not be expanded). Every
    node on the path gets ``visits + 1`` and ``vsum + v``; its ``vmax`` becomes the best
    current value of its children, recomputed bottom-up (a line that turns out to die
    loses its value at once, which a running maximum would never do).
    """
    for s in range(n):
        length = path_len[s]
        leaf = path_nodes[s, length - 1]
        if terminal[leaf]:
            v = worst
        elif expanded[leaf]:
            v = _best_child_value(leaf, mode, worst, visits, vsum, vmax, static, terminal,
                                  edge_start, edge_count, e_child)
        else:
            v = _node_value(leaf, mode, visits, vsum, vmax, static)
        vmax[leaf] = v
        for i in range(length - 1, -1, -1):
            x = path_nodes[s, i]
            virtual[x] -= 1
            visits[x] += 1
            vsum[x] += v
            if i < length - 1:
                vmax[x] = _best_child_value(x, mode, worst, visits, vsum, vmax, static,
                                            terminal, edge_start, edge_count, e_child)
        for i in range(length - 1):
            e_visits[path_edges[s, i]] += 1
        leaf_visits[leaf] += 1
        pending[leaf] = False
