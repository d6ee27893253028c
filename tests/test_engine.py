"""The fast kernels against the pure-Python reference (tests/naive.py) and the records."""

from __future__ import annotations

import random

import numpy as np
import pytest

import naive
from hatetris.adversary import ADVERSARIES, adversary_piece
from hatetris.codecs import decode
from hatetris.engine import children, reachable_lock_positions
from hatetris.game import keys_to_lock, replay
from hatetris.rules import PIECE_NAMES

from shared_files import RECORDS, load_records


def random_wells(n: int, seed: int) -> list[tuple[tuple[int, ...], int]]:
    """Wells reachable from the empty well by random pieces and random placements."""
    rng = random.Random(seed)
    wells = []
    well, score = (0,) * 20, 0
    while len(wells) < n:
        rows, scores, over = children(well, score, rng.randrange(7), keep_game_over=False)
        if len(rows) == 0 or rng.random() < 0.02:
            well, score = (0,) * 20, 0
            continue
        # Prefer low placements half of the time so that stacks get holes and clears.
        k = rng.randrange(len(rows))
        if rng.random() < 0.5:
            k = max(range(len(rows)), key=lambda i: (naive.top_row(tuple(rows[i])), rng.random()))
        well, score = tuple(int(v) for v in rows[k]), int(scores[k])
        wells.append((well, score))
    return wells


WELLS = random_wells(2000, seed=1)


def fast_children(well, score, piece):
    rows, scores, over = children(well, score, PIECE_NAMES.index(piece))
    out = {(tuple(int(v) for v in r), int(s), bool(g)) for r, s, g in zip(rows, scores, over)}
    assert len(out) == len(rows), "children must be distinct"
    return out


def test_random_wells_are_varied():
    tops = {naive.top_row(w) for w, _ in WELLS}
    assert len(set(WELLS)) > 1500 and min(tops) <= 6 and max(s for _, s in WELLS) >= 3


@pytest.mark.parametrize("piece", list(PIECE_NAMES))
def test_children_equal_reference(piece):
    for well, score in WELLS[:: 2 if piece in "SZ" else 3]:
        assert fast_children(well, score, piece) == naive.children(well, score, piece), well


def test_mild_choice_equals_reference():
    adversary = naive.Hatetris(loop_prevention=False)
    for well, _ in WELLS[::4]:
        assert PIECE_NAMES[adversary_piece(well, mild=True)] == adversary.next_piece(well), well


def test_hatetris_choice_with_history_equals_reference():
    """Histories holding children of the well: the loop rule decides the piece."""
    rng = random.Random(7)
    decided_by_history = 0
    for well, score in WELLS[::8]:
        history = {well: 1}
        for piece in rng.sample(PIECE_NAMES, rng.randrange(1, 8)):
            kids = sorted(naive.children(well, score, piece))
            for w, _, _ in rng.sample(kids, min(len(kids), rng.randrange(1, 4))):
                history[w] = history.get(w, 0) + rng.randrange(1, 3)
        adversary = naive.Hatetris(loop_prevention=True)
        adversary.history = dict(history)
        adversary.history[well] -= 1  # next_piece records the well itself
        expected = adversary.next_piece(well)
        got = PIECE_NAMES[adversary_piece(well, history=history)]
        assert got == expected, well
        decided_by_history += expected != naive.Hatetris(False).next_piece(well)
    assert decided_by_history > 20  # the test exercises the rule


def random_keys(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("LLRRUDDDDD") for _ in range(n))


@pytest.mark.parametrize("ai", ADVERSARIES)
def test_random_games_equal_reference(ai):
    rng = random.Random(ai)
    for _ in range(12):
        keys = random_keys(rng, rng.randrange(50, 600))
        assert replay(keys, ai).to_json() == naive.play(keys, ai), keys


@pytest.mark.parametrize("record", RECORDS, ids=[r["name"] for r in RECORDS])
def test_record_replays_exactly(record):
    expected = {k: record[k] for k in ("score", "pieces_placed", "game_over", "pieces",
                                       "final_well")}
    for codec, text in record["replays"].items():
        got = replay(decode(text), record["ai"]).to_json()
        del got["moves"]
        assert got == expected, codec


