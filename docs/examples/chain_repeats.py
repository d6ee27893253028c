"""How often the quiescence chains sum the same well afresh twice.

Wraps the NNUE's fresh evaluation (the chain wells) and the beam's child evaluation to
record every well they see, runs ``nnue-beam`` at width 1,000 for 40 pieces from piece
3,450 of the 3,711-line record (one thread), and prints the chain wells a step, the
share of them that are distinct within their step, and the share of a step's distinct
chain wells and children that were chain wells of the step before: what a cache of
chain values within a step, or across one step, could save.

    python docs/examples/chain_repeats.py
"""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np

from hatetris.eval.quiescence import QuiescenceEvaluation
from hatetris.nnue.evaluation import NNUEEvaluation
from hatetris.presets import load_preset, make_evaluation
from hatetris.search.beam import BeamSearch
from hatetris.search.tree import game_nodes
from hatetris.suite import read_game

STEPS: list[dict] = []


def key(row: np.ndarray, score: int) -> bytes:
    return row.tobytes() + int(score).to_bytes(8, "little")


def main() -> None:
    numba.set_num_threads(1)
    fresh = NNUEEvaluation.evaluate
    children = QuiescenceEvaluation.evaluate_children

    def record_fresh(self, rows, scores, out):
        STEPS[-1]["chain"].update(key(r, s) for r, s in zip(rows, scores))
        STEPS[-1]["evaluated"] += len(rows)
        return fresh(self, rows, scores, out)

    def record_children(self, parent_rows, parent_start, offsets, count, rows, scores,
                        keep, out, keep_best=None):
        kept = np.flatnonzero(keep[: len(rows)])
        STEPS.append({"chain": set(), "evaluated": 0,
                      "kids": [key(rows[i], scores[i]) for i in kept]})
        return children(self, parent_rows, parent_start, offsets, count, rows, scores,
                        keep, out, keep_best)

    NNUEEvaluation.evaluate = record_fresh
    QuiescenceEvaluation.evaluate_children = record_children
    evaluation = make_evaluation(load_preset("nnue-beam"))
    keys = read_game(Path("data/records/david-felipe-6-first-5000.txt"))
    search = BeamSearch(evaluation, 1000, 3450 + 40, None, game_nodes(keys, 3450))
    while search.step() is not None:
        pass
    pairs = list(zip(STEPS, STEPS[1:]))
    evaluated = sum(s["evaluated"] for s in STEPS)
    distinct = sum(len(s["chain"]) for s in STEPS)
    again = sum(sum(x in a["chain"] for x in b["chain"]) for a, b in pairs)
    kids_again = sum(sum(x in a["chain"] for x in b["kids"]) for a, b in pairs)
    print(f"{len(STEPS)} steps, {evaluated / len(STEPS):,.0f} chain wells a step "
          f"({sum(len(s['kids']) for s in STEPS) / len(STEPS):,.0f} children)")
    print(f"distinct within their step: {distinct / evaluated:.3f}")
    print(f"a step's distinct chain wells that were chain wells of the step before: "
          f"{again / sum(len(b['chain']) for _, b in pairs):.3f}")
    print(f"a step's children that were chain wells of the step before: "
          f"{kids_again / sum(len(b['kids']) for _, b in pairs):.3f}")


if __name__ == "__main__":
    main()
