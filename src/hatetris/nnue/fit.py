"""Fitting the network: MSE, Adam, minibatches, early stopping on a held-out split.

The input layer is sparse, so a minibatch touches only the weight rows of its active
features; gradients and Adam moments are updated for those rows only ("lazy" Adam).
A few hundred thousand samples train in seconds with Numba; a framework would spend
more on moving sparse batches around than on arithmetic here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from ..config import NJIT, NJIT_PARALLEL
from ..core import rows_hash
from .features import active_features
from .network import Network, forward_one


@njit(**NJIT_PARALLEL)
def feature_matrix(rows, bases, max_active, out_idx, out_n):
    for i in prange(rows.shape[0]):
        out_n[i] = active_features(rows, i, bases, out_idx[i])


@njit(**NJIT_PARALLEL)
def predict_from_rows(rows, bases, max_active, w1, w2, b2, out):
    for i in prange(rows.shape[0]):
        idx = np.zeros(max_active, np.int64)
        acc = np.zeros(w1.shape[1], np.float32)
        out[i] = forward_one(rows, i, bases, w1, w2, b2, idx, acc)


@njit(**NJIT)
def _hash_fractions(rows, out):
    for i in range(rows.shape[0]):
        out[i] = (rows_hash(rows[i]) >> np.uint64(11)) * 2.0 ** -53


def held_out(rows: np.ndarray, fraction: float) -> np.ndarray:
    """Which wells form the validation split: those whose rows hash below ``fraction``.

    The split depends on the well alone, not on the data set around it. A generation's
    pool contains its parent's pool, so a random split would validate the child on
    wells its parent was trained on: the parent's own loss there is optimistic, and the
    child can fail to beat it merely for that. By hash, a validation well stays one in
    every later pool, and a well that appears twice is never on both sides. If no well
    hashes below ``fraction`` (tiny sets), the one with the smallest hash is held out.

    >>> rows = np.zeros((4, 20), np.uint16); rows[:, 19] = [1, 2, 3, 4]
    >>> held_out(rows, 0.5).tolist() == held_out(rows[::-1], 0.5)[::-1].tolist()
    True
    """
    u = np.zeros(len(rows))
    _hash_fractions(np.ascontiguousarray(rows, np.uint16), u)
    val = u < fraction
    if len(rows) > 1 and not val.any():
        val[np.argmin(u)] = True
    return val


@njit(**NJIT)
def _forward_idx(idx, n, w1, w2, b2, acc, act):
    hidden = w1.shape[1]
    for h in range(hidden):
        acc[h] = 0.0
    for i in range(n):
        f = idx[i]
        for h in range(hidden):
            acc[h] += w1[f, h]
    out = np.float64(b2[0])
    for h in range(hidden):
        act[h] = np.tanh(acc[h])
        out += act[h] * w2[h]
    return np.tanh(out)


@njit(**NJIT)
def predict_idx(idx, nact, w1, w2, b2, out):
    acc = np.zeros(w1.shape[1], np.float64)
    act = np.zeros(w1.shape[1], np.float64)
    for i in range(idx.shape[0]):
        out[i] = _forward_idx(idx[i], nact[i], w1, w2, b2, acc, act)


@njit(**NJIT)
def _backprop_one(idx_i, n, d_out, act, w2, gw2, dh, g1, mark, touched, n_touched):
    """Add one sample's gradient (``d_out``: d loss / d pre-tanh output) to ``gw2`` and
    to the rows of ``g1`` it touches; return the new count of touched rows."""
    hidden = w2.shape[0]
    for h in range(hidden):
        gw2[h] += d_out * act[h]
        dh[h] = d_out * w2[h] * (1.0 - act[h] * act[h])
    for a in range(n):
        f = idx_i[a]
        if not mark[f]:
            mark[f] = True
            touched[n_touched] = f
            n_touched += 1
            for h in range(hidden):
                g1[f, h] = 0.0
        for h in range(hidden):
            g1[f, h] += dh[h]
    return n_touched


@njit(**NJIT)
def _adam_step(step, lr, touched, n_touched, mark, g1, w1, m1, v1, gw2, w2, m2, v2, gb, b2,
               mb, vb, decay, a1, a2):
    """One lazy Adam update: only the touched rows of ``w1`` move. With ``decay`` > 0,
    each moved weight is also pulled toward its anchor (``a1``, ``a2``: the fit's start,
    or 0) by ``lr * decay`` of the distance, decoupled from the gradient as AdamW's is."""
    hidden = w1.shape[1]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    c1 = 1.0 - beta1 ** step
    c2 = 1.0 - beta2 ** step
    for t in range(n_touched):
        f = touched[t]
        mark[f] = False
        for h in range(hidden):
            g = g1[f, h]
            m1[f, h] = beta1 * m1[f, h] + (1 - beta1) * g
            v1[f, h] = beta2 * v1[f, h] + (1 - beta2) * g * g
            w1[f, h] -= lr * ((m1[f, h] / c1) / (np.sqrt(v1[f, h] / c2) + eps)
                              + decay * (w1[f, h] - a1[f, h]))
    for h in range(hidden):
        g = gw2[h]
        m2[h] = beta1 * m2[h] + (1 - beta1) * g
        v2[h] = beta2 * v2[h] + (1 - beta2) * g * g
        w2[h] -= lr * ((m2[h] / c1) / (np.sqrt(v2[h] / c2) + eps) + decay * (w2[h] - a2[h]))
    mb[0] = beta1 * mb[0] + (1 - beta1) * gb
    vb[0] = beta2 * vb[0] + (1 - beta2) * gb * gb
    b2[0] -= lr * (mb[0] / c1) / (np.sqrt(vb[0] / c2) + eps)


