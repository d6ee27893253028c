"""The NNUE as an evaluation: batched, parallel, the same interface as the heuristic.

Two paths give a well's value:

* ``float32``: the network as trained (:func:`evaluate_network`), for training and checks;
* ``int16`` (the default): the quantized copy (:mod:`~hatetris.nnue.quantized`), within
  :data:`~hatetris.nnue.quantized.TOLERANCE` of it, and with
  :meth:`NNUEEvaluation.evaluate_children`, each child's accumulator updated from its
  parent's (:mod:`~hatetris.nnue.accumulator`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..config import NJIT_PARALLEL
from ..rules import BAR
from .accumulator import child_accumulator, fresh_accumulator
from .network import Network, compact_w1, forward_one, stored_w1
from .quantized import output_value, quantize

CHUNK = 1024
PRECISIONS = ("int16", "float32")


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


@njit(**NJIT_PARALLEL)
def evaluate_quantized(rows, bases, max_active, w1, w2, b2, inv_scale, out):
    """Each well's value by the int16 network, summed afresh."""
    n = rows.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    for c in prange(n_chunks):
        idx = np.zeros(max_active, np.int64)
        acc = np.zeros(w1.shape[1], np.int32)
        hidden = np.zeros(w1.shape[1], np.float32)
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            if rows[i, BAR - 1] != 0:
                out[i] = -1.0
            else:
                fresh_accumulator(rows, i, bases, w1, idx, acc)
                out[i] = output_value(acc, w2, b2, inv_scale, hidden)


PARENTS_PER_TASK = 64


@njit(**NJIT_PARALLEL)
def evaluate_children_quantized(prows, pstart, offsets, count, rows, keep, bases, max_active,
                                w1, w2, b2, inv_scale, out):
    """Values of the children of parents ``prows[pstart + i]``: child ``j`` of parent ``i``
    is ``rows[offsets[i] + j]``, ``j < count[i]``; only children with ``keep`` are valued.

    Each parent's accumulator is summed once; its children are updated from it.
    """
    n = offsets.shape[0]
    n_tasks = (n + PARENTS_PER_TASK - 1) // PARENTS_PER_TASK
    for t in prange(n_tasks):
        idx = np.zeros(max_active, np.int64)
        pacc = np.zeros(w1.shape[1], np.int32)
        acc = np.zeros(w1.shape[1], np.int32)
        hidden = np.zeros(w1.shape[1], np.float32)
        for i in range(t * PARENTS_PER_TASK, min(n, (t + 1) * PARENTS_PER_TASK)):
            if count[i] == 0:
                continue
            fresh_accumulator(prows, pstart + i, bases, w1, idx, pacc)
            for j in range(offsets[i], offsets[i] + count[i]):
                if not keep[j]:
                    continue
                if rows[j, BAR - 1] != 0:
                    out[j] = -1.0
                    continue
                child_accumulator(prows, pstart + i, pacc, rows, j, bases, w1, idx, acc)
                out[j] = output_value(acc, w2, b2, inv_scale, hidden)


class NNUEEvaluation:
    """Values in [-1, 1]: about +1 for a well that survives long, -1 for a lost one.

    The score is not an input: at equal depth, clearing lines already shows as fewer
    cells. ``lines_weight`` (default 0) can add the score back for ranking.
    """

    def __init__(self, net: Network, lines_weight: float = 0.0, precision: str = "int16"):
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}")
        self.net = net
        self.bases = net.layout.bases
        self.max_active = net.layout.max_active
        self.lines_weight = float(lines_weight)
        self.precision = precision
        self.quantized = quantize(net) if precision == "int16" else None

    def __getstate__(self) -> dict:
        # A cluster ships the evaluation to every worker. The int16 path reads only the
        # int16 copy, mostly zero rows for a positional network (nnue-beam: 86 MB dense
        # with the floats, 13.7 MB as non-zero rows), so that is what travels, as a
        # compact network file holds it; the floats come back as that file's, which
        # quantize to the same weights.
        state = dict(self.__dict__)
        q = state.pop("quantized")
        if q is None:
            return state
        net = state.pop("net")
        state["compact"] = {"sets": net.sets, "shape": net.w1.shape, "w1": compact_w1(q),
                            "w2": net.w2, "b2": net.b2, "meta": net.meta}
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        packed = state.pop("compact", None)
        if packed is not None:
            state["net"] = Network(packed["sets"], stored_w1(packed["w1"], *packed["shape"]),
                                   packed["w2"], packed["b2"], packed["meta"])
            state["quantized"] = quantize(state["net"])
        else:
            state["quantized"] = None
        self.__dict__.update(state)

    def evaluate(self, rows: np.ndarray, scores: np.ndarray, out: np.ndarray) -> None:
        q = self.quantized
        if q is None:
            evaluate_network(rows, self.bases, self.max_active, self.net.w1, self.net.w2,
                             self.net.b2, out)
        else:
            evaluate_quantized(rows, self.bases, self.max_active, q.w1, q.w2, q.b2,
                               q.inv_scale, out)
        if self.lines_weight:
            out += self.lines_weight * np.asarray(scores, dtype=np.float64)

    def evaluate_children(self, parent_rows: np.ndarray, parent_start: int,
                          offsets: np.ndarray, count: np.ndarray, rows: np.ndarray,
                          scores: np.ndarray, keep: np.ndarray, out: np.ndarray,
                          keep_best: int | None = None) -> None:
        """:meth:`evaluate` of ``rows[j]`` where ``keep[j]``, knowing each child's parent
        (``parent_rows[parent_start + i]`` has children ``offsets[i]..+count[i]``);
        ``out[j]`` of the others is left as it is. ``keep_best`` (how many the caller
        keeps) does not change what an exact evaluation computes."""
        q = self.quantized
        if q is None:
            kept = np.flatnonzero(keep[: len(rows)])
            values = np.empty(len(kept), np.float64)
            self.evaluate(rows[kept], scores[kept], values)
            out[kept] = values
            return
        evaluate_children_quantized(parent_rows, parent_start, offsets, count, rows, keep,
                                    self.bases, self.max_active, q.w1, q.w2, q.b2,
                                    q.inv_scale, out)
        if self.lines_weight:
            kept = keep[: len(rows)]
            out[kept] += self.lines_weight * np.asarray(scores, dtype=np.float64)[kept]
