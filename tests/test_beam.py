"""Beam search: determinism, verified replays, history rule, transpositions, checkpoints."""

from __future__ import annotations

import json
import shutil

import numba
import numpy as np
import pytest

from hatetris.codecs import decode
from hatetris.game import replay
from hatetris.eval.heuristic import FEATURES
from hatetris.presets import PresetError, load_preset, make_evaluation
from hatetris.search.beam import BeamSearch, cap_per_parent, plan_children, select_best
from hatetris.search.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from hatetris.search.tree import NodeStore, game_nodes, path_keys
from hatetris.search.tt import (bucket_bits, dedupe_children, dedupe_children_bucketed,
                                filter_insert, table_slots)
from hatetris.core import rows_hash
from hatetris.solution import verify
from hatetris.solve import beam_fingerprint, run_beam

from shared_files import load_records

QUICK = load_preset("quick")


def run_to_end(search: BeamSearch) -> BeamSearch:
    while search.step() is not None:
        pass
    return search


def small_search(width=40, max_depth=60) -> BeamSearch:
    return run_to_end(BeamSearch(make_evaluation(QUICK), width, max_depth))


def test_tiny_search_is_deterministic_and_verifies():
    a, b = small_search(), small_search()
    keys = path_keys(a.store, a.best_node)
    assert keys == path_keys(b.store, b.best_node)
    result = replay(keys)
    assert result.score == a.best_score and result.pieces_placed == a.store.depth[a.best_node]
    assert a.best_score > 0  # the heuristic clears lines even at width 40


def test_workers_do_not_change_the_game():
    try:
        numba.set_num_threads(1)
        one = small_search(width=300, max_depth=40)
        numba.set_num_threads(2)
        two = small_search(width=300, max_depth=40)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for name in ("rows", "score", "parent", "move", "piece"):
        assert np.array_equal(one.store.state()[name], two.store.state()[name]), name


def test_transposition_table_merges_equal_states():
    rows = np.zeros((5, 20), np.uint16)
    rows[:, 19] = [3, 5, 3, 3, 5]
    scores = np.array([0, 0, 0, 1, 0], np.int64)
    keep = np.zeros(5, np.bool_)
    hashes = np.zeros(5, np.uint64)
    distinct = dedupe_children(rows, scores, 5, hashes, np.zeros(table_slots(5), np.int64),
                               keep)
    # (3, 0) twice, (5, 0) twice, (3, 1) once: the first of each stays
    assert distinct == 3 and keep.tolist() == [True, True, False, True, False]
    # ... and in a real search, different move orders do meet.
    s = small_search(width=200, max_depth=12)
    assert s.children_total > 0
    merged = 0
    for depth in range(1, s.depth + 1):
        lo = s.level_start[depth]
        hi = s.level_start[depth + 1] if depth + 1 < len(s.level_start) else s.store.size
        states = {(s.store.rows[i].tobytes(), int(s.store.score[i])) for i in range(lo, hi)}
        assert len(states) == hi - lo  # no state kept twice
        merged += 1
    assert merged == s.depth


def _bucketed(rows, scores, bits):
    n = len(rows)
    keep = np.zeros(n, np.bool_)
    order = np.zeros(n, np.int64)
    distinct = dedupe_children_bucketed(rows, scores, n, bits, np.zeros(n, np.uint64),
                                        np.zeros(n, np.uint64), order,
                                        np.zeros(2 * n, np.int32), keep)
    return distinct, keep, order


@pytest.mark.parametrize("n, bits", [(1, 0), (700, 0), (700, 3), (5000, 6),
                                     (150_000, 2), (150_000, bucket_bits(150_000))])
