"""An opening network and another for the rest: each well gets the value its phase's
network gives alone, by both paths; a preset builds it and refuses half of it."""

from __future__ import annotations

import numpy as np
import pytest

from hatetris.core import cell_counts
from hatetris.eval.phased import PhasedEvaluation
from hatetris.eval.quiescence import QuiescenceEvaluation
from hatetris.nnue.evaluation import NNUEEvaluation
from hatetris.nnue.network import Network
from hatetris.presets import PresetError, load_preset, make_evaluation
from hatetris.search.beam import BeamSearch
from hatetris.search.tree import path_keys

from test_mixed import PRESET  # a width-100 beam with the network ranked-0
from test_nnue_fast import KIDS, OWNER, PARENTS


def _nets():
    a = Network.random(("rows", "windows"), hidden=32, seed=5, scale=1.5)
    b = Network.random(("rows", "windows"), hidden=32, seed=6, scale=1.5)
    return NNUEEvaluation(a), NNUEEvaluation(b)


def test_each_well_is_valued_by_its_phase_by_both_paths():
    opening, rest = _nets()
    scores = np.random.default_rng(2).integers(0, 50, len(KIDS)).astype(np.int64)
    pieces = (cell_counts(KIDS) + 10 * scores) // 4  # the naive phase of each well
    cut = int(np.median(pieces))
    early = pieces < cut
    assert early.any() and (~early).any()
    ev = PhasedEvaluation(opening, rest, cut)
    a, b = np.zeros(len(KIDS)), np.zeros(len(KIDS))
    opening.evaluate(KIDS, scores, a)
    rest.evaluate(KIDS, scores, b)
    alone = np.zeros(len(KIDS))
    ev.evaluate(KIDS, scores, alone)
    assert np.array_equal(alone, np.where(early, a, b))
    count = np.bincount(OWNER, minlength=len(PARENTS)).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    keep = np.random.default_rng(1).random(len(KIDS)) < 0.7
    batched = np.full(len(KIDS), -np.inf)
    ev.evaluate_children(PARENTS, 0, offsets, count, KIDS, scores, keep, batched)
    assert np.array_equal(batched[keep], alone[keep])
    assert np.all(batched[~keep] == -np.inf)


def _game(evaluation, depth: int = 40) -> list[int]:
    search = BeamSearch(QuiescenceEvaluation(evaluation, 2, "optimistic"), 30,
                        max_depth=depth)
    while search.step() is not None:
        pass
    return path_keys(search.store, search.best_node)


def test_a_game_plays_the_opening_network_then_the_other():
    opening, rest = _nets()
    # Past the cut the game is the other network's to choose: it differs from the
    # opening network's own game, and up to the cut it is that game.
    phased = _game(PhasedEvaluation(opening, rest, 10))
    assert phased != _game(opening)
    assert _game(PhasedEvaluation(opening, rest, 1000)) == _game(opening)
    assert _game(PhasedEvaluation(rest, rest, 10)) == _game(rest)


def test_preset_keys_build_the_phased_evaluation(tmp_path):
    good = tmp_path / "phased.toml"
    good.write_text(PRESET.replace('kind = "nnue"', 'kind = "nnue"\nopening_pieces = 464\n'
                                   'opening_network = "data/nets/hind-6.npz"'))
    ev = make_evaluation(load_preset(str(good)))
    assert isinstance(ev, PhasedEvaluation) and ev.opening_pieces == 464
    assert not np.array_equal(ev.opening.net.w1, ev.rest.net.w1)
    bad = {
        "alone.toml": PRESET.replace('kind = "nnue"', 'kind = "nnue"\nopening_pieces = 9'),
        "net-alone.toml": PRESET.replace('kind = "nnue"',
                                         'kind = "nnue"\nopening_network = "x.npz"'),
        "zero.toml": PRESET.replace('kind = "nnue"', 'kind = "nnue"\nopening_pieces = 0\n'
                                    'opening_network = "data/nets/hind-6.npz"'),
        "kind.toml": load_preset("quick").path.read_text().replace(
            'kind = "heuristic"', 'kind = "heuristic"\nopening_network = "a.npz"\n'
            'opening_pieces = 9'),
    }
    for name, body in bad.items():
        p = tmp_path / name
        p.write_text(body)
        with pytest.raises(PresetError, match="opening"):
            make_evaluation(load_preset(str(p)))
