"""Suites of starts: definitions, survival under a cap, resumed result files, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hatetris.suite import (SuiteError, check_starts, format_suite_table, load_suite,
                            mean_survived, run_suite)

ROOT = Path(__file__).resolve().parents[1]


def write_suite(tmp_path: Path, **fields) -> Path:
    data = {"name": "t", "cap": 5, "games": [
        {"game": str(ROOT / "data/records/knewjade-5-289.txt"), "label": "KJ5",
         "pieces": [300, 700]}]}
    data.update(fields)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data))
    return path


def test_the_steady_suite_is_what_its_file_says():
    s = load_suite("steady")
    assert s.cap == 300
    labels = [x.label for x in s.starts]
    assert labels[:8] == [f"DF6:{k}" for k in range(1000, 5000, 500)]
    assert {"KJ5:300", "DF4:500", "DF5:600"} <= set(labels)
    check_starts(s)  # every start is a live well of its game
    assert [x.label for x in s.subset(["DF6:3000", "KJ5:500"]).starts] == ["DF6:3000", "KJ5:500"]
    with pytest.raises(SuiteError, match="no start"):
        s.subset(["DF6:999"])


@pytest.mark.parametrize("path", sorted((ROOT / "data/suites").glob("*.json")),
                         ids=lambda p: p.stem)
def test_every_shipped_suite_loads_and_starts_from_live_wells(path):
    s = load_suite(str(path))
    assert s.cap > 0 and len(s.starts) == len({x.label for x in s.starts})
    check_starts(s)


@pytest.mark.parametrize("fields, message", [
    ({"cap": 0}, "cap"), ({"cap": True}, "cap"), ({"games": []}, "games"),
    ({"games": [{"game": "nowhere.txt", "pieces": [1]}]}, "no game file"),
    ({"games": [{"game": str(ROOT / "data/records/knewjade-5-289.txt"), "pieces": [1, 1]}]},
     "twice"),
    ({"games": [{"game": str(ROOT / "data/records/knewjade-5-289.txt"), "pieces": "1"}]},
     "pieces"),
    ({"games": [{"pieces": [1]}]}, "not a suite"),
])
def test_bad_suites_are_one_line_errors(tmp_path, fields, message):
    with pytest.raises(SuiteError, match=message) as e:
        load_suite(str(write_suite(tmp_path, **fields)))
    assert "\n" not in str(e.value)


def test_a_start_past_the_game_is_refused_before_any_search(tmp_path):
    s = load_suite(str(write_suite(tmp_path, games=[
        {"game": str(ROOT / "data/records/knewjade-5-289.txt"), "pieces": [5000]}])))
    with pytest.raises(SuiteError, match="5000"):
        check_starts(s)
    with pytest.raises(SuiteError, match="unknown suite"):
        load_suite("no-such-suite")


def test_survival_is_pieces_after_the_start_and_results_resume(tmp_path):
    calls = []

    def fake(solver, *, width, workers, max_depth, start):
        calls.append((solver, max_depth, start[1]))
        died = {300: 303, 700: 705}[start[1]] if solver == "quick" else max_depth
        return {"solver": solver, "pieces": died, "score": 1, "elapsed": 0.5, "replay": "x"}

    s = load_suite(str(write_suite(tmp_path)))
    out = tmp_path / "rows.jsonl"
    rows = run_suite(s, ["quick", "heuristic-beam"], 7, out=out, run=fake)
    assert [(r["start"], r["solver"], r["survived"]) for r in rows] == [
        ("KJ5:300", "quick", 3), ("KJ5:300", "heuristic-beam", 5),
        ("KJ5:700", "quick", 5), ("KJ5:700", "heuristic-beam", 5)]
    assert [c[1] for c in calls] == [305, 305, 705, 705]  # depth = start + cap
    assert mean_survived(rows) == {"quick": 4.0, "heuristic-beam": 5.0}
    table = format_suite_table(rows)
    assert "| mean | 4.0 | 5.0 |" in table
    # heuristic-beam survived 2 and 0 pieces longer: mean 1, standard error 1.
    assert "| gain over quick (s.e.), longer/shorter | | +1.0 (1.0), 1/0 |" in table
    again = run_suite(s, ["quick", "heuristic-beam"], 7, out=out, run=fake)
    assert len(calls) == 4 and again == rows  # every run reused from the file
    run_suite(s, ["quick"], 8, out=out, run=fake)  # another width is another run
    assert len(calls) == 6


def test_bench_starts_suite_runs_the_solver_and_every_game_verifies(tmp_path):
    from hatetris.solution import verify

    path = write_suite(tmp_path, cap=4, games=[
        {"game": str(ROOT / "data/records/knewjade-5-289.txt"), "label": "KJ5",
         "pieces": [600]}])
    out = tmp_path / "rows.jsonl"
    proc = subprocess.run([sys.executable, "-m", "hatetris", "bench", "starts", "--suite",
                           str(path), "--solvers", "quick", "--width", "20", "--workers", "1",
                           "--out", str(out)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    row = json.loads(out.read_text().splitlines()[0])
    assert row["start"] == "KJ5:600" and 0 <= row["survived"] <= 4
    assert row["pieces"] == 600 + row["survived"]
    verify(row["replay"], row["lines"], row["pieces"])
    assert f"| KJ5:600 | {row['survived']} |" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "hatetris", "bench", "starts", "--suite",
                          "nope", "--solvers", "quick"], capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    both = subprocess.run([sys.executable, "-m", "hatetris", "bench", "starts", "--suite",
                           "steady", "--starts", "x:1"], capture_output=True, text=True)
    assert both.returncode == 2


def test_two_preset_files_of_one_name_get_a_column_each(tmp_path):
    """``--solvers runs/a/net.toml,runs/b/net.toml``: each file is its own solver in the
    rows, the means and the table (their stems alone would merge them)."""
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "net.toml").write_text((ROOT / "solvers/quick.toml").read_text())
    names = [str(tmp_path / "a/net.toml"), str(tmp_path / "b/net.toml")]

    def fake(solver, *, width, workers, max_depth, start):
        lived = 3 if "/a/" in solver.replace("\\", "/") else 4
        return {"solver": "net", "pieces": start[1] + lived, "score": 1, "elapsed": 0.5,
                "replay": "x"}

    rows = run_suite(load_suite(str(write_suite(tmp_path))), names, 7, run=fake)
    assert mean_survived(rows) == {"a/net": 3.0, "b/net": 4.0}
    assert "| start (pieces survived of 5) | a/net | b/net |" in format_suite_table(rows)


def test_an_interrupted_solver_process_interrupts_its_caller(monkeypatch):
    """A Ctrl-C reaches the solver child too: its exit (130, or killed by SIGINT) is the
    caller's interrupt, so a training run's gate stops as its own Ctrl-C does (one line,
    resumable), not with the child's error as a traceback."""
    import subprocess

    from hatetris.bench import run_solver_process

    for code, error in ((130, KeyboardInterrupt), (-2, KeyboardInterrupt), (1, RuntimeError)):
        monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(
            cmd, code, "", "interrupted: no checkpoint kept\n"))
        with pytest.raises(error):
            run_solver_process("quick", width=10)
