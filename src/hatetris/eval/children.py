"""A beam's children valued by any evaluation: the incremental path where it has one."""

from __future__ import annotations

import numpy as np


def evaluate_kept_children(evaluation, parent_rows: np.ndarray, parent_start: int,
                           offsets: np.ndarray, count: np.ndarray, rows: np.ndarray,
                           scores: np.ndarray, keep: np.ndarray, out: np.ndarray,
                           keep_best: int | None = None) -> np.ndarray:
    """Write the value of each child ``rows[j]`` with ``keep[j]`` to ``out[j]`` and return
    those ``j``. An evaluation with ``evaluate_children`` updates each child from its
    parent (``parent_rows[parent_start + i]`` has children ``offsets[i]..+count[i]``);
    any other is asked for the kept children as one batch. ``keep_best``: how many the
    caller keeps, for an evaluation that takes it (a quiescence shortlist)."""
    kept = np.flatnonzero(keep[: len(rows)])
    if hasattr(evaluation, "evaluate_children"):
        if keep_best is None:
            evaluation.evaluate_children(parent_rows, parent_start, offsets, count, rows,
                                         scores, keep, out)
        else:
            evaluation.evaluate_children(parent_rows, parent_start, offsets, count, rows,
                                         scores, keep, out, keep_best=keep_best)
    else:
        values = np.empty(len(kept), np.float64)
        evaluation.evaluate(rows[kept], scores[kept], values)
        out[kept] = values
    return kept
