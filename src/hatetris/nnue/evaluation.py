"""The NNUE as an evaluation: batched, parallel, the same interface as the heuristic."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..config import NJIT_PARALLEL
from ..rules import BAR
from .network import Network, forward_one

CHUNK = 1024


@njit(**NJIT_PARALLEL)
def evaluate_network(rows, bases, max_active, w1, w2, b2, out):
    n = rows.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    for c in prange(n_chunks):
        idx = np.zeros(max_active, np.int64)
        acc = np.zeros(w1.shape[1], np.float32)
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            if rows[i, BAR - 1] != 0:
                out[i] = -1.0  # a lost well
            else:
                out[i] = forward_one(rows, i, bases, w1, w2, b2, idx, acc)


class NNUEEvaluation:
    """Values in [-1, 1]: about +1 for a well that survives long, -1 for a lost one.

    The score is not an input: at equal depth, clearing lines already shows as fewer
    cells. ``lines_weight`` (default 0) can add the score back for ranking.
    """

    def __init__(self, net: Network, lines_weight: float = 0.0):
        self.net = net
        self.bases = net.layout.bases
        self.max_active = net.layout.max_active
        self.lines_weight = float(lines_weight)

    def evaluate(self, rows: np.ndarray, scores: np.ndarray, out: np.ndarray) -> None:
        evaluate_network(rows, self.bases, self.max_active, self.net.w1, self.net.w2,
                         self.net.b2, out)
        if self.lines_weight:
            out += self.lines_weight * np.asarray(scores, dtype=np.float64)