def test_loop_rule_matters_in_loop_basis_record():
    record = next(r for r in load_records() if r["name"] == "knewjade loop basis")
    keys = decode(record["replays"]["Base2048"])
    assert replay(keys, "hatetris").score == record["score"]
    assert replay(keys, "hatetris-mild").pieces != record["pieces"]


def test_keys_after_game_over_are_ignored():
    record = load_records()[0]  # qntm: game over after 9 pieces
    keys = decode(record["replays"]["Base2048"])
    base = replay(keys)
    longer = replay(keys + "LRUDDDDLLLRRRDDDD")
    assert base.game_over and longer.to_json() == base.to_json()
    assert base.moves <= len(keys)


def test_keys_to_lock_reaches_every_child():
    rng = random.Random(3)
    for well, score in rng.sample(WELLS, 60):
        piece = rng.randrange(7)
        # The engine folds same-cell orientations onto one that may be unreachable itself.
        targets = naive.reachable_locks(well, PIECE_NAMES[piece])
        targets |= set(reachable_lock_positions(np.array(well, np.uint16), piece))
        for x, y, o in sorted(targets):
            keys = keys_to_lock(well, piece, x, y, o)
            # Replaying the keys on the piece from the spawn locks exactly there.
            state = (3, 0, 0)
            for k in keys[:-1]:
                state = naive.moved(state, k)
                assert naive.fits(well, PIECE_NAMES[piece], *state)
            cells = sorted(naive.piece_cells(PIECE_NAMES[piece], *state))
            assert cells == sorted(naive.piece_cells(PIECE_NAMES[piece], x, y, o))
            assert keys[-1] == "D"
            assert not naive.fits(well, PIECE_NAMES[piece], state[0], state[1] + 1, state[2])


def test_peak_after_lock_equals_the_placed_wells_top_row():
    """The adversary's shortcut (no well written) against placing and clearing."""
    from hatetris.engine import pad_well, peak_after_lock, place, top_row

    pad = np.zeros(24, np.uint16)
    out = np.zeros((1, 20), np.int64)
    checked = clears = 0
    for well, _ in random_wells(300, 11):
        top = pad_well(np.array(well, np.uint16), pad)
        for p in range(7):
            for x, y, o in reachable_lock_positions(np.array(well, np.uint16), p):
                clears += place(pad, p, o, x, y, out, 0) > 0
                assert peak_after_lock(pad, top, p, o, x, y) == top_row(out, 0)
                checked += 1
    assert checked > 10_000 and clears > 100  # the clearing case is exercised


def test_clearing_locks_are_the_locks_that_complete_a_row():
    """The table of row fills against the cells of each position, row by row: every
    in-bounds position of the mask (locks or not; the kernels mask it with the locks)
    whose top cell is at or below the bar (a cell above it ends the game, clearing
    nothing)."""
    from hatetris.engine import clearing_locks, clears_lines, decode_lock, pad_well
    from hatetris.rules import BAR, FULL_ROW, INBOUNDS, PIECE_ROWS, PIECE_TOP

    pad = np.zeros(24, np.uint16)
    seen = 0
    for well, _ in WELLS[::4]:
        top = pad_well(np.array(well, np.uint16), pad)
        for p in range(7):
            for y in range(max(0, top - 4), 21):
                mask = clearing_locks(pad, p, y)
                for bit in range(64):
                    if not INBOUNDS[p] >> bit & 1:
                        continue
                    o, x = decode_lock(bit)
                    rows = [int(PIECE_ROWS[p, o, i]) for i in range(4)]
                    placed = [m << x if x >= 0 else m >> -x for m in rows]
                    fills = any(
                        m and int(pad[y + i]) & pm == 0 and int(pad[y + i]) | pm == FULL_ROW
                        for i, (m, pm) in enumerate(zip(rows, placed)))
                    below_bar = y + PIECE_TOP[p, o] >= BAR
                    assert bool(mask >> bit & 1) == (fills and below_bar), (well, p, y, bit)
                    if fills and below_bar:
                        assert clears_lines(pad, p, o, x, y)
                    seen += fills and below_bar
    assert seen > 1000
