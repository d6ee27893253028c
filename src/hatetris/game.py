"""Playing keys: a whole replay from the empty well, and the keys that reach a lock.

>>> result = replay("")
>>> result.pieces, result.score, result.game_over
('S', 0, False)
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from numba import njit

from .adversary import (
    BRZUSTOWSKI,
    BURGIEL,
    HATETRIS,
    HATETRIS_MILD,
    LOVETRIS,
    PIECE_I,
    PIECE_S,
    PIECE_Z,
    adversary_id,
    hatetris_piece,
    history_record,
    mild_piece,
    new_history,
)
from .config import NJIT
from .core import well_is
from .engine import expand_scratch, fits, pad_well, place
from .rules import (
    BAR,
    CANONICAL,
    HEIGHT,
    KEY_L,
    KEY_R,
    KEY_U,
    KEYS,
    PAD_ROWS,
    PIECE_NAMES,
    SPAWN_O,
    SPAWN_X,
    SPAWN_Y,
    WIDTH,
)

_KEY_CODES = {k: i for i, k in enumerate(KEYS)}


@dataclass(frozen=True)
class ReplayResult:
    """What a replay did: the fields of ``hatetris replay --json``."""

    score: int
    pieces_placed: int
    game_over: bool
    pieces: str
    final_well: list[int]
    moves: int

    def to_json(self) -> dict:
        return {
            "score": self.score,
            "pieces_placed": self.pieces_placed,
            "game_over": self.game_over,
            "pieces": self.pieces,
            "final_well": self.final_well,
            "moves": self.moves,
        }


@njit(**NJIT)
def _brzustowski_seen(seen, n_seen, rows) -> bool:
    for i in range(n_seen):
        if well_is(seen, i, rows):
            return True
    return False


@njit(**NJIT)
def play_keys(keys, ai, out_pieces, out_well, out_stats, hist_wells, hist_counts, hist_table,
              hist_size, seen, well_log):
    """Play ``keys`` (codes 0..3 = L R D U) from the empty well.

    Writes the spawned pieces to ``out_pieces``, the locked cells to ``out_well`` and
    (score, pieces placed, game over, pieces spawned, keys played) to ``out_stats``.
    If ``well_log`` has rows, the well after every lock is written there (for ``--steps``).
    """
    pad, locks, buf, outs, gains, moves_buf = expand_scratch()
    score = 0
    placed = 0
    spawned = 0
    game_over = False
    # Brzustowski's state (step, display, seen)
    b_step = 1
    b_display = PIECE_S
    n_seen = 0
    top = pad_well(np.zeros(HEIGHT, np.int64), pad)
    moves = 0
    p = -1
    x = SPAWN_X
    y = SPAWN_Y
    o = SPAWN_O
    spawn = True
    for i in range(keys.shape[0] + 1):
        if spawn:
            if ai == HATETRIS:
                history_record(hist_wells, hist_counts, hist_table, hist_size, pad)
                p = hatetris_piece(pad, top, locks, buf, hist_wells, hist_counts, hist_table,
                                   hist_size, outs, gains, moves_buf)
            elif ai == HATETRIS_MILD:
                p, _, _ = mild_piece(pad, top, locks, buf)
            elif ai == LOVETRIS:
                p = PIECE_I
            elif ai == BURGIEL:
                p = PIECE_S if spawned % 2 == 0 else PIECE_Z
            else:
                p = b_display
                present = _brzustowski_seen(seen, n_seen, pad)
                if b_step == 1 or b_step == 3:
                    for r in range(HEIGHT):
                        seen[n_seen, r] = pad[r]
                    n_seen += 1
                if b_step == 1:
                    if present:
                        b_step, b_display = 2, PIECE_Z
                    else:
                        b_step, b_display = 1, PIECE_S
                elif b_step == 2:
                    b_step, b_display, n_seen = 3, PIECE_Z, 0
                elif b_step == 3:
                    if present:
                        b_step, b_display = 4, PIECE_S
                    else:
                        b_step, b_display = 3, PIECE_Z
                else:
                    b_step, b_display, n_seen = 1, PIECE_S, 0
            out_pieces[spawned] = p
            spawned += 1
            x, y, o = SPAWN_X, SPAWN_Y, SPAWN_O
            spawn = False
        if i == keys.shape[0]:
            break
        k = keys[i]
        moves += 1
        if k == KEY_L:
            if fits(pad, p, x - 1, y, o):
                x -= 1
        elif k == KEY_R:
            if fits(pad, p, x + 1, y, o):
                x += 1
        elif k == KEY_U:
            if fits(pad, p, x, y, (o + 1) % 4):
                o = (o + 1) % 4
        else:
            if fits(pad, p, x, y + 1, o):
                y += 1
            else:
                score += place(pad, p, o, x, y, buf, 0)
                for r in range(HEIGHT):
                    pad[r] = buf[0, r]
                if well_log.shape[0] > placed:
                    for r in range(HEIGHT):
                        well_log[placed, r] = buf[0, r]
                placed += 1
                if pad[BAR - 1] != 0:
                    game_over = True
                    break
                top = HEIGHT
                for r in range(HEIGHT):
                    if pad[r] != 0:
                        top = r
                        break
                spawn = True
    for r in range(HEIGHT):
        out_well[r] = pad[r]
    out_stats[0] = score
    out_stats[1] = placed
    out_stats[2] = 1 if game_over else 0
    out_stats[3] = spawned
    out_stats[4] = moves


def key_codes(keys: str) -> np.ndarray:
    """Keys as codes 0..3; raises ValueError on any other character."""
    try:
        return np.fromiter((_KEY_CODES[k] for k in keys), np.uint8, len(keys))
    except KeyError as e:
        raise ValueError(f"invalid key {e.args[0]!r}: keys are L, R, D, U") from None


def replay(keys: str, ai: str = "hatetris", *, steps: bool = False):
    """Play ``keys`` from the empty well under adversary ``ai``.

    Returns a :class:`ReplayResult`; with ``steps=True``, also the well after every lock
    as an array of shape (pieces placed, 20).
    """
    ai_id = adversary_id(ai)
    codes = key_codes(keys)
    n = len(codes) + 2
    hist = new_history(n if ai_id == HATETRIS else 1)
    seen = np.zeros((n if ai_id == BRZUSTOWSKI else 1, HEIGHT), np.uint16)
    pieces = np.zeros(n, np.int8)
    well = np.zeros(HEIGHT, np.int64)
    stats = np.zeros(5, np.int64)
    well_log = np.zeros((n if steps else 0, HEIGHT), np.int64)
    play_keys(codes, ai_id, pieces, well, stats, *hist, seen, well_log)
    result = ReplayResult(
        score=int(stats[0]),
        pieces_placed=int(stats[1]),
        game_over=bool(stats[2]),
        pieces="".join(PIECE_NAMES[i] for i in pieces[: stats[3]]),
        final_well=[int(v) for v in well],
        moves=int(stats[4]),
    )
    if steps:
        return result, well_log[: stats[1]]
    return result


def keys_to_lock(well, piece: int, x: int, y: int, o: int) -> str:
    """The shortest key sequence from the spawn that locks ``piece`` at (x, y, o).

    Breadth-first over positions; the last key is the ``D`` that fails. A position in
    another orientation that draws the same cells (S, Z, I, O) locks the same cells, and
    serves as well: the search enumerates such positions only once. Raises ValueError
    if no such lock position can be reached.

    >>> keys_to_lock([0] * 20, PIECE_NAMES.index("O"), 3, 17, 0)  # straight down
    'DDDDDDDDDDDDDDDDDD'
    """
    pad = np.zeros(PAD_ROWS, np.uint16)
    pad_well(np.asarray(well, dtype=np.int64), pad)
    def canonical(sx, sy, so):
        co, dx, dy = CANONICAL[piece, so]
        return sx + dx, sy + dy, co

    target = canonical(x, y, o)
    start = (SPAWN_X, SPAWN_Y, SPAWN_O)
    parent: dict[tuple[int, int, int], tuple[tuple[int, int, int], str] | None] = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        sx, sy, so = state
        if canonical(*state) == target and not fits(pad, piece, sx, sy + 1, so):
            keys = ["D"]
            while parent[state] is not None:
                state, key = parent[state]
                keys.append(key)
            return "".join(reversed(keys))
        for key, nxt in (("L", (sx - 1, sy, so)), ("R", (sx + 1, sy, so)),
                         ("D", (sx, sy + 1, so)), ("U", (sx, sy, (so + 1) % 4))):
            if nxt not in parent and fits(pad, piece, *nxt):
                parent[nxt] = (state, key)
                queue.append(nxt)
    raise ValueError(f"piece {PIECE_NAMES[piece]} cannot lock at x={x} y={y} o={o}")


def draw_well(well, piece: str | None = None) -> str:
    """The well as text: '#' for a cell, '.' for none, a line under the spawn zone, and
    ``piece`` (the one about to fall), if given, named under the floor.

    >>> print(draw_well([0] * 19 + [0b1000000011]))  # doctest: +ELLIPSIS
    |..........|
    ...
    |##.......#|
    +----------+
    """
    lines = []
    for r in range(HEIGHT):
        cells = "".join("#" if int(well[r]) >> x & 1 else "." for x in range(WIDTH))
        lines.append(f"|{cells}|")
        if r == BAR - 1:
            lines.append("|" + "-" * WIDTH + "|")
    lines.append("+" + "-" * WIDTH + "+")
    if piece is not None:
        lines.append(f"next: {piece}")
    return "\n".join(lines)


class Game:
    """A HATETRIS game in progress: the keys played so far, and what they did.

    Every property is what the exact emulator gives for :attr:`keys` from the empty well
    (the adversary, with its loop rule, sees the whole game), so a ``Game`` can never
    disagree with :func:`replay` or with a stored solution.

    >>> game = Game()
    >>> game.piece, game.score, game.pieces_placed
    ('S', 0, 0)
    >>> game.play("D" * 18)          # the S straight down to the floor
    Game(score=0, pieces_placed=1, piece='S')
    >>> len(game.lock_positions())   # where the next piece could lock
    18
    >>> game.lock(*game.lock_positions()[0]).pieces_placed
    2
    >>> print(game)  # doctest: +ELLIPSIS
    |..........|
    ...
    +----------+
    next: ...
    >>> Game.from_replay(game.replay()).well == game.well  # Base2048 may pad one key
    True
    """

    def __init__(self, keys: str = "", ai: str = "hatetris"):
        self.ai = ai
        self.keys = ""
        self._result = replay("", ai)
        if keys:
            self.play(keys)

    @classmethod
    def from_replay(cls, text: str, ai: str = "hatetris") -> "Game":
        """The game of a replay string in any codec (raw, hex, Base65536, Base2048)."""
        from .codecs import decode

        return cls(decode(text), ai)

    def play(self, keys: str) -> "Game":
        """Press ``keys`` (L, R, D, U) and return the game. Raises ValueError on other
        characters or once the game is over."""
        if self.game_over and keys:
            raise ValueError("the game is over")
        result = replay(self.keys + keys, self.ai)
        self.keys, self._result = self.keys + keys, result
        return self

    def lock_positions(self) -> list[tuple[int, int, int]]:
        """Every distinct position (x, y, orientation) where the falling piece can lock,
        reachable from its spawn."""
        from .engine import reachable_lock_positions

        self._check_at_spawn()
        well = np.asarray(self.well, np.uint16)
        return reachable_lock_positions(well, PIECE_NAMES.index(self.piece))

    def lock(self, x: int, y: int, o: int) -> "Game":
        """Play the shortest keys that take the falling piece from its spawn to lock at
        (x, y, o), as :meth:`lock_positions` names them."""
        self._check_at_spawn()
        return self.play(keys_to_lock(self.well, PIECE_NAMES.index(self.piece), x, y, o))

    def _check_at_spawn(self) -> None:
        if self.game_over:
            raise ValueError("the game is over")
        if self.keys and replay(self.keys[:-1], self.ai).pieces_placed == self.pieces_placed:
            raise ValueError("the falling piece has left its spawn: finish it with play()")

    @property
    def score(self) -> int:
        """Lines cleared."""
        return self._result.score

    @property
    def pieces_placed(self) -> int:
        return self._result.pieces_placed

    @property
    def pieces(self) -> str:
        """Every piece the adversary sent, in order, the falling one last."""
        return self._result.pieces

    @property
    def piece(self) -> str | None:
        """The falling piece (None once the game is over)."""
        return None if self.game_over else self._result.pieces[-1]

    @property
    def game_over(self) -> bool:
        return self._result.game_over

    @property
    def well(self) -> tuple[int, ...]:
        """The locked cells: 20 row integers, top row first, bit x set for column x."""
        return tuple(self._result.final_well)

    def replay(self, codec: str = "Base2048") -> str:
        """The keys so far as a replay string."""
        from .codecs import encode

        return encode(self.keys, codec)

    def __str__(self) -> str:
        return draw_well(self.well, self.piece)

    def __repr__(self) -> str:
        return (f"Game(score={self.score}, pieces_placed={self.pieces_placed}, "
                f"piece={self.piece!r})")
