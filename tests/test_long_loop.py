"""The loop rule in long games: the 3,711-line record's first 5,000 pieces.

In that game the rule changes the piece against wells seen thousands of spawns earlier.
The reference below applies the adversary rule of ``hatetris-rules.md`` literally, in
Python, to every spawn: every piece's outcomes (``engine.children``), ``loops`` from a
dict of every well seen so far, ``peak``, and the order (loops, peak, piece). It must
send the record's pieces; where it differs from its own history-free choice, the rule
fired. The summary, the search's ``plan_children`` and a beam continued from the record
must all agree with it.
"""

from __future__ import annotations

import numpy as np
import pytest

from hatetris.codecs import decode
from hatetris.core import rows_hash
from hatetris.engine import children, decode_move
from hatetris.game import keys_to_lock, replay
from hatetris.presets import load_preset, make_evaluation
from hatetris.rules import HEIGHT, PIECE_NAMES
from hatetris.search.beam import BeamSearch, plan_children
from hatetris.search.tree import game_nodes, path_nodes
from hatetris.search.tt import filter_insert, table_slots
from hatetris.summary import summarize

from naive import EMPTY_WELL, SPAWN_O, SPAWN_X, SPAWN_Y, fits, lock, moved
from shared_files import load_records

PREFIX = next(r for r in load_records() if r["name"] == "David & Felipe (6), first 5,000 pieces")
KEYS = decode(PREFIX["replays"]["Base2048"])


def reference_choice(well: np.ndarray, history: dict[bytes, list[int]]) -> tuple[int, int]:
    """(HATETRIS piece, history-free piece) for ``well``, whose history already holds it."""
    best = mild = None
    for q in range(len(PIECE_NAMES)):
        rows, _, _ = children(well, 0, q)
        loops = max(len(history.get(w.tobytes(), ())) for w in rows)
        nonempty = rows != 0
        peak = int(np.where(nonempty.any(axis=1), nonempty.argmax(axis=1), HEIGHT).max())
        if best is None or (loops, peak) < best[:2]:
            best = (loops, peak, q)
        if mild is None or peak < mild[0]:
            mild = (peak, q)
    return best[2], mild[1]


def reference_firings(wells_before: np.ndarray) -> tuple[str, list[dict]]:
    """The pieces the rule sends at each spawn, and where they differ from the mild choice
    (spawn from 1, pieces, spawns back to the latest well a mild placement recreates)."""
    history: dict[bytes, list[int]] = {}
    sent, firings = [], []
    for s, well in enumerate(wells_before):
        history.setdefault(well.tobytes(), []).append(s)
        piece, mild = reference_choice(well, history)
        sent.append(PIECE_NAMES[piece])
        if piece != mild:
            rows, _, _ = children(well, 0, mild)
            seen = [t for w in rows for t in history.get(w.tobytes(), ())]
            firings.append({"spawn": s + 1, "mild": PIECE_NAMES[mild], "sent": PIECE_NAMES[piece],
                            "back": s - max(seen), "placements": sum(
                                w.tobytes() in history for w in rows)})
    return "".join(sent), firings


@pytest.fixture(scope="module")
def game():
    result, wells = replay(KEYS, steps=True)
    wells = np.ascontiguousarray(wells, np.uint16)
    before = np.concatenate([np.zeros((1, HEIGHT), np.uint16), wells])[: len(result.pieces)]
    sent, firings = reference_firings(before)
    return result, wells, sent, firings


def test_the_reference_plays_the_record_and_finds_its_firings(game):
    result, _, sent, firings = game
    assert result.score == PREFIX["score"] and result.pieces_placed == 5000
    assert sent == result.pieces == PREFIX["pieces"]
    # The issue: 9 firings in the whole game, against wells 184 to 5,029 spawns old;
    # those in the first 5,000 pieces are all that this prefix can show.
    assert firings and all(184 <= f["back"] <= 5029 for f in firings)
    assert max(f["back"] for f in firings) >= 1000  # a well thousands of pieces back


def test_summary_firings_equal_the_reference(game):
    _, _, _, firings = game
    summary = summarize(KEYS)
    assert [f.to_json() for f in summary.firings] == firings
    assert summary.hits == len(firings)  # each hit of the mild choice changed the piece


def test_the_first_firing_is_where_the_mild_game_parts(game):
    """Replayed with no history, the same keys get other pieces from the first firing on."""
    result, _, _, firings = game
    mild = replay(KEYS, "hatetris-mild")
    first = next(i for i, (a, b) in enumerate(zip(result.pieces, mild.pieces)) if a != b)
    assert first + 1 == firings[0]["spawn"]
    assert mild.score < result.score


def _store_arrays(k: int) -> dict[str, np.ndarray]:
    """The record's first ``k`` pieces as a search's node arrays, the empty root at 0."""
    nodes = game_nodes(KEYS, k)
    arrays = {}
    for name, values in nodes.items():
        arrays[name] = np.concatenate([np.zeros((1,) + values.shape[1:], values.dtype), values])
    arrays["parent"][0] = -1
    return arrays


