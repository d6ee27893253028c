"""Quiescence lookahead against a naive recursion over the reference engine."""

from __future__ import annotations

import numpy as np
import pytest

import naive
from hatetris.eval.heuristic import HeuristicEvaluation
from hatetris.eval.quiescence import QuiescenceEvaluation
from hatetris.search.beam import BeamSearch
from test_engine import WELLS

BAR = 4
WEIGHTS = {"lines": 40.0, "height": -4.0, "holes": -0.5, "enclosed_lines": -4.8,
           "covered_lines": -5.3, "erasability": 1.9, "bumpiness": -1.0, "dead_lines": -10.0,
           "next_height": -3.0}
INNER = HeuristicEvaluation(WEIGHTS)
ADVERSARY = naive.Hatetris(loop_prevention=False)


def inner_value(well, score) -> float:
    out = np.zeros(1)
    INNER.evaluate(np.array([well], np.uint16), np.array([score], np.int64), out)
    return float(out[0])


def naive_quiescence(well, score: int, depth: int) -> float:
    """max(value of the well, quiescence of each clearing child of the adversary's piece)."""
    value = inner_value(well, score)
    if depth == 0 or naive.top_row(well) < BAR:
        return value
    piece = ADVERSARY.next_piece(well)
    for rows, child_score, over in naive.children(well, score, piece):
        if child_score > score and not over:
            value = max(value, naive_quiescence(rows, child_score, depth - 1))
    return value


def beam_children() -> tuple[np.ndarray, np.ndarray]:
    """Every child a small beam search evaluates: stacks where clears come within reach.

    (In random wells the adversary's piece almost never clears a line.)
    """
    batches = []

    class Recorder:
        def evaluate(self, rows, scores, out):
            INNER.evaluate(rows, scores, out)
            batches.append((rows.copy(), scores.copy()))

    search = BeamSearch(Recorder(), 100, max_depth=80)
    while search.step() is not None:
        pass
    return np.concatenate([r for r, _ in batches]), np.concatenate([s for _, s in batches])


@pytest.fixture(scope="module")
def sample():
    """Evenly spaced beam children holding a row that one piece row could complete."""
    rows, scores = beam_children()
    near_full = np.flatnonzero([any(bin(int(v)).count("1") >= 6 for v in r[BAR:]) for r in rows])
    pick = near_full[:: len(near_full) // 300][:300]
    return rows[pick], scores[pick]


@pytest.mark.parametrize("depth", [1, 3])
def test_quiescence_equals_naive_recursion(sample, depth):
    rows, scores = sample
    out = np.zeros(len(rows))
    QuiescenceEvaluation(INNER, depth).evaluate(rows, scores, out)
    wells = [tuple(int(v) for v in r) for r in rows]
    expected = [naive_quiescence(w, int(s), depth) for w, s in zip(wells, scores)]
    improved = sum(e > inner_value(w, int(s)) for e, w, s in zip(expected, wells, scores))
    assert out.tolist() == expected
    assert improved >= 5  # the sample exercises the lookahead


def naive_optimistic(well, score: int, depth: int) -> float:
    """The same over the single clears of the first piece (S, Z, O, I, L, J, T) that
    cannot clear two lines at once."""
    value = inner_value(well, score)
    if depth == 0 or naive.top_row(well) < BAR:
        return value
    for piece in range(7):
        kids = [(rows, s) for rows, s, over in naive.children(well, score, "SZOILJT"[piece])
                if s > score and not over]
        if all(s == score + 1 for _, s in kids):
            for rows, s in kids:
                value = max(value, naive_optimistic(rows, s, depth - 1))
            return value
    return value


@pytest.mark.parametrize("depth", [1, 3])
def test_optimistic_quiescence_equals_naive_recursion(sample, depth):
    rows, scores = sample
    out = np.zeros(len(rows))
    QuiescenceEvaluation(INNER, depth, "optimistic").evaluate(rows, scores, out)
    wells = [tuple(int(v) for v in r) for r in rows]
    expected = [naive_optimistic(w, int(s), depth) for w, s in zip(wells, scores)]
    adversary = [naive_quiescence(w, int(s), depth) for w, s in zip(wells, scores)]
    assert out.tolist() == expected
    assert expected != adversary  # the two rules differ on this sample


def test_quiescence_never_lowers_the_value():
    rows = np.array([w for w, _ in WELLS[:400]], np.uint16)
    scores = np.array([s for _, s in WELLS[:400]], np.int64)
    plain = np.zeros(len(rows))
    deep = np.zeros(len(rows))
    INNER.evaluate(rows, scores, plain)
    QuiescenceEvaluation(INNER, 2).evaluate(rows, scores, deep)
    assert (deep >= plain).all() and (deep > plain).any()


def test_depth_must_be_positive():
    with pytest.raises(ValueError):
        QuiescenceEvaluation(INNER, 0)
