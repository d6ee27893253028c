"""The beam search on a Dask cluster plays exactly the single-process search's game.

One local cluster of two worker processes serves the whole module; 1, 2 and 3 shards
(3 shards put two on one worker) must keep, at every depth, the very nodes the
single-process BeamSearch keeps, in the same order, so the node stores are equal array
for array and the games are the same replay string.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import distributed  # noqa: E402  (in the test extras: these tests always run in CI)

from hatetris.cli import cli  # noqa: E402
from hatetris.cluster import ClusterBeamSearch, ClusterError  # noqa: E402
from hatetris.cluster import shards as shard_tasks  # noqa: E402
from hatetris.cluster import topk  # noqa: E402
from hatetris.presets import load_preset, make_evaluation  # noqa: E402
from hatetris.search.beam import BeamSearch, select_best  # noqa: E402
from hatetris.search.checkpoint import load_checkpoint  # noqa: E402
from hatetris.search.tree import NodeStore, game_nodes, path_keys  # noqa: E402
from hatetris.solve import beam_fingerprint  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    with distributed.Client(cluster) as c:
        c.wait_for_workers(2)
        ClusterBeamSearch.warm_up(c, _evaluation(), threads=1)
        yield c
    cluster.close()


def _evaluation():
    return make_evaluation(load_preset("quick"))


_SINGLE: dict = {}


def single(width: int, max_depth: int | None = None) -> BeamSearch:
    """The single-process reference, run once per (width, depth)."""
    if (width, max_depth) not in _SINGLE:
        b = BeamSearch(_evaluation(), width, max_depth)
        while b.step() is not None:
            pass
        _SINGLE[width, max_depth] = b
    return _SINGLE[width, max_depth]


def assert_same_search(c: ClusterBeamSearch, b: BeamSearch) -> None:
    """Same nodes at every depth, in the same order, same parents: same top-width sets."""
    assert c.level_start == b.level_start
    assert c.store.size == b.store.size
    for name in NodeStore.FIELDS:
        assert np.array_equal(c.store.state()[name], b.store.state()[name]), name
    assert c.best_node == b.best_node
    assert c.children_total == b.children_total
    assert c.loops_total == b.loops_total
    assert path_keys(c.store, c.best_node) == path_keys(b.store, b.best_node)


def run_to_end(c: ClusterBeamSearch) -> ClusterBeamSearch:
    try:
        c.run()
    finally:
        c.close()
    return c


# -- the exact top-width, without a cluster ---------------------------------------------

@pytest.mark.parametrize("seed", range(40))
def test_threshold_over_shards_is_select_best(seed):
    """Values with many ties, dealt to shards at random: the kept keys are exactly
    select_best's indices on the concatenation (ties to the lower index)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    values = rng.integers(0, int(rng.choice([3, 50, 10**6])), n).astype(np.float64)
    values[rng.random(n) < 0.1] = -np.inf
    width = int(rng.integers(1, n + 5))
    want = select_best(values, width)
    n_shards = int(rng.integers(1, 9))
    # Skewed shards too: one may hold far more than its share of the best values.
    owner = (rng.integers(0, n_shards, n) if seed % 2 else
             np.minimum(rng.geometric(0.5, n) - 1, n_shards - 1))
    keys = np.arange(n, dtype=np.int64)
    vals, ks, finite = [], [], []
    for s in range(n_shards):
        mine = np.flatnonzero(owner == s)
        order = topk.shard_order(values[mine], keys[mine])
        vals.append(values[mine][order])
        ks.append(keys[mine][order])
        finite.append(len(order))
    # Shards first send short lists (as receive does); the uncertain ones send width.
    tops = [v[:topk.report_size(width, n_shards)] for v in vals]
    while (th := topk.value_threshold(tops, finite, width)) is not None:
        short = topk.uncertain_shards(tops, finite, width, th[0])
        if not short:
            break
        for s in short:
            tops[s] = vals[s][:width]
    kth, cut = None, topk.MAX_KEY
    if th is not None:
        kth, need, exact = th
        if not exact:
            cut = topk.key_cut([topk.tied_keys(v, k, kth, need) for v, k in zip(vals, ks)],
                               need)
    got = np.sort(np.concatenate([k[topk.keep_mask(v, k, kth, cut)] for v, k in zip(vals, ks)]))
    assert got.tolist() == want.tolist()


# -- the same search on 1, 2 and 3 shards ----------------------------------------------

@pytest.mark.parametrize("n_shards,on_workers,max_depth", [(1, 1, 25), (2, 2, None),
                                                           (3, 2, 25)])
