"""The Python-facing search: ``MCTS`` plays a game one committed move at a time."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ...adversary import history_record, new_history
from ...core import state_hash
from ...engine import MAX_CHILDREN, decode_move
from ...rules import HEIGHT
from ..tt import table_slots
from .arrays import BACKUPS, COMMITS, EDGE_FIELDS, LEAF_EXPAND, MAX_PATH, NODE_FIELDS, _grow
from .select import _node_value, select_batch
from .expand import expand_leaves, insert_children
from .backup import backup_batch
from .compact import _filter_rows, compact_nodes, mark_reachable, rebuild_tables


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
        from ...game import keys_to_lock

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
        from ...game import replay

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