@njit(**NJIT)
def _epoch_scratch(w1):
    """An epoch's buffers: accumulator, two activations, output-layer gradient, hidden
    gradient, and the marks of the ``w1`` rows a minibatch touched."""
    hidden = w1.shape[1]
    return (np.zeros(hidden, np.float64), np.zeros(hidden, np.float64),
            np.zeros(hidden, np.float64), np.zeros(hidden, np.float64),
            np.zeros(hidden, np.float64), np.zeros(w1.shape[0], np.bool_))


@njit(**NJIT)
def train_epoch(idx, nact, labels, order, batch, lr, w1, w2, b2, m1, v1, m2, v2, mb, vb,
                step, touched, g1, decay, a1, a2):
    """One pass over ``order`` in minibatches; returns (mean loss, Adam step count)."""
    acc, act, _, gw2, dh, mark = _epoch_scratch(w1)
    total = 0.0
    n = order.shape[0]
    for start in range(0, n, batch):
        end = min(n, start + batch)
        n_touched = 0
        gw2[:] = 0.0
        gb = 0.0
        for s in range(start, end):
            i = order[s]
            out = _forward_idx(idx[i], nact[i], w1, w2, b2, acc, act)
            err = out - labels[i]
            total += err * err
            d_out = 2.0 * err * (1.0 - out * out) / (end - start)
            gb += d_out
            n_touched = _backprop_one(idx[i], nact[i], d_out, act, w2, gw2, dh, g1, mark,
                                      touched, n_touched)
        step += 1
        _adam_step(step, lr, touched, n_touched, mark, g1, w1, m1, v1, gw2, w2, m2, v2, gb,
                   b2, mb, vb, decay, a1, a2)
    return total / max(n, 1), step


@njit(**NJIT)
def _softplus(x):
    return x + np.log1p(np.exp(-x)) if x > 0 else np.log1p(np.exp(x))


