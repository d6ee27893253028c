"""How a steady-state beam dies: its size and how many lines of play it still holds.

Continues the 3,711-line record's first 5,000 pieces from each start with a preset at a
width (one Numba thread, the whole node store kept), and prints, every 5 pieces over the
last 80 before the beam died, the beam's size and how many distinct wells its wells
descend from 5, 10, 20 and 40 pieces back. One ancestor 40 pieces back means the whole
beam is one line of play with its variations.

    python docs/examples/beam_lineages.py nnue-beam 1000 3450,4650
"""

from __future__ import annotations

import sys
from pathlib import Path

import numba
import numpy as np

from hatetris.presets import load_preset, make_evaluation
from hatetris.search.beam import BeamSearch
from hatetris.search.tree import game_nodes
from hatetris.suite import read_game

LAGS = (5, 10, 20, 40)


def lineages(parent: np.ndarray, nodes: np.ndarray, lags=LAGS) -> list[int]:
    """Distinct ancestors of ``nodes`` at each lag (pieces back)."""
    out, cur = [], nodes
    for back in range(1, max(lags) + 1):
        cur = np.unique(parent[cur])
        if back in lags:
            out.append(len(cur))
    return out


def main() -> None:
    numba.set_num_threads(1)
    preset = load_preset(sys.argv[1])
    width = int(sys.argv[2])
    keys = read_game(Path("data/records/david-felipe-6-first-5000.txt"))
    evaluation = make_evaluation(preset)
    BeamSearch.warm_up(evaluation)
    for k in (int(x) for x in sys.argv[3].split(",")):
        s = BeamSearch(evaluation, width, k + 300, preset.search.get("parent_cap"),
                       game_nodes(keys, k))
        while s.step() is not None:
            pass
        bounds = s.level_start + [s.store.size]
        levels = len(bounds) - 1
        print(f"from piece {k}: survived {levels - 1 - k} pieces")
        print("  pieces | beam | ancestors " + " / ".join(f"{x} back" for x in LAGS))
        for level in range(max(k + 1 + max(LAGS), levels - 80), levels, 5):
            nodes = np.arange(bounds[level], bounds[level + 1])
            counts = " / ".join(str(c) for c in lineages(s.store.parent, nodes))
            print(f"  +{level - k} | {len(nodes)} | {counts}")


if __name__ == "__main__":
    main()
