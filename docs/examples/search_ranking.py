"""The records' ranking by the values the search compares, not only the network's own.

For every record step (the wells and siblings of ``dataset.record_pairs``, the hold-out
of ``data/training/steady-2.json``), how often the record's placement is ranked first
and how many sibling pairs are ordered right, with a network's values alone and with
the quiescence chains (optimistic piece) of 1, 2 and 3 clears around them.

    python docs/examples/search_ranking.py data/nets/ranked-0.npz
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ranking_fit import ranking_of  # noqa: E402

from hatetris.eval.quiescence import QuiescenceEvaluation  # noqa: E402
from hatetris.nnue.dataset import read_games, record_pairs  # noqa: E402
from hatetris.nnue.evaluation import NNUEEvaluation  # noqa: E402
from hatetris.nnue.network import load_network  # noqa: E402


def main(net_path: str) -> None:
    config = json.loads(Path("data/training/steady-2.json").read_text())
    rows, _, better, worse, held = record_pairs(read_games(config["games"],
                                                           config["min_pieces"]),
                                                config["hold_out"])
    # The chains compare clears relative to a well's score; NNUE values ignore it.
    scores = np.zeros(len(rows), np.int64)
    net = NNUEEvaluation(load_network(net_path))
    evaluations = {"the network's own": net}
    for depth in (1, 2, 3):
        evaluations[f"chains of {depth}"] = QuiescenceEvaluation(net, depth, "optimistic")
    print("values | trained: first, pairs | held out: first, pairs")
    for name, evaluation in evaluations.items():
        v = np.zeros(len(rows))
        evaluation.evaluate(rows, scores, v)
        tr = ranking_of(v, better[~held], worse[~held])
        ho = ranking_of(v, better[held], worse[held])
        print(f"{name} | {tr[0]:.3f}, {tr[1]:.3f} | {ho[0]:.3f}, {ho[1]:.3f}")


if __name__ == "__main__":
    main(sys.argv[1])
