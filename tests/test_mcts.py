"""MCTS over the transposition DAG: merging, statistics, history, determinism, replays."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from hatetris.adversary import adversary_piece, history_record, new_history
from hatetris.core import rows_hash
from hatetris.engine import children
from hatetris.search.mcts import (
    MAX_CHILDREN,
    MAX_PATH,
    MCTS,
    PARTIAL_FILE,
    TREE_FILE,
    expand_leaves,
    run_mcts,
)
from hatetris.search.tt import filter_insert, table_slots
from hatetris.solution import make_solution, verify


@njit(cache=True)
def _toy_values(rows, scores, out):
    """score * 10 + first non-empty row - holes: a tiny stand-in for a real evaluation."""
    for i in range(rows.shape[0]):
        top = 20
        for r in range(20):
            if rows[i, r] != 0:
                top = r
                break
        holes = 0
        for c in range(10):
            covered = False
            for r in range(20):
                if (rows[i, r] >> c) & 1:
                    covered = True
                elif covered:
                    holes += 1
        out[i] = scores[i] * 10.0 + top - holes


class ToyEvaluation:
    def evaluate(self, rows, scores, out):
        _toy_values(rows, scores, out)


def used(search: MCTS, name: str) -> np.ndarray:
    return search.nodes[name][: search.size]


def out_edges(search: MCTS, node: int) -> range:
    start = int(search.nodes["edge_start"][node])
    return range(start, start + int(search.nodes["edge_count"][node]))


def check_statistics(search: MCTS, values: bool = True) -> None:
    """visits = out-edge visits + leaf visits; values inside the range seen; no leftovers.

    The range is re-taken from the kept subtree at each commit, so values are checked
    only within one move's search (``values``).
    """
    n, e = search.nodes, search.edges
    for x in range(search.size):
        edge_visits = sum(int(e["visits"][k]) for k in out_edges(search, x)) \
            if n["expanded"][x] else 0
        assert n["visits"][x] == edge_visits + n["leaf_visits"][x], x
        if values and n["visits"][x] > 0:
            assert search.lo <= n["vmax"][x] <= search.hi
            assert search.lo <= n["vsum"][x] / n["visits"][x] <= search.hi
    assert not used(search, "virtual").any()
    assert not used(search, "pending").any()
    assert np.isfinite(used(search, "static")).all()
    if values:
        static = used(search, "static")
        assert search.lo <= static.min() and static.max() <= search.hi


def test_transpositions_are_merged():
    # Visit every child of the root first (huge exploration): then every depth-1 well is
    # expanded and the depth-2 nodes are exactly the distinct wells two pieces can make.
    search = MCTS(ToyEvaluation(), exploration=100.0, seed=0)
    search.search(400)
    n, e = search.nodes, search.edges
    depth = used(search, "depth")
    level1 = np.flatnonzero(depth == 1)
    assert len(level1) > 0 and n["expanded"][level1].all()

    expected = set()
    links = 0
    for x in level1:
        well = n["rows"][x]
        rows, scores, over = children(well, 0, adversary_piece(well), keep_game_over=False)
        links += len(rows)
        expected |= {tuple(int(v) for v in r) for r in rows}
    level2 = np.flatnonzero(depth == 2)
    assert {tuple(int(v) for v in n["rows"][x]) for x in level2} == expected
    assert len(level2) == len(expected)  # one node per distinct state
    assert links > len(expected)  # so some states were reached by two move orders

    # ... and those are nodes with several parents in the DAG.
    parents = np.zeros(search.size, np.int64)
    for x in level1:
        for k in out_edges(search, x):
            parents[e["child"][k]] += 1
    merged = np.flatnonzero(parents >= 2)
    assert len(merged) > 0
    # no two nodes anywhere hold the same state
    states = {(tuple(n["rows"][x].tolist()), int(n["score"][x])) for x in range(search.size)}
    assert len(states) == search.size


@pytest.mark.parametrize("backup", ["max", "mean", "mixed"])
def test_statistics_stay_consistent(backup):
    search = MCTS(ToyEvaluation(), simulations=150, seed=3, backup=backup)
    search.search()
    check_statistics(search)
    assert search.nodes["visits"][search.root] == 150
    for _ in range(5):
        assert search.step() is not None
        check_statistics(search, values=False)
    assert search.nodes["depth"][search.root] == search.depth == 5


@pytest.mark.parametrize("backup", ["max", "mean"])
def test_same_seed_same_game(backup):
    def play(seed):
        search = MCTS(ToyEvaluation(), simulations=40, max_depth=12, seed=seed, backup=backup)
        search.run()
        return search.keys, search.score, search.children_evaluated

    first = play(7)
    assert play(7) == first
    assert first[0]


def test_small_budget_replay_verifies():
    search = MCTS(ToyEvaluation(), simulations=30, seed=1, batch=4)
    search.run()
    assert search.finished  # played to the end of the game
    result = verify(make_solution(search.keys, search.score, search.depth)["replay"],
                    search.score, search.depth)
    assert result.pieces_placed == search.depth


def test_node_cap_is_respected():
    cap = 2 * MAX_CHILDREN + 100
    search = MCTS(ToyEvaluation(), simulations=60, max_nodes=cap, max_depth=10, seed=2)
    sizes = []

    def on_step(s, stats):
        sizes.append(s.size)
        # near the cap the store is compacted to the root's subtree at every commit
        assert used(s, "depth").min() == s.depth == s.nodes["depth"][s.root]
        check_statistics(s, values=False)

    search.run(on_step)
    assert max(sizes) <= cap and len(search.nodes["score"]) <= cap
    make_solution(search.keys, search.score, search.depth)


def test_commit_reexpands_for_the_real_history():
    search = MCTS(ToyEvaluation(), simulations=20, seed=0)
    search.step()
    root = search.root
    true_piece = int(search.nodes["piece"][root])
    # Pretend the search assumed another piece on some path: the commit must notice.
    search.nodes["piece"][root] = (true_piece + 1) % 7
    search._verify_root()
    assert search.reexpansions == 1
    assert search.nodes["piece"][search.root] == true_piece
    check_statistics(search)
    search.run()
    make_solution(search.keys, search.score, search.depth)


def _expansion_piece(node_rows, node_scores, node_depths, path, committed):
    """The piece expand_leaves sends for the last node of ``path``."""
    n = len(node_rows)
    rows = np.asarray(node_rows, np.uint16).reshape(n, 20)
    score = np.asarray(node_scores, np.int64)
    depth = np.asarray(node_depths, np.int32)
    hist = new_history(16)
    seen = np.zeros(table_slots(64), np.uint64)
    for w in committed:
        history_record(*hist, np.asarray(w, np.uint16))
        filter_insert(seen, np.uint64(rows_hash(np.asarray(w, np.uint16))))
    for r in rows:
        filter_insert(seen, np.uint64(rows_hash(r)))
    path_nodes = np.zeros((1, MAX_PATH), np.int64)
    path_nodes[0, : len(path)] = path
    path_len = np.array([len(path)], np.int64)
    kid_rows = np.zeros((MAX_CHILDREN, 20), np.uint16)
    kid_scores = np.zeros(MAX_CHILDREN, np.int64)
    kid_moves = np.zeros(MAX_CHILDREN, np.int64)
    piece, count, loop = np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1, np.bool_)
    expand_leaves(np.zeros(1, np.int64), 1, path_nodes, path_len, rows, score, depth, seen,
                  *hist, kid_rows, kid_scores, kid_moves, piece, count, loop)
    return int(piece[0]), bool(loop[0])


# A well (23 pieces, no line yet) whose mild piece, I, can clear a line into REPEAT:
# with REPEAT in the history the adversary sends another piece (found by random play).
WELL = [0, 0, 0, 0, 0, 0, 70, 255, 511, 927, 1007, 507, 362, 986, 1014, 476, 908, 905, 475, 114]
REPEAT = [0, 0, 0, 0, 0, 0, 512, 582, 767, 927, 1007, 507, 362, 986, 1014, 476, 908, 905, 475,
          114]


def test_history_of_the_path_changes_the_piece():
    empty = [0] * 20
    assert sum(bin(v).count("1") for v in WELL) == 4 * 23
    mild = adversary_piece(WELL)
    rows, scores, _ = children(WELL, 0, mild, keep_game_over=False)
    assert REPEAT in [[int(v) for v in r] for r in rows]
    expected = adversary_piece(WELL, {tuple(empty): 1, tuple(REPEAT): 1, tuple(WELL): 1})
    assert expected != mild

    # the repeated well in the committed game (the root is WELL, nothing below it)
    piece, loop = _expansion_piece([WELL], [0], [23], [0], [empty, REPEAT, WELL])
    assert (piece, loop) == (expected, True)
    # the repeated well on the selection path below the root (same cell count: 4*24-10*1)
    piece, loop = _expansion_piece([empty, REPEAT, WELL], [0, 1, 0], [0, 24, 23], [0, 1, 2],
                                   [empty])
    assert (piece, loop) == (expected, True)
    # REPEAT is a node of the store but not on this path: a filter hit, no repeat
    piece, loop = _expansion_piece([empty, REPEAT, WELL], [0, 1, 0], [0, 24, 23], [0, 2],
                                   [empty])
    assert (piece, loop) == (mild, False)


def test_run_mcts_preset_checkpoint_and_resume(tmp_path):
    from hatetris.presets import load_preset
    from hatetris.search.checkpoint import CheckpointError

    preset = load_preset("mcts-heuristic")
    first = run_mcts(preset, max_depth=6, simulations=20, progress=False,
                     checkpoint=str(tmp_path), checkpoint_every=2)
    assert first["pieces"] == 6 and first["children"] > 0
    verify(first["replay"], first["score"], first["pieces"])
    assert (tmp_path / PARTIAL_FILE).exists()

    assert (tmp_path / TREE_FILE).exists()

    resumed = run_mcts(preset, max_depth=9, simulations=20, progress=False,
                       checkpoint=str(tmp_path), resume=True)
    assert resumed["pieces"] == 9
    verify(resumed["replay"], resumed["score"], resumed["pieces"])

    with pytest.raises(ValueError, match="--checkpoint"):
        run_mcts(preset, max_depth=2, resume=True, progress=False)
    with pytest.raises(CheckpointError, match="no MCTS checkpoint"):
        run_mcts(preset, max_depth=2, resume=True, checkpoint=str(tmp_path / "none"),
                 progress=False)
    with pytest.raises(CheckpointError, match="different run"):
        run_mcts(preset, max_depth=12, simulations=21, resume=True,
                 checkpoint=str(tmp_path), progress=False)


def test_a_resumed_mcts_run_plays_the_uninterrupted_game(tmp_path):
    """Stopped twice and resumed from its checkpoints, a run plays the very game (and
    counts the very work) of one that never stopped: the whole search is saved."""
    from hatetris.presets import load_preset

    preset = load_preset("mcts-heuristic")
    whole = run_mcts(preset, max_depth=40, simulations=100, progress=False)
    for depth in (15, 28, 40):
        part = run_mcts(preset, max_depth=depth, simulations=100, progress=False,
                        checkpoint=str(tmp_path), resume=depth != 15)
        assert part["pieces"] == min(depth, whole["pieces"])
    for key in ("replay", "score", "pieces", "children", "simulations_total",
                "loop_rule_hits", "reexpansions"):
        assert part[key] == whole[key], key

