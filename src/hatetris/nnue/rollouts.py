"""Rollout pairs: the placements a search chooses between, each searched on its own.

Which of two wells of a probe lived longer in the probe depends on which one the probe's
own beam preferred (the beam keeps what the network ranks high), so pairs read off a
probe teach the network its own opinion back. A rollout removes that bias: a well of a
probe is expanded, its best few children (by the search's own values, the choices the
beam really weighs) are each continued by an independent beam of the same search, and
the child whose rollout survives longer ranks above the other. Both children are
played by the same policy, so the order says which placement is better under the
current search: one step of policy improvement, measured rather than assumed.
"""

from __future__ import annotations

import numpy as np

from ..search.tree import NodeStore, path_nodes


def line_start(store: NodeStore, node: int) -> dict[str, np.ndarray]:
    """The line from the root to ``node`` in the layout of
    :func:`hatetris.search.tree.game_nodes` (root excluded, node i the parent of i + 1),
    so that a search started from it sees the whole line as its loop-rule history."""
    path = np.array(path_nodes(store.parent, int(node))[1:], np.int64)
    out = {name: store.arrays[name][path].copy() for name in NodeStore.FIELDS}
    out["parent"] = np.arange(len(path), dtype=np.int64)
    return out


def best_children(evaluation, start: dict[str, np.ndarray], k: int):
    """The ``k`` children the search values highest of the last well of ``start``
    (the piece the adversary sends there, the loop rule included), as
    ``(store, node indices)``; fewer if the piece has fewer distinct placements."""
    from ..search.beam import BeamSearch

    search = BeamSearch(evaluation, k, len(start["score"]) + 1, None, start)
    search.step()
    if search.depth != len(start["score"]) + 1:
        return search.store, np.zeros(0, np.int64)
    return search.store, np.arange(search.level_start[-1], search.store.size)


def rollout_survival(evaluation, start: dict[str, np.ndarray], width: int,
                     pieces: int) -> int:
    """Pieces a beam of ``width`` survives from the last well of ``start``, at most
    ``pieces``."""
    from ..search.beam import BeamSearch

    first = len(start["score"])
    search = BeamSearch(evaluation, width, first + pieces, None, start, prune=True)
    while search.step() is not None:
        pass
    return int(search.depth - first)


def rollout_pairs(store: NodeStore, candidates: np.ndarray, evaluation, rng,
                  families: int, children: int, width: int, pieces: int):
    """Families of siblings from ``families`` wells drawn from ``candidates`` (node
    indices of ``store``), each child's rollout survival as its life, as
    ``(rows, scores, family, life, parents)``: ``parents[f]`` is family f's well in
    ``store``. Wells with fewer than two children are skipped (no family)."""
    picks = rng.choice(candidates, size=min(families, len(candidates)), replace=False)
    rows, scores, family, life, parents = [], [], [], [], []
    for node in np.sort(picks):
        kids_store, kids = best_children(evaluation, line_start(store, node), children)
        if len(kids) < 2:
            continue
        f = len(parents)
        parents.append(int(node))
        for kid in kids:
            rows.append(kids_store.rows[kid].copy())
            scores.append(int(kids_store.score[kid]))
            family.append(f)
            life.append(rollout_survival(evaluation, line_start(kids_store, kid), width,
                                         pieces))
    if not rows:
        empty = np.zeros(0, np.int64)
        return (np.zeros((0, store.rows.shape[1]), np.uint16), empty, empty, empty,
                empty)
    return (np.array(rows, np.uint16), np.array(scores, np.int64),
            np.array(family, np.int64), np.array(life, np.int64),
            np.array(parents, np.int64))
