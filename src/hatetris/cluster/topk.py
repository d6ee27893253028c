"""The exact global top-``width`` of values spread over shards.

The single-process beam keeps the ``width`` largest finite values, ties to the lower
child index (``search.beam.select_best``). A child's index there is its place in the
concatenation of every parent's children: parents in beam order, then the move order of
one parent. The cluster gives each child the key ``parent's beam index * MAX_CHILDREN +
child slot``, which orders children exactly as that concatenation does, so "ties to the
lower index" becomes "ties to the lower key" and the kept set is the same.

Three small messages find it without moving the children:

1. every shard sends its top values (largest first; twice its expected share, see
   :func:`report_size`) and its count of finite values; a shard whose list may hide
   part of the global top-``width`` (:func:`uncertain_shards`, rare) sends its whole
   top-``width``: the global top-``width`` is then inside the union of the lists;
2. the client finds the ``width``-th largest value ``kth`` and how many ties at ``kth``
   it still needs (:func:`value_threshold`); only when that is ambiguous, each shard
   sends the lowest keys of its ties and the client finds the last tie kept
   (:func:`key_cut`);
3. every shard keeps its values above ``kth`` and its ties up to that key (:func:`keep_mask`).

>>> import numpy as np
>>> values = [np.array([5.0, 3.0, 3.0]), np.array([4.0, 3.0])]   # two shards, sorted
>>> keys = [np.array([7, 2, 9]), np.array([1, 4])]
>>> kth, need, exact = value_threshold(values, [3, 2], 3)
>>> kth, need, exact      # keep 5 and 4, and one of the three 3.0s: the lowest key (2)
(3.0, 1, False)
>>> cut = key_cut([tied_keys(v, k, kth, need) for v, k in zip(values, keys)], need)
>>> cut
2
>>> [keep_mask(v, k, kth, cut).tolist() for v, k in zip(values, keys)]
[[True, True, False], [True, False]]
"""

from __future__ import annotations

import numpy as np

KEEP_ALL = None  # value_threshold's answer when every finite value is kept
MAX_KEY = np.iinfo(np.int64).max


def shard_order(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Indices of a shard's finite values, largest first, ties by lower key.

    >>> shard_order(np.array([1.0, -np.inf, 2.0, 1.0]), np.array([9, 0, 5, 3])).tolist()
    [2, 3, 0]
    """
    finite = np.flatnonzero(values > -np.inf)  # as select_best: -inf (and NaN) never kept
    order = np.lexsort((keys[finite], -values[finite]))
    return finite[order]


def top_values(values: np.ndarray, width: int) -> np.ndarray:
    """A shard's ``width`` largest finite values, largest first (what it reports).

    >>> top_values(np.array([1.0, -np.inf, 4.0, 2.0, 4.0]), 3).tolist()
    [4.0, 4.0, 2.0]
    """
    v = values[values > -np.inf]
    if len(v) > width:
        v = np.partition(v, len(v) - width)[len(v) - width:]
    return np.sort(v)[::-1].copy()


def value_threshold(tops: list[np.ndarray], finite_counts: list[int],
                    width: int) -> tuple[float, int, bool] | None:
    """From each shard's top values (largest first) and its number of finite values:
    None if all of them fit in ``width``, else ``(kth, need, exact)``: keep every value
    above ``kth`` and ``need`` of the ties at ``kth``; ``exact`` says that the lists hold
    every tie and exactly ``need`` of them (no key cut is needed). Valid once
    :func:`uncertain_shards` finds no shard for this ``kth``.
    """
    total = sum(int(c) for c in finite_counts)
    if total <= width:
        return KEEP_ALL
    merged = np.concatenate([np.asarray(t, np.float64) for t in tops])
    if len(merged) < width:
        # Shortened lists hold fewer than width values: the lowest one makes every
        # shortened list uncertain, and their shards send more.
        return float(merged.min()), width, False
    kth = float(np.partition(merged, len(merged) - width)[len(merged) - width])
    # Values above kth are fewer than width, so each shard's are all in its list.
    above = int(np.count_nonzero(merged > kth))
    need = width - above
    complete = all(len(t) == c or (len(t) and t[-1] < kth)
                   for t, c in zip(tops, finite_counts))
    ties = int(np.count_nonzero(merged == kth))
    return kth, need, bool(complete and ties == need)


def report_size(width: int, n_shards: int) -> int:
    """How many top values a shard reports first: twice its expected share of the global
    top-``width`` (hashing spreads it evenly), not all ``width``. A shard asked for more
    (:func:`uncertain_shards`) then sends its top-``width``.

    >>> report_size(1000, 1), report_size(1000, 4), report_size(100, 16)
    (1000, 564, 76)
    """
    return min(width, 2 * width // n_shards + 64)


def uncertain_shards(tops: list[np.ndarray], finite_counts: list[int], width: int,
                     kth: float) -> list[int]:
    """Shards whose shortened list may hide values of the global top-``width``.

    The union of the lists holds the global top-``width`` (so ``kth`` is exact) when each
    list is complete, or ``width`` long, or ends below ``kth``: values it left out are then
    below every kept one. The others must send their top-``width``.
    """
    return [s for s, (t, c) in enumerate(zip(tops, finite_counts))
            if len(t) < min(width, c) and t[-1] >= kth]


def tied_keys(values: np.ndarray, keys: np.ndarray, kth: float, need: int) -> np.ndarray:
    """A shard's lowest ``need`` keys among its values equal to ``kth`` (sorted)."""
    return np.sort(keys[values == kth])[:need]


def key_cut(tied: list[np.ndarray], need: int) -> int:
    """The largest key among the ``need`` lowest tied keys of all shards."""
    merged = np.sort(np.concatenate(tied))
    return int(merged[need - 1])


def keep_mask(values: np.ndarray, keys: np.ndarray, kth: float | None,
              cut: int = MAX_KEY) -> np.ndarray:
    """Which of a shard's values are in the global top-``width``."""
    if kth is None:
        return values > -np.inf
    return (values > kth) | ((values == kth) & (keys <= cut))