def _plan(arrays: dict[str, np.ndarray], node: int, first: int = 0) -> tuple[int, int, bool]:
    """``plan_children`` for ``node`` with the path's wells ``first..node`` in the filter."""
    seen = np.zeros(table_slots(node + 1), np.uint64)
    for i in range(first, node + 1):
        filter_insert(seen, np.uint64(rows_hash(arrays["rows"][i])))
    piece, count = np.zeros(1, np.int8), np.zeros(1, np.int64)
    loop = np.zeros(1, np.bool_)
    plan_children(arrays["rows"], arrays["score"], arrays["depth"], arrays["parent"],
                  np.array([node]), seen, piece, count, loop)
    return int(piece[0]), int(count[0]), bool(loop[0])


def test_plan_children_sends_the_replays_piece_against_wells_far_back(game):
    """The beam's planning kernel, on the record's node chain up to each spawn where the
    rule fires (one against a well thousands of spawns back), with the whole path as
    history; and on the same chain cut just after the repeated well."""
    result, wells, _, firings = game
    arrays = _store_arrays(max(f["spawn"] for f in firings) - 1)
    for f in firings:
        k = f["spawn"] - 1  # pieces placed before that spawn
        chain = {name: a[:k + 1] for name, a in arrays.items()}
        piece, count, loop = _plan(chain, k)
        assert loop and PIECE_NAMES[piece] == result.pieces[k] == f["sent"] != f["mild"]
        _, _, over = children(wells[k - 1], 0, piece)
        assert count == int((~over).sum())
        # A history of only the wells after the repeated one is another game: the kernel
        # then sends the mild piece.
        cut = dict(chain, parent=chain["parent"].copy())
        first = k - f["back"] + 1
        cut["parent"][first] = -1
        piece_cut, _, loop_cut = _plan(cut, k, first)
        assert not loop_cut and PIECE_NAMES[piece_cut] == f["mild"], f


def test_a_beam_continued_at_the_firing_follows_the_rule_on_every_path(game):
    """A beam started from the record just before the far firing: every child's piece is
    the reference adversary's choice with the child's whole path as history, and the
    best line, played from the empty well, scores what the search says."""
    result, wells, _, firings = game
    far = max(firings, key=lambda f: f["back"])
    k = far["spawn"] - 1
    search = BeamSearch(make_evaluation(load_preset("quick")), 12, k + 4,
                        start=game_nodes(KEYS, k))
    stats = [search.step() for _ in range(4)]
    assert stats[0].loops == 1  # the one start well: the rule decides its piece
    s = search.store
    path_wells = {}  # node -> its path's wells, bytes, root first
    checked = 0
    for depth in range(k + 1, k + 5):
        for node in range(search.level_start[depth], search.level_start[depth + 1]
                          if depth < search.depth else s.size):
            parent = int(s.parent[node])
            if parent not in path_wells:
                path_wells[parent] = [s.rows[a].tobytes() for a in path_nodes(s.parent, parent)]
            history: dict[bytes, list[int]] = {}
            for t, w in enumerate(path_wells[parent]):
                history.setdefault(w, []).append(t)
            piece, _ = reference_choice(s.rows[parent], history)
            assert int(s.piece[node]) == piece, (depth, node)
            checked += 1
    first_level = slice(search.level_start[k + 1], search.level_start[k + 2])
    assert set(s.piece[first_level].tolist()) == {PIECE_NAMES.index(far["sent"])}
    assert checked > 12
    # The best line's keys: the record's through piece k, then the search's own locks.
    node = search.best_node
    line = path_nodes(s.parent, node)[k:]
    tail = []
    for a, b in zip(line, line[1:]):
        o, x, y = decode_move(int(s.move[b]))
        tail.append(keys_to_lock(s.rows[a], int(s.piece[b]), x, y, o))
    keys = KEYS[: _end_of_lock(KEYS, k, result.pieces)] + "".join(tail)
    played = replay(keys)
    assert played.pieces_placed == int(s.depth[node]) and played.score == int(s.score[node])
    assert played.pieces[k:k + 4] == "".join(PIECE_NAMES[int(s.piece[b])] for b in line[1:])


def _end_of_lock(keys: str, k: int, pieces: str) -> int:
    """The number of keys through the ``k``-th lock (the naive engine's moves and locks,
    with the game's pieces)."""
    well, score, placed = EMPTY_WELL, 0, 0
    state = (SPAWN_X, SPAWN_Y, SPAWN_O)
    for i, key in enumerate(keys):
        nxt = moved(state, key)
        if fits(well, pieces[placed], *nxt):
            state = nxt
        elif key == "D":
            well, score, _ = lock(well, score, pieces[placed], *state)
            placed += 1
            if placed == k:
                return i + 1
            state = (SPAWN_X, SPAWN_Y, SPAWN_O)
    raise ValueError(f"fewer than {k} locks")
