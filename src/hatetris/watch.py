"""Watching a game in a terminal: the well after each piece, one frame at a time.

>>> from hatetris.codecs import decode
>>> frames = list(game_frames(decode("ѻටՀݹ३ටර0")))
>>> [(f.piece, f.score) for f in frames]
[(0, 0), (1, 0), (2, 0), (3, 0)]
>>> print(frames[-1].text(3))  # doctest: +ELLIPSIS
piece 3/3  score 0 lines  next S
|..........|
...
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Iterator, TextIO

import numpy as np

from .rules import HEIGHT, POPCOUNT

# Move the cursor home and clear the screen: redraws in place, in tmux too.
CLEAR = "\x1b[H\x1b[2J"


@dataclass(frozen=True)
class Frame:
    piece: int  # pieces placed
    score: int  # lines cleared so far
    well: tuple[int, ...]
    next_piece: str | None  # the piece the adversary sends next (None: game over)

    def text(self, pieces: int) -> str:
        head = f"piece {self.piece}/{pieces}  score {self.score} lines  " + (
            f"next {self.next_piece}" if self.next_piece else "game over")
        from .game import draw_well

        return head + "\n" + draw_well(self.well)


def game_frames(keys: str, ai: str = "hatetris", from_piece: int = 0) -> Iterator[Frame]:
    """The game's well before its first piece and after each one, from ``from_piece``."""
    from .game import replay

    result, wells = replay(keys, ai, steps=True)
    empty = np.zeros((1, HEIGHT), wells.dtype)
    wells = np.concatenate([empty, wells])
    for k in range(from_piece, len(wells)):
        well = tuple(int(r) for r in wells[k])
        # cells = 4 pieces - 10 lines: the score follows from the well
        score = (4 * k - int(POPCOUNT[np.asarray(well)].sum())) // 10
        nxt = result.pieces[k] if k < len(result.pieces) else None
        if k == len(wells) - 1 and result.game_over:
            nxt = None
        yield Frame(k, score, well, nxt)


def watch(keys: str, ai: str = "hatetris", speed: float = 10.0, from_piece: int = 0,
          out: TextIO | None = None, clear: bool | None = None) -> int:
    """Draw each frame in place, ``speed`` pieces per second; return the pieces shown.

    ``clear`` (default: when ``out`` is a terminal) redraws in place; otherwise the
    frames follow each other, as in a log.
    """
    from .game import replay

    out = out or sys.stdout
    clear = out.isatty() if clear is None else clear
    pieces = replay(keys, ai).pieces_placed
    shown = 0
    for frame in game_frames(keys, ai, from_piece):
        if shown:
            time.sleep(1.0 / speed)
        out.write((CLEAR if clear else "") + frame.text(pieces) + "\n")
        out.flush()
        shown += 1
    return shown
