"""A newcomer's mistakes: one line on stderr, exit status 2, no traceback, nothing written;
and the safe defaults (standard input, checkpoints, Ctrl-C, tracked files left alone)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hatetris.solution import verify

REPO = Path(__file__).resolve().parents[1]
STORED = REPO / "data" / "solutions" / "heuristic-beam-w100000.json"


def hatetris(*args: str, cwd: Path, stdin: str | bytes | None = None,
             ) -> subprocess.CompletedProcess:
    env = {**os.environ, "HATETRIS_SOLVERS": str(REPO / "solvers")}
    return subprocess.run([sys.executable, "-m", "hatetris", *args], cwd=cwd, env=env,
                          input=stdin.encode() if isinstance(stdin, str) else stdin,
                          capture_output=True, timeout=300)


def listing(d: Path) -> list[str]:
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


@pytest.fixture
def work(tmp_path):
    """A directory holding a file, a run checkpoint, non-UTF-8 text and an empty dir."""
    (tmp_path / "file.txt").write_text("not a directory\n")
    (tmp_path / "held").mkdir()
    (tmp_path / "held" / "meta.json").write_text("{}")
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9\n")
    (tmp_path / "empty").mkdir()
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets" / "gen-0.npz").write_bytes(b"")  # a network no run here made
    return tmp_path


BAD = [
    (("solve", "--width", "1000000000", "--out", "o.json"), "needs about"),
    (("solve", "--solver", "heuristic-beam", "--width", "1000000000"), "needs about"),
    (("diagnose", "--width", "1000000000", "DDDD"), "needs about"),
    (("bench", "search", "--budget", "14000000000000"), "needs about"),
    (("bench", "starts", "--solvers", "quick", "--width", "1000000000",
      "--starts", "DDDDDDDDDDDDDDDDDD:1"), "needs about"),
    (("solve", "--checkpoint", "file.txt", "--max-depth", "2"), "not a directory"),
    (("solve", "--checkpoint", "held", "--max-depth", "2"), "add --resume"),
    (("solve", "--checkpoint", "held", "--resume", "--overwrite"), "not both"),
    (("solve", "--overwrite"), "--overwrite needs --checkpoint"),
    (("solve", "--checkpoint", "empty", "--resume"), "no checkpoint in"),
    (("solve", "--solver", "mcts-heuristic", "--checkpoint", "empty", "--resume"),
     "mcts-partial.json not found"),
    (("solve", "--solver", "mcts-heuristic", "--width", "10"), "--width is for beam"),
    (("solve", "--simulations", "5"), "--simulations is for MCTS"),
    (("solve", "--out", "empty", "--max-depth", "2"), "is a directory"),
    (("bench", "engine", "--wells", "latin1.txt"), "not UTF-8"),
    (("bench", "search", "--budget", "0"), "must be positive"),
    (("bench", "search", "--budget", "-14"), "must be positive"),
    (("bench", "search", "--workers", "0"), "must be positive"),
    (("replay", ""), "empty replay"),
    (("replay", "--file", "latin1.txt"), "not UTF-8"),
    (("replay", "--file", "empty.json"), "cannot read"),
    (("watch", "DDDD", "--from-piece", "9"), "the game has 0 pieces"),
    # train: networks in --nets that no run made are never taken as its generations
    (("train", "--nets", "nets", "--work", "w"), "that no run"),
]
BAD += [
    (("train", "--resume", "--work", "w"), "no training run in"),
    (("nets", "table", "--nets", "empty"), "no networks"),
    (("nets", "table"), "no such directory"),
]


@pytest.mark.parametrize("args, message", BAD, ids=[" ".join(a)[:60] for a, _ in BAD])
def test_a_mistake_is_one_line_exit_2_and_writes_nothing(work, args, message):
    before = listing(work)
    proc = hatetris(*args, cwd=work)
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert "Traceback" not in err and proc.stdout == b""
    assert listing(work) == before


def test_minus_is_standard_input_and_solution_json_is_a_game(tmp_path):
    sol = json.loads(STORED.read_text())
    want = f"score {sol['score']} lines"
    for args, stdin in ((("replay", "-"), STORED.read_text()),
                        (("replay", "--file", "-"), sol["replay"] + "\n"),
                        (("replay", "--file", str(STORED)), None),
                        (("replay", str(STORED)), None)):
        proc = hatetris(*args, cwd=tmp_path, stdin=stdin)
        assert proc.returncode == 0 and want in proc.stdout.decode(), (args, proc.stderr)
    proc = hatetris("solve", "--width", "3", "--max-depth", "25", "--from", "-",
                    "--from-piece", "20", "--quiet", "--json", cwd=tmp_path,
                    stdin=STORED.read_text())
    out = json.loads(proc.stdout)
    assert out["pieces"] == 25 and out["parameters"]["start_piece"] == 20
    verify(out["replay"], out["score"], out["pieces"])


def test_solve_json_and_files_readable_by_others(tmp_path):
    proc = hatetris("solve", "--width", "5", "--max-depth", "6", "--quiet", "--json",
                    "--out", "s.json", cwd=tmp_path)
    out = json.loads(proc.stdout)
    assert out == json.loads((tmp_path / "s.json").read_text())
    assert {"score", "pieces", "replay"} <= set(out)
    assert (tmp_path / "s.json").stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("search", [
    ["--width", "40", "--max-depth", "60"],
    ["--solver", "mcts-heuristic", "--simulations", "100", "--max-depth", "40"],
], ids=["beam", "mcts"])
def test_ctrl_c_says_how_to_resume_and_the_resumed_game_is_the_same(tmp_path, search):
    args = ["solve", *search, "--quiet"]
    whole = json.loads(hatetris(*args, "--json", cwd=tmp_path).stdout)
    env = {**os.environ, "HATETRIS_SOLVERS": str(REPO / "solvers")}
    proc = subprocess.Popen([sys.executable, "-m", "hatetris", *args, "--checkpoint", "ck",
                             "--checkpoint-every", "1"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    saved = tmp_path / "ck" / ("mcts-partial.json" if "mcts-heuristic" in search
                               else "meta.json")
    while not saved.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    last = err.decode().strip().splitlines()[-1]
    if proc.returncode == 0:  # the search ended before the signal arrived
        pytest.skip("the run finished before Ctrl-C")
    assert proc.returncode == 130 and last.startswith("interrupted: checkpoint in ck")
    command = last.split("resume with: ", 1)[1].split()
    assert command[:2] == ["hatetris", "solve"] and "--resume" in command
    resumed = hatetris(*command[1:], "--json", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    out = json.loads(resumed.stdout)
    assert (out["score"], out["pieces"], out["replay"]) == (
        whole["score"], whole["pieces"], whole["replay"])


def test_an_existing_checkpoint_is_replaced_only_with_overwrite(tmp_path):
    first = hatetris("solve", "--width", "5", "--max-depth", "4", "--quiet", "--checkpoint",
                     "ck", cwd=tmp_path)
    assert first.returncode == 0
    again = hatetris("solve", "--width", "5", "--max-depth", "4", "--quiet", "--checkpoint",
                     "ck", cwd=tmp_path)
    assert again.returncode == 2
    over = hatetris("solve", "--width", "6", "--max-depth", "4", "--quiet", "--checkpoint",
                    "ck", "--overwrite", cwd=tmp_path)
    assert over.returncode == 0, over.stderr
    resumed = hatetris("solve", "--width", "6", "--max-depth", "5", "--quiet",
                       "--checkpoint", "ck", "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr


def test_defaults_write_only_under_ignored_runs(tmp_path):
    """train and nets table, with default options, write only under runs/, which git
    ignores: `git status` stays clean. train is run for real in a scratch repository
    with the project's .gitignore; nets table's default directory is checked to be
    ignored (measuring networks at its default widths takes many minutes)."""
    from hatetris.cli import cli

    git = shutil.which("git")
    if git is None:
        pytest.skip("no git")
    shutil.copy(REPO / ".gitignore", tmp_path / ".gitignore")
    subprocess.run([git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([git, "add", ".gitignore"], cwd=tmp_path, check=True)
    proc = hatetris("train", "--generations", "0", "--hidden", "8", "--probe-width", "3",
                    "--probe-max-depth", "3", "--samples", "10", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert list((tmp_path / "runs" / "train" / "nets").glob("gen-0.npz"))
    status = subprocess.run([git, "status", "--porcelain"], cwd=tmp_path, text=True,
                            capture_output=True, check=True).stdout
    assert status.strip() == "A  .gitignore"
    table = next(p for p in cli.commands["nets"].commands["table"].params
                 if p.name == "nets_dir")
    ignored = subprocess.run([git, "check-ignore", "-q", f"{table.default}/README.md"],
                             cwd=tmp_path)
    assert ignored.returncode == 0


def test_solvers_has_a_header_and_separate_columns(tmp_path):
    lines = hatetris("solvers", cwd=tmp_path).stdout.decode().splitlines()
    assert lines[0].split()[:4] == ["solver", "search/eval", "width", "simulations"]
    row = {line.split()[0]: line.split() for line in lines[1:]}
    assert row["quick"][2:4] == ["2000", "-"] and row["mcts-heuristic"][2:4] == ["-", "1000"]
    rows = {r["solver"]: r for r in map(json.loads, hatetris(
        "solvers", "--json", cwd=tmp_path).stdout.decode().splitlines())}
    assert (rows["quick"]["width"], rows["quick"]["simulations"]) == (2000, None)
    assert (rows["mcts-heuristic"]["width"], rows["mcts-heuristic"]["simulations"]) == (None, 1000)


def test_watch_draws_every_piece_and_ends_at_the_games_score(tmp_path):
    sol = json.loads(STORED.read_text())
    out = hatetris("watch", str(STORED), "--speed", "1000", "--from-piece",
                   str(sol["pieces"] - 5), cwd=tmp_path).stdout.decode()
    heads = [line for line in out.splitlines() if line.startswith("piece ")]
    assert len(heads) == 6 and "\x1b[" not in out  # not a terminal: frames, no redraws
    assert heads[-1].startswith(f"piece {sol['pieces']}/{sol['pieces']}  "
                                f"score {sol['score']} lines")


def test_a_cold_kernel_cache_is_detected_without_compiling_the_search(tmp_path):
    """The first-run notice depends on this: an empty Numba cache reads as cold, and
    the check compiles none of the beam's kernels."""
    code = "from hatetris.running import kernels_cached; print(kernels_cached())"
    cold = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)})
    assert cold.stdout.strip() == "False"
    assert not [p for p in listing(tmp_path) if "children_into" in p or "plan_children" in p]


def test_ctrl_c_in_train_prints_the_command_that_resumes_it(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from hatetris.cli import cli
    from hatetris.nnue.train import Trainer

    def interrupted(self):
        self.work_dir.mkdir(parents=True)
        (self.work_dir / "state.json").write_text("{}")  # what a started run leaves
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "run", interrupted)
    work = tmp_path / "w"
    result = CliRunner().invoke(cli, ["train", "--generations", "2", "--hidden", "8",
                                      "--work", str(work)])
    assert result.exit_code == 130
    last = result.output.strip().splitlines()[-1]
    assert last == (f"interrupted: the run is saved in {work}; resume with: hatetris train "
                    f"--generations 2 --hidden 8 --work {work} --resume")
    again = CliRunner().invoke(cli, ["train", "--generations", "2", "--hidden", "8",
                                     "--work", str(work)])
    assert again.exit_code == 2 and "add --resume" in again.output
