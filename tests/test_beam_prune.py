"""A pruning beam (``BeamSearch(prune=True)``) against an unpruned one: the same game,
every beam well still traced back to a full game that replays to it, bounded memory,
and checkpoints of a pruned store that resume to the uninterrupted run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hatetris.codecs import decode
from hatetris.eval.heuristic import HeuristicEvaluation
from hatetris.game import replay
from hatetris.presets import load_preset
from hatetris.search.beam import BeamSearch
from hatetris.search.checkpoint import load_checkpoint, save_checkpoint
from hatetris.search.tree import game_nodes, path_keys

from shared_files import RECORDS

WEIGHTS = dict(load_preset("quick").eval["weights"])


def evaluation():
    return HeuristicEvaluation(WEIGHTS)


def run(search: BeamSearch, after_step=None) -> BeamSearch:
    while search.step() is not None:
        if after_step:
            after_step(search)
    return search


def pruning(width: int, depth: int | None, every: int = 1, **kw) -> BeamSearch:
    """A pruning search that compacts after (almost) every step, to exercise it."""
    search = BeamSearch(evaluation(), width, depth, prune=True, **kw)
    search.compact_at = search.min_compact = every
    return search


def force_compactions(search: BeamSearch) -> None:
    search.compact_at = min(search.compact_at, search.store.size)


def test_pruning_plays_the_same_game_and_keeps_few_nodes():
    plain = run(BeamSearch(evaluation(), 60, 70))
    sizes = []
    pruned = run(pruning(60, 70), lambda s: (sizes.append(s.store.size), force_compactions(s)))
    assert path_keys(plain.store, plain.best_node) == path_keys(pruned.store, pruned.best_node)
    assert (plain.best_score, plain.depth, plain.children_total, plain.loops_total) == (
        pruned.best_score, pruned.depth, pruned.children_total, pruned.loops_total)
    assert pruned.compactions > 50
    # The live lineages of a 60-wide beam, not 70 depths of it.
    assert pruned.store.size < plain.store.size / 5
    assert max(sizes[35:]) < 3 * max(sizes[:35])


def test_every_beam_well_of_a_pruned_store_traces_back_to_a_replayed_game():
    search = pruning(40, 45)
    for _ in range(45):
        if search.step() is None:
            break
        force_compactions(search)
    s = search.store
    lo = search.level_start[-1]
    assert s.size - lo > 1
    for node in range(lo, s.size):
        result, wells = replay(path_keys(s, node), steps=True)
        assert result.pieces_placed == s.depth[node] == search.depth
        assert result.score == s.score[node]
        assert wells[-1].tolist() == s.rows[node].tolist()


def test_pruning_keeps_a_record_prefix_as_the_loop_rules_history():
    record = next(r for r in RECORDS if r["score"] == 1994)
    keys = decode(record["replays"]["Base2048"])
    start = game_nodes(keys, 600)
    plain = run(BeamSearch(evaluation(), 30, 630, start=start))
    pruned = run(pruning(30, 630, start=start), force_compactions)
    assert path_keys(plain.store, plain.best_node) == path_keys(pruned.store, pruned.best_node)
    assert plain.loops_total == pruned.loops_total
    # The whole 600-piece prefix is still in the store: the history of every beam well.
    assert pruned.store.size >= 600


@pytest.mark.parametrize("stop_at", [13, 29])
def test_a_pruned_search_resumes_from_its_checkpoint_as_if_uninterrupted(tmp_path, stop_at):
    fingerprint = {"width": 50, "test": "prune"}
    whole = run(pruning(50, 40, every=150))
    first = pruning(50, 40, every=150)
    for _ in range(stop_at):
        first.step()
        save_checkpoint(tmp_path, first, fingerprint)
    assert first.compactions > 1
    # Only the chunks the index names are left behind.
    names = {p.name for p in tmp_path.glob("nodes-*.npz")}
    assert names == set(json.loads((tmp_path / "meta.json").read_text())["chunks"])
    resumed = run(load_checkpoint(tmp_path, fingerprint, evaluation(), 40))
    assert resumed.prune and resumed.compactions == whole.compactions > 4
    for name, a in whole.store.state().items():
        assert np.array_equal(a, resumed.store.state()[name]), name
    assert resumed.level_start == whole.level_start
    assert path_keys(whole.store, whole.best_node) == path_keys(resumed.store,
                                                                resumed.best_node)


def test_bench_memory_refuses_bad_input_in_one_line():
    from click.testing import CliRunner

    from hatetris.cli import cli

    for args, words in ((["--solver", "mcts-heuristic"], "not a beam search"),
                        (["--depths", "x"], "--depths"),
                        (["--depths", "0"], "at least 1"),
                        (["--width", "1000000000"], "memory")):
        result = CliRunner().invoke(cli, ["bench", "memory", *args])
        assert result.exit_code == 2, (args, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], (args, result.output)
        assert "Traceback" not in result.output
