"""Staged runs (hatetris.staged, ``hatetris staged``): a run stopped anywhere (between
stages, or by a killed process in the middle of one) and resumed commits the same game
as one that never stopped; every committed game replays to its score; a dying stage is
searched again wider; a corrupt state is refused in one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from hatetris.cli import cli
from hatetris.codecs import decode
from hatetris.game import replay
from hatetris.presets import load_preset, make_evaluation
from hatetris.staged import (StagedRunError, StagePlan, advance, load_run, run_solution,
                             save_run, start_run)

ROOT = Path(__file__).resolve().parents[1]
QUICK_GAME = ROOT / "data/solutions/quick-w2000.json"


def _game() -> str:
    return decode(json.loads(QUICK_GAME.read_text("utf-8"))["replay"])


def _committed(directory: Path) -> dict:
    """What a run committed, without the attempts' timings (which differ run to run)."""
    state = json.loads((directory / "state.json").read_text("utf-8"))
    attempts = [{k: v for k, v in a.items() if k != "seconds"} for a in state["attempts"]]
    return {"replay": state["replay"], "pieces": state["pieces"], "score": state["score"],
            "attempts": attempts, "finished": state["finished"], "ended": state["ended"]}


def _stage_by_stage(plan: StagePlan, start: int, evaluation, directory: Path):
    """A run from the quick game's piece ``start``, one stage (or back-up) a call,
    loaded back from its state each time, to its end."""
    run = start_run(plan, _game(), start, "q")
    while not run.finished:
        advance(run, evaluation, directory, stages=1)
        run = load_run(directory)
    return run


def test_resumed_between_stages_equals_one_run(tmp_path):
    evaluation = make_evaluation(load_preset("quick"))
    plan = StagePlan("quick", (10, 40), stage=4, lookahead=6)
    whole = start_run(plan, _game(), 40, "quick-w2000")
    advance(whole, evaluation, tmp_path / "whole", stages=4)
    first = start_run(plan, _game(), 40, "quick-w2000")
    advance(first, evaluation, tmp_path / "split", stages=1)
    again = load_run(tmp_path / "split")
    advance(again, evaluation, tmp_path / "split", stages=3)
    assert _committed(tmp_path / "whole") == _committed(tmp_path / "split")
    assert whole.pieces == 56 and len(whole.attempts) >= 4
    # Every committed game is the origin's first 40 pieces, then the search's own.
    result = replay(whole.keys)
    assert (result.score, result.pieces_placed) == (whole.score, whole.pieces)
    assert result.pieces[:40] == replay(_game()).pieces[:40]
    solution = run_solution(whole)
    assert solution["origin"] == {"game": "quick-w2000", "pieces": 40}
    assert solution["searched_pieces"] == 16


def test_a_dying_stage_is_searched_wider_then_the_longest_line_is_kept(tmp_path):
    """Near the end of the stored quick game the narrow beams die before the lookahead."""
    evaluation = make_evaluation(load_preset("quick"))
    run = start_run(StagePlan("quick", (2, 8), stage=5, lookahead=15), _game(), 95, "q")
    advance(run, evaluation, tmp_path)
    assert run.finished and "every width died" in run.ended
    outcomes = [(a["width"], a["outcome"]) for a in run.attempts]
    assert outcomes[-2:] == [(2, "died"), (8, "died")]
    # The widest attempt's longest line is what is kept, and it replays.
    assert run.pieces == max(a["reached"] for a in run.attempts[-2:])
    result = replay(run.keys)
    assert (result.score, result.pieces_placed) == (run.score, run.pieces)
    # A finished run does nothing more.
    before = _committed(tmp_path)
    advance(load_run(tmp_path), evaluation, tmp_path)
    assert _committed(tmp_path) == before


