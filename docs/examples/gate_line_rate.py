"""How the gate's games die: line rate, cells and deep clears after each start.

Reads the gate games a training run stored in its ``bench.jsonl`` (every row holds its
game's replay) and replays them::

    python docs/examples/gate_line_rate.py data/training/steady-18/bench.jsonl init net-0 net-2

For each solver: the mean over starts of 25-piece windows after the start (holes, stack,
cells, lines per 100 pieces, share of clears in rows 2-3), with the record's own windows
from the same starts in brackets; then each game's line rate and cells at its end. A
piece brings 4 cells and a line takes 10 away, so ``survived = (cells at the end - cells
at the start) / (4 - 10 x lines a piece)`` exactly; since every game ends with about as
many cells, survival is the line rate seen through that magnifying glass, and the rate
that 250 pieces need is ``0.4 - (cells at the end - cells at the start) / 2500``.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from hatetris.codecs import decode
from hatetris.summary import summarize

RECORD = "data/records/david-felipe-6-first-5000.txt"
FIGURES = ["holes_mean", "height_mean", "cells_mean", "lines_per_100", "clears_share_rows_2_3"]
WINDOW, WINDOWS = 25, 8


def gate_games(path: str, solver: str) -> dict[int, str]:
    """The replays of ``solver``'s gate games (width 3,000) by start piece."""
    games = {}
    with open(path) as f:
        for line in f:
            row = json.loads(line)
            if row.get("suite") == "gate" and row["solver"] == solver and row["width"] == 3000:
                games[int(row["start"].split(":")[1])] = row["replay"]
    return games


def main(path: str, solvers: list[str]) -> None:
    with open(RECORD) as f:
        record = summarize(decode(f.read().strip()))
    for solver in solvers:
        games = {k: summarize(decode(r)) for k, r in gate_games(path, solver).items()}
        print(f"== {solver}: {len(games)} starts; 25-piece windows after the start "
              "(the record's in brackets)")
        print("pieces  games  " + "  ".join(FIGURES))
        for j in range(WINDOWS):
            mine, theirs = {f: [] for f in FIGURES}, {f: [] for f in FIGURES}
            for k, s in games.items():
                a, b = k + j * WINDOW, k + (j + 1) * WINDOW
                if b <= s.pieces_placed:
                    w = s.window(a, b)
                    for f in FIGURES:
                        mine[f].append(w[f])
                if b <= record.pieces_placed:  # the prefix ends at piece 5,000
                    r = record.window(a, b)
                    for f in FIGURES:
                        theirs[f].append(r[f])
            if mine[FIGURES[0]]:
                cells = "  ".join(f"{np.mean(mine[f]):.2f} ({np.mean(theirs[f]):.2f})"
                                  for f in FIGURES)
                print(f"{j * WINDOW:4d}+  {len(mine[FIGURES[0]]):5d}  {cells}")
        survived, rate, start, end = (np.array(x, float) for x in zip(*[
            (s.pieces_placed - k, (s.lines[-1] - s.lines[k - 1]) / (s.pieces_placed - k),
             s.cells[k - 1], s.cells[-1]) for k, s in games.items()]))
        need = 0.4 - (end - start).mean() / (10 * 250)
        print(f"survived {survived.mean():.1f}; lines a piece {rate.mean():.4f}; cells "
              f"{start.mean():.1f} at the start, {end.mean():.1f} at the end "
              f"({end.min():.0f}-{end.max():.0f}); 250 pieces need {need:.4f} a piece; "
              f"corr(survived, lines a piece) {np.corrcoef(survived, rate)[0, 1]:+.2f}")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: gate_line_rate.py BENCH.jsonl SOLVER [SOLVER ...]")
    main(sys.argv[1], sys.argv[2:])
