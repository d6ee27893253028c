"""NNUE: features against a slow reference, inference against a dense forward pass,
fitting, weight files, and a game's values (training runs: test_nnue_trainer.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hatetris.eval.heuristic import FEATURES, heuristic_features
from hatetris.nnue.features import FeatureError, active_features, layout
from hatetris.nnue.evaluation import NNUEEvaluation
from hatetris.nnue.fit import fit, held_out, predict_from_rows
from hatetris.nnue.network import Network, NetworkError, load_network, save_network

from nnue_reference import ROWS, SCORES, dense_forward

ALL_SETS = ("rows", "windows", "windows_positional", "counts", "columns")


def count_indices(well, base) -> list[int]:
    """The heuristic's features of one well (tested against naive code in
    test_heuristic), bucketed: one index per feature but the score and the cell count."""
    f = np.zeros((1, len(FEATURES)))
    heuristic_features(np.array([well], np.uint16), np.zeros(1, np.int64), True, f)
    kept = [j for j, name in enumerate(FEATURES) if name not in ("lines", "cells")]
    return [base + t * 32 + min(int(f[0, j]), 31) for t, j in enumerate(kept)]


def slow_features(well, sets) -> list[int]:
    """Feature indices written out the long way: one cell at a time."""
    lay = layout(sets)
    cell = lambda r, c: (int(well[r]) >> c) & 1  # noqa: E731
    out = [0]
    if "rows" in sets:
        out += [lay.rows_base + (r - 4) * 1024 + int(well[r]) for r in range(4, 20)]
    for t in range(4, 17):
        for c in range(8):
            pattern = sum(cell(t + i, c + j) << (3 * i + j) for i in range(4) for j in range(3))
            if "windows" in sets:
                out.append(lay.windows_base + pattern)
            if "windows_positional" in sets:
                out.append(lay.windows_pos_base + ((t - 4) * 8 + c) * 4096 + pattern)
    if "counts" in sets:
        out += count_indices(well, lay.counts_base)
    if "columns" in sets:
        for c in range(10):
            filled = [r for r in range(4, 20) if cell(r, c)]
            height = 20 - min(filled) if filled else 0
            out.append(lay.columns_base + c * 17 + height)
    return sorted(out)


@pytest.mark.parametrize("sets", [("rows",), ("windows",), ("rows", "windows"), ("counts",),
                                  ("columns",), ALL_SETS])
def test_features_match_slow_reference(sets):
    lay = layout(sets)
    idx = np.zeros(lay.max_active, np.int64)
    for i in range(0, len(ROWS), 5):
        n = active_features(ROWS, i, lay.bases, idx)
        assert n == lay.max_active
        assert sorted(idx[:n].tolist()) == slow_features(ROWS[i], sets)
        assert idx[:n].max() < lay.n_features


def test_unknown_feature_set_is_refused():
    with pytest.raises(FeatureError):
        layout(("rows", "diagonals"))


@pytest.mark.parametrize("sets", [("rows", "windows"), ("windows_positional",),
                                  ("rows", "windows", "counts"), ("rows", "windows", "columns")])
def test_inference_equals_dense_forward_pass(sets):
    net = Network.random(sets, hidden=24, seed=3, scale=2.0)
    rows = ROWS[:300]
    out = np.zeros(len(rows))
    NNUEEvaluation(net, precision="float32").evaluate(rows, SCORES[:300], out)
    dense = dense_forward(net, rows)
    np.testing.assert_allclose(out, dense, atol=1e-5)
    assert out.std() > 0.05  # not a constant network
    # The search's int16 path: within its stated worst-case bound of the same pass.
    from hatetris.nnue.quantized import quantize

    NNUEEvaluation(net).evaluate(rows, SCORES[:300], out)
    assert np.abs(out - dense).max() <= quantize(net).error_bound(net.layout.max_active)


def test_training_lowers_the_loss():
    net = Network.random(("rows", "windows"), hidden=16, seed=1)
    # A learnable target: fewer filled cells in the bottom rows is better.
    cells = np.array([[bin(int(v)).count("1") for v in w] for w in ROWS]).sum(axis=1)
    labels = np.tanh((20 - cells) / 10.0)
    result = fit(net, ROWS, labels, seed=0, epochs=15, lr=3e-3)
    assert result.val_loss < 0.5 * result.initial_val_loss
    out = np.zeros(len(ROWS))
    NNUEEvaluation(net).evaluate(ROWS, SCORES, out)
    assert np.corrcoef(out, labels)[0, 1] > 0.8


def test_validation_wells_are_chosen_by_the_well_alone():
    """A child generation's pool holds its parent's: a well held out from the parent's
    pool must stay held out, or the child is validated on wells its parent trained on."""
    pool = ROWS[:1000]
    grown = np.concatenate([ROWS[1000:], pool, pool[:50]])  # new wells, and repeats
    assert (held_out(grown, 0.1)[500:1500] == held_out(pool, 0.1)).all()
    val = held_out(grown, 0.1)
    seen = {}
    for well, v in zip(map(bytes, grown), val):
        assert seen.setdefault(well, v) == v  # a repeated well is never on both sides
    assert 0.05 < val.mean() < 0.15
    # fit validates on exactly those wells: with no epoch, its loss is the net's there.
    net = Network.random(("rows",), hidden=8, seed=3)
    labels = np.linspace(-1, 1, len(pool))
    pred = np.zeros(len(pool))
    predict_from_rows(pool, net.layout.bases, net.layout.max_active, net.w1, net.w2, net.b2,
                      pred)
    v = held_out(pool, 0.1)
    result = fit(net, pool, labels, seed=0, epochs=0)
    assert result.initial_val_loss == pytest.approx(np.mean((pred[v] - labels[v]) ** 2))


def test_save_load_round_trip_and_corruption(tmp_path):
    net = Network.random(("rows", "windows"), hidden=32, seed=2)
    path = tmp_path / "gen-0.npz"
    save_network(path, net, generation=0, samples=0)
    back = load_network(path)
    assert back.sets == net.sets and back.meta["generation"] == 0
    for a, b in ((back.w1, net.w1), (back.w2, net.w2), (back.b2, net.b2)):
        assert np.array_equal(a, b)
    # corrupt weights
    bad = tmp_path / "bad.npz"
    bad.write_bytes(path.read_bytes()[:200])
    bad.with_suffix(".json").write_text(path.with_suffix(".json").read_text())
    with pytest.raises(NetworkError, match="corrupt"):
        load_network(bad)
    # a description that does not match the weights
    side = json.loads(path.with_suffix(".json").read_text())
    side["hidden"] = 16
    path.with_suffix(".json").write_text(json.dumps(side))
    with pytest.raises(NetworkError, match="do not match"):
        load_network(path)
    # missing description, non-finite weights
    with pytest.raises(NetworkError, match="not found"):
        load_network(tmp_path / "none.npz")
    net.w2[0] = np.nan
    save_network(path, net)
    with pytest.raises(NetworkError, match="non-finite"):
        load_network(path)


def test_a_compact_network_quantizes_to_the_same_int16_weights(tmp_path):
    """Stored compactly (int16, non-zero rows), a network loads as float32 weights that
    quantize back to its own int16 copy exactly (so the search plays the same games),
    within half a unit of the scale of its float weights, with w2 and b2 unchanged; the
    file is smaller when rows are zero, and a broken compact file is refused."""
    from click.testing import CliRunner

    from hatetris.cli import cli
    from hatetris.nnue.quantized import quantize

    net = Network.random(("rows", "windows", "windows_positional"), hidden=8, seed=4)
    net.w1[np.random.default_rng(0).random(net.w1.shape[0]) < 0.7] = 0.0  # features never seen
    net.w1[5, 3] = 1.75  # a peak like the trained networks' (the scale is 2**-14)
    plain, small = tmp_path / "plain.npz", tmp_path / "small.npz"
    save_network(plain, net)
    save_network(small, net, compact=True, generation=3)
    back = load_network(small)
    a, b = quantize(net), quantize(back)
    assert a.shift == b.shift == 14 and np.array_equal(a.w1, b.w1)
    assert np.abs(back.w1 - net.w1).max() <= 2.0 ** -15 + 1e-7
    assert np.array_equal(back.w2, net.w2) and np.array_equal(back.b2, net.b2)
    assert back.meta["generation"] == 3 and back.sets == net.sets
    assert small.stat().st_size < plain.stat().st_size / 2
    # The command checks the same promise on the file it wrote.
    out = CliRunner().invoke(cli, ["nets", "compact", str(plain), "--out",
                                   str(tmp_path / "cli.npz")])
    assert out.exit_code == 0 and "int16 at 2**-14" in out.output, out.output
    assert np.array_equal(quantize(load_network(tmp_path / "cli.npz")).w1, a.w1)
    # Rows out of range, or out of order: refused in one line.
    with np.load(small) as z:
        arrays = dict(z)
    arrays["w1_rows"] = arrays["w1_rows"][::-1].copy()
    np.savez_compressed(small, **arrays)
    with pytest.raises(NetworkError, match="corrupt network weights"):
        load_network(small)
    out = CliRunner().invoke(cli, ["nets", "compact", str(small), "--out",
                                   str(tmp_path / "x.npz")])
    assert out.exit_code == 2 and "corrupt network weights" in out.output


def test_game_values_are_each_network_on_each_well_of_the_game(tmp_path):
    from click.testing import CliRunner

    from hatetris.cli import cli
    from hatetris.codecs import decode
    from hatetris.game import replay
    from hatetris.nnue.game_values import game_values

    game = json.loads(Path("data/solutions/quick-w2000.json").read_text())
    keys = decode(game["replay"])
    nets = [load_network("data/nets/hind-6.npz"), Network.random(("rows",), 8, seed=3)]
    lines, values = game_values(keys, nets)
    result, wells = replay(keys, steps=True)
    assert len(lines) == result.pieces_placed and lines[-1] == game["score"]
    assert np.all(np.diff(lines) >= 0) and lines[0] == 0
    for net, v in zip(nets, values):
        np.testing.assert_allclose(v, dense_forward(net, wells.astype(np.uint16)), atol=1e-5)
    out = CliRunner().invoke(cli, ["nets", "values", game["replay"], "--networks",
                                   "hind-6", "--every", "50"])
    assert out.exit_code == 0, out.output
    rows = [line.split() for line in out.output.splitlines()[1:]]
    assert [int(r[0]) for r in rows[:-1]] == [50, 100, result.pieces_placed]
    assert float(rows[1][2]) == pytest.approx(values[0, 99], abs=5e-4)
    assert float(rows[-1][1]) == pytest.approx(values[0].mean(), abs=5e-4)
    (tmp_path / "bad.npz").write_bytes(b"not a network")
    (tmp_path / "bad.json").write_text("{")
    out = CliRunner().invoke(cli, ["nets", "values", game["replay"], "--networks",
                                   str(tmp_path / "bad.npz")])
    assert out.exit_code == 2 and "corrupt network description" in out.output
