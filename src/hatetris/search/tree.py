"""The node store: every well a search kept, as flat arrays with parent pointers.

A node is one index into parallel arrays: its 20 rows, score, depth (pieces placed),
parent index (-1 for the root, the empty well), the move that made it from its parent
(``engine.decode_move``) and the piece that move placed. A search result is a node
index; :func:`path_keys` turns its chain of parents into keys, once, at the end.

The loop-prevention history of a node is exactly the wells on its path, so the exact
history check walks the parent chain. Equal wells need equal cell counts
(``4 * depth - 10 * score``), which skips almost every ancestor without touching rows.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..adversary import N_PIECES, beats, history_count, piece_outcomes
from ..config import NJIT
from ..core import same_well
from ..engine import (MAX_CHILDREN, children_into, decode_move, expand_scratch, lock_masks,
                      pad_well, top_row)
from ..game import keys_to_lock, replay
from ..rules import BAR, HEIGHT, PIECE_NAMES


class NodeStore:
    """Growable flat arrays of nodes (no Python object per node)."""

    FIELDS = {
        "rows": (np.uint16, (HEIGHT,)),
        "score": (np.int32, ()),
        "depth": (np.int32, ()),
        "parent": (np.int64, ()),
        "move": (np.int16, ()),
        "piece": (np.int8, ()),
    }

    def __init__(self, capacity: int = 1 << 16):
        self.size = 0
        self.arrays = {name: np.zeros((capacity,) + shape, dtype)
                       for name, (dtype, shape) in self.FIELDS.items()}

    @property
    def capacity(self) -> int:
        return len(self.arrays["score"])

    def reserve(self, n: int) -> None:
        """Make room for ``n`` more nodes (doubling, so appends are amortized O(1))."""
        need = self.size + n
        if need <= self.capacity:
            return
        cap = self.capacity
        while cap < need:
            cap *= 2
        for name, a in self.arrays.items():
            grown = np.zeros((cap,) + a.shape[1:], a.dtype)
            grown[: self.size] = a[: self.size]
            self.arrays[name] = grown

    def add_root(self) -> int:
        self.reserve(1)
        i = self.size
        a = self.arrays
        a["rows"][i] = 0
        a["score"][i] = 0
        a["depth"][i] = 0
        a["parent"][i] = -1
        a["move"][i] = -1
        a["piece"][i] = -1
        self.size += 1
        return i

    def add_line(self, nodes: dict[str, np.ndarray]) -> int:
        """Put a game's first pieces (:func:`game_nodes`) after the root, one node per
        piece, each the parent of the next; return the last one. A search started from
        it sees the whole line as its loop-rule history."""
        k = len(nodes["score"])
        self.reserve(k)
        for name in self.FIELDS:
            self.arrays[name][1:k + 1] = nodes[name]
        self.size = k + 1
        return k

    def __getattr__(self, name):
        try:
            return self.__dict__["arrays"][name]
        except KeyError:
            raise AttributeError(name) from None

    def state(self) -> dict[str, np.ndarray]:
        """The used part of every array (for checkpoints)."""
        return {name: a[: self.size] for name, a in self.arrays.items()}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> "NodeStore":
        n = len(state["score"])
        store = cls(max(1 << 16, n))
        for name, (dtype, shape) in cls.FIELDS.items():
            a = np.asarray(state[name])
            if a.dtype != dtype or a.shape != (n,) + shape:
                raise ValueError(f"field {name!r} has dtype {a.dtype} and shape {a.shape}")
            store.arrays[name][:n] = a
        store.size = n
        return store


@njit(**NJIT)
def path_count(rows, score, depth, parent, node, cand, k, cand_score, cand_depth) -> int:
    """How many wells on the path root..``node`` equal ``cand[k]`` (the node's history)."""
    cells = 4 * cand_depth - 10 * cand_score
    count = 0
    a = node
    while a >= 0:
        if 4 * depth[a] - 10 * score[a] == cells and same_well(rows, a, cand, k):
            count += 1
        a = parent[a]
    return count


@njit(**NJIT)
def history_hits(cand_rows, k, cand_score, cand_depth, nodes, rows, score, depth,
                 hist_wells, hist_counts, hist_table, hist_size) -> int:
    """How often the well ``cand_rows[k]`` is in a history: the wells of a history table
    plus the store's nodes ``nodes`` (an index array)."""
    count = history_count(hist_wells, hist_counts, hist_table, hist_size, cand_rows[k])
    cells = 4 * cand_depth - 10 * cand_score
    for i in range(nodes.shape[0]):
        a = nodes[i]
        if 4 * depth[a] - 10 * score[a] == cells and same_well(rows, a, cand_rows, k):
            count += 1
    return count


@njit(**NJIT)
def piece_with_history(pad, top, locks, buf, base_score, base_depth, nodes, rows, score,
                       depth, hist_wells, hist_counts, hist_table, hist_size):
    """The full HATETRIS choice for a well of ``base_score`` and ``base_depth`` with the
    history of :func:`history_hits` (slow path)."""
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
            loops = max(loops, history_hits(outs, j, base_score + gains[j], base_depth + 1,
                                            nodes, rows, score, depth, hist_wells,
                                            hist_counts, hist_table, hist_size))
            peak = max(peak, top_row(outs, j))
        if beats(loops, peak, best, best_loops, best_peak):
            best, best_loops, best_peak = q, loops, peak
    return best


@njit(**NJIT)
def hatetris_piece_on_path(rows, score, depth, parent, node, pad, top, locks, buf):
    """The full HATETRIS choice for ``node`` with its path as the history (slow path)."""
    length = 0
    a = node
    while a >= 0:
        length += 1
        a = parent[a]
    nodes = np.empty(length, np.int64)
    a = node
    for i in range(length):
        nodes[i] = a
        a = parent[a]
    # The path is the whole history, so the table is empty: its one free slot ends every
    # probe.
    return piece_with_history(pad, top, locks, buf, score[node], depth[node], nodes, rows,
                              score, depth, np.zeros((1, HEIGHT), np.uint16),
                              np.zeros(1, np.int64), np.full(1, -1, np.int64),
                              np.zeros(1, np.int64))


def path_nodes(parent: np.ndarray, node: int) -> list[int]:
    """Node indices from the root to ``node``."""
    out = []
    while node >= 0:
        out.append(int(node))
        node = int(parent[node])
    return out[::-1]


def path_keys(store: NodeStore, node: int) -> str:
    """The keys that play the game from the empty well to ``node``."""
    nodes = path_nodes(store.parent, node)
    keys = []
    for a, b in zip(nodes, nodes[1:]):
        o, x, y = decode_move(int(store.move[b]))
        keys.append(keys_to_lock(store.rows[a], int(store.piece[b]), x, y, o))
    return "".join(keys)


def game_nodes(keys: str, pieces: int) -> dict[str, np.ndarray]:
    """The nodes of a game's first ``pieces`` pieces (depths 1..pieces), root excluded:
    node i goes at index i + 1 of a store, after the root (its parent is index i).

    Each node's move is the one :func:`~hatetris.engine.children_into` writes for the
    lock that leaves the game's well, so a search that starts from these nodes and
    :func:`path_keys` play the same wells (perhaps by other keys). Raises ValueError if
    the game has fewer pieces, or is over at the last of them (nothing to continue).

    >>> nodes = game_nodes("D" * 18 + "L" * 6 + "D" * 20, 2)  # two S pieces
    >>> nodes["depth"].tolist(), nodes["score"].tolist(), nodes["piece"].tolist()
    ([1, 2], [0, 0], [0, 0])
    """
    result, wells = replay(keys, steps=True)
    if not 0 <= pieces <= result.pieces_placed:
        raise ValueError(f"the game has {result.pieces_placed} pieces, not {pieces}")
    nodes = {name: np.zeros((pieces,) + shape, dtype)
             for name, (dtype, shape) in NodeStore.FIELDS.items()}
    pad, locks, buf, kid_rows, kid_scores, kid_moves = expand_scratch()
    well, score = np.zeros(HEIGHT, np.uint16), 0
    for i in range(pieces):
        p = PIECE_NAMES.index(result.pieces[i])
        y_first, y_last = lock_masks(pad, pad_well(well, pad), p, locks)
        n = children_into(pad, p, locks, y_first, y_last, score, True, kid_rows, kid_scores,
                          kid_moves, 0, buf)
        j = int(np.flatnonzero(np.all(kid_rows[:n] == wells[i], axis=1))[0])
        well, score = kid_rows[j].copy(), int(kid_scores[j])
        for name, value in (("rows", well), ("score", score), ("depth", i + 1),
                            ("parent", i), ("move", kid_moves[j]), ("piece", p)):
            nodes[name][i] = value
    if pieces and well[BAR - 1] != 0:
        raise ValueError(f"the game is over at piece {pieces}: nothing to continue")
    return nodes
