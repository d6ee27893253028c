"""The fit's Numba kernels against dense numpy: one minibatch of the value loss and one of
the ranking loss move the weights as the textbook gradient and Adam step say, and a fit
with pairs learns to order them."""

from __future__ import annotations

import numpy as np
import pytest

from hatetris.nnue.features import active_features
from hatetris.nnue.fit import (feature_matrix, fit, pair_loss, train_epoch,
                               train_pairs_epoch)
from hatetris.nnue.network import Network

from nnue_reference import random_wells

ROWS, _ = random_wells(400, seed=11)
SETS = ("rows", "windows")


def dense_inputs(net: Network, rows: np.ndarray) -> np.ndarray:
    lay = net.layout
    x = np.zeros((len(rows), lay.n_features))
    idx = np.zeros(lay.max_active, np.int64)
    for i in range(len(rows)):
        n = active_features(rows, i, lay.bases, idx)
        np.add.at(x[i], idx[:n], 1.0)
    return x


def dense_grads(x, w1, w2, b2, d_out_fn):
    """Gradients of a loss whose derivative by each output is ``d_out_fn(out)``."""
    h = np.tanh(x @ w1)
    out = np.tanh(h @ w2 + b2[0])
    d_pre = d_out_fn(out) * (1 - out ** 2)
    g_w2 = h.T @ d_pre
    g_b2 = np.array([d_pre.sum()])
    g_w1 = x.T @ ((d_pre[:, None] * w2[None, :]) * (1 - h ** 2))
    return g_w1, g_w2, g_b2


def adam_first_step(w, g, lr, rows=None, decay=0.0, anchor=None):
    """Adam's first step from zero moments is lr * g / (|g| + eps) (bias-corrected);
    lazily, only the rows ``rows`` of ``w`` move; with ``decay``, also lr * decay times
    the distance to ``anchor`` (AdamW's decoupled decay, toward the anchor)."""
    step = lr * g / (np.abs(g) + 1e-8)
    if decay:
        step = step + lr * decay * (w - anchor)
    if rows is not None:
        mask = np.zeros(w.shape[0], bool)
        mask[rows] = True
        step[~mask] = 0.0
    return w - step


def kernel_state(net):
    w1, w2, b2 = (a.astype(np.float64) for a in (net.w1, net.w2, net.b2))
    return dict(w1=w1, w2=w2, b2=b2, m1=np.zeros_like(w1), v1=np.zeros_like(w1),
                m2=np.zeros_like(w2), v2=np.zeros_like(w2), mb=np.zeros(1), vb=np.zeros(1),
                touched=np.zeros(w1.shape[0], np.int64), g1=np.zeros_like(w1))


def indices(net, rows):
    lay = net.layout
    idx = np.zeros((len(rows), lay.max_active), np.int64)
    nact = np.zeros(len(rows), np.int64)
    feature_matrix(rows, lay.bases, lay.max_active, idx, nact)
    return idx, nact


@pytest.mark.parametrize("decay", [0.0, 3.0])
def test_one_value_step_equals_dense_adam(decay):
    net = Network.random(SETS, hidden=8, seed=2, scale=1.0)
    # The anchor: another network, so the pull toward it is not 0 on the first step.
    anchor = Network.random(SETS, hidden=8, seed=3, scale=1.0)
    a1, a2 = anchor.w1.astype(np.float64), anchor.w2.astype(np.float64)
    rows = ROWS[:64]
    labels = np.linspace(-0.9, 0.9, len(rows))
    x = dense_inputs(net, rows)
    w1, w2, b2 = (a.astype(np.float64) for a in (net.w1, net.w2, net.b2))
    g1, g2, gb = dense_grads(x, w1, w2, b2, lambda out: 2 * (out - labels) / len(rows))
    lr = 1e-3
    s = kernel_state(net)
    idx, nact = indices(net, rows)
    train_epoch(idx, nact, labels, np.arange(len(rows)), len(rows), lr, s["w1"], s["w2"],
                s["b2"], s["m1"], s["v1"], s["m2"], s["v2"], s["mb"], s["vb"], 0,
                s["touched"], s["g1"], decay, a1, a2)
    active = np.flatnonzero(x.any(axis=0))
    np.testing.assert_allclose(s["w1"], adam_first_step(w1, g1, lr, active, decay, a1),
                               atol=1e-9)
    np.testing.assert_allclose(s["w2"], adam_first_step(w2, g2, lr, None, decay, a2),
                               atol=1e-9)
    np.testing.assert_allclose(s["b2"], adam_first_step(b2, gb, lr), atol=1e-9)


