"""Rollout pairs (``selfplay_as = "rollout-pairs"``): each family is the search's best
children of a probe well, checked against the reference engine and adversary, and each
child's life is what an independent search from its game (rebuilt from keys) survives."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import naive  # noqa: E402
from test_dataset import naive_steps  # noqa: E402

WEIGHTS = {"holes": -4.0, "height": -1.0, "bumpiness": -0.5, "lines": 3.0,
           "covered_lines": -2.0}


def kj4_keys() -> str:
    from hatetris.codecs import decode

    records = json.loads((ROOT / "data/records/records.json").read_text("utf-8"))
    return decode(next(r for r in records if r["name"] == "knewjade (4)")["replay"])


def test_rollout_families_are_the_best_children_each_searched_alone():
    from hatetris.eval.heuristic import HeuristicEvaluation
    from hatetris.nnue.rollouts import line_start, rollout_pairs, rollout_survival
    from hatetris.search.beam import BeamSearch
    from hatetris.search.tree import NodeStore, game_nodes, path_keys

    ev = HeuristicEvaluation(WEIGHTS)
    probe = BeamSearch(ev, 6, 100 + 25, None, game_nodes(kj4_keys(), 100))
    while probe.step() is not None:
        pass
    first = probe.level_start[101]
    rows, scores, family, life, parents = rollout_pairs(
        probe.store, np.arange(first, probe.store.size), ev, np.random.default_rng(3),
        families=4, children=3, width=5, pieces=12)
    assert len(parents) >= 3 and (np.bincount(family) >= 2).all()
    assert life.min() >= 0 and life.max() <= 12 and len(set(life.tolist())) > 1
    for f, node in enumerate(parents):
        keys = path_keys(probe.store, int(node))
        depth = int(probe.store.depth[node])
        # The rollout's start is the game itself, history included (a keys round trip).
        start, again = line_start(probe.store, int(node)), game_nodes(keys, depth)
        for name in NodeStore.FIELDS:
            assert np.array_equal(start[name], again[name]), name
        # The reference adversary's piece (loop rule over the whole game) and its children.
        steps = naive_steps(keys)
        adversary = naive.Hatetris()
        adversary.next_piece(naive.EMPTY_WELL)
        for s in steps:
            piece = adversary.next_piece(s[3])
        well, score = steps[-1][3], steps[-1][4]
        kids = sorted({(w, sc) for w, sc, over in naive.children(well, score, piece)
                       if not over})
        kid_rows = np.array([w for w, _ in kids], np.uint16)
        values = np.zeros(len(kids))
        ev.evaluate(kid_rows, np.array([sc for _, sc in kids], np.int64), values)
        mine = np.flatnonzero(family == f)
        got = {(tuple(int(v) for v in rows[j]), int(scores[j])) for j in mine}
        assert got <= set(kids) and len(got) == len(mine) == min(3, len(kids))
        chosen = np.array([k in got for k in kids])
        if (~chosen).any():  # the search's best: none left out is valued higher
            assert values[chosen].min() >= values[~chosen].max()
        # Each child's life: an independent search from the child's game, by keys.
        for j in mine:
            search = BeamSearch(ev, 6, depth + 1, None, again)
            search.step()
            hit = [n for n in range(search.level_start[-1], search.store.size)
                   if np.array_equal(search.store.rows[n], rows[j])]
            assert len(hit) == 1
            child_keys = path_keys(search.store, hit[0])
            alone = BeamSearch(ev, 5, depth + 1 + 12, None, game_nodes(child_keys, depth + 1))
            while alone.step() is not None:
                pass
            assert life[j] == alone.depth - depth - 1
            assert life[j] == rollout_survival(ev, game_nodes(child_keys, depth + 1), 5, 12)


def test_a_run_fits_rollout_pairs_the_longer_rollout_above(tmp_path):
    """Through a training run: the self-play file holds the families and lives, and the
    fit's self-play pairs are exactly the ordered pairs within a family (copies)."""
    from test_training_resume import finished_tiny_run, selfplay_pairs

    from hatetris.nnue.dataset import load_dataset
    from hatetris.nnue.selfplay import ordered_pairs

    run, config = finished_tiny_run(tmp_path, pair_weight=1.0, selfplay_as="rollout-pairs",
                                    fixed_siblings=True, probe_width=6, probe_pieces=30,
                                    rollout_families=4, rollout_children=3,
                                    rollout_width=4, rollout_pieces=15,
                                    selfplay_pair_copies=2)
    sp = load_dataset(tmp_path / "run" / "selfplay-1.npz")
    group, life = np.array(sp.meta["group"]), np.array(sp.meta["life"])
    assert len(group) == len(sp.rows) > 0 and life.max() <= 15
    expected = ordered_pairs(group, life)
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    probe = state["generations"]["1"]["probes"][f"{tmp_path / 'kj4.txt'}:100"]
    assert probe["pairs"] == len(expected) > 0
    a, b, _, _, _ = selfplay_pairs(run, config)
    assert (life[a] > life[b]).all() and (group[a] == group[b]).all()
    assert len(a) == 2 * len(expected)


def test_futures_sample_keeps_each_grade_its_share_then_the_rest():
    """A draw of one depth's wells: min(share, available) of every grade above 0, the
    rest of grade 0, no well twice; one grade (a bool array) is the old half-and-half
    draw, the same wells for the same seed."""
    from hatetris.nnue.selfplay import futures_sample, graded_pairs, sampled_pairs

    rng = np.random.default_rng(5)
    for _ in range(50):
        grades = int(rng.integers(1, 4))
        grade = rng.choice(grades + 1, int(rng.integers(1, 60)),
                           p=[0.7] + [0.3 / grades] * grades)
        n = int(rng.integers(1, 40))
        got = futures_sample(grade, n, np.random.default_rng(1), grades)
        assert len(np.unique(got)) == len(got) and np.array_equal(got, np.sort(got))
        share = n // (grades + 1)
        for level in range(1, grades + 1):
            assert (grade[got] == level).sum() == min(share, (grade == level).sum())
        taken = sum(min(share, (grade == lv).sum()) for lv in range(1, grades + 1))
        assert (grade[got] == 0).sum() == min(n - taken, (grade == 0).sum())
        alive = grade > 0
        old = np.random.default_rng(1)  # the one-horizon draw the shipped runs made
        a = old.choice(np.flatnonzero(alive), min(n // 2, alive.sum()), replace=False)
        b = old.choice(np.flatnonzero(~alive), min(n - len(a), (~alive).sum()),
                       replace=False)
        assert np.array_equal(futures_sample(alive, n, np.random.default_rng(1)),
                              np.sort(np.concatenate([a, b])))
        group = rng.integers(0, 4, len(grade))
        assert np.array_equal(graded_pairs(group, alive, 1, 6, np.random.default_rng(2)),
                              sampled_pairs(group, alive, 6, np.random.default_rng(2)))
