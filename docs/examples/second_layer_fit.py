"""A second dense layer after the accumulator, fitted before any search path is built.

The network ``w1 -> tanh (32) -> dense (H2) -> tanh -> w2 -> tanh`` is fitted on a run
generation's data as ``fit.fit`` fits the shipped one-layer network (the values' squared
error and the pairs' ranking loss each epoch, lazy Adam on ``w1``, dense Adam on the rest,
the run's lr, batch and epochs, stopped three epochs after the best held-out loss), and
prints the held-out figures of ``held_out_figures.py`` each epoch:

    python docs/examples/second_layer_fit.py data/training/steady-26 4 \
        data/nets/hind-6.npz 32 rows,windows,windows_positional runs/fit2/pos-g4-h32.npz

Thirty-third session (docs/steady-state-runs.md): held-out loss 0.4610 against the
one-layer fit's 0.4531 on the same data and sets, so the layer was not built into the
search. The second layer starts near the identity (with the start network's output
weights) so the fit begins from the start network's judgement, as the one-layer fits do.
"""
import sys, json
from pathlib import Path
import numpy as np
from numba import njit
sys.path.insert(0, str(Path(__file__).parent))
from refit import run_config, selfplay_pair_mask
from hatetris.nnue.training_run import TrainingRun
from hatetris.nnue.network import load_network
from hatetris.nnue.fit import held_out, feature_matrix, _softplus


@njit(cache=True)
def fwd(idx, n, w1, wm, bm, w2, b2, acc, h1, h2):
    H = w1.shape[1]; H2 = wm.shape[1]
    for h in range(H):
        acc[h] = 0.0
    for i in range(n):
        f = idx[i]
        for h in range(H):
            acc[h] += w1[f, h]
    for h in range(H):
        h1[h] = np.tanh(acc[h])
    out = b2[0]
    for j in range(H2):
        s = bm[j]
        for h in range(H):
            s += h1[h] * wm[h, j]
        h2[j] = np.tanh(s)
        out += h2[j] * w2[j]
    return np.tanh(out)


@njit(cache=True)
def back(idx, n, d_out, h1, h2, wm, w2, gwm, gbm, gw2, g1, mark, touched, nt, dh2, dh1):
    H = h1.shape[0]; H2 = h2.shape[0]
    for j in range(H2):
        gw2[j] += d_out * h2[j]
        dh2[j] = d_out * w2[j] * (1 - h2[j] * h2[j])
        gbm[j] += dh2[j]
    for h in range(H):
        s = 0.0
        for j in range(H2):
            gwm[h, j] += h1[h] * dh2[j]
            s += wm[h, j] * dh2[j]
        dh1[h] = s * (1 - h1[h] * h1[h])
    for a in range(n):
        f = idx[a]
        if not mark[f]:
            mark[f] = True
            touched[nt] = f
            nt += 1
            for h in range(H):
                g1[f, h] = 0.0
        for h in range(H):
            g1[f, h] += dh1[h]
    return nt


@njit(cache=True)
def adam_dense(w, g, m, v, lr, c1, c2):
    for i in range(w.size):
        m.flat[i] = 0.9 * m.flat[i] + 0.1 * g.flat[i]
        v.flat[i] = 0.999 * v.flat[i] + 0.001 * g.flat[i] ** 2
        w.flat[i] -= lr * (m.flat[i] / c1) / (np.sqrt(v.flat[i] / c2) + 1e-8)


@njit(cache=True)
def epoch(idx, nact, labels, order, better, worse, porder, batch, lr, w1, wm, bm, w2, b2,
          m1, v1, mm, vm, mbm, vbm, m2, v2, mb, vb, step, temperature):
    H = w1.shape[1]; H2 = wm.shape[1]
    acc = np.zeros(H); h1 = np.zeros(H); h2 = np.zeros(H2); h1b = np.zeros(H); h2b = np.zeros(H2)
    dh1 = np.zeros(H); dh2 = np.zeros(H2)
    gwm = np.zeros_like(wm); gbm = np.zeros_like(bm); gw2 = np.zeros_like(w2); gb = np.zeros(1)
    g1 = np.zeros_like(w1); mark = np.zeros(w1.shape[0], np.bool_); touched = np.zeros(w1.shape[0], np.int64)
    total = 0.0; ptotal = 0.0
    for phase in range(2):
        src = order if phase == 0 else porder
        n = src.shape[0]
        for start in range(0, n, batch):
            end = min(n, start + batch)
            nt = 0
            gwm[:] = 0; gbm[:] = 0; gw2[:] = 0; gb[0] = 0
            for s in range(start, end):
                if phase == 0:
                    i = src[s]
                    out = fwd(idx[i], nact[i], w1, wm, bm, w2, b2, acc, h1, h2)
                    err = out - labels[i]; total += err * err
                    d = 2 * err * (1 - out * out) / (end - start)
                    gb[0] += d
                    nt = back(idx[i], nact[i], d, h1, h2, wm, w2, gwm, gbm, gw2, g1, mark, touched, nt, dh2, dh1)
                else:
                    t = src[s]; i = better[t]; j = worse[t]
                    a = fwd(idx[i], nact[i], w1, wm, bm, w2, b2, acc, h1, h2)
                    b = fwd(idx[j], nact[j], w1, wm, bm, w2, b2, acc, h1b, h2b)
                    z = (b - a) / temperature
                    ptotal += _softplus(z)
                    sig = 1 / (1 + np.exp(-z)); sc = sig / temperature / (end - start)
                    da = -sc * (1 - a * a); db = sc * (1 - b * b)
                    gb[0] += da + db
                    nt = back(idx[i], nact[i], da, h1, h2, wm, w2, gwm, gbm, gw2, g1, mark, touched, nt, dh2, dh1)
                    nt = back(idx[j], nact[j], db, h1b, h2b, wm, w2, gwm, gbm, gw2, g1, mark, touched, nt, dh2, dh1)
            step += 1
            c1 = 1 - 0.9 ** step; c2 = 1 - 0.999 ** step
            for t in range(nt):  # lazy Adam: only the rows of w1 the batch touched
                f = touched[t]
                mark[f] = False
                adam_dense(w1[f], g1[f], m1[f], v1[f], lr, c1, c2)
            adam_dense(wm, gwm, mm, vm, lr, c1, c2)
            adam_dense(bm, gbm, mbm, vbm, lr, c1, c2)
            adam_dense(w2, gw2, m2, v2, lr, c1, c2)
            adam_dense(b2, gb, mb, vb, lr, c1, c2)
    return total / max(order.shape[0], 1) + ptotal / max(porder.shape[0], 1), step


