"""What the NNUE tests compare against: wells met in play (a random walk of children from
the empty well) and a dense forward pass over the features."""

from __future__ import annotations

import random

import numpy as np

from hatetris.engine import children
from hatetris.nnue.features import active_features
from hatetris.nnue.network import Network


def random_wells(n: int, seed: int):
    rng = random.Random(seed)
    out, scores = [], []
    well, score = np.zeros(20, np.uint16), 0
    while len(out) < n:
        rows, sc, _ = children(well, score, rng.randrange(7), keep_game_over=False)
        if len(rows) == 0:
            well, score = np.zeros(20, np.uint16), 0
            continue
        k = rng.randrange(len(rows))
        well, score = rows[k], int(sc[k])
        out.append(well)
        scores.append(score)
    return np.array(out, np.uint16), np.array(scores, np.int64)


ROWS, SCORES = random_wells(1500, seed=5)


def dense_forward(net: Network, rows: np.ndarray) -> np.ndarray:
    """The network's value of each well, in float64 from a dense feature vector."""
    lay = net.layout
    x = np.zeros((len(rows), lay.n_features), np.float64)
    idx = np.zeros(lay.max_active, np.int64)
    for i in range(len(rows)):
        n = active_features(rows, i, lay.bases, idx)
        np.add.at(x[i], idx[:n], 1.0)
    hidden = np.tanh(x @ net.w1.astype(np.float64))
    return np.tanh(hidden @ net.w2.astype(np.float64) + net.b2[0])
