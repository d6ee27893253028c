"""The network plus a share of the heuristic: the beam's children path equals the batch
path, a zero share plays the network's own game, and the preset keys validate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hatetris.eval.heuristic import FEATURES, HeuristicEvaluation
from hatetris.eval.mixed import MixedEvaluation
from hatetris.eval.quiescence import QuiescenceEvaluation
from hatetris.nnue.evaluation import NNUEEvaluation
from hatetris.nnue.network import Network
from hatetris.presets import PresetError, load_preset, make_evaluation
from hatetris.search.beam import BeamSearch
from hatetris.search.tree import path_keys

from test_nnue_fast import KIDS, OWNER, PARENTS

WEIGHTS = {"holes": -0.5, "covered_lines": -5.27, "erasability": 1.86, "height": -4.0}


def _mixed(share: float) -> MixedEvaluation:
    net = Network.random(("rows", "windows"), hidden=32, seed=5, scale=1.5)
    return MixedEvaluation(NNUEEvaluation(net), HeuristicEvaluation(WEIGHTS), share)


def test_children_path_equals_network_plus_share_of_heuristic():
    ev = _mixed(0.01)
    count = np.bincount(OWNER, minlength=len(PARENTS)).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    keep = np.random.default_rng(1).random(len(KIDS)) < 0.7
    scores = np.random.default_rng(2).integers(0, 50, len(KIDS)).astype(np.int64)
    batched = np.full(len(KIDS), -np.inf)
    ev.evaluate_children(PARENTS, 0, offsets, count, KIDS, scores, keep, batched)
    alone = np.zeros(len(KIDS))
    ev.evaluate(KIDS, scores, alone)
    net, heur = np.zeros(len(KIDS)), np.zeros(len(KIDS))
    ev.primary.evaluate(KIDS, scores, net)
    ev.secondary.evaluate(KIDS, scores, heur)
    assert np.array_equal(batched[keep], alone[keep])
    assert np.all(batched[~keep] == -np.inf)
    assert np.array_equal(alone, net + 0.01 * heur)
    assert np.ptp(heur) > 0          # the heuristic part is not constant on these wells


def _game(evaluation) -> list[int]:
    search = BeamSearch(QuiescenceEvaluation(evaluation, 2, "optimistic"), 30, max_depth=40)
    while search.step() is not None:
        pass
    return path_keys(search.store, search.best_node)


def test_zero_share_plays_the_networks_game_and_a_share_changes_it():
    mixed = _mixed(0.0)
    alone = _game(mixed.primary)
    assert _game(mixed) == alone
    assert _game(_mixed(0.05)) != alone


PRESET = """
[search]
kind = "beam"
width = 100

[eval]
kind = "nnue"
network = "data/nets/ranked-0.npz"
"""


def test_preset_keys_build_the_mixed_evaluation(tmp_path):
    base = PRESET.replace('kind = "nnue"', 'kind = "nnue"\nheuristic_share = 0.002')
    good = tmp_path / "mixed.toml"
    good.write_text(base + "\n[eval.heuristic_weights]\nholes = -0.5\ncovered_lines = -5\n")
    ev = make_evaluation(load_preset(str(good)))
    assert isinstance(ev, MixedEvaluation) and ev.share == 0.002
    assert ev.secondary.weights.tolist() == HeuristicEvaluation(
        {"holes": -0.5, "covered_lines": -5}).weights.tolist()
    bad = {
        "alone.toml": base,
        "weights-alone.toml": PRESET + "\n[eval.heuristic_weights]\nholes = 1\n",
        "nan.toml": base.replace("0.002", "nan") + "\n[eval.heuristic_weights]\nholes = 1\n",
        "name.toml": base + "\n[eval.heuristic_weights]\nhoels = 1\n",
        "type.toml": base + '\n[eval.heuristic_weights]\nholes = "1"\n',
        "kind.toml": load_preset("quick").path.read_text().replace(
            'kind = "heuristic"', 'kind = "heuristic"\nheuristic_share = 0.1')
        + "\n[eval.heuristic_weights]\nholes = 1\n",
    }
    for name, body in bad.items():
        p = tmp_path / name
        p.write_text(body)
        with pytest.raises(PresetError, match="heuristic"):
            make_evaluation(load_preset(str(p)))


def test_the_measured_presets_load():
    """docs/steady-state-runs.md's commands name these files."""
    root = Path(__file__).resolve().parents[1] / "docs" / "examples" / "presets"
    full = make_evaluation(load_preset(str(root / "heuristic-share.toml")))
    cheap = make_evaluation(load_preset(str(root / "heuristic-share-cheap.toml")))
    assert full.inner.share == cheap.inner.share == 0.002
    # The cheap terms are the full weights without the three that need every piece's
    # reachable placements.
    dropped = full.inner.secondary.weights != cheap.inner.secondary.weights
    assert sorted(np.array(FEATURES)[dropped]) == ["dead_lines", "erasability", "next_height"]
    assert not cheap.inner.secondary.weights[dropped].any()
