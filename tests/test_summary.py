"""The long-game summary against a slow pure-Python reference, and its CLI.

The reference plays the keys with ``tests/naive.py``'s moves and locks, taking each piece
from the record's published piece sequence (so no adversary is computed), and measures
every well in plain Python: nothing in it comes from the ``hatetris`` package.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from hatetris.cli import cli
from hatetris.codecs import decode
from hatetris.pictures import read_png
from hatetris.summary import GameSummary, summarize, well_profile

from naive import (BAR, EMPTY_WELL, FULL_ROW, HEIGHT, SPAWN_O, SPAWN_X, SPAWN_Y, fits, lock,
                   moved, piece_cells)
from shared_files import load_records

RECORDS = {r["name"]: r for r in load_records()}
PREFIX = "David & Felipe (6), first 5,000 pieces"


def keys_of(name: str) -> str:
    return decode(RECORDS[name]["replays"]["Base2048"])


def reference_height_holes(well) -> tuple[int, int]:
    """Stack rows and holes (empty cells with a filled cell above in the column)."""
    height = next((HEIGHT - r for r, row in enumerate(well) if row), 0)
    holes = 0
    for col in range(10):
        seen_filled = False
        for r in range(HEIGHT):
            filled = well[r] >> col & 1
            if filled:
                seen_filled = True
            elif seen_filled:
                holes += 1
    return height, holes


def reference_series(keys: str, pieces: str) -> dict:
    """Per-piece series of a game played with the given piece sequence, in plain Python."""
    out = {k: [] for k in ("lines", "cleared", "height", "holes", "bottom", "cleared_rows",
                           "wells")}
    well, score, placed = EMPTY_WELL, 0, 0
    state = (SPAWN_X, SPAWN_Y, SPAWN_O)
    for key in keys:
        piece = pieces[placed]
        nxt = moved(state, key)
        if fits(well, piece, *nxt):
            state = nxt
            continue
        if key != "D":
            continue
        cells = piece_cells(piece, *state)
        rows = list(well)
        for col, row in cells:
            rows[row] |= 1 << col
        mask = 0
        if min(row for _, row in cells) >= BAR:
            for row in {row for _, row in cells}:
                if rows[row] == FULL_ROW:
                    mask |= 1 << (HEIGHT - 1 - row)  # row d from the bottom is bit d - 1
        new_well, new_score, over = lock(well, score, piece, *state)
        height, holes = reference_height_holes(new_well)
        for name, value in (("lines", new_score), ("cleared", new_score - score),
                            ("height", height), ("holes", holes), ("bottom", new_well[-1]),
                            ("cleared_rows", mask), ("wells", new_well)):
            out[name].append(value)
        well, score, placed = new_well, new_score, placed + 1
        state = (SPAWN_X, SPAWN_Y, SPAWN_O)
        if over:
            break
    out["final_well"] = list(well)
    return out


@pytest.fixture(scope="module", params=[PREFIX, "David & Felipe (5)", "knewjade loop basis"])
def game(request) -> tuple[dict, GameSummary, dict]:
    record = RECORDS[request.param]
    keys = keys_of(request.param)
    return record, summarize(keys), reference_series(keys, record["pieces"])


def test_series_equal_the_pure_python_reference(game):
    record, summary, ref = game
    assert ref["final_well"] == record["final_well"]  # the reference plays the record
    assert len(ref["lines"]) == summary.pieces_placed == record["pieces_placed"]
    assert summary.score == record["score"] and summary.game_over == record["game_over"]
    assert summary.pieces == record["pieces"]
    for name in ("lines", "cleared", "height", "holes", "bottom", "cleared_rows"):
        assert getattr(summary, name).tolist() == ref[name], name
    assert summary.cells.tolist() == [sum(bin(r).count("1") for r in w) for w in ref["wells"]]
    bottoms = [0] + ref["bottom"]
    assert summary.bottom_changed.tolist() == [a != b for a, b in zip(bottoms, bottoms[1:])]


def test_windows_and_totals_follow_from_the_reference(game):
    record, summary, ref = game
    every = 100
    for w in summary.windows(every):
        a, b = w["first"] - 1, w["last"]
        before = ref["lines"][a - 1] if a else 0
        assert w["lines"] == ref["lines"][b - 1] - before
        assert w["height_mean"] == round(sum(ref["height"][a:b]) / (b - a), 2)
        assert w["holes_max"] == max(ref["holes"][a:b])
        assert w["cells_last"] == sum(bin(r).count("1") for r in ref["wells"][b - 1])
        depths = [bin(m >> 1 & 3).count("1") for m in ref["cleared_rows"][a:b]]
        assert w["clears_rows_2_3"] == sum(depths)
    totals = summary.totals()
    assert totals["lines"] == record["score"] and totals["pieces"] == record["pieces_placed"]
    assert sum(summary.clear_depths()) == record["score"]  # every line is in some row
    changes = [i for i, c in enumerate(summary.bottom_changed) if c]
    assert totals["bottom_stable_from"] == changes[-1] + 1


def test_lines_per_100_is_a_trailing_window(game):
    _, summary, ref = game
    rate = summary.lines_per_100()
    lines = [0] + ref["lines"]
    for k in (1, 50, 99, 100, 101, len(ref["lines"])):
        if k > len(ref["lines"]):
            continue
        span = min(k, 100)
        assert rate[k - 1] == pytest.approx((lines[k] - lines[k - span]) * 100 / span)


def test_the_record_prefix_is_the_steady_state_the_readme_describes():
    """shared/replays/README.md: bottom row .########. from piece 464, about 0.399 lines
    per piece, a stack of about 13.5 rows and some 27 holes (measured with the reference
    game); the summary's own figures must say the same."""
    summary = summarize(keys_of(PREFIX))
    t = summary.totals()
    assert t["bottom_row"] == ".########." and t["bottom_stable_from"] == 464
    assert t["lines_per_piece"] == round(1994 / 5000, 4)
    assert 13 <= t["height_mean"] <= 14 and 25 <= t["holes_mean"] <= 30
    assert 0.35 <= t["clears_share_rows_2_3"] <= 0.45


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, FULL_ROW), min_size=HEIGHT, max_size=HEIGHT),
       st.integers(0, HEIGHT))
