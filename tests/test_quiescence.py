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


def naive_optimistic(well, score: int, depth: int, discount: float = 0.0) -> float:
    """The same over the single clears of the first piece (S, Z, O, I, L, J, T) that
    cannot clear two lines at once; a well k clears down counts its value less k x
    ``discount``."""
    value = inner_value(well, score)
    if depth == 0 or naive.top_row(well) < BAR:
        return value
    for piece in range(7):
        kids = [(rows, s) for rows, s, over in naive.children(well, score, "SZOILJT"[piece])
                if s > score and not over]
        if all(s == score + 1 for _, s in kids):
            for rows, s in kids:
                value = max(value, naive_optimistic(rows, s, depth - 1, discount) - discount)
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


def test_a_discount_trusts_each_clear_down_a_chain_less(sample):
    rows, scores = sample
    wells = [tuple(int(v) for v in r) for r in rows]
    plain = np.zeros(len(rows))
    QuiescenceEvaluation(INNER, 3, "optimistic").evaluate(rows, scores, plain)
    out = np.zeros(len(rows))
    QuiescenceEvaluation(INNER, 3, "optimistic", discount=0.05).evaluate(rows, scores, out)
    expected = [naive_optimistic(w, int(s), 3, 0.05) for w, s in zip(wells, scores)]
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12)
    assert (out <= plain).all() and (out < plain).any()
    with pytest.raises(ValueError):
        QuiescenceEvaluation(INNER, 3, "optimistic", discount=-0.1)


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


def naive_clearing_children(well, score: int, optimistic: bool) -> list:
    """The chain's children of one well, sorted: the adversary's piece's clears, or the
    optimistic piece's single clears."""
    if naive.top_row(well) < BAR:
        return []
    pieces = range(7) if optimistic else [ADVERSARY.next_piece(well)]
    for piece in pieces:
        name = "SZOILJT"[piece] if optimistic else piece
        kids = [(tuple(rows), s) for rows, s, over in naive.children(well, score, name)
                if s > score and not over]
        if not optimistic or all(s == score + 1 for _, s in kids):
            return sorted(kids)
    return []


@pytest.mark.parametrize("optimistic", [False, True])
def test_clearing_children_in_blocks_and_grown_regions_equal_naive(sample, monkeypatch,
                                                                   optimistic):
    """Several blocks, regions that overflow and grow: the same children, in well order."""
    import hatetris.eval.quiescence as quiescence

    rows, scores = sample
    monkeypatch.setattr(quiescence, "BLOCK", 64)
    ev = QuiescenceEvaluation(INNER, 1, "optimistic" if optimistic else "adversary")
    ev._regions[0] = 1
    kids, kid_scores, parent = ev._clearing_children(0, rows, scores, None)
    assert ev._regions[0] > 1  # the region grew
    assert (np.diff(parent) >= 0).all()
    got = [sorted((tuple(int(v) for v in kids[j]), int(kid_scores[j]))
                  for j in np.flatnonzero(parent == i)) for i in range(len(rows))]
    expected = [naive_clearing_children(tuple(int(v) for v in r), int(s), optimistic)
                for r, s in zip(rows, scores)]
    assert got == expected
    assert sum(map(len, expected)) >= 20  # enough to overflow regions of one


def test_output_that_grows_across_blocks_keeps_what_was_written(monkeypatch):
    """Thousands of chain children collected in blocks of 64 wells into an output sized
    for almost none: it grows (and copies) many times, and still equals one block."""
    import hatetris.eval.quiescence as quiescence

    rows, scores = beam_children()
    whole = QuiescenceEvaluation(INNER, 1, "optimistic")._clearing_children(0, rows, scores,
                                                                             None)
    assert len(whole[0]) > 3 * 1024
    monkeypatch.setattr(quiescence, "BLOCK", 64)
    ev = QuiescenceEvaluation(INNER, 1, "optimistic")
    ev._per_well[0] = 0.0
    grown = ev._clearing_children(0, rows, scores, None)
    for a, b in zip(whole, grown):
        assert np.array_equal(a, b)