def test_same_game_as_single_process(client, n_shards, on_workers, max_depth):
    """1 worker, 2 workers, 3 shards on 2 workers; the 2-worker game is played out."""
    workers = sorted(client.nthreads())[:on_workers]
    c = run_to_end(ClusterBeamSearch(client, _evaluation(), 50, max_depth, shards=n_shards,
                                     workers=workers, threads=1))
    assert len(set(c.addresses)) == on_workers
    assert c.finished == (max_depth is None)
    assert_same_search(c, single(50, max_depth))


def test_same_game_on_three_worker_processes(client):
    """The module's cluster grown to 3 workers for this test (then back to 2)."""
    client.cluster.scale(3)
    try:
        client.wait_for_workers(3, timeout=120)
        c = run_to_end(ClusterBeamSearch(client, _evaluation(), 50, 25, threads=1))
        assert len(set(c.addresses)) == 3 and c.n_shards == 3
        assert_same_search(c, single(50, 25))
    finally:
        client.cluster.scale(2)
        while len(client.nthreads()) > 2:
            time.sleep(0.1)


def test_same_levels_at_a_wider_beam(client):
    c = run_to_end(ClusterBeamSearch(client, _evaluation(), 300, 15, threads=1))
    assert_same_search(c, single(300, 15))


def test_nnue_on_the_cluster_plays_the_single_process_game(client):
    """Shards value their children afresh (a child's parent lives on another shard); the
    single process updates each child from its parent's accumulator. Both are integer
    sums of the same int16 weights, so the beams are the same node for node."""
    evaluation = make_evaluation(load_preset("nnue-beam"))
    b = BeamSearch(evaluation, 40, 20)
    while b.step() is not None:
        pass
    c = run_to_end(ClusterBeamSearch(client, evaluation, 40, 20, threads=1))
    assert_same_search(c, b)


def test_a_heuristic_share_on_the_cluster_plays_the_single_process_game(client):
    """The network plus a share of the heuristic (docs/examples/presets): the shards value
    the heuristic on their own children; the sums are the single process's."""
    preset = (Path(__file__).resolve().parents[1] / "docs" / "examples" / "presets"
              / "heuristic-share.toml")
    evaluation = make_evaluation(load_preset(str(preset)))
    b = BeamSearch(evaluation, 40, 20)
    while b.step() is not None:
        pass
    c = run_to_end(ClusterBeamSearch(client, evaluation, 40, 20, threads=1))
    assert_same_search(c, b)


def test_pruned_stores_keep_the_same_beams(client):
    """Dropping dead lineages (client and replicas alike, several times) changes no beam."""
    b = single(50, 40)
    beams = []

    def record(search, stats):
        s, at = search.store, search.level_start[-1]
        beams.append((s.rows[at:s.size].copy(), s.score[at:s.size].copy()))

    c = ClusterBeamSearch(client, _evaluation(), 50, 40, threads=1, prune=True,
                          min_compact=300)
    try:
        c.run(record)
    finally:
        c.close()
    assert c.compactions >= 3 and c.store.size < b.store.size
    for d, (rows, score) in enumerate(beams, 1):
        lo, hi = b.level_start[d], (b.level_start + [b.store.size])[d + 1]
        assert np.array_equal(rows, b.store.rows[lo:hi]) and np.array_equal(score,
                                                                          b.store.score[lo:hi])
    assert path_keys(c.store, c.best_node) == path_keys(b.store, b.best_node)


def test_continued_game_and_loop_rule_history(client):
    """From a stored game's wells (the loop rule's history comes from the start)."""
    keys = path_keys(single(50).store, single(50).best_node)
    b = BeamSearch(_evaluation(), 40, 60, start=game_nodes(keys, 40))
    while b.step() is not None:
        pass
    c = run_to_end(ClusterBeamSearch.from_game(client, _evaluation(), 40, keys, 40,
                                               max_depth=60, threads=1))
    assert_same_search(c, b)


# -- checkpoints --------------------------------------------------------------------------

def test_resume_on_the_cluster_equals_an_uninterrupted_run(client, tmp_path):
    preset = load_preset("quick")
    fingerprint = beam_fingerprint(preset, 50)
    c = ClusterBeamSearch(client, _evaluation(), 50, 25, threads=1)
    for _ in range(12):
        c.step()
    c.save_checkpoint(tmp_path, fingerprint)
    c.close()
    loaded = load_checkpoint(tmp_path, fingerprint, _evaluation(), 25)
    resumed = run_to_end(ClusterBeamSearch.from_search(client, loaded, shards=3, threads=1))
    assert_same_search(resumed, single(50, 25))
    # The format is the single-process one: a cluster checkpoint resumes in one process.
    alone = load_checkpoint(tmp_path, fingerprint, _evaluation(), 25)
    while alone.step() is not None:
        pass
    assert path_keys(alone.store, alone.best_node) == path_keys(resumed.store,
                                                                resumed.best_node)


# -- a worker lost mid-step -----------------------------------------------------------------