def test_backing_up_searches_the_last_stage_wider_and_resumes_to_the_same_game(tmp_path):
    evaluation = make_evaluation(load_preset("quick"))
    plan = StagePlan("quick", (2, 8), stage=5, lookahead=15, backups=3)
    whole = start_run(plan, _game(), 80, "q")
    advance(whole, evaluation, tmp_path / "whole")
    steps = [(a["from_piece"], a["width"], a["outcome"]) for a in whole.attempts]
    # The stage from 80 was committed at width 2; when both widths die from 85, the run
    # uncommits it and searches it again at width 8 (once: 8 is the widest).
    assert steps[0] == (80, 2, "committed to piece 85")
    backed = [i for i, s in enumerate(steps) if s[2].startswith("died; backed up")]
    assert backed and steps[backed[0]][:2] == (85, 8)
    assert steps[backed[0]][2] == "died; backed up to piece 80 to search it at width 8"
    assert steps[backed[0] + 1][:2] == (80, 8)
    assert whole.finished and whole.backups_used == 1
    assert whole.pieces == max(a["reached"] for a in whole.attempts)
    result = replay(whole.keys)
    assert (result.score, result.pieces_placed) == (whole.score, whole.pieces)
    assert result.pieces[:80] == replay(_game()).pieces[:80]
    # One stage (or back-up) per process, resumed from the state each time: the same run.
    _stage_by_stage(plan, 80, evaluation, tmp_path / "split")
    assert _committed(tmp_path / "split") == _committed(tmp_path / "whole")


def test_a_back_up_that_finds_the_same_line_again_does_not_replay_its_death(tmp_path):
    """Backed up to piece 80, the width-32 beam picks the very well (at 85) that the
    width-8 search had committed and that died at every width: committing it would
    repeat those attempts one for one, so it counts as a death of that width."""
    evaluation = make_evaluation(load_preset("quick"))
    evaluation.shortlist = None  # the position was found with every child's chains
    plan = StagePlan("quick", (2, 8, 32), stage=5, lookahead=15, backups=3)
    run = start_run(plan, _game(), 80, "q")
    advance(run, evaluation, tmp_path)
    steps = [(a["from_piece"], a["width"], a["outcome"]) for a in run.attempts]
    assert steps[-1] == (80, 32, "died (the line backed up from, again)")
    # Without the check the run would commit it and search on from piece 85 again.
    assert [s[:2] for s in steps].count((85, 2)) == 2
    assert run.finished and run.avoid is not None
    again = load_run(tmp_path)  # the avoided well is part of the saved state
    assert again.avoid == run.avoid


def test_partial_stages_commit_short_of_each_death_and_resume_to_the_same_game(tmp_path):
    """With partial stages a dying beam commits its best line up to LOOKAHEAD pieces
    before its death (when that is past the committed game); the next stage searches on
    from there, and a run resumed stage by stage is the same run."""
    evaluation = make_evaluation(load_preset("quick"))
    plan = StagePlan("quick", (2,), stage=50, lookahead=5, partial=True)
    whole = start_run(plan, _game(), 60, "q")
    advance(whole, evaluation, tmp_path / "whole")
    partial = [a for a in whole.attempts if a["outcome"].startswith("died; committed")]
    assert len(partial) >= 2
    for a in partial:
        assert a["outcome"] == f"died; committed to piece {a['reached'] - 5}"
        assert a["reached"] - 5 > a["from_piece"]
    assert whole.starts == [a["from_piece"] for a in partial] and whole.starts[0] == 60
    # It ends when a beam dies within the lookahead; the longest line is the result.
    assert whole.finished and whole.pieces == max(a["reached"] for a in whole.attempts)
    result = replay(whole.keys)
    assert (result.score, result.pieces_placed) == (whole.score, whole.pieces)
    assert result.pieces[:60] == replay(_game()).pieces[:60]
    split = _stage_by_stage(plan, 60, evaluation, tmp_path / "split")
    assert _committed(tmp_path / "split") == _committed(tmp_path / "whole")
    assert split.starts == whole.starts


