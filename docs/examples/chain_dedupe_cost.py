"""What deduplicating a step's chain wells would cost, against what it would save.

Collects one beam step's chain wells (``QuiescenceEvaluation.chain_wells`` of the kept
children of ``nnue-beam`` at width 1,000, 20 pieces into a continuation of piece 3,450
of the 3,711-line record), then times, in this process and alternately, the network's
fresh sum of every chain well and the beam's own deduplication kernel over the same
wells (hash, bucket, probe). A cache of chain values within a step saves the sums of the
repeated wells and pays the deduplication on all of them.

    python docs/examples/chain_dedupe_cost.py
"""

from __future__ import annotations

import time
from pathlib import Path

import numba
import numpy as np

from hatetris.eval.quiescence import QuiescenceEvaluation
from hatetris.presets import load_preset, make_evaluation
from hatetris.search.beam import BeamSearch
from hatetris.search.tree import game_nodes
from hatetris.search.tt import bucket_bits, dedupe_children_bucketed
from hatetris.suite import read_game


def main(repeats: int = 7) -> None:
    numba.set_num_threads(1)
    evaluation = make_evaluation(load_preset("nnue-beam"))
    keys = read_game(Path("data/records/david-felipe-6-first-5000.txt"))
    search = BeamSearch(evaluation, 1000, 3450 + 20, None, game_nodes(keys, 3450))
    while search.step() is not None:
        pass
    s = search.store
    beam = np.ascontiguousarray(s.rows[search.level_start[-1]:s.size])
    q = QuiescenceEvaluation(evaluation.inner, 3, "optimistic")
    rows, scores, _ = q.chain_wells(beam, s.score[search.level_start[-1]:s.size])
    n = len(rows)
    out = np.zeros(n)
    keep = np.zeros(n, np.bool_)
    scratch = (np.zeros(n, np.uint64), np.zeros(n, np.uint64), np.zeros(n, np.int64),
               np.zeros(2 * n, np.int32))
    bits = bucket_bits(n)
    evaluation.inner.evaluate(rows, scores, out)  # compile and warm both
    distinct = dedupe_children_bucketed(rows, scores, n, bits, *scratch, keep)
    sums, dedupes = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        evaluation.inner.evaluate(rows, scores, out)
        t1 = time.perf_counter()
        dedupe_children_bucketed(rows, scores, n, bits, *scratch, keep)
        t2 = time.perf_counter()
        sums.append((t1 - t0) / n * 1e9)
        dedupes.append((t2 - t1) / n * 1e9)
    sum_ns, dedupe_ns = float(np.median(sums)), float(np.median(dedupes))
    repeated = 1 - distinct / n
    print(f"{n:,} chain wells of {len(beam):,} beam wells; {distinct / n:.3f} distinct")
    print(f"fresh NNUE sum: {sum_ns:.0f} ns a well; deduplication: {dedupe_ns:.0f} ns a well "
          f"(medians of {repeats}, one thread)")
    print(f"a cache saves {repeated * sum_ns:.0f} ns and costs {dedupe_ns:.0f} ns a chain well")


if __name__ == "__main__":
    main()
