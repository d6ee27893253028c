"""The shipped search with the network's value plus a share of the hand-made heuristic's.

The record keeps holes and defers clears that the network's beam fills and takes
(docs/steady-state-runs.md, twentieth session); the heuristic of `heuristic-beam` names
holes, covered and enclosed lines, erasability. This adds ``beta`` times the heuristic's
value (without its opening weights) to the network's, under the shipped chains (depth 3,
optimistic piece, shortlist 8), and plays the gate's starts:

    python docs/examples/mixed_eval_gate.py 0.002 1000 [every [offset [results.jsonl]]]

prints each start's pieces survived (of the suite's cap) and the mean; ``every`` takes
every n-th start only, from the ``offset``-th (two processes with ``2 0`` and ``2 1``
play the gate between them). With a results file, each start's result is appended to
it and starts already in it (same beta and width) are not played again: an interrupted
gate resumes. It first prints the two values' spread over a step's children, so
that ``beta`` reads as a share.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from hatetris.eval.heuristic import HeuristicEvaluation
from hatetris.eval.mixed import MixedEvaluation
from hatetris.eval.quiescence import QuiescenceEvaluation
from hatetris.nnue.evaluation import NNUEEvaluation
from hatetris.nnue.network import load_network
from hatetris.presets import load_preset
from hatetris.search.beam import BeamSearch
from hatetris.search.tree import game_nodes
from hatetris.suite import load_suite, read_game


def main(beta: float, width: int, every: int = 1, offset: int = 0,
         results: str | None = None) -> None:
    heuristic = HeuristicEvaluation(load_preset("heuristic-beam").eval["weights"])
    net = NNUEEvaluation(load_network("data/nets/ranked-0.npz"))
    evaluation = QuiescenceEvaluation(MixedEvaluation(net, heuristic, beta), 3,
                                      "optimistic", shortlist=8)
    suite = load_suite("gate")
    done = {}
    if results and Path(results).exists():
        for line in Path(results).read_text().splitlines():
            r = json.loads(line)
            if r["beta"] == beta and r["width"] == width:
                done[r["start"]] = r["survived"]
    survived = []
    for i, s in enumerate(suite.starts[offset::every]):
        if s.label in done:
            survived.append(done[s.label])
            print(f"{s.label}: {survived[-1]} (from {results})", flush=True)
            continue
        keys = read_game(s.game)
        nodes = game_nodes(keys, s.piece)
        if i == 0:
            probe = BeamSearch(net, 200, max_depth=s.piece + 1, start=nodes)
            probe.step()
            kids = probe.store.rows[probe.level_start[-1]:probe.store.size]
            v, h = np.zeros(len(kids)), np.zeros(len(kids))
            net.evaluate(kids, np.zeros(len(kids), np.int64), v)
            heuristic.evaluate(kids, np.zeros(len(kids), np.int64), h)
            print(f"spread over {len(kids)} wells of one step: network {v.std():.3f}, "
                  f"heuristic {h.std():.1f}, beta x heuristic {beta * h.std():.3f}",
                  flush=True)
        search = BeamSearch(evaluation, width, max_depth=s.piece + suite.cap, start=nodes,
                            prune=True)
        while search.step() is not None:
            pass
        survived.append(search.depth - s.piece)
        print(f"{s.label}: {survived[-1]}", flush=True)
        if results:
            with open(results, "a", encoding="utf-8") as f:
                f.write(json.dumps({"start": s.label, "beta": beta, "width": width,
                                    "survived": survived[-1]}) + "\n")
    print(f"mean {np.mean(survived):.2f} over {len(survived)} starts (beta {beta}, "
          f"width {width})")


if __name__ == "__main__":
    main(float(sys.argv[1]), int(sys.argv[2]), *(int(a) for a in sys.argv[3:5]),
         *sys.argv[5:6])
