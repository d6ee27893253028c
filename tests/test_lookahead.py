"""One piece of lookahead: a well valued by its best child under the adversary's piece,
against the slow reference (tests/naive.py), and the beam's shortlist."""

from __future__ import annotations

import numpy as np
import pytest

import naive
from hatetris.eval.heuristic import HeuristicEvaluation
from hatetris.eval.lookahead import LookaheadEvaluation
from hatetris.presets import PresetError, load_preset, make_evaluation
from nnue_reference import random_wells

WEIGHTS = {"height": -1.0, "holes": -0.5, "cells": 0.01}


def test_a_well_is_valued_by_its_best_child_under_the_adversarys_mild_piece():
    inner = HeuristicEvaluation(WEIGHTS)
    rows, scores = random_wells(60, seed=11)
    got = np.zeros(len(rows))
    LookaheadEvaluation(inner, block=7).evaluate(rows, scores, got)  # several blocks
    adversary = naive.Hatetris(loop_prevention=False)
    for i in range(len(rows)):
        well = tuple(int(r) for r in rows[i])
        piece = adversary.next_piece(well)
        kids = [(w, s) for w, s, over in naive.children(well, int(scores[i]), piece)
                if not over]
        if not kids:
            assert got[i] == -np.inf
            continue
        k_rows = np.array([w for w, _ in kids], np.uint16)
        k_scores = np.array([s for _, s in kids], np.int64)
        values = np.zeros(len(kids))
        inner.evaluate(k_rows, k_scores, values)
        assert got[i] == values.max()


def test_a_beam_step_looks_ahead_from_its_best_children_and_ranks_the_rest_below():
    """Only the best ``shortlist x width`` kept children by their own value get the
    lookahead; the others rank below them all, in their own order; a child whose next
    piece can only end the game ranks below every other; children not kept stay -inf."""
    inner = HeuristicEvaluation(WEIGHTS)
    look = LookaheadEvaluation(inner, shortlist=2)
    rows, scores = random_wells(40, seed=3)
    dead = np.zeros(20, np.uint16)
    dead[:18] = 0b1111111110  # full to the top but one column: no piece survives
    dead[18:] = 0b0111111111
    rows = np.concatenate([rows, dead[None]])
    scores = np.concatenate([scores, [0]])
    n = len(rows)
    keep = np.ones(n, np.bool_)
    keep[::7] = False
    out = np.full(n, -np.inf)
    look.evaluate_children(rows, 0, np.zeros(1, np.int64), np.array([n]), rows, scores, keep,
                           out, keep_best=6)
    own = np.zeros(n)
    inner.evaluate(rows, scores, own)
    ahead = np.zeros(n)
    look.evaluate(rows, scores, ahead)
    kept = np.flatnonzero(keep)
    order = kept[np.argsort(-own[kept], kind="stable")]
    short, rest = order[:12], order[12:]
    assert np.all(out[~keep] == -np.inf)
    alive = short[ahead[short] > -np.inf]
    assert np.array_equal(out[alive], ahead[alive])
    assert out[rest].max() < out[alive].min()
    assert np.array_equal(np.argsort(-out[rest], kind="stable"),
                          np.argsort(-own[rest], kind="stable"))
    assert ahead[n - 1] == -np.inf and n - 1 in rest  # the full well ranks low by itself
    # Everything looked ahead (no width given): the dead well ranks last, finite.
    out[:] = -np.inf
    look.evaluate_children(rows, 0, np.zeros(1, np.int64), np.array([n]), rows, scores, keep,
                           out)
    live, gone = kept[ahead[kept] > -np.inf], kept[ahead[kept] == -np.inf]
    assert np.array_equal(out[live], ahead[live]) and n - 1 in gone
    assert np.isfinite(out[gone]).all() and out[gone].max() < out[live].min()
    with pytest.raises(ValueError, match="above 1"):
        LookaheadEvaluation(inner, shortlist=1)


