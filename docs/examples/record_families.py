"""Rollouts at the record's own wells: does the search's judge agree with the record?

At each given piece of the 3,711-line record's stored prefix, takes the shipped
``nnue-beam`` search's K best children of the record's well (by the search's own
values) and the record's child, and continues each with the same search at width W for
at most P pieces (``hatetris.nnue.rollouts``). Prints, per piece, the children's lives
(the search's first choice first), where the record's child ranks among them (None:
not among the K) and its life.

    python docs/examples/record_families.py 3000 300 4 700,1100,1300,1700,2100
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numba
import numpy as np

from hatetris.nnue.rollouts import best_children, line_start, rollout_survival
from hatetris.presets import load_preset, make_evaluation
from hatetris.search.beam import BeamSearch
from hatetris.search.tree import game_nodes
from hatetris.suite import read_game


def main(width: int, pieces: int, k_best: int, starts: list[int]) -> None:
    numba.set_num_threads(1)
    evaluation = make_evaluation(load_preset("nnue-beam"))
    BeamSearch.warm_up(evaluation)
    keys = read_game(Path("data/records/david-felipe-6-first-5000.txt"))
    for k in starts:
        store, kids = best_children(evaluation, game_nodes(keys, k), k_best)
        # Best first by the values the beam compares (ties: the lower index, as the beam).
        values = np.zeros(len(kids))
        evaluation.evaluate(store.rows[kids].copy(), store.score[kids].astype(np.int64),
                            values)
        kids = kids[np.argsort(-values, kind="stable")]
        record_child = game_nodes(keys, k + 1)["rows"][-1]
        lives, record_rank = [], None
        for rank, kid in enumerate(kids):
            lives.append(rollout_survival(evaluation, line_start(store, kid), width, pieces))
            if np.array_equal(store.rows[kid], record_child):
                record_rank = rank
        record_life = (lives[record_rank] if record_rank is not None
                       else rollout_survival(evaluation, game_nodes(keys, k + 1), width,
                                             pieces))
        print(json.dumps({"piece": k, "lives": lives, "record_rank": record_rank,
                          "record_life": record_life}), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
         [int(x) for x in sys.argv[4].split(",")])
