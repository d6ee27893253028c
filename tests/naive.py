"""A plain, obviously-correct, pure-Python reference implementation of HATETRIS.

Used only by the tests, to cross-check the fast engine. It follows
``shared/hatetris-rules.md`` literally and imports nothing from the ``hatetris``
package (only the standard library, plus ``base2048`` for decoding replays).

Conventions (as in the rules):
- a well is a tuple of 20 ints, row 0 on top, row 19 at the bottom;
  bit x (value ``1 << x``) of a row is column x counted from the left;
- a live piece is (piece, x, y, o): the top-left corner of its 4x4 box is at
  column x, row y; it spawns at x=3, y=0, o=0.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

WIDTH = 10
HEIGHT = 20
BAR = 4  # rows 0-3 are the spawn zone above the bar
FULL_ROW = (1 << WIDTH) - 1
EMPTY_WELL = (0,) * HEIGHT

SPAWN_X, SPAWN_Y, SPAWN_O = 3, 0, 0

PIECES = "IJLOSTZ"
ADVERSARY_ORDER = "SZOIL JT".replace(" ", "")  # "SZOILJT"

# The piece table, copied literally from the rules: for each piece, its four
# orientations o=0..3, each a 4x4 box given as its 4 rows, top to bottom.
PIECE_BOXES = {
    "I": (".... #### .... ....", "..#. ..#. ..#. ..#.", ".... .... #### ....", ".#.. .#.. .#.. .#.."),
    "J": (".... .##. .#.. .#..", ".... ###. ..#. ....", "..#. ..#. .##. ....", ".... .#.. .### ...."),
    "L": (".... .### .#.. ....", ".... .##. ..#. ..#.", ".... ..#. ###. ....", ".#.. .#.. .##. ...."),
    "O": (".... .##. .##. ....",) * 4,
    "S": (".... ..## .##. ....", ".... .#.. .##. ..#.", ".... .##. ##.. ....", ".#.. .##. ..#. ...."),
    "T": (".... .### ..#. ....", ".... ..#. .##. ..#.", ".... .#.. ###. ....", ".#.. .##. .#.. ...."),
    "Z": (".... .##. ..## ....", ".... ..#. .##. .#..", ".... ##.. .##. ....", "..#. .##. .#.. ...."),
}


def _box_offsets(box: str) -> tuple[tuple[int, int], ...]:
    """(dx, dy) of the filled cells of a 4x4 box written as 4 rows of 4 characters."""
    rows = box.split()
    assert len(rows) == 4 and all(len(r) == 4 for r in rows), box
    return tuple(
        (dx, dy) for dy, row in enumerate(rows) for dx, ch in enumerate(row) if ch == "#"
    )


# OFFSETS[piece][o] = the (dx, dy) of the 4 filled cells inside the box.
OFFSETS = {p: tuple(_box_offsets(b) for b in boxes) for p, boxes in PIECE_BOXES.items()}
assert set(OFFSETS) == set(PIECES)
assert all(len(cells) == 4 for p in OFFSETS for cells in OFFSETS[p])


# --------------------------------------------------------------------------- #
# Cells, collision, locking
# --------------------------------------------------------------------------- #

def piece_cells(piece: str, x: int, y: int, o: int) -> list[tuple[int, int]]:
    """Absolute (column, row) of the 4 filled cells of the piece at (x, y, o)."""
    return [(x + dx, y + dy) for dx, dy in OFFSETS[piece][o % 4]]


def cell_filled(well, col: int, row: int) -> bool:
    return (well[row] >> col) & 1 == 1


def fits(well, piece: str, x: int, y: int, o: int) -> bool:
    """True if every filled cell is inside the well and on an empty cell."""
    for col, row in piece_cells(piece, x, y, o):
        if col < 0 or col >= WIDTH or row < 0 or row >= HEIGHT:
            return False
        if cell_filled(well, col, row):
            return False
    return True


def lock(well, score: int, piece: str, x: int, y: int, o: int):
    """Lock the piece at (x, y, o). Returns (new_well, new_score, game_over)."""
    cells = piece_cells(piece, x, y, o)
    rows = list(well)
    # 1. OR the cells in.
    for col, row in cells:
        rows[row] |= 1 << col
    # 2. Clear full rows among the rows the piece covers, only if no piece cell
    #    is in the spawn zone (rows 0-3). Top to bottom; rows above move down.
    piece_rows = sorted({row for _, row in cells})
    if min(piece_rows) >= BAR:
        for r in piece_rows:
            if rows[r] == FULL_ROW:
                del rows[r]
                rows.insert(0, 0)
                score += 1
    # 3. Game over if row 3 is not empty.
    game_over = rows[BAR - 1] != 0
    return tuple(rows), score, game_over


# --------------------------------------------------------------------------- #
# Reachability
# --------------------------------------------------------------------------- #

def moved(state, key: str):
    """The state after pressing key (no collision check)."""
    x, y, o = state
    if key == "L":
        return (x - 1, y, o)
    if key == "R":
        return (x + 1, y, o)
    if key == "U":
        return (x, y, (o + 1) % 4)
    if key == "D":
        return (x, y + 1, o)
    raise ValueError(f"unknown key {key!r}")


def reachable_locks(well, piece: str) -> set[tuple[int, int, int]]:
    """Every (x, y, o) where the piece can lock, by BFS from the spawn state."""
    start = (SPAWN_X, SPAWN_Y, SPAWN_O)
    if not fits(well, piece, *start):
        return set()
    seen = {start}
    queue = deque([start])
    locks = set()
    while queue:
        state = queue.popleft()
        for key in "LRUD":
            nxt = moved(state, key)
            if fits(well, piece, *nxt):
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
            elif key == "D":
                locks.add(state)
    return locks


def children(well, score: int, piece: str) -> set[tuple[tuple[int, ...], int, bool]]:
    """The distinct (well, score, game_over) results of every reachable lock."""
    return {lock(well, score, piece, *state) for state in reachable_locks(well, piece)}


def top_row(well) -> int:
    """Index of the first non-empty row, 20 if the well is empty."""
    for r, row in enumerate(well):
        if row:
            return r
    return HEIGHT


# --------------------------------------------------------------------------- #
# Adversaries
# --------------------------------------------------------------------------- #

class Hatetris:
    """HATETRIS; loop_prevention=False is "HATETRIS Mild" (loops are ignored)."""

    def __init__(self, loop_prevention: bool = True):
        self.loop_prevention = loop_prevention
        self.history: dict[tuple[int, ...], int] = {}

    def next_piece(self, well) -> str:
        well = tuple(well)
        if self.loop_prevention:
            self.history[well] = self.history.get(well, 0) + 1
        best = None  # (loops, peak, index, piece)
        for index, piece in enumerate(ADVERSARY_ORDER):
            result_wells = {w for w, _score, _over in children(well, 0, piece)}
            if self.loop_prevention:
                loops = max((self.history.get(w, 0) for w in result_wells), default=0)
            else:
                loops = 0
            peak = max(top_row(w) for w in result_wells)
            key = (loops, peak, index, piece)
            if best is None or key < best:
                best = key
        return best[3]


class Lovetris:
    def next_piece(self, well) -> str:
        return "I"


class Burgiel:
    def __init__(self):
        self.count = 0

    def next_piece(self, well) -> str:
        piece = "SZ"[self.count % 2]
        self.count += 1
        return piece


class Brzustowski:
    """Brzustowski (1992), Algorithm 2; state (step, display, seen)."""

    def __init__(self):
        self.step = 1
        self.display = "S"
        self.seen: list[tuple[int, ...]] = []

    def next_piece(self, well) -> str:
        well = tuple(well)
        piece = self.display
        if self.step == 1:
            if well in self.seen:
                self.step, self.display, self.seen = 2, "Z", self.seen + [well]
            else:
                self.step, self.display, self.seen = 1, "S", self.seen + [well]
        elif self.step == 2:
            self.step, self.display, self.seen = 3, "Z", []
        elif self.step == 3:
            if well in self.seen:
                self.step, self.display, self.seen = 4, "S", self.seen + [well]
            else:
                self.step, self.display, self.seen = 3, "Z", self.seen + [well]
        elif self.step == 4:
            self.step, self.display, self.seen = 1, "S", []
        else:  # pragma: no cover
            raise AssertionError(self.step)
        return piece


def make_adversary(name: str):
    if name == "hatetris":
        return Hatetris(loop_prevention=True)
    if name == "hatetris-mild":
        return Hatetris(loop_prevention=False)
    if name == "lovetris":
        return Lovetris()
    if name == "burgiel":
        return Burgiel()
    if name == "brzustowski":
        return Brzustowski()
    raise ValueError(f"unknown adversary {name!r}")


def mild_beam(well, score: int, depth: int, grace: int, width: int,
              values: Callable[[list[tuple[int, ...]]], Sequence[float]]
              ) -> tuple[float, int] | None:
    """A beam search the long way, for the label lookaheads: each step, the distinct
    children of every well in the beam (HATETRIS Mild), the best ``width`` of them by
    ``values`` (a list of wells -> one number a well).

    Returns (the best value ``depth`` steps on, -1.0 if the beam died sooner; the steps
    it lasted, at most ``depth + grace``), or None where wells tie across the cut (which
    of them stays is arbitrary, so no answer is the right one).
    """
    beam, value, lasted = {(tuple(int(v) for v in well), score)}, -1.0, 0
    for _ in range(depth + grace):
        kids = set()
        for w, sc in beam:
            piece = Hatetris(loop_prevention=False).next_piece(list(w))
            kids |= {(k, s) for k, s, over in children(list(w), sc, piece) if not over}
        if not kids:
            break
        kids = sorted(kids)
        scores = values([k for k, _ in kids])
        # Python's sort is stable with reverse too: equal values keep the wells' order.
        order = sorted(range(len(kids)), key=lambda j: scores[j], reverse=True)
        if len(kids) > width and scores[order[width - 1]] - scores[order[width]] < 1e-9:
            return None
        beam, lasted = {kids[j] for j in order[:width]}, lasted + 1
        if lasted == depth:
            value = float(scores[order[0]])
    return value, lasted


# --------------------------------------------------------------------------- #
# Playing a replay
# --------------------------------------------------------------------------- #

def play(keys: str, ai: str = "hatetris") -> dict:
    """Play the keys from the first spawn on the empty well."""
    adversary = make_adversary(ai)
    well = EMPTY_WELL
    score = 0
    pieces = []
    placed = 0
    game_over = False
    moves = 0

    piece = adversary.next_piece(well)
    pieces.append(piece)
    state = (SPAWN_X, SPAWN_Y, SPAWN_O)

    for key in keys:
        if game_over:
            break
        moves += 1
        nxt = moved(state, key)
        if fits(well, piece, *nxt):
            state = nxt
        elif key == "D":
            well, score, game_over = lock(well, score, piece, *state)
            placed += 1
            if not game_over:
                piece = adversary.next_piece(well)
                pieces.append(piece)
                state = (SPAWN_X, SPAWN_Y, SPAWN_O)
        # L, R, U into an obstacle: nothing happens.

    return {
        "score": score,
        "pieces_placed": placed,
        "game_over": game_over,
        "pieces": "".join(pieces),
        "final_well": list(well),
        "moves": moves,
    }


# --------------------------------------------------------------------------- #
# Replay decoding (Base2048 only)
# --------------------------------------------------------------------------- #

def decode_base2048_keys(s: str) -> str:
    """Base2048 replay -> keys, padding included (as the reference game does)."""
    import base2048

    data = base2048.decode(s.strip())
    keys = []
    for byte in data:
        for nybble in (byte >> 4, byte & 0xF):
            keys.append("LRDU"[nybble >> 2] * ((nybble & 3) + 1))
    return "".join(keys)