@njit(**NJIT)
def pair_loss(idx, nact, better, worse, temperature, w1, w2, b2):
    """Mean ranking loss ``softplus((v(worse) - v(better)) / T)`` over the pairs, and the
    fraction ranked the right way round (ties count as wrong)."""
    hidden = w1.shape[1]
    acc = np.zeros(hidden, np.float64)
    act = np.zeros(hidden, np.float64)
    total, right = 0.0, 0
    for t in range(better.shape[0]):
        a = _forward_idx(idx[better[t]], nact[better[t]], w1, w2, b2, acc, act)
        b = _forward_idx(idx[worse[t]], nact[worse[t]], w1, w2, b2, acc, act)
        total += _softplus((b - a) / temperature)
        right += a > b
    n = max(better.shape[0], 1)
    return total / n, right / n


@njit(**NJIT)
def train_pairs_epoch(idx, nact, better, worse, order, batch, lr, temperature, weight, w1,
                      w2, b2, m1, v1, m2, v2, mb, vb, step, touched, g1, decay, a1, a2):
    """One pass over the pairs ``order`` of the ranking loss (:func:`pair_loss`, times
    ``weight``) in minibatches; returns (mean loss, Adam step count).

    A pair says that well ``better[t]`` is worth more than well ``worse[t]``: the
    network is pushed to order them so, by a margin set by ``temperature``, and left
    alone once it does by much more (the loss flattens).
    """
    acc, act_a, act_b, gw2, dh, mark = _epoch_scratch(w1)
    total = 0.0
    n = order.shape[0]
    for start in range(0, n, batch):
        end = min(n, start + batch)
        n_touched = 0
        gw2[:] = 0.0
        gb = 0.0
        for s in range(start, end):
            t = order[s]
            i, j = better[t], worse[t]
            a = _forward_idx(idx[i], nact[i], w1, w2, b2, acc, act_a)
            b = _forward_idx(idx[j], nact[j], w1, w2, b2, acc, act_b)
            z = (b - a) / temperature
            total += _softplus(z)
            sig = 1.0 / (1.0 + np.exp(-z))  # d softplus(z) / dz
            scale = weight * sig / temperature / (end - start)
            d_a = -scale * (1.0 - a * a)
            d_b = scale * (1.0 - b * b)
            gb += d_a + d_b
            n_touched = _backprop_one(idx[i], nact[i], d_a, act_a, w2, gw2, dh, g1, mark,
                                      touched, n_touched)
            n_touched = _backprop_one(idx[j], nact[j], d_b, act_b, w2, gw2, dh, g1, mark,
                                      touched, n_touched)
        step += 1
        _adam_step(step, lr, touched, n_touched, mark, g1, w1, m1, v1, gw2, w2, m2, v2, gb,
                   b2, mb, vb, decay, a1, a2)
    return total / max(n, 1), step


@dataclass
class FitResult:
    train_loss: float
    val_loss: float
    initial_val_loss: float
    epochs: int
    val_pred_std: float
    val_pred_mean: float
    val_pair_accuracy: float | None = None  # with pairs: held-out pairs ranked right


