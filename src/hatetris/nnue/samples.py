"""Which wells a generation learns from: random children, depths, spread labels."""

from __future__ import annotations

import numpy as np
from numba import njit

from ..adversary import mild_piece
from ..config import NJIT
from ..core import cell_counts
from ..engine import MAX_CHILDREN, children_into, expand_scratch, pad_well
from ..rules import HEIGHT


def well_depth(rows: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Pieces placed, from the cell count: cells = 4 * pieces - 10 * lines."""
    return (cell_counts(rows) + 10 * np.asarray(scores)) // 4


def tanh_z_by_depth(depth: np.ndarray, values: np.ndarray, where: np.ndarray,
                    scale: float, out: np.ndarray) -> None:
    """``out[i] = scale * tanh(z_i)`` where ``where[i]``, z standardised among the wells of
    the same depth (0 where they all have one value); other entries are left alone."""
    for d in np.unique(depth[where]):
        m = where & (depth == d)
        sd = values[m].std()
        out[m] = scale * np.tanh((values[m] - values[m].mean()) / sd) if sd > 0 else 0.0


def spread_by_depth(rows: np.ndarray, scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    out = labels.copy()
    tanh_z_by_depth(well_depth(rows, scores), labels, labels > -0.999, 0.9, out)
    return out


@njit(**NJIT)
def _pick_children(rows, scores, u, out_rows, out_scores) -> int:
    """Write ``u.shape[1]`` (or fewer) distinct random children of each well, chosen by
    a partial shuffle driven by the uniforms ``u``; return how many were written."""
    per_well = u.shape[1]
    pad, locks, buf, kid_rows, kid_scores, kid_moves = expand_scratch()
    order = np.zeros(MAX_CHILDREN, np.int64)
    n = 0
    for i in range(rows.shape[0]):
        top = pad_well(rows[i], pad)
        p, y_first, y_last = mild_piece(pad, top, locks, buf)
        k = children_into(pad, p, locks, y_first, y_last, scores[i], False, kid_rows,
                          kid_scores, kid_moves, 0, buf)
        for j in range(k):
            order[j] = j
        for j in range(min(per_well, k)):
            r = j + min(int(u[i, j] * (k - j)), k - j - 1)
            order[j], order[r] = order[r], order[j]
            for c in range(HEIGHT):
                out_rows[n, c] = kid_rows[order[j], c]
            out_scores[n] = kid_scores[order[j]]
            n += 1
    return n


def candidate_children(rows: np.ndarray, scores: np.ndarray, per_well: int,
                       seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``per_well`` random children of each well (for the piece the mild adversary
    sends): the candidates a beam ranks, good and bad."""
    u = np.random.default_rng(seed).random((len(rows), per_well))
    out_rows = np.zeros((len(rows) * per_well, HEIGHT), np.uint16)
    out_scores = np.zeros(len(rows) * per_well, np.int64)
    n = _pick_children(np.ascontiguousarray(rows, np.uint16),
                       np.ascontiguousarray(scores, np.int64), u, out_rows, out_scores)
    return out_rows[:n], out_scores[:n]