@pytest.mark.parametrize("temperature,weight", [(0.1, 1.0), (0.5, 2.0)])
def test_one_ranking_step_equals_dense_adam(temperature, weight):
    net = Network.random(SETS, hidden=8, seed=4, scale=1.0)
    rows = ROWS[:80]
    rng = np.random.default_rng(0)
    better, worse = rng.integers(0, 80, 40), rng.integers(0, 80, 40)
    x = dense_inputs(net, rows)
    w1, w2, b2 = (a.astype(np.float64) for a in (net.w1, net.w2, net.b2))

    def d_out(out):  # d/d out of weight * mean softplus((out[worse] - out[better]) / T)
        z = (out[worse] - out[better]) / temperature
        s = weight / (1 + np.exp(-z)) / temperature / len(better)
        d = np.zeros_like(out)
        np.add.at(d, worse, s)
        np.add.at(d, better, -s)
        return d

    g1, g2, gb = dense_grads(x, w1, w2, b2, d_out)
    lr = 1e-3
    s = kernel_state(net)
    idx, nact = indices(net, rows)
    loss, step = train_pairs_epoch(idx, nact, better, worse, np.arange(len(better)),
                                   len(better), lr, temperature, weight, s["w1"], s["w2"],
                                   s["b2"], s["m1"], s["v1"], s["m2"], s["v2"], s["mb"],
                                   s["vb"], 0, s["touched"], s["g1"], 0.0, s["w1"],
                                   s["w2"])
    assert step == 1
    out = np.tanh(np.tanh(x @ w1) @ w2 + b2[0])
    z = (out[worse] - out[better]) / temperature
    assert loss == pytest.approx(np.mean(np.logaddexp(0, z)), rel=1e-9)
    touched = np.flatnonzero(x[np.concatenate([better, worse])].any(axis=0))
    np.testing.assert_allclose(s["w1"], adam_first_step(w1, g1, lr, touched), atol=1e-9)
    np.testing.assert_allclose(s["w2"], adam_first_step(w2, g2, lr), atol=1e-9)
    np.testing.assert_allclose(s["b2"], adam_first_step(b2, gb, lr), atol=1e-9)


def test_pair_loss_and_accuracy_equal_dense():
    net = Network.random(SETS, hidden=8, seed=5, scale=1.0)
    rows = ROWS[:100]
    rng = np.random.default_rng(1)
    better, worse = rng.integers(0, 100, 60), rng.integers(0, 100, 60)
    out = np.tanh(np.tanh(dense_inputs(net, rows) @ net.w1.astype(np.float64))
                  @ net.w2.astype(np.float64) + net.b2[0])
    idx, nact = indices(net, rows)
    loss, accuracy = pair_loss(idx, nact, better, worse, 0.2, *(a.astype(np.float64) for a in
                                                                (net.w1, net.w2, net.b2)))
    assert loss == pytest.approx(np.mean(np.logaddexp(0, (out[worse] - out[better]) / 0.2)))
    assert accuracy == pytest.approx(np.mean(out[better] > out[worse]))


def test_a_fit_with_pairs_learns_their_order():
    """Pairs ordered by a hidden rule (fewer filled cells is better), no labels at all:
    the fit orders held-out pairs by that rule far better than chance."""
    net = Network.random(SETS, hidden=8, seed=6, scale=0.1)
    rows = ROWS
    cells = np.array([sum(bin(int(r)).count("1") for r in w) for w in rows])
    rng = np.random.default_rng(2)
    a, b = rng.integers(0, len(rows), 3000), rng.integers(0, len(rows), 3000)
    keep = cells[a] != cells[b]
    a, b = a[keep], b[keep]
    better, worse = np.where(cells[a] < cells[b], a, b), np.where(cells[a] < cells[b], b, a)
    labels = np.full(len(rows), np.nan)
    result = fit(net, rows, labels, epochs=15, lr=3e-3, pairs=(better, worse),
                 temperature=0.1)
    assert result.val_pair_accuracy is not None and result.val_pair_accuracy > 0.8


def test_decay_pulls_a_fit_toward_its_anchor():
    """A fit with a strong decay toward its start ends nearer its start than one without;
    toward zero, nearer zero; an unknown anchor is refused."""
    rows = ROWS[:200]
    labels = np.linspace(-0.8, 0.8, len(rows))
    start = Network.random(SETS, hidden=8, seed=7, scale=1.0)
    moved = {}
    for decay, to in ((0.0, "start"), (300.0, "start"), (300.0, "zero")):
        net = start.copy()
        fit(net, rows, labels, epochs=3, lr=3e-3, patience=99, decay=decay, decay_to=to)
        moved[decay, to] = net.w1
    def dist(a, b):
        return float(np.abs(a - b).sum())

    assert dist(moved[300.0, "start"], start.w1) < dist(moved[0.0, "start"], start.w1)
    assert float(np.abs(moved[300.0, "zero"]).sum()) < float(np.abs(moved[0.0, "start"]).sum())
    with pytest.raises(ValueError, match="decay_to"):
        fit(start.copy(), rows, labels, epochs=1, decay=1.0, decay_to="parent")
