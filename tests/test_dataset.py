"""Stored games as labelled data, against a slow reference (tests/naive.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from hatetris.nnue.dataset import (DatasetError, StoredGame, game_labels, labels_from_lookahead,
                                   load_dataset, pack_rows, read_games, record_pairs, records_dataset,
                                   save_dataset, search_labels, siblings, unpack_rows)
from hatetris.nnue.features import active_features
from hatetris.nnue.network import Network

import naive

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "data" / "records" / "records.json"


def record(name: str) -> dict:
    return next(r for r in json.loads(RECORDS.read_text("utf-8")) if r["name"] == name)


def naive_steps(keys: str):
    """Every lock of a game by the reference engine: (well before, score before, piece,
    well after, score after, game over)."""
    adversary = naive.make_adversary("hatetris")
    well, score, over = naive.EMPTY_WELL, 0, False
    piece = adversary.next_piece(well)
    state = (naive.SPAWN_X, naive.SPAWN_Y, naive.SPAWN_O)
    steps = []
    for key in keys:
        if over:
            break
        nxt = naive.moved(state, key)
        if naive.fits(well, piece, *nxt):
            state = nxt
        elif key == "D":
            after, new_score, over = naive.lock(well, score, piece, *state)
            steps.append((well, score, piece, after, new_score, over))
            well, score = after, new_score
            if not over:
                piece = adversary.next_piece(well)
                state = (naive.SPAWN_X, naive.SPAWN_Y, naive.SPAWN_O)
    return steps


def reference_labels(steps, pieces_after: int, horizon: float):
    """Live wells and ``1 - 2 exp(-n / H)``, n the live wells the game still reached."""
    live = [s for s in steps if not s[5]]
    n = len(live)
    return ([s[3] for s in live], [s[4] for s in live],
            [1 - 2 * math.exp(-(n - 1 - i + pieces_after) / horizon) for i in range(n)])


@pytest.mark.parametrize("name, after", [("knewjade (4)", 0), ("David & Felipe (1)", 100)])
def test_a_stored_game_is_labelled_like_the_reference(name, after):
    """Every live well of the record, the pieces it still saw, on the 1 - 2 exp(-n/H)
    scale; and each step's siblings are the reference's other placements of the
    piece the adversary (with loop rule) really sent."""
    from hatetris.codecs import decode

    keys = decode(record(name)["replay"])
    steps = naive_steps(keys)
    assert steps[-1][5]  # the record ends in a game over: its last well is left out
    want_rows, want_scores, want_labels = reference_labels(steps, after, 300.0)
    rows, scores, to_go, labels = game_labels(StoredGame(name, keys, after), 300.0)
    assert [tuple(int(v) for v in r) for r in rows] == [tuple(w) for w in want_rows]
    assert scores.tolist() == want_scores
    assert to_go[-1] == after and to_go[0] == len(rows) - 1 + after
    np.testing.assert_allclose(labels, want_labels, rtol=0, atol=1e-12)

    s_rows, s_scores, of = siblings(rows, scores)
    for i, (before, sc, piece, after_well, _, _) in enumerate(steps[:len(rows)]):
        want = {(w, s) for w, s, over in naive.children(before, sc, piece) if not over}
        want.discard((after_well, steps[i][4]))
        got = {(tuple(int(v) for v in r), int(s)) for r, s in zip(s_rows[of == i],
                                                                 s_scores[of == i])}
        assert got == want, f"step {i + 1}"


def test_the_loop_rule_piece_is_the_one_whose_siblings_are_taken():
    """In the loop-basis record the loop rule changes the piece: siblings there are of
    the piece really sent, not of the mild adversary's choice."""
    from hatetris.codecs import decode

    keys = decode(record("knewjade loop basis")["replay"])
    steps = naive_steps(keys)
    rows, scores, _, _ = game_labels(StoredGame("loop", keys))
    s_rows, s_scores, of = siblings(rows, scores)
    from hatetris.adversary import PIECE_NAMES, adversary_piece

    changed = 0
    for i, (before, sc, piece, after_well, after_score, over) in enumerate(steps):
        if over:
            continue
        if PIECE_NAMES[adversary_piece(list(before), mild=True)] != piece:
            changed += 1
            want = {(w, s) for w, s, o in naive.children(before, sc, piece) if not o}
            want.discard((after_well, after_score))
            got = {(tuple(int(v) for v in r), int(s)) for r, s in zip(s_rows[of == i],
                                                                     s_scores[of == i])}
            assert got == want
    assert changed >= 1


def dense_value(net: Network, well) -> float:
    lay = net.layout
    rows = np.array([well], np.uint16)
    idx = np.zeros(lay.max_active, np.int64)
    n = active_features(rows, 0, lay.bases, idx)
    x = np.zeros(lay.n_features)
    np.add.at(x, idx[:n], 1.0)
    return float(np.tanh(np.tanh(x @ net.w1.astype(np.float64)) @ net.w2 + net.b2[0]))


def naive_label(net, well, score, depth, grace, width, horizon):
    """The search label the long way: a beam of distinct wells (mild adversary), best
    ``width`` by the network; None where wells tie across the cut."""
    beam = naive.mild_beam(well, score, depth, grace, width,
                           lambda wells: [dense_value(net, w) for w in wells])
    if beam is None:
        return None
    value, lasted = beam
    if lasted >= depth + grace:
        return 1 - math.exp(-depth / horizon) * (1 - value)
    return 1 - 2 * math.exp(-lasted / horizon)


