"""Two networks' favourites side by side: the union values select exactly the union of
each one's best, the beam's children path equals the batch path, and the preset key
validates."""

from __future__ import annotations

import numpy as np
import pytest

from hatetris.eval.heuristic import HeuristicEvaluation
from hatetris.eval.quiescence import QuiescenceEvaluation
from hatetris.eval.union import UnionEvaluation, union_values
from hatetris.nnue.evaluation import NNUEEvaluation
from hatetris.nnue.network import Network
from hatetris.presets import PresetError, load_preset, make_evaluation
from hatetris.search.beam import BeamSearch, select_best
from hatetris.search.tree import path_keys

from test_nnue_fast import KIDS, OWNER, PARENTS


def _top(values: np.ndarray, j: int) -> set[int]:
    """The j best of ``values``, ties to the lower index (the naive way)."""
    return set(sorted(range(len(values)), key=lambda i: (-values[i], i))[:j])


@pytest.mark.parametrize("seed", range(6))
def test_the_best_by_union_value_are_the_union_of_each_ones_best(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    # Few distinct values: ties within each evaluation are part of the contract.
    a = rng.integers(0, 8, n).astype(np.float64)
    b = rng.normal(size=n) if seed % 2 else rng.integers(0, 8, n).astype(np.float64)
    u = union_values(a, b)
    for j in range(n + 1):
        both = _top(a, j) | _top(b, j)
        # Every well of the union ranks above every well outside it ...
        assert set(np.flatnonzero(u > -j)) == both
        # ... so the beam's own selection of that many keeps exactly the union.
        assert set(select_best(u, len(both)).tolist()) == both


def test_one_evaluation_twice_keeps_its_own_order():
    a = np.random.default_rng(3).normal(size=40)
    assert np.array_equal(np.argsort(-union_values(a, a), kind="stable"),
                          np.argsort(-a, kind="stable"))


def _union() -> UnionEvaluation:
    first = Network.random(("rows", "windows"), hidden=32, seed=5, scale=1.5)
    second = Network.random(("rows", "windows"), hidden=32, seed=6, scale=1.5)
    return UnionEvaluation(QuiescenceEvaluation(NNUEEvaluation(first), 2, "optimistic"),
                           QuiescenceEvaluation(NNUEEvaluation(second), 2, "optimistic"))


def test_children_path_equals_the_batch_of_kept_children():
    ev = _union()
    count = np.bincount(OWNER, minlength=len(PARENTS)).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    keep = np.random.default_rng(1).random(len(KIDS)) < 0.7
    scores = np.random.default_rng(2).integers(0, 50, len(KIDS)).astype(np.int64)
    batched = np.full(len(KIDS), -np.inf)
    ev.evaluate_children(PARENTS, 0, offsets, count, KIDS, scores, keep, batched)
    alone = np.zeros(int(keep.sum()))
    ev.evaluate(KIDS[keep], scores[keep], alone)
    assert np.array_equal(batched[keep], alone)
    assert np.all(batched[~keep] == -np.inf)
    a, b = np.zeros(len(alone)), np.zeros(len(alone))
    ev.first.evaluate(KIDS[keep], scores[keep], a)
    ev.second.evaluate(KIDS[keep], scores[keep], b)
    assert not np.array_equal(np.argsort(-a), np.argsort(-b))  # two different orders


def _game(evaluation, width: int = 30) -> list[int]:
    search = BeamSearch(evaluation, width, max_depth=40)
    while search.step() is not None:
        pass
    return path_keys(search.store, search.best_node)


def test_a_union_with_itself_plays_the_evaluations_own_game():
    first = _union().first
    assert _game(UnionEvaluation(first, first)) == _game(first)


PRESET = """
[search]
kind = "beam"
width = 100

[eval]
kind = "nnue"
network = "data/nets/futures-2.npz"
opening_network = "data/nets/ranked-0.npz"
opening_pieces = 464

[quiescence]
enabled = true
depth = 3
piece = "optimistic"
shortlist = 8
"""


def test_preset_key_builds_the_union_and_is_refused_where_it_means_nothing(tmp_path):
    good = tmp_path / "union.toml"
    good.write_text(PRESET.replace('opening_network', 'union_network = '
                                   '"data/nets/ranked-0.npz"\nopening_network'))
    ev = make_evaluation(load_preset(str(good)))
    assert isinstance(ev, UnionEvaluation)
    for half in (ev.first, ev.second):
        assert isinstance(half, QuiescenceEvaluation)
        assert half.depth == 3 and half.shortlist == 8
        assert half.inner.opening_pieces == 464  # each half has the opening network
    bad = {
        "heuristic.toml": load_preset("quick").path.read_text().replace(
            'kind = "heuristic"', 'kind = "heuristic"\nunion_network = "x.npz"'),
        "share.toml": PRESET.replace(
            'opening_network', 'union_network = "data/nets/ranked-0.npz"\n'
            'heuristic_share = 0.1\nopening_network') + "\n[eval.heuristic_weights]\nholes = 1\n",
    }
    for name, body in bad.items():
        p = tmp_path / name
        p.write_text(body)
        with pytest.raises(PresetError, match="union_network"):
            make_evaluation(load_preset(str(p)))
    missing = tmp_path / "missing.toml"
    missing.write_text(PRESET.replace('opening_network', 'union_network = "no.npz"\n'
                                      'opening_network'))
    with pytest.raises(PresetError):
        make_evaluation(load_preset(str(missing)))


def test_heuristic_halves_in_a_batch():
    rows = np.zeros((4, 20), np.uint16)
    for k in range(4):
        rows[k, 19 - k:20] = 0b1
    union = UnionEvaluation(HeuristicEvaluation({"height": -1.0}),
                            HeuristicEvaluation({"cells": 1.0}))
    out = np.zeros(4)
    union.evaluate(rows, np.zeros(4, np.int64), out)
    # Wells 0 (lowest) and 3 (most cells) are each one's favourite.
    assert set(select_best(out, 2).tolist()) == {0, 3}


def test_a_cluster_refuses_the_union():
    """A shard holds part of a step's children, so it cannot rank the whole step."""
    from hatetris.cluster.search import ClusterBeamSearch

    with pytest.raises(ValueError, match="UnionEvaluation is not supported on a cluster"):
        ClusterBeamSearch(None, _union(), 10)
