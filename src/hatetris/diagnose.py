"""Follow a known game (a record, say) alongside a solver's beam, depth by depth.

Where does a solver lose a line of play that is known to go far? At every depth the
game's well is valued by the solver's evaluation and ranked among the wells the beam
kept at that depth: rank 0 means it would be the beam's best, a rank at or beyond the
width means the beam would prune it. ``in_beam`` says whether the beam really holds that
exact well (rows and score); once the beam loses it, it never gets it back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from .core import cell_counts
from .game import replay
from .rules import WIDTH
from .search.beam import BeamSearch


@dataclass
class DepthReport:
    depth: int  # pieces placed
    lines: int  # the game's score at this depth
    value: float  # the game's well, valued by the evaluation
    rank: int  # beam wells valued strictly higher
    beam: int  # wells the beam kept at this depth
    in_beam: bool  # the beam holds the game's exact well
    lost_here: bool  # ... and held it at the depth before
    beam_best: float
    beam_worst: float

    def to_json(self) -> dict:
        return asdict(self)


def game_wells(keys: str) -> tuple[np.ndarray, np.ndarray]:
    """The well after every piece of a game, and the score at each of those depths.

    >>> wells, scores = game_wells("D" * 18)  # the first S dropped straight down
    >>> wells.shape, scores.tolist()
    ((1, 20), [0])
    """
    _, wells = replay(keys, steps=True)
    wells = np.ascontiguousarray(wells, np.uint16)
    pieces = np.arange(1, len(wells) + 1)
    scores = (4 * pieces - cell_counts(wells)) // WIDTH  # a piece adds 4 cells, a line takes 10
    return wells, scores


def follow_game(evaluation, keys: str, width: int, max_depth: int | None = None,
                parent_cap: int | None = None,
                on_depth: Callable[[DepthReport], None] | None = None) -> list[DepthReport]:
    """Run a beam with ``evaluation`` and report the game's standing at every depth."""
    wells, scores = game_wells(keys)
    last = len(wells) if max_depth is None else min(max_depth, len(wells))
    search = BeamSearch(evaluation, width, last, parent_cap)
    reports: list[DepthReport] = []
    one = np.zeros(1)
    held = True
    while search.step() is not None:
        d = search.depth
        s = search.store
        lo, hi = search.level_start[-1], s.size
        rows, beam_scores = s.rows[lo:hi], s.score[lo:hi].astype(np.int64)
        values = np.empty(hi - lo)
        evaluation.evaluate(rows, beam_scores, values)
        well, score = wells[d - 1], int(scores[d - 1])
        evaluation.evaluate(well[None, :].copy(), np.array([score], np.int64), one)
        was_held = held
        held = held and bool(np.any(np.all(rows == well, axis=1) & (beam_scores == score)))
        report = DepthReport(d, score, float(one[0]), int((values > one[0]).sum()), hi - lo,
                             held, was_held and not held, float(values.max()),
                             float(values.min()))
        reports.append(report)
        if on_depth is not None:
            on_depth(report)
    return reports