def test_bucketed_dedupe_equals_the_reference(n, bits):
    """Children drawn from a small pool (many repeats, equal rows with other scores): the
    parallel bucketed kernel keeps exactly the reference's first of each state."""
    rng = np.random.default_rng(n + bits)
    pool = rng.integers(0, 1024, size=(max(n // 3, 1), 20)).astype(np.uint16)
    pick = rng.integers(0, len(pool), size=n)
    rows = pool[pick].copy()
    scores = rng.integers(0, 2, size=n).astype(np.int64)
    keep = np.zeros(n, np.bool_)
    expected = dedupe_children(rows, scores, n, np.zeros(n, np.uint64),
                               np.zeros(table_slots(n), np.int64), keep)
    distinct, got, order = _bucketed(rows, scores, bits)
    assert distinct == expected and np.array_equal(got, keep)
    assert sorted(order.tolist()) == list(range(n))  # every child visited once
    if n > 1:
        assert 0 < expected < n
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        assert np.array_equal(_bucketed(rows, scores, bits)[1], keep)
    finally:
        numba.set_num_threads(threads)


def test_select_best_ties_go_to_lower_index():
    v = np.array([5.0, 1.0, 5.0, 5.0, -np.inf, 7.0])
    assert select_best(v, 3).tolist() == [0, 2, 5]
    assert select_best(v, 10).tolist() == [0, 1, 2, 3, 5]


def _store_from_record(name: str):
    record = next(r for r in load_records() if r["name"] == name)
    keys = decode(record["replays"]["Base2048"])
    result, wells = replay(keys, steps=True)
    store = NodeStore()
    store.add_root()
    for n, well in enumerate(wells, 1):
        store.reserve(1)
        i = store.size
        store.rows[i] = well
        cells = sum(bin(int(v)).count("1") for v in well)
        store.score[i] = (4 * n - cells) // 10
        store.depth[i] = n
        store.parent[i] = i - 1
        store.size += 1
    return record, store


def test_cap_per_parent_keeps_each_parents_best():
    rng = np.random.default_rng(3)
    count = rng.integers(0, 12, 200)
    offsets = np.concatenate([[0], np.cumsum(count)[:-1]])
    # Few distinct values, so ties (broken by index) are common; some children are
    # duplicates already dropped.
    values = rng.integers(0, 5, count.sum()).astype(np.float64)
    values[rng.random(len(values)) < 0.2] = -np.inf
    for cap in (1, 3, 11):
        got = values.copy()
        cap_per_parent(got, offsets, count, cap)
        for a, k in zip(offsets, count):
            block = values[a:a + k]
            alive = [j for j in range(k) if block[j] > -np.inf]
            best = sorted(alive, key=lambda j: (-block[j], j))[:cap]
            want = np.full(k, -np.inf)
            want[best] = block[best]
            assert np.array_equal(got[a:a + k], want)


def test_parent_cap_limits_children_per_well(tmp_path):
    capped = run_to_end(BeamSearch(make_evaluation(QUICK), 300, 30, parent_cap=2))
    plain = small_search(width=300, max_depth=30)
    s = capped.store
    for d in range(1, capped.depth + 1):
        lo = capped.level_start[d]
        hi = capped.level_start[d + 1] if d < capped.depth else s.size
        assert np.bincount(s.parent[lo:hi]).max() <= 2
    assert not np.array_equal(s.parent[:s.size], plain.store.parent[:s.size])
    keys = path_keys(s, capped.best_node)
    assert replay(keys).score == capped.best_score
    # The cap is part of what a checkpoint must match.
    text = QUICK.path.read_text().replace("width =", "parent_cap = 2\nwidth =")
    p = tmp_path / "capped.toml"
    p.write_text(text)
    preset = load_preset(str(p))
    assert beam_fingerprint(preset, 300) != beam_fingerprint(QUICK, 300)
    a = run_beam(preset, width=300, max_depth=30, progress=False)
    assert a["score"] == capped.best_score
    ck = str(tmp_path / "ck")
    run_beam(preset, width=300, max_depth=12, checkpoint=ck, progress=False)
    b = run_beam(preset, width=300, max_depth=30, checkpoint=ck, resume=True, progress=False)
    assert b["replay"] == a["replay"]
    with pytest.raises(CheckpointError, match="different run"):
        run_beam(QUICK, width=300, max_depth=30, checkpoint=ck, resume=True, progress=False)


def test_search_adversary_honours_the_loop_rule_of_the_path():
    """Along the loop-basis record, the search's piece choice equals the game's."""
    record, piece, loop = _pieces_along("knewjade loop basis")
    assert "".join("SZOILJT"[p] for p in piece) == record["pieces"][:len(piece)]
    assert loop.any()  # the rule really decided a piece here


def _pieces_along(name: str) -> tuple[dict, np.ndarray, np.ndarray]:
    """A record, the piece the search's adversary sends after each of its wells, and
    whether the loop rule (the game's history) decided it."""
    record, store = _store_from_record(name)
    seen = np.zeros(table_slots(store.size), np.uint64)
    for i in range(store.size):
        filter_insert(seen, np.uint64(rows_hash(store.rows[i])))
    n = record["pieces_placed"]
    piece, count = np.zeros(n, np.int8), np.zeros(n, np.int64)
    loop = np.zeros(n, np.bool_)
    plan_children(store.rows, store.score, store.depth, store.parent, np.arange(n), seen, piece,
                  count, loop)
    return record, piece, loop


def _keys_of(name: str) -> tuple[dict, str]:
    record = next(r for r in load_records() if r["name"] == name)
    return record, decode(next(iter(record["replays"].values())))


def test_a_search_from_a_game_starts_on_its_wells_and_history():
    """Started after the loop-basis record's k-th piece, the beam holds the record's wells
    as its path, and its next piece is the record's even where the loop rule decides it:
    the game's history is the search's."""
    record, _, loop = _pieces_along("knewjade loop basis")
    loop_depths = np.flatnonzero(loop).tolist()
    keys = decode(record["replays"]["Base2048"])
    _, wells = replay(keys, steps=True)
    evaluation = make_evaluation(QUICK)
    assert loop_depths
    for k in loop_depths[:3]:
        search = BeamSearch(evaluation, 20, k + 1, start=game_nodes(keys, k))
        assert search.depth == k and search.beam_size == 1
        _, path_wells = replay(path_keys(search.store, search.best_node), steps=True)
        assert np.array_equal(path_wells, wells[:k])
        search.step()
        s = search.store
        new = slice(search.level_start[-1], s.size)
        assert set(s.piece[new].tolist()) == {"SZOILJT".index(record["pieces"][k])}
        assert np.all(s.rows[new] == wells[k], axis=1).any()


def test_a_search_from_a_games_first_piece_is_the_plain_search():
    fresh = small_search()
    start = run_to_end(BeamSearch(make_evaluation(QUICK), 40, 60, start=game_nodes("D", 0)))
    for name in NodeStore.FIELDS:
        assert np.array_equal(fresh.store.state()[name], start.store.state()[name]), name


def test_a_game_cannot_be_continued_past_its_end():
    record, keys = _keys_of("Atypical")  # game over
    n = record["pieces_placed"]
    assert len(game_nodes(keys, n - 1)["score"]) == n - 1
    with pytest.raises(ValueError, match="over at piece"):
        game_nodes(keys, n)
    with pytest.raises(ValueError, match=f"has {n} pieces"):
        game_nodes(keys, n + 1)


def test_run_beam_continues_a_record_and_its_checkpoint_knows_where(tmp_path):
    record, keys = _keys_of("knewjade (4)")
    _, wells = replay(keys, steps=True)
    sol = run_beam(QUICK, width=100, progress=False, start=(keys, 150),
                   checkpoint=str(tmp_path / "ck"))
    verify(sol["replay"], sol["score"], sol["pieces"])  # the whole game, from the empty well
    _, found = replay(decode(sol["replay"]), steps=True)
    assert sol["pieces"] > 150 and np.array_equal(found[:150], wells[:150])
    assert sol["parameters"]["start_piece"] == 150
    for start in ((keys, 149), None):
        with pytest.raises(CheckpointError, match="different run"):
            run_beam(QUICK, width=100, progress=False, start=start,
                     checkpoint=str(tmp_path / "ck"), resume=True)


def test_resume_equals_uninterrupted(tmp_path):
    evaluation = make_evaluation(QUICK)
    fp = beam_fingerprint(QUICK, 60)
    full = run_to_end(BeamSearch(evaluation, 60, 50))
    part = BeamSearch(evaluation, 60, 50)
    for _ in range(17):
        part.step()
    save_checkpoint(tmp_path, part, fp)
    for _ in range(5):  # progress after the checkpoint is lost on a crash ...
        part.step()
    save_checkpoint(tmp_path, part, fp)  # ... or saved incrementally
    resumed = run_to_end(load_checkpoint(tmp_path, fp, evaluation, 50))
    assert resumed.depth == full.depth
    assert path_keys(resumed.store, resumed.best_node) == path_keys(full.store, full.best_node)


def test_cli_style_resume_gives_the_same_solution(tmp_path):
    a = run_beam(QUICK, width=50, max_depth=30, progress=False)
    ck = tmp_path / "ck"
    run_beam(QUICK, width=50, max_depth=12, checkpoint=str(ck), progress=False)
    b = run_beam(QUICK, width=50, max_depth=30, checkpoint=str(ck), resume=True,
                 progress=False)
    assert a["replay"] == b["replay"] and a["score"] == b["score"]
    verify(b["replay"], b["score"], b["pieces"])


def test_bad_checkpoints_are_refused(tmp_path):
    evaluation = make_evaluation(QUICK)
    fp = beam_fingerprint(QUICK, 30)
    s = BeamSearch(evaluation, 30, 10)
    for _ in range(5):
        s.step()
    save_checkpoint(tmp_path, s, fp)
    with pytest.raises(CheckpointError, match="different run"):
        load_checkpoint(tmp_path, beam_fingerprint(QUICK, 31), evaluation, 10)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "nothing", fp, evaluation, 10)
    bad = tmp_path / "bad"
    shutil.copytree(tmp_path, bad, ignore=shutil.ignore_patterns("bad"))
    chunk = next(bad.glob("nodes-*.npz"))
    chunk.write_bytes(chunk.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(bad, fp, evaluation, 10)
    (bad / "meta.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(bad, fp, evaluation, 10)


def test_bad_presets_are_refused(tmp_path):
    with pytest.raises(PresetError, match="unknown solver"):
        load_preset("no-such-solver")
    text = (QUICK.path.read_text())
    cases = {
        "typo.toml": text.replace("width =", "widht ="),
        "weights.toml": text.replace("holes =", "hoels =", 1),
        "kind.toml": text.replace('kind = "beam"', 'kind = "dfs"'),
        "toml.toml": text + "\n[[[",
        "cap.toml": text.replace("width =", "parent_cap = 0\nwidth ="),
        "opening-alone.toml": text.replace("[eval.weights]", "[eval.opening_weights]"),
        "opening-pieces.toml": text.replace('kind = "heuristic"',
                                            'kind = "heuristic"\nopening_pieces = 0'),
        "opening-name.toml": text.replace('kind = "heuristic"',
                                          'kind = "heuristic"\nopening_pieces = 20')
        + "\n[eval.opening_weights]\nhoels = 1.0\n",
        "chain-piece.toml": text.replace("[quiescence]", '[quiescence]\npiece = "S"'),
        "shortlist.toml": text.replace("[quiescence]", "[quiescence]\nshortlist = 0.5"),
        "shortlist-type.toml": text.replace("[quiescence]", '[quiescence]\nshortlist = "3"'),
        "lines-weight-heuristic.toml": text.replace('kind = "heuristic"',
                                                    'kind = "heuristic"\nlines_weight = 0.1'),
    }
    for name, body in cases.items():
        p = tmp_path / name
        p.write_text(body)
        with pytest.raises(PresetError):
            make_evaluation(load_preset(str(p)))


def test_lines_weight_reaches_the_network_evaluation(tmp_path):
    text = load_preset("nnue-beam").path.read_text()
    p = tmp_path / "lines.toml"
    for weight in (0.05, -0.05):
        p.write_text(text.replace('kind = "nnue"', f'kind = "nnue"\nlines_weight = {weight}'))
        inner = make_evaluation(load_preset(str(p))).inner
        # The shipped preset has an opening network beside its own: both take it.
        nets = [inner.opening, inner.rest] if hasattr(inner, "opening") else [inner]
        assert [n.lines_weight for n in nets] == [weight] * len(nets)
    p.write_text(text.replace('kind = "nnue"', 'kind = "nnue"\nlines_weight = nan'))
    with pytest.raises(PresetError, match="lines_weight"):
        load_preset(str(p))


def test_preset_with_opening_weights(tmp_path):
    text = QUICK.path.read_text().replace('kind = "heuristic"',
                                          'kind = "heuristic"\nopening_pieces = 12')
    p = tmp_path / "opening.toml"
    p.write_text(text + "\n[eval.opening_weights]\nheight = -1.0\nholes = -2.0\n")
    evaluation = make_evaluation(load_preset(str(p)))
    inner = getattr(evaluation, "inner", evaluation)
    assert inner.opening_pieces == 12
    assert inner.opening_weights[FEATURES.index("height")] == -1.0


def test_stored_solutions_verify():
    from pathlib import Path

    files = sorted((Path(__file__).resolve().parents[1] / "data" / "solutions").glob("*.json"))
    for f in files:
        s = json.loads(f.read_text())
        verify(s["replay"], s["score"], s.get("pieces"))