def test_a_preset_takes_a_lookahead_table_and_refuses_a_bad_one(tmp_path):
    good = tmp_path / "look.toml"
    good.write_text('[search]\nkind = "beam"\nwidth = 10\n[eval]\nkind = "heuristic"\n'
                    '[eval.weights]\nheight = -1.0\n[lookahead]\nenabled = true\n'
                    'shortlist = 3\n')
    ev = make_evaluation(load_preset(str(good)))
    assert isinstance(ev, LookaheadEvaluation) and ev.shortlist == 3.0
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text().replace("shortlist = 3", "shortlist = 1"))
    with pytest.raises(PresetError, match="lookahead"):
        make_evaluation(load_preset(str(bad)))


def test_values_kept_from_the_step_before_leave_the_search_unchanged(monkeypatch):
    """A step finds most of its children among the wells the step before looked ahead
    to; taking their values from there plays the same beam as evaluating them again."""
    from hatetris.eval.quiescence import QuiescenceEvaluation
    from hatetris.search.beam import BeamSearch

    def play(remember: bool):
        look = LookaheadEvaluation(QuiescenceEvaluation(HeuristicEvaluation(WEIGHTS), 2),
                                   shortlist=2)
        if not remember:
            monkeypatch.setattr(look, "_remember", lambda parts: None)
        search = BeamSearch(look, width=12)
        for _ in range(25):
            search.step()
        return search, look

    kept, look = play(True)
    fresh, again = play(False)
    assert look.reused > 0 and again.reused == 0
    assert look.evaluated < again.evaluated
    s, t = kept.store, fresh.store
    assert s.size == t.size and np.array_equal(s.rows[:s.size], t.rows[:t.size])
    assert np.array_equal(s.move[:s.size], t.move[:t.size])


def test_before_from_pieces_the_beam_is_the_inner_evaluations():
    """``from_pieces``: steps whose children have fewer pieces placed play exactly as
    the inner evaluation alone (so an empty-well game that ends before is unchanged);
    the steps after look ahead."""
    from hatetris.eval.quiescence import QuiescenceEvaluation
    from hatetris.search.beam import BeamSearch

    def beam(evaluation, steps):
        search = BeamSearch(evaluation, width=10)
        for _ in range(steps):
            search.step()
        return search.store

    def inner():
        return QuiescenceEvaluation(HeuristicEvaluation(WEIGHTS), 2, shortlist=2)

    plain = beam(inner(), 14)
    late = beam(LookaheadEvaluation(inner(), 2, from_pieces=12), 14)
    assert not np.array_equal(plain.rows[:plain.size], late.rows[:late.size])
    early = beam(LookaheadEvaluation(inner(), 2, from_pieces=12), 11)
    again = beam(inner(), 11)
    assert early.size == again.size
    assert np.array_equal(early.rows[:early.size], again.rows[:again.size])
    with pytest.raises(ValueError, match="from_pieces"):
        LookaheadEvaluation(inner(), 2, from_pieces=-1)


def test_a_cluster_refuses_a_lookahead_in_one_line(tmp_path):
    from click.testing import CliRunner

    from hatetris.cli import cli
    from hatetris.cluster.search import ClusterBeamSearch

    preset = tmp_path / "look.toml"
    preset.write_text('[search]\nkind = "beam"\nwidth = 10\n[eval]\nkind = "heuristic"\n'
                      '[eval.weights]\nheight = -1.0\n[lookahead]\nenabled = true\n')
    r = CliRunner().invoke(cli, ["solve", "--quiet", "--cluster", "local:2", "--solver",
                                 str(preset)])
    assert r.exit_code == 2 and "lookahead" in r.output and r.output.count("\n") == 1
    with pytest.raises(ValueError, match="lookahead"):
        ClusterBeamSearch(None, make_evaluation(load_preset(str(preset))), 10)