def _kill_at(client, depth: int) -> str:
    victim = sorted(client.nthreads())[-1]
    client.run(shard_tasks.exit_at_depth, depth, workers=[victim])
    return victim


def test_worker_killed_mid_step_fails_with_one_line(client):
    c = ClusterBeamSearch(client, _evaluation(), 50, 20, threads=1, max_recoveries=0)
    victim = _kill_at(client, 7)
    with pytest.raises(ClusterError) as e:
        c.run()
    message = str(e.value)
    assert "\n" not in message and victim in message
    assert f"during the step to depth {c.depth + 1};" in message
    assert c.depth in (6, 7)  # the failed step kept nothing (the next is pipelined)
    # Nothing half-done either: the same search continues, on the workers left (the
    # nanny restarts the dead one), to the single-process game.
    client.wait_for_workers(2, timeout=60)
    run_to_end(c)
    assert_same_search(c, single(50, 20))


def test_worker_killed_mid_step_recovers_the_same_game(client):
    client.wait_for_workers(2, timeout=60)
    c = ClusterBeamSearch(client, _evaluation(), 50, 20, threads=1, max_recoveries=1)
    _kill_at(client, 10)
    run_to_end(c)
    assert c.recoveries == 1
    assert_same_search(c, single(50, 20))
    client.wait_for_workers(2, timeout=60)


# -- command line ---------------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (["--cluster", "local:0"], "local:N needs N >= 1"),
    (["--cluster", "nowhere"], "scheduler address"),
    (["--cluster", "local:2", "--solver", "mcts-heuristic"], "needs a beam solver"),
])
def test_solve_cluster_bad_input(args, message):
    r = CliRunner().invoke(cli, ["solve", "--quiet", *args])
    assert r.exit_code == 2
    assert message in r.output and r.output.count("\n") == 1


def test_a_shortlist_plays_the_single_process_game(client):
    """The shortlist is the step's best own values over every shard, ties included, as in
    one process; then the chains. Width 60 with shortlist 3: 180 of the step's children
    (about 1,500) get chains, so the kept beams would differ if the cut did."""
    evaluation = make_evaluation(load_preset("quick"))
    evaluation.shortlist = 3.0
    b = BeamSearch(evaluation, 60, 30)
    while b.step() is not None:
        pass
    every_child = make_evaluation(load_preset("quick"))
    every_child.shortlist = None
    exact = BeamSearch(every_child, 60, 30)
    while exact.step() is not None:
        pass
    assert not np.array_equal(b.store.rows[: b.store.size], exact.store.rows[: exact.store.size])
    c = run_to_end(ClusterBeamSearch(client, evaluation, 60, 30, shards=3, threads=1))
    assert_same_search(c, b)


def test_solve_cluster_unreachable_scheduler():
    r = CliRunner().invoke(cli, ["solve", "--quiet", "--width", "20", "--cluster",
                                 "tcp://127.0.0.1:9"])
    assert r.exit_code == 2
    assert "cannot reach the Dask scheduler" in r.output and r.output.count("\n") == 1


def test_solve_on_a_given_scheduler_plays_the_single_process_game(client):
    address = client.scheduler.address
    args = ["solve", "--quiet", "--width", "30", "--max-depth", "15"]
    alone = CliRunner().invoke(cli, args)
    clustered = CliRunner().invoke(cli, args + ["--cluster", address])
    assert alone.exit_code == 0 and clustered.exit_code == 0, clustered.output
    assert alone.output.splitlines()[1] == clustered.output.splitlines()[1]  # the replay


def test_solve_cluster_checkpoint_resumes_to_the_single_process_game(client, tmp_path):
    address = client.scheduler.address
    args = ["solve", "--quiet", "--width", "30", "--checkpoint", str(tmp_path / "run")]
    first = CliRunner().invoke(cli, args + ["--max-depth", "8", "--cluster", address])
    assert first.exit_code == 0, first.output
    resumed = CliRunner().invoke(cli, args + ["--max-depth", "16", "--resume", "--cluster",
                                              address])
    alone = CliRunner().invoke(cli, ["solve", "--quiet", "--width", "30", "--max-depth", "16"])
    assert resumed.exit_code == 0 and alone.exit_code == 0, resumed.output
    assert resumed.output.splitlines()[1] == alone.output.splitlines()[1]


def test_bench_search_on_a_cluster_reports_children_per_second_and_memory(client):
    r = CliRunner().invoke(cli, ["bench", "search", "--budget", "420", "--max-depth", "6",
                                 "--json", "--cluster", client.scheduler.address])
    assert r.exit_code == 0, r.output
    row = json.loads(r.stdout.strip().splitlines()[0])
    assert row["width"] == 30 and row["pieces"] == 6 and row["workers"] == 2
    assert row["children_per_s"] > 0 and len(row["worker_memory_mb"]) == 2
    assert all(m > 0 for m in row["worker_memory_mb"])
