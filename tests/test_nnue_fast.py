"""The beam's fast NNUE path against the float network and a fresh sum: int16 weights
within tolerance, the parent-to-child accumulator update equal to a fresh accumulator
(line clears included), and batched child evaluation equal to one-by-one evaluation."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from hatetris.codecs import decode
from hatetris.engine import children
from hatetris.game import replay
from hatetris.nnue.accumulator import child_accumulator, fresh_accumulator
from hatetris.nnue.evaluation import NNUEEvaluation
from hatetris.nnue.network import Network, load_network
from hatetris.nnue.quantized import TOLERANCE, quantize, tanh_fast
from hatetris.rules import HEIGHT
from hatetris.search.beam import BeamSearch
from numba import njit

from shared_files import RECORDS

HIND6 = Path(__file__).resolve().parents[1] / "data" / "nets" / "hind-6.npz"
SETS = [("rows", "windows"), ("rows", "windows_positional"), ("windows",), ("rows",),
        ("rows", "windows", "counts"), ("columns",), ("rows", "windows", "columns")]


def random_families(n_parents: int, seed: int):
    """Random wells (a random game each) and all their children for a random piece."""
    rng = random.Random(seed)
    parents, kids, owner = [], [], []
    well, score = np.zeros(HEIGHT, np.uint16), 0
    while len(parents) < n_parents:
        rows, sc, _ = children(well, score, rng.randrange(7), keep_game_over=False)
        if len(rows) == 0:
            well, score = np.zeros(HEIGHT, np.uint16), 0
            continue
        parents.append(well)
        kids.extend(rows)
        owner.extend([len(parents) - 1] * len(rows))
        k = rng.randrange(len(rows))
        well, score = rows[k], int(sc[k])
    return (np.array(parents, np.uint16), np.array(kids, np.uint16),
            np.array(owner, np.int64))


PARENTS, KIDS, OWNER = random_families(400, seed=11)


def record_wells(name: str = "David & Felipe (6), first 5,000 pieces", limit: int = 3000):
    record = next(r for r in RECORDS if r["name"] == name)
    _, wells = replay(decode(record["replays"]["Base2048"]), steps=True)
    return np.array(wells[:limit], np.uint16)


@njit
def _all_accumulators(parents, kids, owner, bases, w1, max_active, fresh_out, upd_out,
                      updated):
    idx = np.zeros(max_active, np.int64)
    pacc = np.zeros(w1.shape[1], np.int32)
    acc = np.zeros(w1.shape[1], np.int32)
    for j in range(kids.shape[0]):
        fresh_accumulator(parents, owner[j], bases, w1, idx, pacc)
        updated[j] = child_accumulator(parents, owner[j], pacc, kids, j, bases, w1, idx, acc)
        upd_out[j] = acc
        fresh_accumulator(kids, j, bases, w1, idx, acc)
        fresh_out[j] = acc


@pytest.mark.parametrize("sets", SETS)
def test_child_accumulator_equals_a_fresh_sum(sets):
    net = Network.random(sets, hidden=16, seed=3, scale=3.0)
    q = quantize(net)
    lay = net.layout
    fresh = np.zeros((len(KIDS), q.hidden), np.int32)
    upd = np.zeros_like(fresh)
    updated = np.zeros(len(KIDS), np.bool_)
    _all_accumulators(PARENTS, KIDS, OWNER, lay.bases, q.w1, lay.max_active, fresh, upd,
                      updated)
    assert np.array_equal(fresh, upd)
    cells = np.unpackbits(KIDS.view(np.uint8), axis=1).sum(axis=1)
    parent_cells = np.unpackbits(PARENTS.view(np.uint8), axis=1).sum(axis=1)
    cleared = cells < parent_cells[OWNER] + 4
    if "counts" in sets:
        assert not updated.any()
    else:
        # Most children are updated; line clears (more than 4 rows changed) are summed
        # afresh, and both kinds occur here.
        assert updated.mean() > 0.5 and (~updated).any()
        assert cleared.any()


def test_tanh_fast_is_within_its_bound():
    x = np.linspace(-12, 12, 200_001).astype(np.float32)
    got = np.array([tanh_fast(v) for v in x[::50]], np.float64)
    assert np.abs(got - np.tanh(x[::50].astype(np.float64))).max() < 4e-7


@pytest.mark.parametrize("sets", SETS[:3])
def test_quantized_values_stay_within_tolerance_of_float(sets):
    net = Network.random(sets, hidden=32, seed=7, scale=1.5)
    rows = np.concatenate([PARENTS, KIDS])
    scores = np.zeros(len(rows), np.int64)
    exact = np.zeros(len(rows))
    fast = np.zeros(len(rows))
    NNUEEvaluation(net, precision="float32").evaluate(rows, scores, exact)
    NNUEEvaluation(net).evaluate(rows, scores, fast)
    assert np.abs(exact - fast).max() <= quantize(net).error_bound(net.layout.max_active)
    assert np.std(exact) > 0.05  # the values are not all alike


def test_shipped_network_quantized_on_record_wells():
    net = load_network(HIND6)
    rows = np.concatenate([record_wells(), PARENTS, KIDS])
    scores = np.zeros(len(rows), np.int64)
    exact = np.zeros(len(rows))
    fast = np.zeros(len(rows))
    NNUEEvaluation(net, precision="float32").evaluate(rows, scores, exact)
    NNUEEvaluation(net).evaluate(rows, scores, fast)
    assert np.abs(exact - fast).max() < TOLERANCE


def test_children_evaluation_equals_one_by_one():
    net = Network.random(("rows", "windows"), hidden=32, seed=9, scale=1.5)
    ev = NNUEEvaluation(net)
    count = np.bincount(OWNER, minlength=len(PARENTS)).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    keep = np.random.default_rng(0).random(len(KIDS)) < 0.8
    scores = np.zeros(len(KIDS), np.int64)
    batched = np.full(len(KIDS), -np.inf)
    ev.evaluate_children(PARENTS, 0, offsets, count, KIDS, scores, keep, batched)
    alone = np.zeros(len(KIDS))
    ev.evaluate(KIDS, scores, alone)
    assert np.array_equal(batched[keep], alone[keep])
    assert np.all(batched[~keep] == -np.inf)


def test_float_and_int16_beams_play_close_games():
    """The int16 path ranks like the float path: the same short game at a small width."""
    net = load_network(HIND6)
    games = []
    for precision in ("float32", "int16"):
        search = BeamSearch(NNUEEvaluation(net, precision=precision), 50, 40)
        while search.step() is not None:
            pass
        games.append((search.best_score, search.depth))
    assert games[0] == games[1]


def test_a_pickled_evaluation_ships_the_int16_rows_and_values_the_same():
    """A cluster pickles the evaluation for its workers: only the int16 copy's non-zero
    rows travel, and the copy values every well exactly as the original does."""
    import pickle

    net = Network.random(("rows", "windows_positional"), hidden=32, seed=5, scale=1.5)
    net.w1[1 + np.arange(0, len(net.w1) - 1, 3)] = 0.0  # unseen features, as trained
    ev = NNUEEvaluation(net, lines_weight=0.25)
    blob = pickle.dumps(ev)
    copy = pickle.loads(blob)
    assert len(blob) < 0.6 * net.w1.nbytes
    assert copy.quantized.shift == ev.quantized.shift
    assert np.array_equal(copy.quantized.w1, ev.quantized.w1)
    rows = np.concatenate([PARENTS, KIDS])
    scores = np.arange(len(rows), dtype=np.int64) % 3
    a, b = np.zeros(len(rows)), np.zeros(len(rows))
    ev.evaluate(rows, scores, a)
    copy.evaluate(rows, scores, b)
    assert np.array_equal(a, b) and np.std(a) > 0.05
    floats = pickle.loads(pickle.dumps(NNUEEvaluation(net, precision="float32")))
    assert floats.quantized is None and np.array_equal(floats.net.w1, net.w1)