def test_search_labels_equal_a_naive_beam():
    """Siblings of a record labelled by the lookahead: deaths at their piece count,
    survivors bootstrapped from the best value ``depth`` pieces on."""
    games = [g for g in read_games(RECORDS) if g.name == "knewjade (4)"]
    rows, scores, labels, kind, game, piece = records_dataset(games, 1, seed=3)
    sib = np.flatnonzero(kind == 1)[::4]
    net = Network.random(("rows",), hidden=8, seed=5, scale=2.0)
    got = search_labels(rows[sib], scores[sib], net, 2, 3, 2, 50.0)
    compared = 0
    for j, i in enumerate(sib):
        want = naive_label(net, rows[i], int(scores[i]), 3, 2, 2, 50.0)
        if want is None:
            continue
        compared += 1
        assert got[j] == pytest.approx(want, abs=1e-5)
    assert compared > 0.6 * len(sib)
    assert (got > -0.99).any() and (got < 1 - 2 * math.exp(-5 / 50.0) + 1e-9).any()


def test_records_dataset_labels_records_and_leaves_siblings_to_the_search():
    games = [g for g in read_games(RECORDS) if g.name in ("knewjade (4)", "David & Felipe (1)")]
    rows, scores, labels, kind, game, piece = records_dataset(games, 2, seed=0)
    rec = kind == 0
    assert rec.sum() == sum(len(game_labels(g)[0]) for g in games)
    assert np.isnan(labels[~rec]).all() and not np.isnan(labels[rec]).any()
    # At most two siblings a step, none of them a record well.
    steps = np.stack([game[~rec], piece[~rec]], 1)
    assert np.unique(steps, axis=0, return_counts=True)[1].max() <= 2
    known = {r.tobytes() for r in rows[rec]}
    assert not any(r.tobytes() in known for r in rows[~rec])
    again = records_dataset(games, 2, seed=0)
    assert np.array_equal(again[0], rows)  # seeded
    assert not np.array_equal(records_dataset(games, 2, seed=1)[0], rows)


def test_record_pairs_pair_each_record_step_with_every_other_placement():
    """Against the reference engine: for each step of the game, the pairs' worse wells
    are exactly the live placements of the piece sent there, minus the record's own and
    minus any well of the game; the held-out steps' pairs are marked held."""
    from hatetris.codecs import decode

    keys = decode(record("knewjade (4)")["replay"])
    steps = [s for s in naive_steps(keys) if not s[5]]
    game = StoredGame("knewjade (4)", keys)
    rows, labels, better, worse, held = record_pairs([game],
                                                     hold_out=[("knewjade (4)", 31)])
    n = len(steps)  # the record's wells first, then their siblings
    assert not np.isnan(labels[:n]).any() and np.isnan(labels[n:]).all()
    assert np.array_equal(labels[:n], game_labels(game)[3])
    assert (better < n).all() and (worse >= n).all()
    assert np.array_equal(np.sort(worse), np.arange(n, len(rows)))
    # From piece 31 on (the wells after pieces 31, 32, ...: index 30 on), held out.
    assert np.array_equal(held, better >= 30) and held.any() and not held.all()
    game_wells = {tuple(int(v) for v in w[3]) for w in steps}
    for i, (before, sc, piece, after_well, after_score, _) in enumerate(steps):
        assert tuple(int(v) for v in rows[i]) == after_well
        want = {w for w, s, o in naive.children(before, sc, piece) if not o} - game_wells
        got = {tuple(int(v) for v in rows[j]) for j in worse[better == i]}
        assert got == want
    whole = record_pairs([game])
    assert np.array_equal(whole[2], better) and not whole[4].any()


def test_the_3711_prefix_knows_the_game_went_on():
    games = read_games(RECORDS, min_pieces=5001)
    assert [g.name for g in games] == ["David & Felipe (6), first 5,000 pieces"]
    assert games[0].pieces_after == 4309
    _, _, to_go, labels = game_labels(games[0])
    assert to_go[-1] == 4309 and labels.min() > 0.99  # thousands to go: won


def test_label_scale():
    lab = labels_from_lookahead(np.array([0.2, 0.2, 0.2]), np.array([0, 7, 15]), 10, 5, 300.0)
    assert lab[0] == -1.0
    assert lab[1] == pytest.approx(1 - 2 * math.exp(-7 / 300))
    assert lab[2] == pytest.approx(1 - math.exp(-10 / 300) * 0.8)


def test_dataset_files_round_trip_and_corrupt_ones_are_refused(tmp_path):
    games = [g for g in read_games(RECORDS) if g.name == "knewjade (4)"]
    rows, scores, labels, kind, _, _ = records_dataset(games, 1, seed=0)
    labels = np.where(np.isnan(labels), 0.5, labels)
    assert np.array_equal(unpack_rows(pack_rows(rows)), rows)
    path = tmp_path / "d.npz"
    digest = save_dataset(path, rows, scores, labels, kind, note="x")
    d = load_dataset(path, digest)
    assert np.array_equal(d.rows, rows) and np.array_equal(d.scores, scores)
    np.testing.assert_allclose(d.labels, labels, atol=1e-7)
    assert np.array_equal(d.kind, kind) and d.meta == {"note": "x"}
    data = bytearray(path.read_bytes())
    cut = tmp_path / "cut.npz"
    cut.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(DatasetError, match="corrupt dataset"):
        load_dataset(cut)
    data[len(data) // 2] ^= 0xFF
    flipped = tmp_path / "flipped.npz"
    flipped.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="sha256"):
        load_dataset(flipped, digest)
    with pytest.raises(DatasetError):
        load_dataset(flipped)  # a zip checks its members' CRC
    with pytest.raises(DatasetError, match="live"):
        pack_rows(np.full((1, 20), 1, np.uint16))
    bad = tmp_path / "bad.txt"
    bad.write_text("not a replay\n")
    with pytest.raises(DatasetError, match="does not replay"):
        read_games(bad)
