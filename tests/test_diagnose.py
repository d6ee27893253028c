"""Following a known game alongside a beam: scores per depth, ranks, losing the line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from hatetris.codecs import decode
from hatetris.diagnose import follow_game, game_wells
from hatetris.game import replay
from hatetris.presets import load_preset, make_evaluation
from hatetris.search.beam import BeamSearch
from hatetris.search.tree import path_keys

from shared_files import load_records

QUICK = load_preset("quick")


def record_keys(name: str) -> str:
    record = next(r for r in load_records() if r["name"] == name)
    return decode(record["replays"]["Base2048"])


def test_game_wells_scores_follow_the_replay():
    keys = record_keys("knewjade (4)")
    wells, scores = game_wells(keys)
    result = replay(keys)
    assert len(wells) == result.pieces_placed == len(scores)
    assert scores[-1] == result.score == 66
    assert np.all(np.diff(scores) >= 0) and scores[0] == 0
    assert wells[-1].tolist() == result.final_well


def test_the_beams_own_game_is_never_lost():
    evaluation = make_evaluation(QUICK)
    search = BeamSearch(evaluation, 60, 45)
    while search.step() is not None:
        pass
    keys = path_keys(search.store, search.best_node)
    reports = follow_game(evaluation, keys, 60, 45)
    assert [r.depth for r in reports] == list(range(1, 46))
    assert all(r.in_beam and not r.lost_here and r.rank < r.beam <= 60 for r in reports)
    assert reports[-1].lines == search.best_score
    assert reports[-1].rank == 0 or reports[-1].value <= reports[-1].beam_best


def test_a_record_is_lost_once_and_for_all_by_a_narrow_beam():
    reports = follow_game(make_evaluation(QUICK), record_keys("David & Felipe (1)"), 30, 60)
    held = [r.in_beam for r in reports]
    assert not all(held)
    first_lost = held.index(False)
    assert not any(held[first_lost:])
    assert [r.depth for r in reports if r.lost_here] == [reports[first_lost].depth]
    # Where it is lost, its well was a child of a kept well: it was pruned, so every kept
    # well values at least as much (ties go to the lower index).
    lost = reports[first_lost]
    assert lost.value <= lost.beam_worst and lost.beam == 30


def test_diagnose_command():
    keys = record_keys("knewjade (4)")
    proc = subprocess.run([sys.executable, "-m", "hatetris", "diagnose", keys, "--solver",
                           "quick", "--width", "40", "--max-depth", "12", "--json",
                           "--workers", "1"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["depth"] for r in rows] == list(range(1, 13))
    assert all(r["beam"] <= 40 for r in rows)
    for args, message in ((["LRDx"], "invalid"), (["DDD", "--solver", "mcts-heuristic"],
                                                    "not a beam search")):
        proc = subprocess.run([sys.executable, "-m", "hatetris", "diagnose", *args],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
