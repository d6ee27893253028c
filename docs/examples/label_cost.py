"""What a lookahead label costs here, at the public trainer's label width and at ours.

The published recipe labels 1,048,576 wells a generation with width-400, depth-10
beams; this prints labels per second for widths 32 and 400 (median of 3) on the first
130 wells of ``hind-6``'s width-100,000 game, with all cores.

    python docs/examples/label_cost.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from hatetris.codecs import decode
from hatetris.diagnose import game_wells
from hatetris.nnue.labels import lookahead
from hatetris.nnue.network import load_network

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    net = load_network(ROOT / "data" / "nets" / "hind-6.npz")
    lay = net.layout
    game = json.loads((ROOT / "data" / "solutions" / "nnue-beam-hind6-w100000.json")
                      .read_text(encoding="utf-8"))
    wells, scores = game_wells(decode(game["replay"]))
    wells, scores = wells[:130], scores[:130].astype(np.int64)
    value, survived = np.zeros(len(wells)), np.zeros(len(wells))
    for width in (32, 400):
        def run(n: int) -> float:
            t = time.perf_counter()
            lookahead(wells[:n], scores[:n], 10, 0, width, lay.bases, lay.max_active, net.w1,
                      net.w2, net.b2, value[:n], survived[:n])
            return time.perf_counter() - t
        run(2)  # compile
        seconds = sorted(run(len(wells)) for _ in range(3))[1]
        print(f"width {width}: {len(wells) / seconds:.1f} labels/s "
              f"({len(wells)} wells in {seconds:.2f} s, median of 3)")


if __name__ == "__main__":
    main()