def test_the_longest_line_of_an_unfinished_run_can_be_written(tmp_path):
    """Mid-run, the committed game stops short of the line its beam found; both are
    verified solutions, each saying which it is and how much of it was searched."""
    state = tmp_path / "run"
    result = CliRunner().invoke(cli, [
        "staged", "--state", str(state), "--from", str(QUICK_GAME), "--from-piece", "60",
        "--solver", "quick", "--widths", "2", "--stage", "50", "--lookahead", "5",
        "--partial", "--stages", "1", "--quiet", "--out", str(tmp_path / "c.json"),
        "--out-longest", str(tmp_path / "l.json")])
    assert result.exit_code == 0, result.output
    run = load_run(state)
    assert not run.finished and run.longest["pieces"] == run.pieces + 5
    committed = json.loads((tmp_path / "c.json").read_text("utf-8"))
    longest = json.loads((tmp_path / "l.json").read_text("utf-8"))
    assert (committed["line"], committed["pieces"]) == ("committed", run.pieces)
    assert (longest["line"], longest["pieces"]) == ("longest", run.pieces + 5)
    assert longest["searched_pieces"] == run.pieces + 5 - 60
    for sol in (committed, longest):
        got = replay(decode(sol["replay"]))
        assert (got.score, got.pieces_placed) == (sol["score"], sol["pieces"])


def test_a_back_up_over_partial_stages_returns_to_where_each_began(tmp_path):
    evaluation = make_evaluation(load_preset("quick"))
    plan = StagePlan("quick", (2, 8), stage=50, lookahead=5, partial=True, backups=2)
    run = start_run(plan, _game(), 60, "q")
    advance(run, evaluation, tmp_path)
    steps = [(a["from_piece"], a["width"], a["outcome"]) for a in run.attempts]
    committed = [s for s in steps if s[2].startswith("died; committed")]
    assert [s[:2] for s in committed[:2]] == [(60, 2), (committed[1][0], 2)]
    second = committed[1][0]  # where the first partial stage ended, the second began
    backed = [s for s in steps if "backed up" in s[2]]
    # Each back-up returns to the start of the stage it uncommits, however long it was.
    assert [s[2] for s in backed] == [
        f"died; backed up to piece {second} to search it at width 8",
        "died; backed up to piece 60 to search it at width 8"]
    assert run.finished and run.backups_used == 2 and len(run.starts) == len(run.commits)
    result = replay(run.keys)
    assert (result.score, result.pieces_placed) == (run.score, run.pieces)


def test_a_state_from_before_partial_stages_reads_its_stages_as_whole(tmp_path):
    evaluation = make_evaluation(load_preset("quick"))
    run = start_run(StagePlan("quick", (10,), stage=2, lookahead=2), _game(), 20, "q")
    advance(run, evaluation, tmp_path, stages=2)
    assert run.starts == [20, 22]
    state = json.loads((tmp_path / "state.json").read_text("utf-8"))
    del state["starts"], state["plan"]["partial"], state["sha256"]
    import hashlib
    state["sha256"] = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()
    (tmp_path / "state.json").write_text(json.dumps(state), "utf-8")
    old = load_run(tmp_path)
    assert old.starts == [20, 22] and not old.plan.partial


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "hatetris", "staged", *args]


def test_killed_mid_stage_then_resumed_equals_one_run(tmp_path):
    common = ["--solver", "quick", "--widths", "300", "--stage", "3", "--lookahead", "12",
              "--quiet"]
    origin = ["--from", str(QUICK_GAME), "--from-piece", "30"]
    whole = tmp_path / "whole"
    subprocess.run(_cli("--state", str(whole), *origin, *common, "--max-pieces", "45"),
                   check=True, capture_output=True, cwd=ROOT)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cli("--state", str(killed), *origin, *common, "--max-pieces",
                                 "45"), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    try:
        while time.time() < deadline and proc.poll() is None:
            state = killed / "state.json"
            if state.exists() and json.loads(state.read_text("utf-8"))["pieces"] >= 33:
                break  # one stage committed, the next one under way
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert load_run(killed).pieces < 45
    resumed = subprocess.run(_cli("--state", str(killed), "--resume", "--quiet",
                                  "--max-pieces", "45"), capture_output=True, text=True,
                             cwd=ROOT)
    assert resumed.returncode == 0, resumed.stderr
    assert _committed(killed) == _committed(whole)


