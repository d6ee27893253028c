"""A beam's children valued by any evaluation: the incremental path where it has one,
and each distinct state of a batch valued once."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..search.tt import bucket_bits, dedupe_children_bucketed


def evaluate_distinct(evaluation, rows: np.ndarray, scores: np.ndarray, values: np.ndarray,
                      buffer: Callable | None = None) -> int:
    """``evaluation.evaluate`` of ``rows`` into ``values``, each distinct (well, score)
    evaluated once (the beam's bucketed deduplication; its first equal gives the others
    their value). ``buffer(name, n, dtype)`` gives scratch arrays (new ones if None), so
    that a caller can reuse them from call to call. Returns how many were evaluated."""
    buffer = buffer or (lambda name, n, dtype: np.empty(n, dtype))
    n = len(rows)
    keep = buffer("keep", n, np.bool_)
    first = buffer("first", n, np.int64)
    distinct = dedupe_children_bucketed(
        rows, scores, n, bucket_bits(n), buffer("hashes", n, np.uint64),
        buffer("bucket_hashes", n, np.uint64), buffer("order", n, np.int64),
        buffer("table", 2 * n, np.int32), keep, first)
    if distinct == n:
        evaluation.evaluate(rows, scores, values)
        return n
    kept = np.flatnonzero(keep)
    kept_values = buffer("kept_values", distinct, np.float64)
    evaluation.evaluate(rows[kept], scores[kept], kept_values)
    values[kept] = kept_values
    np.take(values, first, out=values)
    return distinct


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
        evaluation.evaluate_children(parent_rows, parent_start, offsets, count, rows, scores,
                                     keep, out, keep_best=keep_best)
    else:
        values = np.empty(len(kept), np.float64)
        evaluation.evaluate(rows[kept], scores[kept], values)
        out[kept] = values
    return kept
