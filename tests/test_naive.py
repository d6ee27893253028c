"""Tests of the pure-Python reference implementation in tests/naive.py.

The naive engine must reproduce the published record replays exactly; the fast
engine is then cross-checked against it elsewhere.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from naive import (  # noqa: E402
    ADVERSARY_ORDER,
    EMPTY_WELL,
    PIECES,
    Brzustowski,
    Burgiel,
    Hatetris,
    children,
    decode_base2048_keys,
    fits,
    lock,
    make_adversary,
    piece_cells,
    play,
    reachable_locks,
    top_row,
)

MAX_PIECES = 300  # records longer than this are left to the fast engine's tests


def _records_path() -> Path:
    shared = os.environ.get("HATETRIS_SHARED")
    if shared:
        return Path(shared) / "replays" / "records.json"
    return Path(__file__).resolve().parents[2] / "shared" / "replays" / "records.json"


def _load_records() -> list[dict]:
    path = _records_path()
    if not path.is_file():
        raise FileNotFoundError(f"records.json not found at {path} (set HATETRIS_SHARED)")
    return json.loads(path.read_text(encoding="utf-8"))


RECORDS = _load_records()
SHORT_RECORDS = [r for r in RECORDS if r["pieces_placed"] <= MAX_PIECES]


def _well(rows_from_bottom: dict[int, int] | None = None, **_):
    rows = [0] * 20
    for r, v in (rows_from_bottom or {}).items():
        rows[r] = v
    return tuple(rows)


# --------------------------------------------------------------------------- #
# The record replays
# --------------------------------------------------------------------------- #

def test_short_records_include_the_loop_basis():
    names = {r["name"] for r in SHORT_RECORDS}
    assert "knewjade loop basis" in names
    assert len(SHORT_RECORDS) >= 8


@pytest.mark.parametrize("record", SHORT_RECORDS, ids=[r["name"] for r in SHORT_RECORDS])
def test_record_replays_exactly(record):
    keys = decode_base2048_keys(record["replays"]["Base2048"])
    result = play(keys, record["ai"])
    assert result["score"] == record["score"]
    assert result["pieces_placed"] == record["pieces_placed"]
    assert result["game_over"] == record["game_over"]
    assert result["pieces"] == record["pieces"]
    assert result["final_well"] == record["final_well"]
    # Every record ends in game over, so some trailing keys may be ignored, but
    # all of the game's keys were applied.
    assert result["moves"] <= len(keys)


def _decode_hex_keys(s: str) -> str:
    """Old hex format (test-only): each hex digit is two keys, digit = 4*a + b."""
    out = []
    for ch in s:
        if ch in "0123456789ABCDEFabcdef":
            d = int(ch, 16)
            out.append("LRDU"[d >> 2] + "LRDU"[d & 3])
    return "".join(out)


@pytest.mark.parametrize(
    "record",
    [r for r in SHORT_RECORDS if "hex" in r["replays"]][:3],
    ids=lambda r: r["name"],
)
def test_base2048_and_hex_agree_on_played_keys(record):
    keys = decode_base2048_keys(record["replays"]["Base2048"])
    hex_keys = _decode_hex_keys(record["replays"]["hex"])
    moves = play(keys, record["ai"])["moves"]
    assert keys[:moves] == hex_keys[:moves]


def test_loop_prevention_decides_a_piece_in_the_loop_basis():
    record = next(r for r in RECORDS if r["name"] == "knewjade loop basis")
    keys = decode_base2048_keys(record["replays"]["Base2048"])
    mild = play(keys, "hatetris-mild")
    assert mild["pieces"] != record["pieces"]


# --------------------------------------------------------------------------- #
# Pieces and cells
# --------------------------------------------------------------------------- #

def test_piece_names():
    assert PIECES == "IJLOSTZ"
    assert ADVERSARY_ORDER == "SZOILJT"


def test_piece_cells_from_the_table():
    # I, o=0: ".... #### .... ....": row 1 of the box, columns 0-3.
    assert sorted(piece_cells("I", 3, 0, 0)) == [(3, 1), (4, 1), (5, 1), (6, 1)]
    # S, o=0: ".... ..## .##. ....".
    assert sorted(piece_cells("S", 0, 0, 0)) == [(1, 2), (2, 1), (2, 2), (3, 1)]
    # Z, o=3: "..#. .##. .#.. ....".
    assert sorted(piece_cells("Z", 0, 0, 3)) == [(1, 1), (1, 2), (2, 0), (2, 1)]
    for p in PIECES:
        for o in range(4):
            assert len(set(piece_cells(p, 0, 0, o))) == 4
            assert sorted(piece_cells("O", 0, 0, o)) == [(1, 1), (1, 2), (2, 1), (2, 2)]


def test_fits_walls_floor_and_cells():
    # S o=0 has leftmost cell at dx=1 and rightmost at dx=3.
    assert fits(EMPTY_WELL, "S", -1, 0, 0)
    assert not fits(EMPTY_WELL, "S", -2, 0, 0)
    assert fits(EMPTY_WELL, "S", 6, 0, 0)
    assert not fits(EMPTY_WELL, "S", 7, 0, 0)
    # Bottom cells of S o=0 are at dy=2: lowest y is 17.
    assert fits(EMPTY_WELL, "S", 3, 17, 0)
    assert not fits(EMPTY_WELL, "S", 3, 18, 0)
    well = _well({19: 1 << 4})
    assert not fits(well, "S", 3, 17, 0)  # cell (4, 19) is taken
    assert fits(well, "S", 3, 16, 0)


# --------------------------------------------------------------------------- #
# Locking and line clears
# --------------------------------------------------------------------------- #

FULL = 1023
ALL_BUT_COL0 = FULL & ~1


def test_vertical_i_clears_four_rows():
    well = _well({16: ALL_BUT_COL0, 17: ALL_BUT_COL0, 18: ALL_BUT_COL0, 19: ALL_BUT_COL0})
    # I o=1: "..#." in every row, so x=-2 puts it in column 0.
    assert sorted(piece_cells("I", -2, 16, 1)) == [(0, 16), (0, 17), (0, 18), (0, 19)]
    new_well, score, over = lock(well, 5, "I", -2, 16, 1)
    assert new_well == EMPTY_WELL
    assert score == 9
    assert over is False


def test_clear_top_to_bottom_with_gaps():
    well = _well({15: 8, 16: ALL_BUT_COL0, 17: 2, 18: ALL_BUT_COL0, 19: 4})
    new_well, score, over = lock(well, 0, "I", -2, 16, 1)
    # rows 16 and 18 become full and are cleared; the rest slides down.
    assert new_well == _well({17: 8, 18: 3, 19: 5})
    assert score == 2
    assert over is False


def test_no_clear_when_a_piece_cell_is_in_the_spawn_zone():
    # I covers rows 3-6; rows 4-6 become full but the piece has a cell in row 3.
    well = _well({4: ALL_BUT_COL0, 5: ALL_BUT_COL0, 6: ALL_BUT_COL0, 7: 1})
    new_well, score, over = lock(well, 0, "I", -2, 3, 1)
    assert new_well == _well({3: 1, 4: FULL, 5: FULL, 6: FULL, 7: 1})
    assert score == 0
    assert over is True


def test_clear_when_the_piece_top_is_row_4():
    # Same shape one row lower: rows 4-7, rows 5-7 full -> cleared.
    well = _well({5: ALL_BUT_COL0, 6: ALL_BUT_COL0, 7: ALL_BUT_COL0})
    new_well, score, over = lock(well, 0, "I", -2, 4, 1)
    assert new_well == _well({7: 1})
    assert score == 3
    assert over is False


def test_game_over_is_row_3_after_clearing():
    # A piece entirely in the spawn zone but leaving row 3 empty is not game over.
    well = _well({3: 0})
    _, _, over = lock(well, 0, "I", 3, 1, 0)  # row 2 only
    assert over is False
    _, _, over = lock(well, 0, "I", 3, 2, 0)  # row 3
    assert over is True


# --------------------------------------------------------------------------- #
# Reachability and children
# --------------------------------------------------------------------------- #

def test_reachable_locks_on_the_empty_well():
    # S: o=0 and o=2 are 3 wide (8 columns each), o=1 and o=3 are 2 wide (9 each);
    # every lock rests on the floor.
    locks = reachable_locks(EMPTY_WELL, "S")
    assert len(locks) == 8 + 8 + 9 + 9
    for x, y, o in locks:
        assert max(r for _, r in piece_cells("S", x, y, o)) == 19
    # o=0/o=2 and o=1/o=3 give the same shapes: 8 + 9 distinct wells.
    assert len(children(EMPTY_WELL, 0, "S")) == 17
    # I: 7 horizontal + 10 vertical; O: 9.
    assert len(children(EMPTY_WELL, 0, "I")) == 17
    assert len(children(EMPTY_WELL, 0, "O")) == 9
    # T, J, L: 8 + 9 + 8 + 9 distinct shapes.
    for p in "TJL":
        assert len(children(EMPTY_WELL, 0, p)) == 34


def test_reachable_locks_need_a_path():
    # A closed box in the bottom-left (roof on row 15, wall in column 5):
    # nothing can lock inside it.
    well = _well({15: 0b0000111111, 16: 1 << 5, 17: 1 << 5, 18: 1 << 5, 19: 1 << 5})
    locks = reachable_locks(well, "O")
    assert locks
    for x, y, o in locks:
        assert all(r < 15 or c > 5 for c, r in piece_cells("O", x, y, o))
    # Tucked moves are allowed: an O slid under an overhang from the side.
    well = _well({17: 0b0000000011})
    locks = reachable_locks(well, "O")
    assert (-1, 17, 0) in locks  # cells (0..1, 18..19), under the overhang


@pytest.mark.parametrize(
    "well",
    [
        EMPTY_WELL,
        _well({17: 0b0000000011, 18: 0b1100000001, 19: 0b1111011111}),
        _well({12: 0b0100000000, 13: 0b0110000010, 19: 0b0111111110}),
    ],
)
def test_o_piece_same_children_for_every_orientation(well):
    by_orientation = {o: set() for o in range(4)}
    for x, y, o in reachable_locks(well, "O"):
        by_orientation[o].add(lock(well, 0, "O", x, y, o))
    assert by_orientation[0]
    for o in range(1, 4):
        assert by_orientation[o] == by_orientation[0]


def test_top_row():
    assert top_row(EMPTY_WELL) == 20
    assert top_row(_well({19: 1})) == 19
    assert top_row(_well({7: 512, 19: 1})) == 7


# --------------------------------------------------------------------------- #
# Adversaries
# --------------------------------------------------------------------------- #

def test_hatetris_first_piece_is_s():
    # On the empty well I leaves the best stack (peak 19); S, Z, O, L, J, T all
    # leave at best peak 18; ties go to the earliest in S Z O I L J T.
    peaks = {p: max(top_row(w) for w, _, _ in children(EMPTY_WELL, 0, p)) for p in PIECES}
    assert peaks == {"I": 19, "J": 18, "L": 18, "O": 18, "S": 18, "T": 18, "Z": 18}
    assert Hatetris().next_piece(EMPTY_WELL) == "S"
    assert Hatetris(loop_prevention=False).next_piece(EMPTY_WELL) == "S"
    assert play("")["pieces"] == "S"


def test_hatetris_prefers_a_piece_that_does_not_loop():
    # With S, Z, O, ... all having the same peak, seed the history with a well
    # S can make: S now has loops=1 and Z (loops 0) is chosen instead.
    adv = Hatetris()
    s_well = next(iter(children(EMPTY_WELL, 0, "S")))[0]
    adv.history[s_well] = 1
    assert adv.next_piece(EMPTY_WELL) == "Z"
    assert adv.history[EMPTY_WELL] == 1
    # Without loop prevention the history is ignored.
    mild = Hatetris(loop_prevention=False)
    mild.history[s_well] = 1
    assert mild.next_piece(EMPTY_WELL) == "S"


def test_lovetris_always_i():
    result = play("D" * 400, "lovetris")
    assert set(result["pieces"]) == {"I"}
    assert result["game_over"]


def test_burgiel_sequence():
    adv = Burgiel()
    assert "".join(adv.next_piece(EMPTY_WELL) for _ in range(7)) == "SZSZSZS"
    result = play("D" * 400, "burgiel")
    assert result["game_over"]
    assert result["pieces"] == ("SZ" * 100)[: len(result["pieces"])]


def test_brzustowski_state_machine():
    a, b = EMPTY_WELL, _well({19: 1})
    adv = Brzustowski()
    # (1,S,[]) -a-> (1,S,[a]) -a-> (2,Z,[a,a]) -> (3,Z,[]) -b-> (3,Z,[b])
    # -b-> (4,S,[b,b]) -> (1,S,[]) -> ...
    sent = [adv.next_piece(w) for w in (a, a, b, b, b, a, a)]
    assert "".join(sent) == "SSZZZSS"
    # On a game where no well repeats it always sends S.
    result = play("D" * 400, "brzustowski")
    assert result["game_over"]
    assert set(result["pieces"]) == {"S"}


def test_make_adversary_names():
    assert isinstance(make_adversary("hatetris"), Hatetris)
    assert make_adversary("hatetris").loop_prevention is True
    assert make_adversary("hatetris-mild").loop_prevention is False
    assert make_adversary("lovetris").next_piece(EMPTY_WELL) == "I"
    assert isinstance(make_adversary("burgiel"), Burgiel)
    assert isinstance(make_adversary("brzustowski"), Brzustowski)
    with pytest.raises(ValueError):
        make_adversary("nope")


# --------------------------------------------------------------------------- #
# Playing keys
# --------------------------------------------------------------------------- #

def test_play_counts_and_falling_piece():
    # S o=0 spawns at y=0 and rests at y=17: 17 D moves, the 18th locks.
    r = play("D" * 17)
    assert r["pieces_placed"] == 0
    assert r["pieces"] == "S"
    assert r["final_well"] == [0] * 20  # only locked cells
    assert r["moves"] == 17
    r = play("D" * 18)
    assert r["pieces_placed"] == 1
    assert len(r["pieces"]) == 2
    assert r["final_well"][18:] == [0b1100000, 0b0110000]


def test_blocked_moves_do_nothing():
    # From x=3, four L reach x=-1 (leftmost S cell in column 0); more do nothing.
    r = play("L" * 10 + "D" * 18)
    assert r["final_well"][18:] == [0b110, 0b011]
    assert r["moves"] == 28
    # Rotation blocked at the floor: S o=0 at y=17 -> o=1 would need row 20.
    r = play("D" * 17 + "U" + "D")
    assert r["final_well"][18:] == [0b1100000, 0b0110000]


def test_keys_after_game_over_are_ignored():
    r = play("D" * 400)
    assert r["game_over"]
    assert r["moves"] < 400
    r2 = play("D" * r["moves"] + "LRUD" * 10)
    assert r2 == r


def test_decode_base2048_keys_padding():
    record = next(r for r in RECORDS if r["name"] == "qntm")
    keys = decode_base2048_keys(record["replays"]["Base2048"])
    assert set(keys) <= set("LRDU")
    assert play(keys)["moves"] < len(keys)  # the last key comes after game over
