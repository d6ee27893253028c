"""A long game at a glance: per-piece series and where the loop rule decided a piece.

The series are computed from the replayed wells by Numba kernels, one value per piece
placed (index ``k`` is the state after piece ``k + 1``):

* ``lines``: the score after the piece; ``cleared``: the lines that piece cleared;
* ``cells``: the filled cells in the well, ``4 x pieces - 10 x lines`` (a steady state
  keeps it flat: every piece adds 4, every line takes 10);
* ``height``: rows of the stack, ``20 - first non-empty row`` (0 for an empty well; the
  16 rows below the bar are the playing field, so 16 or more is at the bar);
* ``holes``: empty cells with a filled cell anywhere above them in the same column;
* ``bottom``: the bottom row (row 19) as a row integer, and ``bottom_changed`` where it
  differs from the bottom row before that piece;
* ``cleared_rows``: which rows the piece cleared, counted from the bottom *before* the
  clear (bit ``d - 1`` = row ``d``, row 1 is the bottom row).

Loop-rule firings: at every spawn the history-free ("mild") choice is recomputed and
compared with the piece the game sent. HATETRIS sends the mild choice unless one of its
placements recreates a well already in the history (see :mod:`hatetris.adversary`), so a
spawn where the two differ is one where the loop rule changed the piece. A *hit* is a spawn
where a placement of the mild choice recreates a seen well (every firing is a hit; a hit
whose piece is still sent is one where every other piece loops at least as often). ``back``
is the number of spawns between this spawn and the latest spawn whose well that placement
would recreate (spawn ``s`` sees the well left by piece ``s - 1``; spawns count from 1).

>>> s = summarize("D" * 18)  # one S dropped straight down
>>> s.lines.tolist(), s.height.tolist(), s.holes.tolist(), s.firings
([0], [2], [1], [])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from .adversary import history_count, history_record, mild_piece, new_history, piece_outcomes
from .config import NJIT
from .core import cell_counts, well_is
from .engine import children_into, decode_move, expand_scratch, lock_masks, pad_well, place_cells
from .game import ReplayResult, replay
from .rules import BAR, FULL_ROW, HEIGHT, PIECE_BOTTOM, PIECE_NAMES, PIECE_TOP, POPCOUNT, WIDTH


@njit(**NJIT)
def well_profile(wells, heights, holes):
    """Stack height and holes of each well in ``wells`` (shape (n, 20)).

    A hole is an empty cell with a filled cell above it in the same column.
    """
    for i in range(wells.shape[0]):
        covered = 0  # columns with a filled cell in some row above
        top = HEIGHT
        count = 0
        for r in range(HEIGHT):
            row = wells[i, r]
            if row != 0 and top == HEIGHT:
                top = r
            count += POPCOUNT[covered & ~row & FULL_ROW]
            covered |= row
        heights[i] = HEIGHT - top
        holes[i] = count


@njit(**NJIT)
def cleared_row_masks(wells, pieces, out) -> int:
    """Which rows each piece cleared (bit ``d - 1`` = row ``d`` from the bottom).

    ``wells[k]`` is the well after piece ``k``, ``pieces[k]`` its piece. The lock is the
    first one (in :func:`~hatetris.engine.children_into`'s order) that leaves that well.
    Returns the index of the first piece whose well no lock gives, or -1.
    """
    pad, locks, buf, kid_rows, kid_scores, kid_moves = expand_scratch()
    cells = np.zeros((1, HEIGHT), np.int64)
    prev = np.zeros(HEIGHT, np.uint16)
    for k in range(wells.shape[0]):
        top = pad_well(prev, pad)
        p = pieces[k]
        y_first, y_last = lock_masks(pad, top, p, locks)
        n = children_into(pad, p, locks, y_first, y_last, 0, True, kid_rows, kid_scores,
                          kid_moves, 0, buf)
        j = 0
        while j < n and not well_is(kid_rows, j, wells[k]):
            j += 1
        if j == n:
            return k
        o, x, y = decode_move(kid_moves[j])
        mask = 0
        if y + PIECE_TOP[p, o] >= BAR:
            place_cells(pad, p, o, x, y, cells, 0)
            for r in range(y + PIECE_TOP[p, o], y + PIECE_BOTTOM[p, o] + 1):
                if cells[0, r] == FULL_ROW:
                    mask |= 1 << (HEIGHT - 1 - r)
        out[k] = mask
        for r in range(HEIGHT):
            prev[r] = wells[k, r]
    return -1


@njit(**NJIT)
def loop_scan(befores, hist_wells, hist_counts, hist_table, hist_size, out_mild, out_hits,
              out_back):
    """The mild choice at every spawn, with the game's history of seen wells.

    ``befores[s]`` is the well at spawn ``s`` (0-based). Writes the mild piece, the number
    of its placements that recreate a seen well, and the spawns back to the latest well
    one of them recreates (-1 if none). The history arrays start empty.
    """
    pad, locks, buf, outs, gains, moves = expand_scratch()
    n_spawns = befores.shape[0]
    cells = np.zeros(n_spawns, np.int64)
    for s in range(n_spawns):
        for r in range(HEIGHT):
            cells[s] += POPCOUNT[befores[s, r]]
    for s in range(n_spawns):
        top = pad_well(befores[s], pad)
        history_record(hist_wells, hist_counts, hist_table, hist_size, pad)
        p, _, _ = mild_piece(pad, top, locks, buf)
        out_mild[s] = p
        out_hits[s] = 0
        out_back[s] = -1
        n = piece_outcomes(pad, top, p, locks, outs, gains, moves, buf)
        for j in range(n):
            if history_count(hist_wells, hist_counts, hist_table, hist_size, outs[j]) == 0:
                continue
            out_hits[s] += 1
            c = 0
            for r in range(HEIGHT):
                c += POPCOUNT[outs[j, r]]
            t = s
            while t >= 0 and not (cells[t] == c and well_is(befores, t, outs[j])):
                t -= 1
            if t >= 0 and (out_back[s] < 0 or s - t < out_back[s]):
                out_back[s] = s - t


# The window figures that describe a steady state (see GameSummary.bounds).
STEADY_FIGURES = ("lines_per_100", "cells_mean", "height_mean", "holes_mean",
                  "clears_share_rows_2_3")


@dataclass(frozen=True)
class LoopFiring:
    """A spawn where the loop rule changed the piece (``spawn`` counts from 1)."""

    spawn: int
    mild: str  # the history-free choice
    sent: str  # what the game sent
    back: int  # spawns back to the latest well a placement of ``mild`` would recreate
    placements: int  # placements of ``mild`` that recreate a seen well

    def to_json(self) -> dict:
        return {"spawn": self.spawn, "mild": self.mild, "sent": self.sent, "back": self.back,
                "placements": self.placements}


@dataclass
class GameSummary:
    """Per-piece series of one game (see the module docstring for each field)."""

    pieces: str  # every piece spawned, including one spawned after the last lock
    score: int
    game_over: bool
    lines: np.ndarray
    cleared: np.ndarray
    height: np.ndarray
    holes: np.ndarray
    bottom: np.ndarray
    bottom_changed: np.ndarray
    cleared_rows: np.ndarray
    firings: list[LoopFiring] = field(default_factory=list)
    hits: int = 0  # spawns where the mild choice had a placement in the history
    loop_rule: bool = True  # the adversary has a history (hatetris)

    @property
    def pieces_placed(self) -> int:
        return len(self.lines)

    @property
    def cells(self) -> np.ndarray:
        """Filled cells in the well after every piece."""
        return 4 * np.arange(1, self.pieces_placed + 1) - 10 * self.lines

    def lines_per_100(self, span: int = 100) -> np.ndarray:
        """Lines cleared by the last ``span`` pieces, per 100 pieces, after every piece
        (over all pieces so far while fewer than ``span`` were placed)."""
        n = self.pieces_placed
        base = np.concatenate([np.zeros(min(span, n), np.int64), self.lines[: max(0, n - span)]])
        return (self.lines - base) * 100.0 / np.minimum(np.arange(1, n + 1), span)

    def clear_depths(self) -> np.ndarray:
        """Lines cleared in each row counted from the bottom: ``out[d - 1]`` for row d."""
        bits = (self.cleared_rows[:, None] >> np.arange(HEIGHT)) & 1
        return bits.sum(axis=0)

    def bottom_stable_from(self) -> int:
        """The first piece from which the bottom row never changes again (1-based)."""
        changed = np.flatnonzero(self.bottom_changed)
        return int(changed[-1]) + 1 if len(changed) else 1

    def window(self, a: int, b: int) -> dict:
        """Figures for pieces ``a + 1 .. b`` (0-based half-open slice of the series)."""
        lines_before = int(self.lines[a - 1]) if a > 0 else 0
        lines = int(self.lines[b - 1]) - lines_before
        depths = ((self.cleared_rows[a:b, None] >> np.arange(HEIGHT)) & 1).sum(axis=0)
        cleared = int(depths.sum())
        return {
            "first": a + 1, "last": b, "lines": lines,
            "lines_per_100": round(100.0 * lines / (b - a), 1),
            "cells_mean": round(float(self.cells[a:b].mean()), 1),
            "cells_last": int(self.cells[b - 1]),
            "height_mean": round(float(self.height[a:b].mean()), 2),
            "height_max": int(self.height[a:b].max()),
            "holes_mean": round(float(self.holes[a:b].mean()), 2),
            "holes_max": int(self.holes[a:b].max()),
            "bottom_changes": int(self.bottom_changed[a:b].sum()),
            "clears_row_1": int(depths[0]),
            "clears_rows_2_3": int(depths[1:3].sum()),
            "clears_share_rows_2_3": (round(float(depths[1:3].sum()) / cleared, 3)
                                      if cleared else 0.0),
            "firings": sum(a < f.spawn <= b for f in self.firings),
        }

    def windows(self, every: int) -> list[dict]:
        n = self.pieces_placed
        return [self.window(a, min(a + every, n)) for a in range(0, n, every)]

    def bounds(self, start: int = 500, every: int = 100) -> dict:
        """The (lowest, highest) of each :data:`STEADY_FIGURES` figure over the full
        windows of ``every`` pieces after piece ``start``, and ``every`` itself: the
        envelope of a steady state (the record's, say) to hold another game to with
        :meth:`departures`."""
        ws = self._full_windows(start, every)
        if not ws:
            raise ValueError(f"no window of {every} pieces after piece {start}")
        out: dict = {k: (min(w[k] for w in ws), max(w[k] for w in ws)) for k in STEADY_FIGURES}
        out["every"] = every
        return out

    def departures(self, bounds: dict, start: int = 0) -> list[dict]:
        """The full windows (of ``bounds["every"]`` pieces, after piece ``start``) with a
        figure outside ``bounds``, one entry per figure: first and last piece, figure,
        value and bounds."""
        out = []
        for w in self._full_windows(start, bounds["every"]):
            for k in STEADY_FIGURES:
                lo, hi = bounds[k]
                if not lo <= w[k] <= hi:
                    out.append({"first": w["first"], "last": w["last"], "figure": k,
                                "value": w[k], "bounds": [lo, hi]})
        return out

    def _full_windows(self, start: int, every: int) -> list[dict]:
        return [self.window(a, a + every)
                for a in range(start, self.pieces_placed - every + 1, every)]

    def totals(self) -> dict:
        """Whole-game figures, plus the same from the bottom row's last change on."""
        n = self.pieces_placed
        out = {"pieces": n, "lines": self.score, "game_over": self.game_over}
        if n == 0:
            return out
        whole = self.window(0, n)
        stable = self.bottom_stable_from()
        out.update({k: whole[k] for k in ("cells_mean", "height_mean", "height_max", "holes_mean",
                                          "holes_max", "bottom_changes", "clears_row_1",
                                          "clears_rows_2_3", "clears_share_rows_2_3")})
        out["lines_per_piece"] = round(self.score / n, 4)
        out["height_share_15_plus"] = round(float((self.height >= 15).mean()), 3)
        out["bottom_row"] = row_text(int(self.bottom[-1]))
        out["bottom_stable_from"] = stable
        if stable < n:
            tail = self.window(stable - 1, n)
            out["after_stable"] = {k: tail[k] for k in (
                "lines", "cells_mean", "height_mean", "holes_mean", "clears_share_rows_2_3")}
            out["after_stable"]["lines_per_piece"] = round(tail["lines"] / (n - stable + 1), 4)
            out["after_stable"]["height_share_15_plus"] = round(
                float((self.height[stable - 1:] >= 15).mean()), 3)
        out["loop_hits"] = self.hits
        out["firings"] = [f.to_json() for f in self.firings]
        return out

    def text(self, every: int = 500) -> str:
        """A table of windows of ``every`` pieces, then the totals and the firings."""
        head = ("pieces", "lines", "l/100", "cells", "height", "max", "holes", "max",
                "bottom", "r2-3", "loop")
        rows = [head]
        for w in self.windows(every):
            rows.append((f"{w['first']}-{w['last']}", str(w["lines"]), f"{w['lines_per_100']:.1f}",
                         f"{w['cells_mean']:.0f}", f"{w['height_mean']:.1f}", str(w["height_max"]),
                         f"{w['holes_mean']:.1f}", str(w["holes_max"]), str(w["bottom_changes"]),
                         f"{100 * w['clears_share_rows_2_3']:.0f}%", str(w["firings"])))
        widths = [max(len(r[c]) for r in rows) for c in range(len(head))]
        lines = ["  ".join(cell.rjust(wd) for cell, wd in zip(r, widths)) for r in rows]
        t = self.totals()
        state = "game over" if self.game_over else "still playing"
        lines.append("")
        lines.append(f"{t['lines']} lines in {t['pieces']} pieces ({state})"
                     + (f", {t['lines_per_piece']:.3f} lines per piece" if t["pieces"] else ""))
        if t["pieces"]:
            lines.append(f"on average {t['cells_mean']:.0f} cells, a stack of "
                         f"{t['height_mean']:.1f} rows (max {t['height_max']}, 15+ rows "
                         f"{100 * t['height_share_15_plus']:.0f}% of pieces), "
                         f"{t['holes_mean']:.1f} holes (max {t['holes_max']})")
            lines.append(f"clears: {t['clears_row_1']} in the bottom row, "
                         f"{t['clears_rows_2_3']} in rows 2-3 "
                         f"({100 * t['clears_share_rows_2_3']:.0f}% of all)")
            lines.append(f"bottom row {t['bottom_row']} from piece {t['bottom_stable_from']} on "
                         f"({t['bottom_changes']} changes)")
            if "after_stable" in t:
                a = t["after_stable"]
                lines.append(f"  since then: {a['lines_per_piece']:.3f} lines per piece, "
                             f"{a['cells_mean']:.0f} cells, stack {a['height_mean']:.1f}, "
                             f"holes {a['holes_mean']:.1f}, "
                             f"{100 * a['clears_share_rows_2_3']:.0f}% of clears in rows 2-3")
        if not self.loop_rule:
            lines.append("no loop rule (this adversary keeps no history)")
        else:
            lines.append(f"loop rule: changed the piece at {len(self.firings)} spawns "
                         f"({self.hits} spawns where the mild choice could repeat a well)")
            for f in self.firings:
                lines.append(f"  spawn {f.spawn}: {f.mild} -> {f.sent}, against the well of "
                             f"{f.back} spawns back")
        return "\n".join(lines)


def row_text(row: int) -> str:
    """A row as '#' and '.', leftmost column first.

    >>> row_text(0b0111111110)
    '.########.'
    """
    return "".join("#" if row >> x & 1 else "." for x in range(WIDTH))


def summarize(keys: str, ai: str = "hatetris") -> GameSummary:
    """Replay ``keys`` from the empty well under ``ai`` and summarise the game."""
    return summarize_replayed(*replay(keys, ai, steps=True), ai)


def summarize_replayed(result: ReplayResult, wells: np.ndarray,
                       ai: str = "hatetris") -> GameSummary:
    """:func:`summarize` from a replay already played (``game.replay(..., steps=True)``)."""
    wells = np.ascontiguousarray(wells, np.uint16)
    n = len(wells)
    codes = np.array([PIECE_NAMES.index(c) for c in result.pieces], np.int64)
    heights = np.zeros(n, np.int64)
    holes = np.zeros(n, np.int64)
    well_profile(wells, heights, holes)
    # a piece adds 4 cells, a line takes 10
    lines = (4 * np.arange(1, n + 1) - cell_counts(wells.reshape(n, HEIGHT))) // WIDTH
    cleared = np.diff(lines, prepend=0)
    masks = np.zeros(n, np.int64)
    bad = cleared_row_masks(wells, codes[:n], masks)
    if bad >= 0:  # the engine's locks and its replay disagree: a bug, not bad input
        raise AssertionError(f"no lock of piece {bad + 1} leaves the replayed well")
    bottom = wells[:, HEIGHT - 1].astype(np.int64) if n else np.zeros(0, np.int64)
    bottom_changed = bottom != np.concatenate([[0], bottom[:-1]]) if n else np.zeros(0, bool)
    summary = GameSummary(result.pieces, result.score, result.game_over, lines, cleared,
                          heights, holes, bottom, bottom_changed, masks, loop_rule=ai == "hatetris")
    if ai == "hatetris":
        befores = np.concatenate([np.zeros((1, HEIGHT), np.uint16), wells])[: len(codes)]
        mild = np.zeros(len(codes), np.int64)
        hits = np.zeros(len(codes), np.int64)
        back = np.zeros(len(codes), np.int64)
        loop_scan(befores, *new_history(len(codes) + 1), mild, hits, back)
        summary.hits = int((hits > 0).sum())
        for s in np.flatnonzero(mild != codes):
            if hits[s] == 0:
                raise AssertionError(f"spawn {s + 1}: the game sent {result.pieces[s]}, not "
                                     f"the mild {PIECE_NAMES[mild[s]]}, without a history hit")
            summary.firings.append(LoopFiring(int(s) + 1, PIECE_NAMES[mild[s]],
                                              result.pieces[s], int(back[s]), int(hits[s])))
    return summary


def _running_mean(y: np.ndarray, span: int) -> np.ndarray:
    """Mean of the last ``span`` values at every index (fewer at the start)."""
    c = np.concatenate([[0.0], np.cumsum(y, dtype=np.float64)])
    i = np.arange(1, len(y) + 1)
    lo = np.maximum(0, i - span)
    return (c[i] - c[lo]) / (i - lo)


def plot_summary(summary: GameSummary, path: str, title: str = "") -> None:
    """Lines per 100 pieces, stack height and holes against pieces, loop-rule firings
    marked, as a PNG (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .atomic import write_atomic

    n = summary.pieces_placed
    x = np.arange(1, n + 1)
    fig, axes = plt.subplots(3, 1, figsize=(9, 6.5), sharex=True)
    series = ((summary.lines_per_100(), "lines per 100 pieces\n(last 100)", 40.0, False),
              (summary.height, "stack height (rows)\nrange, mean of 100", 16.0, True),
              (summary.holes, "holes\nrange, mean of 100", None, True))
    # Thousands of pieces do not fit in a plot's pixels: a band of each bin's range and a
    # running mean say more than a line that fills the band.
    step = max(1, n // 600)
    for ax, (y, label, limit, band) in zip(axes, series):
        if band and n:
            starts = np.arange(0, n, step)
            ax.fill_between(x[starts], np.minimum.reduceat(y, starts),
                            np.maximum.reduceat(y, starts), color="#a9c4e4", lw=0, step="post")
            ax.plot(x, _running_mean(y, 100), lw=0.9, color="#1f5fa8")
        else:
            ax.plot(x, y, lw=0.7, color="#1f5fa8")
        if limit is not None:
            ax.axhline(limit, color="#999999", lw=0.8, ls="--")
        for f in summary.firings:
            ax.axvline(f.spawn, color="#d62728", lw=0.8, alpha=0.7)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    if summary.firings:
        axes[0].plot([], [], color="#d62728", label=f"loop rule fired ({len(summary.firings)})")
        axes[0].legend(loc="lower right", fontsize=8)
    axes[-1].set_xlabel("pieces placed")
    state = "game over" if summary.game_over else "still playing"
    axes[0].set_title(title or f"{summary.score} lines in {summary.pieces_placed} pieces ({state})")
    fig.tight_layout()
    write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=90), mode="wb")
    plt.close(fig)