@njit(cache=True)
def predict(idx, nact, sel, w1, wm, bm, w2, b2, out):
    H = w1.shape[1]; H2 = wm.shape[1]
    acc = np.zeros(H); h1 = np.zeros(H); h2 = np.zeros(H2)
    for k in range(sel.shape[0]):
        i = sel[k]
        out[k] = fwd(idx[i], nact[i], w1, wm, bm, w2, b2, acc, h1, h2)


def main():
    run_dir = Path(sys.argv[1]); k = int(sys.argv[2]); init = sys.argv[3]; H2 = int(sys.argv[4])
    sets = tuple(sys.argv[5].split(",")); out_path = Path(sys.argv[6])
    run = TrainingRun(run_config(run_dir), run_dir); run.load_state()
    c = run.config
    rows, labels, kinds, pairs = run.training_data(k)
    net = load_network(init).with_sets(sets)
    lay = net.layout
    idx = np.zeros((len(rows), lay.max_active), np.int64); nact = np.zeros(len(rows), np.int64)
    feature_matrix(rows, lay.bases, lay.max_active, idx, nact)
    is_val = held_out(rows, 0.1)
    val = np.flatnonzero(is_val & ~np.isnan(labels)); train = np.flatnonzero(~is_val & ~np.isnan(labels))
    better, worse = (np.asarray(a, np.int64) for a in pairs)
    pv = is_val[better]; ptrain = np.flatnonzero(~pv)
    is_sp = selfplay_pair_mask(run, k, kinds, better)
    rng = np.random.default_rng(c.seed + k)
    H = net.hidden
    w1 = net.w1.astype(np.float64)
    # Near the identity, so the fit begins near the start network's judgement (tanh of
    # a tanh is flatter: the output weights are scaled up a little to make up for it).
    wm = np.zeros((H, H2))
    for h in range(min(H, H2)):
        wm[h, h] = 1.0
    wm += rng.standard_normal((H, H2)) * 0.01
    bm = np.zeros(H2)
    w2 = np.zeros(H2); w2[:min(H, H2)] = net.w2[:min(H, H2)].astype(np.float64) * 1.3
    b2 = net.b2.astype(np.float64)
    m1, v1 = np.zeros_like(w1), np.zeros_like(w1)
    mm, vm = np.zeros_like(wm), np.zeros_like(wm); mbm, vbm = np.zeros_like(bm), np.zeros_like(bm)
    m2, v2 = np.zeros_like(w2), np.zeros_like(w2); mb, vb = np.zeros(1), np.zeros(1)

    def figures():
        pred = np.zeros(len(val)); predict(idx, nact, val, w1, wm, bm, w2, b2, pred)
        mse = float(np.mean((pred - labels[val]) ** 2))
        sel = np.flatnonzero(pv)
        pa = np.zeros(len(sel)); pb = np.zeros(len(sel))
        predict(idx, nact, better[sel], w1, wm, bm, w2, b2, pa)
        predict(idx, nact, worse[sel], w1, wm, bm, w2, b2, pb)
        z = (pb - pa) / c.pair_temperature
        loss = np.logaddexp(0, z)
        sp = is_sp[sel]
        return dict(val=mse + float(loss.mean()), mse=mse,
                    rec_loss=float(loss[~sp].mean()), rec_acc=float((pa > pb)[~sp].mean()),
                    sp_loss=float(loss[sp].mean()), sp_acc=float((pa > pb)[sp].mean()))

    f0 = figures(); print("start", json.dumps(f0), flush=True)
    best = (f0["val"], w1.copy(), wm.copy(), bm.copy(), w2.copy(), b2.copy(), f0)
    step, bad = 0, 0
    for e in range(1, c.epochs + 1):
        order = train[rng.permutation(len(train))]
        porder = ptrain[rng.permutation(len(ptrain))]
        tl, step = epoch(idx, nact, labels, order, better, worse, porder, c.batch, c.lr, w1, wm, bm,
                         w2, b2, m1, v1, mm, vm, mbm, vbm, m2, v2, mb, vb, step, c.pair_temperature)
        f = figures(); print(f"epoch {e}: train {tl:.4f}", json.dumps(f), flush=True)
        if f["val"] < best[0] - 1e-6:
            best, bad = (f["val"], w1.copy(), wm.copy(), bm.copy(), w2.copy(), b2.copy(), f), 0
        else:
            bad += 1
            if bad >= 3:
                break
    _, w1, wm, bm, w2, b2, f = best
    out_path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out_path, w1=w1.astype(np.float32), wm=wm.astype(np.float32), bm=bm.astype(np.float32),
             w2=w2.astype(np.float32), b2=b2.astype(np.float32), sets=np.array(net.sets))
    print("best", json.dumps(f), flush=True)


if __name__ == "__main__":
    main()