def fit(net: Network, rows: np.ndarray, labels: np.ndarray, *, seed: int = 0,
        epochs: int = 30, batch: int = 256, lr: float = 1e-3, val_fraction: float = 0.1,
        patience: int = 3, progress=None, pairs: tuple[np.ndarray, np.ndarray] | None = None,
        pair_weight: float = 1.0, temperature: float = 0.1, decay: float = 0.0,
        decay_to: str = "start") -> FitResult:
    """Train ``net`` in place on (rows, labels); keep the weights of the best validation loss.

    The validation wells are chosen by :func:`held_out`, by hash; ``seed`` orders the
    minibatches. With ``pairs = (better, worse)`` (indices into ``rows``) each epoch also
    makes a pass of the ranking loss (:func:`train_pairs_epoch`) over the pairs whose
    better well is a training well; the validation loss then adds ``pair_weight`` times
    the ranking loss of the others. ``decay`` pulls each weight a step moves toward its
    value at the start of the fit (``decay_to="start"``: an L2 penalty toward the start,
    "L2-SP", decoupled from the gradient as AdamW's decay is), so what the start network
    knew gives way only where the data insist; or toward 0 (``"zero"``: weight decay)."""
    lay = net.layout
    n = len(rows)
    idx = np.zeros((n, lay.max_active), np.int64)
    nact = np.zeros(n, np.int64)
    feature_matrix(rows, lay.bases, lay.max_active, idx, nact)
    labels = np.asarray(labels, np.float64)
    rng = np.random.default_rng(seed)
    is_val = held_out(rows, val_fraction)
    val, train = np.flatnonzero(is_val & ~np.isnan(labels)), np.flatnonzero(
        ~is_val & ~np.isnan(labels))
    n_val = len(val)
    if pairs is not None:
        better, worse = (np.asarray(a, np.int64) for a in pairs)
        pair_val = is_val[better]
        pair_train = np.flatnonzero(~pair_val)
        vb_, vw_ = better[pair_val], worse[pair_val]
    w1 = net.w1.astype(np.float64)
    w2 = net.w2.astype(np.float64)
    b2 = net.b2.astype(np.float64)
    # With no decay the anchors are the weights themselves (the pull is then 0 exactly).
    if not decay:
        a1, a2 = w1, w2
    elif decay_to == "start":
        a1, a2 = w1.copy(), w2.copy()
    elif decay_to == "zero":
        a1, a2 = np.zeros_like(w1), np.zeros_like(w2)
    else:
        raise ValueError(f"decay_to is 'start' or 'zero', not {decay_to!r}")
    m1, v1 = np.zeros_like(w1), np.zeros_like(w1)
    m2, v2 = np.zeros_like(w2), np.zeros_like(w2)
    mb, vb = np.zeros(1), np.zeros(1)
    g1 = np.zeros_like(w1)
    touched = np.zeros(w1.shape[0], np.int64)
    pred = np.zeros(n_val)

    def val_loss() -> float:
        predict_idx(idx[val], nact[val], w1, w2, b2, pred)
        loss = float(np.mean((pred - labels[val]) ** 2)) if n_val else 0.0
        if pairs is not None and len(vb_):
            loss += pair_weight * pair_loss(idx, nact, vb_, vw_, temperature, w1, w2, b2)[0]
        return loss

    best = (val_loss(), w1.copy(), w2.copy(), b2.copy())
    initial = best[0]
    step, bad, epoch, train_loss = 0, 0, 0, float("nan")
    for epoch in range(1, epochs + 1):
        order = train[rng.permutation(len(train))]
        train_loss, step = train_epoch(idx, nact, labels, order, batch, lr, w1, w2, b2, m1, v1,
                                       m2, v2, mb, vb, step, touched, g1, decay, a1, a2)
        if pairs is not None and len(pair_train):
            order = pair_train[rng.permutation(len(pair_train))]
            pl, step = train_pairs_epoch(idx, nact, better, worse, order, batch, lr,
                                         temperature, pair_weight, w1, w2, b2, m1, v1, m2, v2,
                                         mb, vb, step, touched, g1, decay, a1, a2)
            train_loss += pair_weight * pl
        vl = val_loss()
        if progress is not None:
            progress(epoch, train_loss, vl)
        if vl < best[0] - 1e-6:
            best, bad = (vl, w1.copy(), w2.copy(), b2.copy()), 0
        else:
            bad += 1
            if bad >= patience:
                break
    _, w1, w2, b2 = best
    net.w1, net.w2, net.b2 = (w1.astype(np.float32), w2.astype(np.float32),
                              b2.astype(np.float32))
    predict_idx(idx[val], nact[val], w1, w2, b2, pred)
    accuracy = None
    if pairs is not None and len(vb_):
        accuracy = float(pair_loss(idx, nact, vb_, vw_, temperature, w1, w2, b2)[1])
    return FitResult(float(train_loss), float(best[0]), float(initial), epoch,
                     float(pred.std()) if n_val else 0.0, float(pred.mean()) if n_val else 0.0,
                     accuracy)
