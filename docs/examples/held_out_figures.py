"""Held-out figures of several networks on one run generation's data, split by kind.

A refit's validation loss is measured on the pairs of its own data, so refits that leave
data out (``refit.py --probes``) are not comparable by it. This scores each network on
the same held-out part of generation k's full data (the wells ``fit.held_out`` keeps out,
the pairs whose better well is one of them): the squared error on labelled wells, and the
ranking loss and accuracy on the records' pairs and on the self-play pairs separately.

    python docs/examples/held_out_figures.py data/training/steady-26 4 \\
        runs/refit/pos-g4/net.npz runs/refit/pos-g4-p0.5/net.npz

(thirty-third session, docs/steady-state-runs.md). The self-play pairs held out come
from the same probes as the ones trained on, so their accuracy says how well a fit
knows those games, not how it carries to others.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from refit import run_config, selfplay_pair_mask  # noqa: E402  (the sibling example)


def main() -> None:
    from hatetris.nnue.fit import feature_matrix, held_out, pair_loss, predict_idx
    from hatetris.nnue.network import load_network
    from hatetris.nnue.training_run import TrainingRun

    run_dir, k, nets = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    run = TrainingRun(run_config(run_dir), run_dir)
    run.load_state()
    c = run.config
    rows, labels, kinds, (better, worse) = run.training_data(k)
    is_val = held_out(rows, 0.1)
    is_sp = selfplay_pair_mask(run, k, kinds, better)
    val_pair = is_val[better]
    lab = np.flatnonzero(is_val & ~np.isnan(labels))
    # Only the held-out wells and the wells of held-out pairs are scored: their features,
    # renumbered 0.., instead of every well's.
    need = np.unique(np.concatenate([lab, better[val_pair], worse[val_pair]]))
    sub = np.ascontiguousarray(rows[need])
    lab_at = np.searchsorted(need, lab)
    for path in nets:
        net = load_network(path)
        lay = net.layout
        idx = np.zeros((len(need), lay.max_active), np.int64)
        nact = np.zeros(len(need), np.int64)
        feature_matrix(sub, lay.bases, lay.max_active, idx, nact)
        w1, w2, b2 = (a.astype(np.float64) for a in (net.w1, net.w2, net.b2))
        pred = np.zeros(len(lab))
        predict_idx(idx[lab_at], nact[lab_at], w1, w2, b2, pred)
        out = {"labelled_mse": round(float(np.mean((pred - labels[lab]) ** 2)), 4)}
        for name, m in (("record_pairs", val_pair & ~is_sp), ("selfplay_pairs",
                                                                val_pair & is_sp)):
            loss, right = pair_loss(idx, nact, np.searchsorted(need, better[m]),
                                    np.searchsorted(need, worse[m]), c.pair_temperature, w1,
                                    w2, b2)
            out[name] = {"n": int(m.sum()), "loss": round(float(loss), 4),
                         "right": round(float(right), 4)}
        print(path, json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
