"""The command line, end to end: outputs, batch replays, benchmarks, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hatetris.codecs import decode
from hatetris.game import replay
from hatetris.solution import verify

from shared_files import SHARED, load_records


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "hatetris", *args], capture_output=True,
                          text=True, timeout=600)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_replay_json_of_a_record():
    record = next(r for r in load_records() if r["name"] == "knewjade (5)")
    out = json.loads(run("replay", "--json", record["replays"]["Base2048"]).stdout)
    assert set(out) == {"score", "pieces_placed", "game_over", "pieces", "final_well", "moves"}
    for key in ("score", "pieces_placed", "game_over", "pieces", "final_well"):
        assert out[key] == record[key]
    assert out["moves"] <= len(decode(record["replays"]["Base2048"]))


def test_replay_file_is_a_batch_verifier(tmp_path):
    records = load_records()[:4]
    f = tmp_path / "replays.txt"
    f.write_text("\n".join(r["replays"]["hex"] for r in records) + "\n")
    lines = run("replay", "--json", "--file", str(f)).stdout.splitlines()
    assert [json.loads(line)["score"] for line in lines] == [r["score"] for r in records]


def test_replay_show_draws_the_well():
    record = load_records()[0]
    out = run("replay", "--show", record["replays"]["Base2048"]).stdout
    assert "|" in out and out.count("\n") >= 21


def test_encode_decode_round_trip():
    text = run("encode", "LLRRDDUU").stdout.strip()  # four runs: two whole bytes
    assert run("decode", text).stdout.strip() == "LLRRDDUU"
    # An odd number of runs is padded with one L nybble, which decodes as a key.
    text = run("encode", "LLRRDDUUDDD").stdout.strip()
    assert run("decode", text).stdout.strip() == "LLRRDDUUDDDL"
    assert run("encode", "--codec", "hex", "LLRD").stdout.strip() == "06"


@pytest.mark.parametrize("args, message", [
    (("replay", "not a replay!"), "invalid replay"),
    (("replay", "--ai", "nobody", "DDD"), "unknown AI"),
    (("replay", "--file", "/no/such/file"), "cannot read"),
    (("replay",), "exactly one of"),
    (("encode", "LRX"), "invalid keys"),
    (("solve", "--solver", "no-such-solver"), "unknown solver"),
    (("solve", "--resume"), "--resume needs --checkpoint"),
    (("solve", "--from-piece", "3"), "--from-piece needs --from"),
    (("solve", "--from", "/no/such/game.json"), "cannot read"),
    (("solve", "--from", "DDDD", "--from-piece", "9"), "the game has 0 pieces, not 9"),
    (("solve", "--solver", "mcts-heuristic", "--from", "DDDD"), "needs a beam solver"),
    (("bench", "starts", "--starts", "game.json"), "is not GAME:K"),
    (("bench", "starts", "--starts", "/no/such/game.json:3"), "cannot read"),
    (("bench", "starts", "--solvers", "mcts-heuristic", "--starts", "g:1"), "not a beam"),
    (("bench", "engine", "--wells", "/no/such/wells.txt"), "cannot read"),
    (("no-such-command",), "No such command"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    proc = run(*args, ok=False)
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in proc.stderr


def test_truncated_base2048_is_refused():
    record = next(r for r in load_records() if r["name"] == "Atypical")
    text = record["replays"]["Base2048"]
    proc = run("replay", text[:-1] + "ǿ", ok=False)
    assert proc.returncode == 2 and "invalid replay" in proc.stderr


def test_bench_engine_checksums_match_the_reference():
    for name, children, checksum in (("wells.txt", 43614, "29a0808fd03f983d"),
                                     ("wells_beam.txt", 38728, "ba4a05a756863eb5")):
        out = json.loads(run("bench", "engine", "--wells", str(SHARED / "bench" / name),
                             "--runs", "1", "--json").stdout)
        assert out["distinct_children"] == children and out["checksum"] == checksum
        assert out["us_per_expansion"] > 0


def test_solvers_lists_the_presets():
    out = run("solvers").stdout
    for name in ("quick", "heuristic-beam", "mcts-heuristic"):
        assert name in out


def test_solve_writes_a_verified_solution(tmp_path):
    out = tmp_path / "s.json"
    proc = run("solve", "--solver", "quick", "--width", "30", "--max-depth", "40", "--quiet",
               "--out", str(out))
    sol = json.loads(out.read_text())
    assert sol["replay"] in proc.stdout and f"score {sol['score']} lines" in proc.stdout
    assert sol["solver"] == "quick" and sol["parameters"]["width"] == 30
    verify(sol["replay"], sol["score"], sol["pieces"])


def test_solve_continues_a_stored_game(tmp_path):
    first, then = tmp_path / "first.json", tmp_path / "then.json"
    run("solve", "--solver", "quick", "--width", "30", "--max-depth", "40", "--quiet",
        "--out", str(first))
    run("solve", "--solver", "quick", "--width", "30", "--max-depth", "60", "--quiet",
        "--from", str(first), "--from-piece", "25", "--out", str(then))
    a, b = json.loads(first.read_text()), json.loads(then.read_text())
    verify(b["replay"], b["score"], b["pieces"])
    assert b["parameters"]["start_piece"] == 25 and b["pieces"] > 40
    _, a_wells = replay(decode(a["replay"]), steps=True)
    _, b_wells = replay(decode(b["replay"]), steps=True)
    assert (a_wells[:25] == b_wells[:25]).all()


def test_bench_starts_continues_each_start_with_each_solver(tmp_path):
    game = tmp_path / "game.json"
    run("solve", "--solver", "quick", "--width", "30", "--max-depth", "40", "--quiet",
        "--out", str(game))
    args = ("--width", "20", "--max-depth", "45")
    quick_path = Path(__file__).resolve().parents[1] / "solvers" / "quick.toml"
    rows = [json.loads(line) for line in run(
        "bench", "starts", "--solvers", f"{quick_path},heuristic-beam", *args, "--json",
        "--starts", f"{game}:10,{game}:30").stdout.splitlines()]
    assert [(r["start"].rsplit(":", 1)[1], r["solver"]) for r in rows] == [
        ("10", "quick"), ("10", "heuristic-beam"), ("30", "quick"), ("30", "heuristic-beam")]
    alone = tmp_path / "alone.json"
    run("solve", "--solver", "heuristic-beam", *args, "--from", str(game), "--from-piece", "30",
        "--quiet", "--out", str(alone))
    assert rows[3]["replay"] == json.loads(alone.read_text())["replay"]
    for r in rows:
        verify(r["replay"], r["lines"], r["pieces"])
    table = run("bench", "starts", "--solvers", "quick", *args,
                "--starts", f"{game}:10,{game}:30").stdout
    mean = (rows[0]["lines"] + rows[2]["lines"]) / 2
    assert f"| mean lines | {mean:.1f} |" in table
