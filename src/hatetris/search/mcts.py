"""Monte Carlo tree search over the transposition DAG of game states.

HATETRIS is a deterministic single-player game once the adversary is fixed: the player
picks a placement, the adversary's reply is a function of the well and the history. The
search therefore works on *states* (rows and score): one node per distinct state, merged
through a transposition table, so the tree is a DAG (a state reached by two move orders
is one node with two parents). A state's depth (pieces placed) follows from it
(``cells = 4 * depth - 10 * score``), so edges always go one piece deeper: no cycles.

Data, not objects: every node field is one flat numpy array indexed by node (rows, score,
depth, hash, static value, visits, leaf visits, sum of backed-up values, best child
value, virtual loss, edge range, piece, flags); a node's children are the contiguous range
``edge_start[n] : edge_start[n] + edge_count[n]`` of the edge arrays (child node, move
code, piece, visits). The hot loops are Numba kernels; Python only wires them.

One simulation
--------------
1. *Selection* from the root by a UCT variant for a single-player max problem: a child's
   value ``Q`` is its best line (``backup="max"``: the best value among its children,
   recomputed at every backup, so a line that turns out to die loses its value at once),
   the mean of the values backed up through it (``"mean"``, its static value counting as
   one sample) or the average of both (``"mixed"``); before its first visit ``Q`` is its
   static evaluation. ``Q`` is normalized to [0, 1] by the smallest and largest
   evaluation in the current root's subtree; the score is
   ``Q + exploration * sqrt(ln(N_parent) / (N_child + 1))``. Dead children (no live
   placement for the next piece) score -1: they are only entered when every child is
   dead. Exact ties are broken by a seeded generator.
2. *Expansion*: every child of the leaf at once (the adversary's piece for the leaf, its
   distinct live placements, each looked up in the transposition table).
3. *Evaluation*: the new children are evaluated; the leaf's value is the best value of
   its children (the player moves next). Dead ends are worth the smallest value seen.
4. *Backup* along the selection path: visits + 1 and sum + v on every node (``vmax``
   recomputed from the children as above), visits + 1 on every edge, leaf visits + 1 on
   the leaf. So for every node ``visits == sum(visits of its out-edges) + leaf_visits``
   (checked by the tests).

Simulations run in batches (``batch``, default 16): the leaves of a batch are selected
one after the other with a *virtual loss* (a pending visit counts as a visit with value 0
in normalized units), expanded in parallel, evaluated in one ``evaluate`` call and backed
up in order. A batch ends early when a selection reaches a leaf that is already pending.
Everything, including the batch boundaries, is deterministic: same seed, same game.

Playing a game
--------------
After ``simulations`` simulations from the root (optionally also stopped by
``seconds`` per move, which makes the run time-dependent), the search *commits* to the
root's most visited child (``commit="visits"``, the classic robust child; ties to the
better value ``Q``, then the lower edge index); ``commit="value"`` takes the child with
the best ``Q`` instead. Measured with the heuristic preset, "visits" was as good or
slightly better at every budget tried. A dead child is committed to only if all are
dead (then the one with most lines). The child becomes the root and its subtree (all
its descendants in the DAG) is kept: when at least a fifth of the store is no longer
reachable from the new root, or the store is near its cap, the store is compacted to
the reachable nodes and the transposition table and the seen-well filter are rebuilt.
(With transpositions most of the tree often stays reachable: compacting every move
cost about 15% of the time at 3,000 simulations per move.) The game ends when the root
has no live child or at ``max_depth`` pieces.

Loop prevention (the adversary's history)
------------------------------------------
The adversary's piece depends on the history: the committed game (every well up to and
including the root, kept as an :func:`adversary.new_history` table) plus the wells of the
selection path below the root. A leaf's piece is computed at expansion time with the path
that reached it, as the beam search does: the mild choice first; a rows hash filter of
every well in the store and in the committed game; on a filter hit an exact count (the
committed table plus the path, which is an array of node indices); only a real repeat
pays for the full HATETRIS choice over all seven pieces. In the DAG a node reached later
by another path keeps the piece of its first path (an approximation inside the search
only): when the search commits to a node, its piece is recomputed for the real history
and, if it differs, the node is re-expanded (new children, statistics reset). So every
committed move uses the piece the real adversary sends, and the final replay is verified
by :func:`hatetris.solution.make_solution` before it is returned.

Memory
------
``max_nodes`` caps the node store. The arrays grow by doubling up to it; an expansion
reserves room for ``engine.MAX_CHILDREN`` children (a true bound), and when there is no
room a simulation ending at an
unexpanded leaf backs up that leaf's own value instead of expanding it (the search
keeps working with evaluations only; if even the root cannot be expanded, the tree is
dropped and restarts from the root alone). Since a store near its cap is compacted to
the root's subtree at every commit, the cap bounds the subtree kept between moves.
Edges are capped at
``4 * max_nodes`` the same way (in practice there are 1-2 edges per node).

Checkpoints
-----------
MCTS keeps no resumable tree on disk. With ``checkpoint=DIR``, :func:`run_mcts` writes the
game committed so far as a verified solution record, ``DIR/mcts-partial.json``, every
``checkpoint_every`` moves and at the end; ``resume=True`` continues from that record:
the committed game is replayed (history included) and the search restarts with a fresh
tree at its last well. A resumed run is valid but not identical to an uninterrupted one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from numba import njit, prange

from ..adversary import (
    N_PIECES,
    beats,
    history_count,
    history_record,
    mild_piece,
    new_history,
    piece_outcomes,
)
from ..config import NJIT, NJIT_PARALLEL
from ..core import rows_hash, same_well, state_hash, well_is
from ..engine import (
    MAX_CHILDREN,
    children_into,
    decode_move,
    lock_masks,
    pad_well,
    top_row,
)
from ..rules import HEIGHT, PAD_ROWS
from .tt import filter_contains, filter_insert, table_slots

MAX_PATH = 1024  # nodes on one selection path; a longer descent stops there
BACKUPS = ("max", "mean", "mixed")
BACKUP_MAX, BACKUP_MEAN, BACKUP_MIXED = range(3)
COMMITS = ("value", "visits")

# leaf kinds of a selected simulation
LEAF_EXPAND, LEAF_TERMINAL, LEAF_STATIC, _COLLISION = range(4)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


# --- small kernels ------------------------------------------------------------------------


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


@njit(**NJIT)
def _history_hits(cand, cand_score, cand_depth, path_nodes, s, length, rows, score, depth,
                  hist_wells, hist_counts, hist_table, hist_size) -> int:
    """How often the well ``cand`` (20 rows) is in the history of path ``s``.

    The history is the committed game (a history table, the root included) plus the
    path's nodes below the root. Equal wells have equal cell counts: a cheap first test.
    """
    count = history_count(hist_wells, hist_counts, hist_table, hist_size, cand)
    cells = 4 * cand_depth - 10 * cand_score
    for i in range(1, length):
        a = path_nodes[s, i]
        if 4 * depth[a] - 10 * score[a] == cells and well_is(rows, a, cand):
            count += 1
    return count


@njit(**NJIT)
def _piece_with_history(pad, top, locks, buf, leaf_score, leaf_depth, path_nodes, s, length,
                        rows, score, depth, hist_wells, hist_counts, hist_table, hist_size):
    """The full HATETRIS choice for a leaf with the history of path ``s`` (slow path)."""
    outs = np.zeros((MAX_CHILDREN, HEIGHT), np.uint16)
    gains = np.zeros(MAX_CHILDREN, np.int64)
    moves = np.zeros(MAX_CHILDREN, np.int64)
    best = -1
    best_loops = 0
    best_peak = 0
    for q in range(N_PIECES):
        n = piece_outcomes(pad, top, q, locks, outs, gains, moves, buf)
        loops = 0
        peak = -1
        for j in range(n):
            loops = max(loops, _history_hits(outs[j], leaf_score + gains[j], leaf_depth + 1,
                                             path_nodes, s, length, rows, score, depth,
                                             hist_wells, hist_counts, hist_table, hist_size))
            peak = max(peak, top_row(outs, j))
        if beats(loops, peak, best, best_loops, best_peak):
            best, best_loops, best_peak = q, loops, peak
    return best


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
        loop = False
        for j in range(base, base + k):
            if filter_contains(seen, rows_hash(kid_rows[j])):
                if _history_hits(kid_rows[j], kid_scores[j], depth[leaf] + 1, path_nodes, s,
                                 length, rows, score, depth, hist_wells, hist_counts,
                                 hist_table, hist_size) > 0:
                    loop = True
                    break
        if loop:
            q = _piece_with_history(pad, top, locks, buf, score[leaf], depth[leaf], path_nodes,
                                    s, length, rows, score, depth, hist_wells, hist_counts,
                                    hist_table, hist_size)
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


# --- the Python-facing search ---------------------------------------------------------------


NODE_FIELDS = {
    "rows": (np.uint16, (HEIGHT,)),
    "score": (np.int64, ()),
    "depth": (np.int32, ()),
    "hash": (np.uint64, ()),
    "static": (np.float64, ()),  # the evaluation of the node's well
    "visits": (np.int64, ()),
    "leaf_visits": (np.int64, ()),  # simulations that ended here
    "vsum": (np.float64, ()),  # sum of backed-up values
    "vmax": (np.float64, ()),  # the best child value at the last backup ("max" value)
    "virtual": (np.int32, ()),  # pending visits of the current batch
    "edge_start": (np.int64, ()),
    "edge_count": (np.int32, ()),
    "piece": (np.int8, ()),  # the adversary's piece assumed by the expansion
    "expanded": (np.bool_, ()),
    "terminal": (np.bool_, ()),  # expanded with no live child: a dead end
    "pending": (np.bool_, ()),
}
EDGE_FIELDS = {
    "child": (np.int64, ()),
    "move": (np.int16, ()),  # engine.decode_move
    "piece": (np.int8, ()),
    "visits": (np.int64, ()),
}


def _grow(arrays: dict[str, np.ndarray], used: int, need: int) -> None:
    cap = len(next(iter(arrays.values())))
    if need <= cap:
        return
    while cap < need:
        cap *= 2
    for name, a in arrays.items():
        grown = np.zeros((cap,) + a.shape[1:], a.dtype)
        grown[:used] = a[:used]
        arrays[name] = grown


@dataclass
class MoveStats:
    depth: int  # pieces placed in the committed game
    score: int  # lines of the committed game
    nodes: int  # nodes in the store after the commit
    simulations: int  # simulations run for this move
    children: int  # wells evaluated for this move
    loops: int  # expansions where the history mattered (a real repeat; this move)
    seconds: float


class MCTS:
    """A single-player MCTS that plays a whole HATETRIS game (see the module docstring).

    ``step()`` searches from the current root and commits one move; ``run()`` plays to the
    end. ``keys`` is the committed game so far, ``score``/``depth`` its lines and pieces.
    """

    def __init__(self, evaluation, simulations: int = 1000, exploration: float = 0.3,
                 max_nodes: int = 1_000_000, backup: str = "max", max_depth: int | None = None,
                 seed: int = 0, batch: int = 16, commit: str = "visits",
                 seconds: float | None = None):
        if backup not in BACKUPS:
            raise ValueError(f"backup must be one of {', '.join(BACKUPS)}, not {backup!r}")
        if commit not in COMMITS:
            raise ValueError(f"commit must be one of {', '.join(COMMITS)}, not {commit!r}")
        if simulations < 1:
            raise ValueError("simulations must be at least 1")
        if batch < 1:
            raise ValueError("batch must be at least 1")
        if max_nodes < 2 * MAX_CHILDREN:
            raise ValueError(f"max_nodes must be at least {2 * MAX_CHILDREN}")
        if exploration < 0:
            raise ValueError("exploration must not be negative")
        self.evaluation = evaluation
        self.simulations = int(simulations)
        self.exploration = float(exploration)
        self.max_nodes = int(max_nodes)
        self.max_edges = 4 * self.max_nodes
        self.backup = backup
        self.mode = BACKUPS.index(backup)
        self.max_depth = max_depth
        self.seed = int(seed)
        self.batch = int(batch)
        self.commit = commit
        self.seconds = seconds
        self.rng = np.array([np.uint64(self.seed & (2**64 - 1)) ^ np.uint64(0x5DEECE66D)],
                            np.uint64)

        cap = min(1 << 14, self.max_nodes)
        self.nodes = {k: np.zeros((cap,) + s, d) for k, (d, s) in NODE_FIELDS.items()}
        self.edges = {k: np.zeros((cap,) + s, d) for k, (d, s) in EDGE_FIELDS.items()}
        self.counters = np.zeros(2, np.int64)  # [nodes, edges]
        self.table = np.full(table_slots(cap), -1, np.int64)
        self.history = new_history(1 << 12)
        self.seen = np.zeros(table_slots(cap + len(self.history[1])), np.uint64)
        b = self.batch
        self.path_nodes = np.zeros((b, MAX_PATH), np.int64)
        self.path_edges = np.zeros((b, MAX_PATH), np.int64)
        self.path_len = np.zeros(b, np.int64)
        self.leaf_kind = np.zeros(b, np.int64)
        self.kid_rows = np.zeros((b * MAX_CHILDREN, HEIGHT), np.uint16)
        self.kid_scores = np.zeros(b * MAX_CHILDREN, np.int64)
        self.kid_moves = np.zeros(b * MAX_CHILDREN, np.int64)
        self.out_piece = np.zeros(b, np.int64)
        self.out_count = np.zeros(b, np.int64)
        self.out_loop = np.zeros(b, np.bool_)

        # the committed game
        self.moves: list[tuple[np.ndarray, int, int]] = []  # (parent rows, piece, move)
        self.key_parts: list[str] = []
        self.children_evaluated = 0
        self.simulations_total = 0
        self.loops_total = 0  # expansions with a real repeat (the full choice ran)
        self.reexpansions = 0  # committed nodes re-expanded for the real history
        self.leaf_counts = np.zeros(3, np.int64)  # simulations ending: expand, dead, static
        self.elapsed = 0.0
        self.finished = False
        self.lo = 0.0
        self.hi = 0.0
        self._new_root(np.zeros(HEIGHT, np.uint16), 0, 0)

    # -- state ------------------------------------------------------------------------------

    @property
    def size(self) -> int:
        return int(self.counters[0])

    @property
    def depth(self) -> int:
        return int(self.nodes["depth"][self.root])

    @property
    def score(self) -> int:
        return int(self.nodes["score"][self.root])

    best_score = score

    @property
    def keys(self) -> str:
        return "".join(self.key_parts)

    def _new_root(self, rows: np.ndarray, score: int, depth: int) -> None:
        """Start from a fresh tree holding one well (the start, or a resumed game's end)."""
        history_record(*self.history, np.asarray(rows, np.uint16))
        self._fresh_tree(rows, score, depth)
        self._verify_root()
        self._update_range()

    def _fresh_tree(self, rows: np.ndarray, score: int, depth: int) -> None:
        """Drop every node; the root (node 0) is the given state, evaluated, unexpanded."""
        n = self.nodes
        self.counters[:] = 0
        n["rows"][0] = rows
        n["score"][0] = score
        n["depth"][0] = depth
        n["hash"][0] = state_hash(n["rows"][0], np.int64(score))
        for k in ("visits", "leaf_visits", "vsum", "virtual", "edge_start", "edge_count"):
            n[k][0] = 0
        n["vmax"][0] = -np.inf
        n["piece"][0] = -1
        n["expanded"][0] = n["terminal"][0] = n["pending"][0] = False
        self.counters[0] = 1
        self.root = 0
        values = np.zeros(1)
        self.evaluation.evaluate(n["rows"][:1], n["score"][:1], values)
        n["static"][0] = values[0]
        self.lo = self.hi = float(values[0])
        self._rebuild_tables()

    def _arrays(self):
        n, e = self.nodes, self.edges
        return (n["rows"], n["score"], n["depth"], n["hash"], n["static"], n["visits"],
                n["leaf_visits"], n["vsum"], n["vmax"], n["virtual"], n["edge_start"],
                n["edge_count"], n["piece"], n["expanded"], n["terminal"], n["pending"],
                e["child"], e["move"], e["piece"], e["visits"])

    def _rebuild_tables(self) -> None:
        n = self.nodes
        cap = len(n["score"])
        if len(self.table) < table_slots(cap):
            self.table = np.full(table_slots(cap), -1, np.int64)
        need = table_slots(cap + int(self.history[3][0]))
        if len(self.seen) < need:
            self.seen = np.zeros(need, np.uint64)
        rebuild_tables(self.size, n["rows"], n["hash"], self.table, self.seen,
                       self.history[0], self.history[3])

    def _reserve(self, new_nodes: int) -> None:
        """Room for ``new_nodes`` more nodes and edges (within the caps)."""
        used_n, used_e = self.size, int(self.counters[1])
        cap_before = len(self.nodes["score"])
        _grow(self.nodes, used_n, min(self.max_nodes, used_n + new_nodes))
        _grow(self.edges, used_e, min(self.max_edges, used_e + new_nodes))
        if len(self.nodes["score"]) != cap_before:
            self._rebuild_tables()

    def _record_history(self, rows: np.ndarray) -> None:
        wells, counts, table, size = self.history
        if size[0] + 1 > len(counts):  # grow: re-record every well with its count
            old = self.history
            self.history = new_history(2 * len(counts))
            for i in range(int(old[3][0])):
                for _ in range(int(old[1][i])):
                    history_record(*self.history, old[0][i])
            self._rebuild_tables()
        history_record(*self.history, rows)
        _filter_rows(self.seen, rows)
        if 2 * (self.size + int(self.history[3][0])) > len(self.seen):
            self._rebuild_tables()

    def _evaluate_new(self, start: int) -> None:
        end = self.size
        if end <= start:
            return
        n = self.nodes
        out = n["static"][start:end]
        self.evaluation.evaluate(n["rows"][start:end], n["score"][start:end], out)
        self.children_evaluated += end - start
        self.lo = min(self.lo, float(out.min()))
        self.hi = max(self.hi, float(out.max()))

    def _expand(self, sims: np.ndarray, count: int, reset: bool) -> None:
        """Expand the leaves of simulations ``sims[:count]`` and evaluate the new nodes."""
        if count == 0:
            return
        n = self.nodes
        expand_leaves(sims, count, self.path_nodes, self.path_len, n["rows"], n["score"],
                      n["depth"], self.seen, *self.history, self.kid_rows, self.kid_scores,
                      self.kid_moves, self.out_piece, self.out_count, self.out_loop)
        self.loops_total += int(self.out_loop[:count].sum())
        start = self.size
        (rows, score, depth, hsh, static, visits, leaf_visits, vsum, vmax, virtual, edge_start,
         edge_count, piece, expanded, terminal, pending, e_child, e_move, e_piece,
         e_visits) = self._arrays()
        insert_children(sims, count, self.path_nodes, self.path_len, self.kid_rows,
                        self.kid_scores, self.kid_moves, self.out_piece, self.out_count, reset,
                        self.table, self.counters, rows, score, depth, hsh, static, visits,
                        leaf_visits, vsum, vmax, virtual, edge_start, edge_count, piece,
                        expanded, terminal, pending, e_child, e_move, e_piece, e_visits,
                        self.seen)
        self._evaluate_new(start)

    def _verify_root(self) -> None:
        """Make sure the root is expanded with the piece the real adversary sends."""
        self._reserve(MAX_CHILDREN)
        if self.size + MAX_CHILDREN > len(self.nodes["score"]):
            # No room to (re-)expand the root: keep the root alone (the node cap policy).
            n = self.nodes
            r = self.root
            self._fresh_tree(n["rows"][r].copy(), int(n["score"][r]), int(n["depth"][r]))
        root = self.root
        self.path_nodes[0, 0] = root
        self.path_len[0] = 1
        n = self.nodes
        sims = np.zeros(1, np.int64)
        if n["expanded"][root]:
            expand_leaves(sims, 1, self.path_nodes, self.path_len, n["rows"], n["score"],
                          n["depth"], self.seen, *self.history, self.kid_rows,
                          self.kid_scores, self.kid_moves, self.out_piece, self.out_count,
                          self.out_loop)
            if self.out_piece[0] == n["piece"][root]:
                return
            self.reexpansions += 1
        self._expand(sims, 1, True)

    def _update_range(self) -> None:
        n = self.nodes
        static = n["static"][: self.size]
        self.lo, self.hi = float(static.min()), float(static.max())

    # -- search -------------------------------------------------------------------------------

    def search(self, simulations: int | None = None) -> int:
        """Run simulations from the current root; return how many ran."""
        want_total = self.simulations if simulations is None else int(simulations)
        done = 0
        t0 = time.perf_counter()
        (rows, score, depth, hsh, static, visits, leaf_visits, vsum, vmax, virtual, edge_start,
         edge_count, piece, expanded, terminal, pending, e_child, e_move, e_piece,
         e_visits) = self._arrays()
        while done < want_total:
            if self.seconds is not None and time.perf_counter() - t0 > self.seconds:
                break
            want = min(self.batch, want_total - done)
            self._reserve(want * MAX_CHILDREN)
            (rows, score, depth, hsh, static, visits, leaf_visits, vsum, vmax, virtual,
             edge_start, edge_count, piece, expanded, terminal, pending, e_child, e_move,
             e_piece, e_visits) = self._arrays()
            node_free = min(self.max_nodes, len(score)) - self.size
            edge_free = min(self.max_edges, len(e_child)) - int(self.counters[1])
            got = select_batch(self.root, want, self.exploration, self.mode, self.lo, self.hi,
                               self.rng, node_free, edge_free, visits, vsum, vmax, static,
                               virtual, terminal, expanded, pending, edge_start, edge_count,
                               e_child, self.path_nodes, self.path_edges, self.path_len,
                               self.leaf_kind)
            self.leaf_counts += np.bincount(self.leaf_kind[:got], minlength=3)[:3]
            sims = np.flatnonzero(self.leaf_kind[:got] == LEAF_EXPAND).astype(np.int64)
            self._expand(sims, len(sims), False)
            backup_batch(got, self.mode, self.lo, self.path_nodes, self.path_edges,
                         self.path_len, self.leaf_kind, visits, leaf_visits, vsum, vmax, static,
                         virtual, terminal, expanded, pending, edge_start, edge_count, e_child,
                         e_visits)
            done += got
        self.simulations_total += done
        return done

    def best_edge(self) -> int:
        """The root's out-edge to commit to (see the module docstring)."""
        n, e = self.nodes, self.edges
        root = self.root
        start, count = int(n["edge_start"][root]), int(n["edge_count"][root])
        best, best_key = -1, None
        for k in range(start, start + count):
            child = int(e["child"][k])
            if n["terminal"][child]:
                key = (0, int(n["score"][child]), float(n["static"][child]), 0)
            else:
                value = _node_value(child, self.mode, n["visits"], n["vsum"], n["vmax"],
                                    n["static"])
                visits = int(e["visits"][k])
                key = (1, value, visits, 0) if self.commit == "value" else (1, visits, value, 0)
            if best_key is None or key > best_key:
                best, best_key = k, key
        return best

    def commit_move(self) -> bool:
        """Play the best root move in the real game and re-root; False if the game is over."""
        n, e = self.nodes, self.edges
        root = self.root
        if not n["expanded"][root] or n["terminal"][root]:
            self.finished = True
            return False
        k = self.best_edge()
        child = int(e["child"][k])
        piece, move = int(e["piece"][k]), int(e["move"][k])
        parent_rows = n["rows"][root].copy()
        o, x, y = decode_move(move)
        from ..game import keys_to_lock

        self.key_parts.append(keys_to_lock(parent_rows, piece, x, y, o))
        self.moves.append((parent_rows, piece, move))
        self.root = child
        self._record_history(n["rows"][child].copy())
        self._compact()
        self._verify_root()
        if n["terminal"][self.root]:
            self.finished = True
        return True

    def _compact(self) -> None:
        """Drop the nodes the new root cannot reach (renumbering the rest, in order).

        Only done when it pays: when a fifth of the store is unreachable, or when the store
        is near its cap. Unreachable nodes left in the store are harmless (a state reached
        again is the same state, its statistics still valid). Also sets the normalization
        range to the static values of the reachable nodes.
        """
        n, e = self.nodes, self.edges
        size = self.size
        keep = np.zeros(size, np.bool_)
        stack = np.zeros(size, np.int64)
        kept = mark_reachable(self.root, n["edge_start"], n["edge_count"], e["child"],
                              n["expanded"], keep, stack)
        static = n["static"][:size][keep]
        self.lo, self.hi = float(static.min()), float(static.max())
        near_cap = size + self.batch * MAX_CHILDREN > self.max_nodes
        if kept == size or (kept >= 0.8 * size and not near_cap):
            return
        new_index = np.zeros(size, np.int64)
        fresh = {k: np.empty_like(a) for k, a in e.items()}
        (rows, score, depth, hsh, static, visits, leaf_visits, vsum, vmax, virtual, edge_start,
         edge_count, piece, expanded, terminal, pending, e_child, e_move, e_piece,
         e_visits) = self._arrays()
        ne = compact_nodes(size, keep, new_index, rows, score, depth, hsh, static, visits,
                           leaf_visits, vsum, vmax, virtual, edge_start, edge_count, piece,
                           expanded, terminal, pending, e_child, e_move, e_piece, e_visits,
                           fresh["child"], fresh["move"], fresh["piece"], fresh["visits"])
        self.edges = fresh
        self.root = int(new_index[self.root])
        self.counters[0] = kept
        self.counters[1] = ne
        self._rebuild_tables()

    def step(self) -> MoveStats | None:
        """Search and commit one move; None when the game is over or at ``max_depth``."""
        if self.finished or (self.max_depth is not None and self.depth >= self.max_depth):
            return None
        if self.nodes["terminal"][self.root]:
            self.finished = True
            return None
        t0 = time.perf_counter()
        children0, loops0 = self.children_evaluated, self.loops_total
        sims = self.search()
        self.commit_move()
        dt = time.perf_counter() - t0
        self.elapsed += dt
        return MoveStats(self.depth, self.score, self.size, sims,
                         self.children_evaluated - children0, self.loops_total - loops0, dt)

    def run(self, on_step: Callable | None = None) -> None:
        while (stats := self.step()) is not None:
            if on_step is not None:
                on_step(self, stats)

    # -- resuming a committed game -----------------------------------------------------------

    def start_from(self, keys: str) -> None:
        """Continue after ``keys`` (a verified prefix of a game): fresh tree at its end."""
        from ..game import replay

        result, wells = replay(keys, steps=True)
        if result.game_over:
            raise ValueError("the game to resume from is already over")
        if keys and replay(keys[:-1]).pieces_placed != result.pieces_placed - 1:
            raise ValueError("the keys to resume from must end with a lock")
        self.history = new_history(max(1 << 12, 2 * len(wells) + 2))
        history_record(*self.history, np.zeros(HEIGHT, np.uint16))  # the first spawn
        for w in wells[:-1]:
            history_record(*self.history, np.asarray(w, np.uint16))
        last = np.asarray(wells[-1], np.uint16) if len(wells) else None
        if last is None:  # nothing played: the empty well, recorded by _new_root
            self.history = new_history(1 << 12)
            last = np.zeros(HEIGHT, np.uint16)
        self.key_parts = [keys]
        self.moves = []
        self.finished = False
        self._new_root(last, result.score, result.pieces_placed)


# --- the runner ---------------------------------------------------------------------------------


PARTIAL_FILE = "mcts-partial.json"


def mcts_fingerprint(preset, settings: dict[str, Any], seed: int) -> dict:
    from .. import __version__

    return {"solver": preset.name, "kind": "mcts", **settings, "seed": seed,
            "eval": preset.eval, "quiescence": preset.quiescence,
            "engine_version": __version__}


def run_mcts(preset, *, width: int | None = None, max_depth: int | None = None,
             workers: int | None = None, seed: int = 0, checkpoint: str | None = None,
             resume: bool = False, checkpoint_every: int | None = None,
             progress: bool = True, on_step: Callable | None = None,
             simulations: int | None = None) -> dict:
    """Play a whole game with an MCTS preset (or to Ctrl-C); return the verified solution.

    ``width`` is ignored (beam only). With ``checkpoint=DIR`` the committed game is saved
    as ``DIR/mcts-partial.json`` (a verified solution record) every ``checkpoint_every``
    moves and at the end; ``resume`` continues from it with a fresh tree.
    """
    import numba
    from tqdm import tqdm

    from ..codecs import encode
    from ..presets import PresetError, make_evaluation
    from ..search.checkpoint import CheckpointError
    from ..solution import SolutionError, load_solution, make_solution, save_solution, verify
    from ..solve import drive, memory_mb, peak_memory_mb

    s = preset.search
    sims = int(simulations or s.get("simulations", 1000))
    exploration = float(s.get("exploration", 0.3))
    max_nodes = int(s.get("max_nodes", 1_000_000))
    backup = s.get("backup", "max")
    max_depth = max_depth or s.get("max_depth")
    # Batches are small: thread launches cost more than they save (and far more on a
    # loaded machine), so one thread unless asked. The game does not depend on it.
    workers = int(workers or s.get("workers") or 1)
    every = int(checkpoint_every or s.get("checkpoint_every", 25))
    if backup not in BACKUPS:
        raise PresetError(f"{preset.path}: [search] backup must be one of "
                          f"{', '.join(BACKUPS)}, not {backup!r}")
    if exploration < 0:
        raise PresetError(f"{preset.path}: [search] exploration must not be negative")
    if max_nodes < 2 * MAX_CHILDREN:
        raise PresetError(f"{preset.path}: [search] max_nodes must be at least "
                          f"{2 * MAX_CHILDREN}")
    if resume and not checkpoint:
        raise ValueError("--resume needs --checkpoint DIR")
    numba.set_num_threads(min(workers, numba.config.NUMBA_NUM_THREADS))
    settings = {"simulations": sims, "exploration": exploration, "max_nodes": max_nodes,
                "backup": backup}
    fingerprint = mcts_fingerprint(preset, settings, seed)
    evaluation = make_evaluation(preset)
    search = MCTS(evaluation, simulations=sims, exploration=exploration, max_nodes=max_nodes,
                  backup=backup, max_depth=max_depth, seed=seed)
    partial_path = Path(checkpoint) / PARTIAL_FILE if checkpoint else None
    elapsed_before = 0.0
    children_before = simulations_before = 0
    if resume:
        if not partial_path.exists():
            raise CheckpointError(f"no MCTS checkpoint in {checkpoint} ({PARTIAL_FILE})")
        try:
            saved = load_solution(partial_path)
            verify(saved["replay"], int(saved["score"]), saved.get("pieces"))
        except SolutionError as e:
            raise CheckpointError(f"{partial_path}: {e}") from None
        if saved.get("fingerprint") != fingerprint:
            raise CheckpointError(f"{partial_path} is from a different run (solver, settings, "
                                  f"seed or engine version differ); not resuming")
        keys = saved.get("keys")
        if not isinstance(keys, str) or encode(keys) != saved["replay"]:
            raise CheckpointError(f"{partial_path}: its keys do not match its replay")
        search.start_from(keys)
        elapsed_before = float(saved.get("elapsed", 0.0))
        children_before = int(saved.get("children", 0))
        simulations_before = int(saved.get("simulations_total", 0))

    def solution(interrupted: bool, wall: float) -> dict:
        return make_solution(
            search.keys, search.score, search.depth,
            solver=preset.name,
            parameters={**preset.to_json(), **settings, "max_depth": max_depth,
                        "batch": search.batch, "commit": search.commit},
            seed=seed,
            elapsed=round(elapsed_before + search.elapsed, 3),
            wall_this_run=round(wall, 3),
            resumed_from=round(elapsed_before, 3) if resume else None,
            workers=workers,
            depth_reached=search.depth,
            children=children_before + int(search.children_evaluated),
            simulations_total=simulations_before + int(search.simulations_total),
            loop_rule_hits=int(search.loops_total),
            reexpansions=int(search.reexpansions),
            peak_memory_mb=round(peak_memory_mb(), 1),
            interrupted=interrupted,
        )

    def save_partial(interrupted: bool, wall: float) -> None:
        partial_path.parent.mkdir(parents=True, exist_ok=True)
        save_solution(partial_path, {**solution(interrupted, wall), "fingerprint": fingerprint,
                                     "keys": search.keys})

    t_start = time.perf_counter()
    bar = tqdm(total=max_depth, initial=search.depth, disable=not progress, unit="piece",
               dynamic_ncols=True, desc=f"{preset.name} sims={sims}")

    def describe(stats) -> str:
        rate = stats.simulations / stats.seconds if stats.seconds > 0 else 0.0
        return (f"depth={stats.depth} best={stats.score} nodes={stats.nodes} "
                f"sims/s={rate:,.0f} mem={memory_mb():,.0f}MB")

    interrupted = drive(
        search.step, bar, describe,
        on_step=(lambda stats: on_step(search, stats)) if on_step is not None else None,
        save=(lambda: save_partial(False, time.perf_counter() - t_start))
        if partial_path is not None else None, every=every)
    bar.close()
    wall = time.perf_counter() - t_start
    if partial_path is not None:
        save_partial(interrupted, wall)
    return solution(interrupted, wall)