def test_well_profile_on_random_wells(rows, empty_top):
    rows = [0] * empty_top + rows[empty_top:]
    heights, holes = np.zeros(1, np.int64), np.zeros(1, np.int64)
    well_profile(np.array([rows], np.uint16), heights, holes)
    assert (int(heights[0]), int(holes[0])) == reference_height_holes(rows)


# --- the command line ---------------------------------------------------------------------

def test_replay_summary_and_plot(tmp_path):
    record = RECORDS["David & Felipe (5)"]
    plot = tmp_path / "game.png"
    result = CliRunner().invoke(cli, ["replay", record["replays"]["Base2048"], "--summary",
                                      "--every", "300", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.splitlines()[0].startswith(f"score {record['score']} lines, 948 pieces, game over")
    assert "601-900" in out and "901-948" in out
    assert f"{record['score']} lines in 948 pieces (game over)" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_replay_summary_json_reads_a_solution_file(tmp_path):
    record = RECORDS["knewjade loop basis"]
    path = tmp_path / "game.json"
    path.write_text(json.dumps({"score": record["score"],
                                "replay": record["replays"]["Base2048"]}))
    result = CliRunner().invoke(cli, ["replay", "--file", str(path), "--summary", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    summary = summarize(keys_of("knewjade loop basis"))
    assert out["score"] == record["score"]
    assert out["summary"]["totals"] == json.loads(json.dumps(summary.totals()))
    assert [f["spawn"] for f in out["summary"]["totals"]["firings"]] == \
        [f.spawn for f in summary.firings]
    assert summary.firings  # the loop basis: the rule decides a piece


def test_replay_png_of_a_piece_range_and_stdin(tmp_path):
    record = RECORDS["knewjade loop basis"]
    png = tmp_path / "wells.png"
    result = CliRunner().invoke(cli, ["replay", "-", "--png", str(png), "--pieces", "10:35"],
                                input=record["replays"]["Base2048"] + "\n")
    assert result.exit_code == 0, result.output
    image = read_png(png.read_bytes())
    assert image.shape[2] == 3 and image.shape[1] > image.shape[0]  # a strip of 20 + 5 wells


@pytest.mark.parametrize("args, message", [
    (["--png", "X.png", "--pieces", "5:3"], "need 0 <= A < B"),
    (["--png", "X.png", "--pieces", "abc"], "give A:B"),
    (["--png", "X.png", "--pieces", "0:999999"], "need 0 <= A < B"),
    (["--pieces", "1:2"], "--pieces is for --png"),
    (["--every", "10"], "--every is for --summary"),
    (["--summary", "--steps", "--show"], "--steps"),
    (["--summary", "--ai", "nope"], "unknown AI"),
])
def test_bad_summary_options_are_one_line_and_exit_2(tmp_path, args, message):
    record = RECORDS["knewjade loop basis"]
    args = [a.replace("X.png", str(tmp_path / "x.png")) for a in args]
    result = CliRunner().invoke(cli, ["replay", record["replays"]["Base2048"], *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_bad_game_input_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for args, kwargs in ((["replay", "--file", str(bad), "--summary"], {}),
                         (["replay", "-", "--summary"], {"input": "\n"}),
                         (["replay", "-", "--summary"], {"input": "{\"score\": 1}"}),
                         (["replay", "xyz!", "--summary"], {})):
        result = CliRunner().invoke(cli, args, **kwargs)
        assert result.exit_code == 2, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1


def _reference_window(ref: dict, a: int, b: int) -> dict:
    """The steady-state figures of pieces a+1..b, in plain Python (rounded as reported)."""
    lines = ref["lines"][b - 1] - (ref["lines"][a - 1] if a else 0)
    cells = [sum(bin(r).count("1") for r in w) for w in ref["wells"][a:b]]
    deep = sum(bin(m >> 1 & 3).count("1") for m in ref["cleared_rows"][a:b])
    cleared = sum(bin(m).count("1") for m in ref["cleared_rows"][a:b])
    return {"lines_per_100": round(100 * lines / (b - a), 1),
            "cells_mean": round(sum(cells) / (b - a), 1),
            "height_mean": round(sum(ref["height"][a:b]) / (b - a), 2),
            "holes_mean": round(sum(ref["holes"][a:b]) / (b - a), 2),
            "clears_share_rows_2_3": round(deep / cleared, 3) if cleared else 0.0}


def test_departures_are_the_windows_outside_a_records_envelope():
    """A record's envelope (its windows' lowest and highest figures), and another game's
    windows outside it, against the plain-Python figures of both games."""
    steady, other = RECORDS["David & Felipe (5)"], RECORDS["knewjade (5)"]
    ref_steady = reference_series(keys_of(steady["name"]), steady["pieces"])
    ref_other = reference_series(keys_of(other["name"]), other["pieces"])
    every, start = 100, 400
    windows = [_reference_window(ref_steady, a, a + every)
               for a in range(start, steady["pieces_placed"] - every + 1, every)]
    bounds = summarize(keys_of(steady["name"])).bounds(start, every)
    for k in windows[0]:
        assert bounds[k] == (min(w[k] for w in windows), max(w[k] for w in windows)), k
    want = []
    for a in range(0, other["pieces_placed"] - every + 1, every):
        w = _reference_window(ref_other, a, a + every)
        want += [(a + 1, k, w[k]) for k in w if not bounds[k][0] <= w[k] <= bounds[k][1]]
    got = summarize(keys_of(other["name"])).departures(bounds)
    assert [(d["first"], d["figure"], d["value"]) for d in got] == want
    assert want  # the two games do differ somewhere
    with pytest.raises(ValueError, match="no window"):
        summarize(keys_of(other["name"])).bounds(700, 100)