def test_shortlist_chains_only_the_best_children(sample):
    """With a shortlist, children outside the best ``shortlist x keep_best`` by their own
    value keep it; those inside get the full quiescence value; a shortlist as long as the
    batch is the exact evaluation."""
    rows, scores = sample
    n = len(rows)
    own = np.zeros(n)
    INNER.evaluate(rows, scores, own)
    exact = np.zeros(n)
    QuiescenceEvaluation(INNER, 2).evaluate(rows, scores, exact)

    def children_values(shortlist, keep_best):
        ev = QuiescenceEvaluation(INNER, 2, shortlist=shortlist)
        out = np.full(n, -np.inf)
        ev.evaluate_children(rows, 0, np.array([0]), np.array([n]), rows, scores,
                             np.ones(n, np.bool_), out, keep_best=keep_best)
        return out

    assert children_values(None, 10).tolist() == exact.tolist()
    assert children_values(3, n).tolist() == exact.tolist()
    short = children_values(2, 25)
    best = own >= np.sort(own)[-50]
    assert short[best].tolist() == exact[best].tolist()
    assert short[~best].tolist() == own[~best].tolist()
    assert (exact[~best] > own[~best]).any()  # the shortlist did change something


def test_shortlist_must_be_at_least_one():
    with pytest.raises(ValueError):
        QuiescenceEvaluation(INNER, 2, shortlist=0.5)


@pytest.mark.parametrize("optimistic", [False, True])
def test_chain_wells_are_the_wells_the_value_rests_on(sample, optimistic):
    """The max of a root's own value and its chain wells' values is the quiescence value,
    and a root's chain wells are exactly the wells the naive chains reach from it."""
    rows, scores = sample
    ev = QuiescenceEvaluation(INNER, 3, "optimistic" if optimistic else "adversary")
    wells, well_scores, root = ev.chain_wells(rows, scores)
    assert len(wells) >= 20
    own = np.zeros(len(rows))
    INNER.evaluate(rows, scores, own)
    chain = np.zeros(len(wells))
    INNER.evaluate(wells, well_scores, chain)
    best = own.copy()
    np.maximum.at(best, root, chain)
    out = np.zeros(len(rows))
    ev.evaluate(rows, scores, out)
    assert best.tolist() == out.tolist()
    for i in np.unique(root)[:40]:
        reach = set()
        frontier = [(tuple(int(v) for v in rows[i]), int(scores[i]))]
        for _ in range(3):
            frontier = [k for w, s in frontier for k in naive_clearing_children(w, s, optimistic)]
            reach.update(frontier)
        got = {(tuple(int(v) for v in wells[j]), int(well_scores[j]))
               for j in np.flatnonzero(root == i)}
        assert got == reach


def test_repeated_chain_wells_are_evaluated_once(sample):
    """Siblings' chains meet: each distinct chain well of a level is summed once, and the
    values are those of evaluating every well."""
    rows, scores = sample
    # Repeated roots (as siblings of a beam step repeat) repeat whole chains.
    rows, scores = np.concatenate([rows, rows[::3]]), np.concatenate([scores, scores[::3]])
    seen = []

    class Recorder:
        def evaluate(self, r, s, out):
            seen.append(len(r))
            INNER.evaluate(r, s, out)

    ev = QuiescenceEvaluation(Recorder(), 3, "optimistic")
    out = np.zeros(len(rows))
    ev.evaluate(rows, scores, out)
    wells, well_scores, root = ev.chain_wells(rows, scores)
    distinct = len({(w.tobytes(), int(s)) for w, s in zip(wells, well_scores)})
    assert sum(seen[1:]) < len(wells)  # repeats were skipped
    assert sum(seen[1:]) >= distinct  # (a well may repeat across levels: summed per level)
    # Every chain well evaluated, repeats included (chain_wells does not deduplicate;
    # the test above holds it to the naive chains).
    expected = np.zeros(len(rows))
    INNER.evaluate(rows, scores, expected)
    chain = np.zeros(len(wells))
    INNER.evaluate(wells, well_scores, chain)
    np.maximum.at(expected, root, chain)
    assert out.tolist() == expected.tolist()