@pytest.mark.parametrize("damage", ["checksum", "truncated", "not json", "missing"])
def test_corrupt_state_is_refused_in_one_line(tmp_path, damage):
    evaluation = make_evaluation(load_preset("quick"))
    run = start_run(StagePlan("quick", (10,), stage=2, lookahead=2), _game(), 20, "q")
    advance(run, evaluation, tmp_path, stages=1)
    path = tmp_path / "state.json"
    text = path.read_text("utf-8")
    if damage == "checksum":
        path.write_text(text.replace('"score": ', '"score": 1', 1), "utf-8")
    elif damage == "truncated":
        path.write_text(text[: len(text) // 2], "utf-8")
    elif damage == "not json":
        path.write_bytes(b"\xff\xfe garbage")
    else:
        path.unlink()
    with pytest.raises(StagedRunError):
        load_run(tmp_path)
    result = CliRunner().invoke(cli, ["staged", "--state", str(tmp_path), "--resume"])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("args,message", [
    (["--state", "S"], "give --from GAME"),
    (["--state", "S", "--from", str(QUICK_GAME), "--widths", "8,2"], "increasing widths"),
    (["--state", "S", "--from", str(QUICK_GAME), "--widths", "a"], "as integers"),
    (["--state", "S", "--from", str(QUICK_GAME), "--solver", "mcts-heuristic"],
     "beam solver"),
    (["--state", "S", "--from", str(QUICK_GAME), "--from-piece", "500"], "--from"),
    (["--state", "S", "--resume", "--from", str(QUICK_GAME)], "takes no --from"),
    (["--state", "S", "--from", str(QUICK_GAME), "--partial", "--lookahead", "0"],
     "--partial needs a --lookahead"),
])
def test_bad_input_is_one_line(tmp_path, args, message):
    args = [str(tmp_path / a) if a == "S" else a for a in args]
    result = CliRunner().invoke(cli, ["staged", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "S" / "state.json").exists()


def test_a_resume_searches_with_the_preset_the_run_began_with(tmp_path):
    """The state keeps the preset's tables: a resume with a changed preset is refused in
    one line (the same command would play another game); a state from before they were
    kept records them from the piece it resumes at, and says so."""
    preset = tmp_path / "mine.toml"
    text = load_preset("quick").path.read_text("utf-8")
    preset.write_text(text, "utf-8")
    state = tmp_path / "run"
    start = ["staged", "--state", str(state), "--from", str(QUICK_GAME), "--from-piece",
             "40", "--solver", str(preset), "--widths", "10", "--stage", "2", "--lookahead",
             "2", "--stages", "1", "--quiet"]
    assert CliRunner().invoke(cli, start).exit_code == 0
    assert load_run(state).preset == load_preset(str(preset)).to_json()
    changed = text.replace("\ndepth = 2\n", "\ndepth = 3\n")
    assert changed != text
    preset.write_text(changed, "utf-8")
    resume = ["staged", "--state", str(state), "--resume", "--stages", "1", "--quiet"]
    refused = CliRunner().invoke(cli, resume)
    assert refused.exit_code == 2
    assert "[quiescence]" in refused.output and refused.output.count("\n") == 1
    preset.write_text(text, "utf-8")
    assert CliRunner().invoke(cli, resume).exit_code == 0
    # An older state, without the preset: resumed with a note, and recorded from there.
    old = load_run(state)
    old.preset = None
    save_run(state, old)
    assert "preset" not in json.loads((state / "state.json").read_text("utf-8"))
    resumed = CliRunner().invoke(cli, resume)
    assert resumed.exit_code == 0 and "does not say which" in resumed.output
    run = load_run(state)
    assert run.preset == load_preset(str(preset)).to_json() and run.preset_from == 44
    assert run_solution(run)["parameters"]["preset_from_piece"] == 44
