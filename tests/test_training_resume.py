"""A training run on stored games survives a killed process: resumed, it ends with the
network an uninterrupted run makes; corrupt state or data files are refused (one line)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def tiny_run(tmp_path: Path) -> Path:
    records = json.loads((ROOT / "data/records/records.json").read_text("utf-8"))
    games = tmp_path / "games.json"
    kj4 = [r for r in records if r["name"] == "knewjade (4)"]
    games.write_text(json.dumps(kj4))
    (tmp_path / "kj4.txt").write_text(kj4[0]["replay"] + "\n", encoding="utf-8")
    config = {"games": str(games), "min_pieces": 0, "hold_out": [], "siblings": 2,
              "label_width": 2, "label_depth": 2, "label_grace": 1, "init": None,
              "epochs": 2, "generations": 1, "chunk": 60,
              "probe_starts": [f"{tmp_path / 'kj4.txt'}:100"],
              "probe_width": 4, "probe_pieces": 5, "probe_samples": 20, "bench_suite": None}
    # A small network to start from, so that the run needs no shipped file.
    from hatetris.nnue.network import Network, save_network

    save_network(tmp_path / "init.npz", Network.random(("rows",), hidden=8, seed=2))
    config["init"] = str(tmp_path / "init.npz")
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return path


def finished_tiny_run(tmp_path: Path, **options):
    """A tiny run with ``options`` (RunConfig fields) over its defaults, run to the end."""
    from hatetris.nnue.training_run import RunConfig, TrainingRun

    config = json.loads(tiny_run(tmp_path).read_text())
    config.update(options)
    run = TrainingRun(RunConfig.from_json(config), tmp_path / "run", log=lambda s: None,
                      workers=1)
    run.run()
    return run, config


def selfplay_pairs(run, config: dict):
    """Generation 1's fit data and its self-play pairs: ``(a, b, base, rows, labels)``,
    ``a`` ranked above ``b``, both indices into selfplay-1's rows (the fit's pairs start
    with every record pair; its self-play rows, from ``base``, come first among kind 3)."""
    from hatetris.nnue.dataset import read_games, record_pairs

    rows, labels, kinds, pairs = run.training_data(1)
    n_rec = len(record_pairs(read_games(config["games"]), ())[2])
    base = int(np.flatnonzero(kinds == 3)[0])
    return pairs[0][n_rec:] - base, pairs[1][n_rec:] - base, base, rows, labels


def train(run: Path, config: Path | None, env: dict | None = None, *extra: str):
    cmd = [sys.executable, "-m", "hatetris", "train", "--dataset", "records", "--run",
           str(run), "--workers", "1", *extra]
    if config is not None:
        cmd += ["--run-config", str(config)]
    return subprocess.run(cmd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("resume")
    config = tiny_run(tmp)
    whole = train(tmp / "whole", config)
    assert whole.returncode == 0, whole.stderr
    killed = train(tmp / "killed", config, {"HATETRIS_TEST_KILL_AFTER_CHUNK": "2"})
    return tmp, config, whole, killed


def test_a_killed_run_resumes_to_the_same_network(runs):
    tmp, config, whole, killed = runs
    assert killed.returncode == -9  # SIGKILL mid-labelling, not a Ctrl-C
    partial = np.load(tmp / "killed" / "labels-0.npz")
    assert 0 < int(partial["done"]) < len(partial["labels"])
    assert not (tmp / "killed" / "net-0.npz").exists()
    resumed = train(tmp / "killed", config)
    assert resumed.returncode == 0, resumed.stderr
    for name in ("net-0.npz", "net-1.npz"):
        a, b = np.load(tmp / "whole" / name), np.load(tmp / "killed" / name)
        for key in ("w1", "w2", "b2"):
            assert a[key].tobytes() == b[key].tobytes()
    for name in ("records.npz", "labels-0.npz", "selfplay-1.npz", "labels-1.npz"):
        with np.load(tmp / "whole" / name) as a, np.load(tmp / "killed" / name) as b:
            for key in a.files:
                assert np.array_equal(a[key], b[key])
    state = json.loads((tmp / "killed" / "state.json").read_text())
    assert state["best"] == 1 and state["generations"]["1"]["decision"] == "adopted"
    # A finished run, run again, does nothing and keeps its files.
    again = train(tmp / "whole", None)
    assert again.returncode == 0, again.stderr


def test_corrupt_files_are_refused_with_one_line(runs):
    tmp, config, _, _ = runs
    run = tmp / "whole"
    data = bytearray((run / "records.npz").read_bytes())
    data[100] ^= 0xFF
    (run / "records.npz").write_bytes(bytes(data))
    bad = train(run, None, None, "--generations", "2")
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and "corrupt" in bad.stderr
    (run / "state.json").write_text("{ not json")
    bad = train(run, None)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    other = json.loads(config.read_text())
    other["epochs"] = 3
    (tmp / "other.json").write_text(json.dumps(other))
    bad = train(tmp / "killed", tmp / "other.json")
    assert bad.returncode == 2 and "other options" in bad.stderr


def test_nets_plot_draws_a_log_and_refuses_a_bad_one(tmp_path):
    from hatetris.nnue.plot import PlotError, generations_from_log, plot_generations

    log = tmp_path / "run.jsonl"
    entries = [{"generation": None, "event": "benchmark", "steady_mean": 79.1,
                "empty_mean_lines": 29.0},
               {"generation": 0, "event": "trained", "values": {
                   "record": {"mean": 0.3, "std": 0.5}, "sibling": {"mean": -0.6, "std": 0.4}}},
               {"generation": 0, "event": "benchmark", "steady_mean": 91.7,
                "empty_mean_lines": 25.0},
               {"generation": 0, "event": "adopted"},
               {"generation": 1, "event": "benchmark", "steady_mean": 90.0,
                "empty_mean_lines": 24.0},
               {"generation": 1, "event": "rejected"},
               {"generation": 2, "event": "benchmark_second", "suite": "gate-b",
                "steady_mean": 95.5, "empty_mean_lines": 24.0},
               {"generation": 0, "event": "benchmark_second", "suite": "gate-b",
                "steady_mean": 88.0, "empty_mean_lines": 25.0},
               {"generation": 2, "event": "adopted"}]
    log.write_text("\n".join(json.dumps(e) for e in entries) + "\n")
    gens = generations_from_log(log)
    assert sorted(gens) == [-1, 0, 1, 2]
    assert gens[2]["second"] == {"gate-b": 95.5} and gens[0]["second"] == {"gate-b": 88.0}
    assert "benchmark" not in gens[2] and gens[2]["decision"] == "adopted"
    assert gens[0]["decision"] == "adopted" and gens[1]["decision"] == "rejected"
    assert gens[-1]["benchmark"]["steady_mean"] == 79.1
    out = tmp_path / "plot.png"
    plot_generations(log, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    log.write_text(json.dumps({"generation": 3, "event": "benchmark_second",
                               "suite": "gate-b"}) + "\n")
    with pytest.raises(PlotError, match="without steady_mean"):
        generations_from_log(log)
    log.write_text("{not json\n")
    with pytest.raises(PlotError, match="not a training-run log"):
        generations_from_log(log)
    proc = subprocess.run([sys.executable, "-m", "hatetris", "nets", "plot", str(log),
                           "--out", str(tmp_path / "x.png")], capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def testhindsight_caps_a_dead_probe_by_the_pieces_it_had_left():
    from hatetris.nnue.dataset import value_of_pieces_to_go
    from hatetris.nnue.selfplay import hindsight_cap

    depth = np.array([101, 120, 130, 131])
    caps = hindsight_cap(depth, 130, True, 300.0)
    assert np.allclose(caps, value_of_pieces_to_go([29, 10, 0, 0]))
    assert caps[2] == -1.0  # the last wells of a dead beam had no move left
    assert np.array_equal(hindsight_cap(depth, 130, False, 300.0), np.ones(4))


def test_a_hindsight_run_with_fixed_siblings_keeps_generation_0s_contrast(tmp_path):
    from hatetris.nnue.training_run import RunConfig, TrainingRun

    config = json.loads(tiny_run(tmp_path).read_text())
    # A width-1 probe dies within its 40 pieces, so its wells are capped.
    config.update(hindsight=True, fixed_siblings=True, probe_width=1, probe_pieces=40)
    run = TrainingRun(RunConfig.from_json(config), tmp_path / "run", log=lambda s: None,
                      workers=1)
    run.run()
    probe = run.state["generations"]["1"]["probes"]
    assert list(probe.values())[0]["survived"] < 40
    rec = np.load(tmp_path / "run" / "records.npz")
    n_sib = int((rec["kind"] == 1).sum())
    sp = np.load(tmp_path / "run" / "selfplay-1.npz")
    labels_1 = np.load(tmp_path / "run" / "labels-1.npz")["labels"]
    assert len(labels_1) == len(sp["rows"])  # generation 1 labels only its own wells
    rows, labels, kinds, pairs = run.training_data(1)
    assert pairs is None  # pair_weight 0: no ranking pairs
    labels_0 = np.load(tmp_path / "run" / "labels-0.npz")["labels"]
    assert np.allclose(labels[kinds == 1], labels_0[:n_sib])
    caps = sp["labels"]
    assert (caps < 1).all() and np.allclose(labels[kinds == 2], np.minimum(labels_1, caps))
    assert (labels[kinds == 2] < labels_1 - 1e-9).any()  # hindsight changed some labels


def test_a_run_with_ranking_pairs_fits_every_sibling_as_a_pair(tmp_path):
    from hatetris.nnue.dataset import read_games, record_pairs

    run, config = finished_tiny_run(tmp_path, generations=0, pair_weight=1.0,
                                    pair_temperature=0.2)
    rows, labels, kinds, pairs = run.training_data(0)
    _, _, better, worse, held = record_pairs(read_games(config["games"]), ())
    assert not held.any()
    assert len(pairs[0]) == len(better) > 2 * (kinds == 0).sum() // 2  # all siblings
    assert np.isnan(labels[kinds == 3]).all() and not np.isnan(labels[kinds < 3]).any()
    # A pair's better well is a record well with its label, as in the value part.
    assert np.array_equal(rows[pairs[0]][:5], rows[kinds == 0][::2][better[:5]])
    fit = run.state["generations"]["0"]["fit"]
    assert fit["pairs"] == len(better) and 0.0 <= fit["val_pair_accuracy"] <= 1.0
    assert fit["samples"] == int((kinds < 3).sum())


def test_self_play_as_pairs_ranks_longer_lived_wells_of_a_depth_higher(tmp_path):
    from hatetris.nnue.dataset import load_dataset
    from hatetris.nnue.training_run import RunConfig

    run, config = finished_tiny_run(tmp_path, pair_weight=1.0, selfplay_as="pairs",
                                    fixed_siblings=True, probe_width=3, probe_pieces=40,
                                    probe_samples=60)
    sp = load_dataset(tmp_path / "run" / "selfplay-1.npz")
    group, life = np.array(sp.meta["group"]), np.array(sp.meta["life"])
    assert len(group) == len(life) == len(sp.rows)  # only the probe's own wells
    assert len(np.load(tmp_path / "run" / "labels-1.npz")["labels"]) == 0  # none labelled
    a, b, base, rows, labels = selfplay_pairs(run, config)
    better = a + base
    assert len(better) > 0
    assert (group[a] == group[b]).all() and (life[a] > life[b]).all()
    assert np.array_equal(rows[better], sp.rows[a]) and np.isnan(labels[better]).all()
    with pytest.raises(ValueError, match="pair_weight"):
        RunConfig.from_json({**config, "pair_weight": 0.0})


def test_futures_pairs_rank_wells_whose_lineage_lasts_above_those_whose_ends(tmp_path):
    """``selfplay_as = "futures"``: within one depth of a probe, a well with a
    descendant in the beam ``futures_horizon`` pieces later ranks above one without;
    ``futures_pairs`` pairs a depth that has both."""
    from hatetris.nnue.dataset import load_dataset
    from hatetris.nnue.training_run import RunConfig

    run, config = finished_tiny_run(tmp_path, pair_weight=1.0, selfplay_as="futures",
                                    fixed_siblings=True, probe_width=3, probe_pieces=40,
                                    probe_samples=60, futures_horizon=3, futures_pairs=4)
    sp = load_dataset(tmp_path / "run" / "selfplay-1.npz")
    group, life = np.array(sp.meta["group"]), np.array(sp.meta["life"])
    assert len(group) == len(life) == len(sp.rows)
    assert set(life.tolist()) == {0, 1}
    a, b, base, rows, labels = selfplay_pairs(run, config)
    better = a + base
    both = [g for g in np.unique(group) if 0 < life[group == g].sum() < (group == g).sum()]
    assert len(both) > 0 and len(better) == 4 * len(both)
    assert (group[a] == group[b]).all() and (life[a] == 1).all() and (life[b] == 0).all()
    assert np.array_equal(rows[better], sp.rows[a]) and np.isnan(labels[better]).all()
    pairs, again = run.training_data(1)[3], run.training_data(1)[3]
    # The pairs are drawn, seeded: the same every time.
    assert all(np.array_equal(x, y) for x, y in zip(pairs, again))
    with pytest.raises(ValueError, match="futures"):
        RunConfig.from_json({**config, "futures_pairs": 0})


def test_graded_futures_rank_longer_lineages_at_every_horizon(tmp_path):
    """``futures_horizon = [2, 4]``: a well's life is how many horizons its lineage
    reached (0, 1 or 2); at each level t, ``futures_pairs // 2`` pairs a depth rank a
    well that reached t above one that did not, so every pair has the higher life."""
    from hatetris.nnue.dataset import load_dataset
    from hatetris.nnue.training_run import RunConfig

    run, config = finished_tiny_run(tmp_path, pair_weight=1.0, selfplay_as="futures",
                                    fixed_siblings=True, probe_width=3, probe_pieces=40,
                                    probe_samples=60, futures_horizon=[2, 4],
                                    futures_pairs=4)
    sp = load_dataset(tmp_path / "run" / "selfplay-1.npz")
    group, life = np.array(sp.meta["group"]), np.array(sp.meta["life"])
    assert set(life.tolist()) == {0, 1, 2}
    a, b, base, rows, labels = selfplay_pairs(run, config)
    assert (group[a] == group[b]).all() and (life[a] > life[b]).all()
    expected = sum(2 * any(life[group == g] >= t) * any(life[group == g] < t)
                   for t in (1, 2) for g in np.unique(group))
    assert len(a) == expected > 0
    assert np.array_equal(rows[a + base], sp.rows[a]) and np.isnan(labels[a + base]).all()
    for bad in ([4, 2], [2, 2.5], 0):
        with pytest.raises(ValueError, match="futures_horizon"):
            RunConfig.from_json({**config, "futures_horizon": bad})


def test_a_self_play_window_fits_only_the_last_generations_probes(tmp_path):
    """``selfplay_window = 1``: generation 2's fit reads selfplay-2 and not selfplay-1
    (the records' wells and pairs stay); generation 1's reads selfplay-1."""
    from hatetris.nnue.dataset import load_dataset
    from hatetris.nnue.training_run import RunConfig

    run, config = finished_tiny_run(tmp_path, generations=2, pair_weight=1.0,
                                    selfplay_as="futures", fixed_siblings=True,
                                    probe_width=3, probe_pieces=40, probe_samples=60,
                                    futures_horizon=3, futures_pairs=4, selfplay_window=1)
    sp = [load_dataset(tmp_path / "run" / f"selfplay-{j}.npz").rows for j in (1, 2)]
    assert len(sp[0]) != len(sp[1]) or not np.array_equal(sp[0], sp[1])
    rest = []
    for k in (1, 2):
        rows, labels, kinds, pairs = run.training_data(k)
        base = int((kinds < 3).sum())  # the records' wells and siblings come first
        mine = sp[k - 1]
        assert np.array_equal(rows[base:base + len(mine)], mine)
        rest.append(len(rows) - base - len(mine))  # the records' pair rows, after them
    assert rest[0] == rest[1] > 0  # generation 2 holds no other self-play
    with pytest.raises(ValueError, match="selfplay_window"):
        RunConfig.from_json({**config, "selfplay_window": -1})


def test_an_ensemble_run_means_each_fit_with_its_parents(tmp_path):
    """``ensemble = 2``: generation k's network is the mean of its fit (kept as fit-k)
    and the best network's first fit, value for value as the naive mean of their
    pre-activations (no gate here: every generation is adopted)."""
    from hatetris.nnue.dataset import load_dataset
    from hatetris.nnue.fit import predict_from_rows
    from hatetris.nnue.network import Network, load_network
    from hatetris.nnue.training_run import RunConfig

    run, config = finished_tiny_run(tmp_path, generations=2, fit_from="init", ensemble=2)
    d = tmp_path / "run"
    gens = run.state["generations"]
    assert load_network(d / "net-0.npz").hidden == 8
    rows = load_dataset(d / "selfplay-1.npz").rows[:50]

    def pre(net):  # the output's pre-activation, naively
        out = np.zeros(len(rows))
        predict_from_rows(rows, net.layout.bases, net.layout.max_active, net.w1, net.w2,
                          net.b2, out)
        return np.arctanh(np.clip(out, -1 + 1e-12, 1 - 1e-12))

    parent = 0
    for k in (1, 2):
        members = json.loads((d / f"net-{k}.json").read_text())["members"]
        assert members[0] == f"fit-{k}.npz" and gens[str(k)]["decision"] == "adopted"
        assert members[1:] == run.members(parent)[:1]
        net = load_network(d / f"net-{k}.npz")
        parts = [load_network(d / m) for m in members]
        assert net.hidden == sum(p.hidden for p in parts) == 16
        want = np.mean([pre(p) for p in parts], axis=0)
        assert np.allclose(pre(net), want, atol=1e-5)
        parent = k
    for bad in ({"ensemble": 0}, {"ensemble": 2, "fit_from": "best"}):
        with pytest.raises(ValueError, match="ensemble"):
            RunConfig.from_json({**config, **bad})
    with pytest.raises(ValueError, match="share their features"):
        from hatetris.nnue.network import mean_network

        mean_network([Network.random(("rows",), hidden=2), Network.random(("windows",), 2)])


def test_an_adoption_margin_refuses_a_gain_within_the_gates_noise(tmp_path):
    """``adopt_margin = 1``: a better score whose start-by-start gain over the best is
    within one standard error is rejected; a gain beyond it is adopted."""
    from hatetris.nnue.training_run import RunConfig, TrainingRun

    run = TrainingRun(RunConfig(bench_suite="gate", adopt_margin=1.0), tmp_path / "run",
                      log=lambda s: None)
    run.load_state()
    gens = run.state["generations"]
    gens["1"] = {"bench": {"score": 0.5, "steady": {f"s{i}": 100 for i in range(10)}},
                 "decision": "adopted"}
    run.state.update(best=1, best_score=0.5)
    noisy = {f"s{i}": 100 + (30 if i % 2 else -28) for i in range(10)}  # +1, s.e. 9.7
    gens["2"] = {"bench": {"score": 0.51, "steady": noisy}, "fit": {"moved": True}}
    run.decide(2)
    assert gens["2"]["decision"] == "rejected" and run.state["best"] == 1
    clear = {f"s{i}": 110 + i % 3 for i in range(10)}  # +10.9, s.e. 0.3
    gens["3"] = {"bench": {"score": 0.55, "steady": clear}, "fit": {"moved": True}}
    run.decide(3)
    assert gens["3"]["decision"] == "adopted" and run.state["best"] == 3
    with pytest.raises(ValueError, match="adopt_margin"):
        RunConfig(adopt_margin=-1)
    # Generation 0 is judged against the initial network's own games.
    first = TrainingRun(RunConfig(bench_suite="gate", adopt_margin=1.0), tmp_path / "first",
                        log=lambda s: None)
    first.load_state()
    first.state["baseline"] = {"init": {"score": 0.5, "steady": {f"s{i}": 100
                                                                 for i in range(10)}}}
    first.state["best_score"] = 0.5
    first.state["generations"]["0"] = {"bench": {"score": 0.55, "steady": clear}}
    first.decide(0)
    assert first.state["generations"]["0"]["decision"] == "adopted"


def test_a_second_suite_judges_each_generation_on_starts_its_parent_was_not_chosen_by(
        tmp_path):
    """With ``second_suite`` a generation is judged on the suite the best network was
    not adopted by, against the best network's own games there (played once, then
    kept); the suite that adopts a network is the one the next generation is not
    judged on."""
    from hatetris.nnue.training_run import RunConfig, TrainingRun

    run = TrainingRun(RunConfig(bench_suite="gate", second_suite="gate-b",
                                adopt_margin=1.0), tmp_path / "run", log=lambda s: None)
    run.load_state()
    base = {f"s{i}": 100 for i in range(10)}
    clear = {f"s{i}": 110 + i % 3 for i in range(10)}  # +10.9 a start, s.e. 0.3
    noisy = {f"s{i}": 100 + (30 if i % 2 else -28) for i in range(10)}  # +1, s.e. 9.7
    figures = {(1, "gate-b"): base, (2, "gate-b"): clear,
               (2, "gate"): base, (3, "gate"): noisy, (4, "gate"): clear}
    played = []

    def fake_benchmark(k, network, suite=None):
        suite = suite or "gate"
        played.append((k, suite))
        steady = figures[k, suite]
        return {"steady": steady, "score": sum(steady.values()) / len(steady) / 300}

    run.benchmark = fake_benchmark
    gens = run.state["generations"]
    # Generation 1 was adopted by the gate (a forked run's best is taken to be).
    gens["1"] = {"bench": {"score": 0.9, "steady": {f"s{i}": 270 for i in range(10)}},
                 "decision": "adopted"}
    run.state.update(best=1, best_score=0.9)
    assert run.judge_suite() == "gate-b"
    for k in (2, 3, 4):
        gens[str(k)] = {"fit": {"moved": True}}
    run.decide(2)  # on the second suite, against generation 1 played there
    assert gens["2"]["decision"] == "adopted" and gens["2"]["judged_on"] == "gate-b"
    assert run.state["best_suite"] == "gate-b"
    assert gens["1"]["benches"]["gate-b"]["steady"] == base
    assert run.judge_suite() == "gate"
    run.decide(3)  # on the gate: the noisy gain over generation 2 is not enough
    assert gens["3"]["decision"] == "rejected" and gens["3"]["judged_on"] == "gate"
    assert run.state["best"] == 2 and gens["2"]["bench"]["steady"] == base
    run.decide(4)  # on the gate again; generation 2's gate games are not played again
    assert gens["4"]["decision"] == "adopted" and run.state["best_suite"] == "gate"
    assert played == [(2, "gate-b"), (1, "gate-b"), (3, "gate"),
                      (2, "gate"), (4, "gate")]
    assert run.judge_suite() == "gate-b"
    # The decisions and the kept games survive a restart.
    again = TrainingRun(run.config, tmp_path / "run", log=lambda s: None)
    again.load_state()
    assert again.state["best_suite"] == "gate" and again.judge_suite() == "gate-b"
    for bad in ({"second_suite": "gate"}, {"bench_suite": None, "second_suite": "x"}):
        with pytest.raises(ValueError, match="second_suite"):
            RunConfig(**{"bench_suite": "gate", **bad})


def test_an_opening_network_plays_the_probes_wells_before_its_pieces(tmp_path):
    """With ``opening_network``, a probe values wells with fewer than ``opening_pieces``
    pieces placed by that network: past the probe's pieces it plays the run's own game
    (the same wells), before them another."""
    from hatetris.nnue.dataset import load_dataset
    from hatetris.nnue.network import Network, save_network

    opening = tmp_path / "opening.npz"
    save_network(opening, Network.random(("rows",), hidden=8, seed=7, scale=3.0))
    wells = {}
    for name, extra in (("none", {}),
                        ("after", {"opening_network": str(opening), "opening_pieces": 1}),
                        ("before", {"opening_network": str(opening),
                                    "opening_pieces": 1000})):
        (tmp_path / name).mkdir()
        finished_tiny_run(tmp_path / name, probe_width=3, probe_pieces=20, **extra)
        wells[name] = load_dataset(tmp_path / name / "run" / "selfplay-1.npz").rows
    assert np.array_equal(wells["after"], wells["none"])  # the probe starts at piece 100
    assert not np.array_equal(wells["before"], wells["none"])


def test_a_lead_starts_the_probe_where_the_gates_search_goes(tmp_path):
    """``probe_lead``: the best network first plays the start at the gate's width; the
    probe continues that game's line ``probe_lead`` pieces on (or ``probe_lead_back``
    before its end, if it died sooner), and the state says where it started."""
    from hatetris.game import replay
    from hatetris.eval.quiescence import QuiescenceEvaluation
    from hatetris.nnue.dataset import load_dataset
    from hatetris.nnue.evaluation import NNUEEvaluation
    from hatetris.nnue.network import load_network
    from hatetris.nnue.selfplay import lead_start
    from hatetris.nnue.training_run import RunConfig
    from tqdm import tqdm

    wells = {}
    for name, extra in (("none", {}), ("lead", {"probe_lead": 6, "bench_width": 2})):
        (tmp_path / name).mkdir()
        run, config = finished_tiny_run(tmp_path / name, probe_width=3, probe_pieces=20,
                                        **extra)
        wells[name] = load_dataset(tmp_path / name / "run" / "selfplay-1.npz").rows
        probe = next(iter(run.state["generations"]["1"]["probes"].values()))
    assert probe["from"] == 106 and probe["lead_survived"] == 6
    assert not np.array_equal(wells["lead"], wells["none"])
    with pytest.raises(ValueError, match="probe_lead"):
        RunConfig.from_json({**config, "probe_lead": -1})

    game = (tmp_path / "none" / "kj4.txt").read_text().strip()
    from hatetris.codecs import decode

    keys = decode(game)
    _, record_wells = replay(keys, steps=True)
    evaluation = QuiescenceEvaluation(NNUEEvaluation(load_network(config["init"])), 2,
                                      "adversary", None)
    for lead, width, back in ((6, 2, 30), (400, 1, 5)):
        line, at, survived = lead_start(evaluation, keys, 100, lead, width, back,
                                        tqdm(disable=True))
        result, line_wells = replay(line, steps=True)
        assert result.pieces_placed == at
        assert np.array_equal(np.array(line_wells[:100]), np.array(record_wells[:100]))
        if survived >= lead:
            assert at == 100 + lead
        else:  # width 1 dies long before 400 pieces
            assert at == max(100, 100 + survived - back)


def test_a_run_in_use_by_another_process_is_refused(tmp_path):
    from hatetris.nnue.training_run import RunConfig, RunError, TrainingRun

    config = RunConfig.from_json(json.loads(tiny_run(tmp_path).read_text()))
    first = TrainingRun(config, tmp_path / "run")
    first.lock()
    holder = subprocess.run(
        [sys.executable, "-c", "import fcntl, sys; f = open(sys.argv[1], 'a'); "
         "fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)", str(tmp_path / "run" / ".lock")],
        capture_output=True, text=True)
    assert holder.returncode != 0  # the lock is real, across processes
    with pytest.raises(RunError, match="in use by another training process"):
        TrainingRun(config, tmp_path / "run").run()
    first._lock.close()
    second = TrainingRun(config, tmp_path / "run")
    second.lock()  # free again once the holder let go


def test_a_fork_keeps_the_data_up_to_its_generation_and_goes_on(runs):
    tmp, config, _, _ = runs
    source = tmp / "killed"  # a finished run with generations 0 and 1, both adopted
    assert train(source, config).returncode == 0  # (finished already if run in order)
    options = json.loads(config.read_text())
    options.update(probe_starts=[options["probe_starts"][0][:-3] + "120",
                                 options["probe_starts"][0]], probes_per_generation=1,
                   generations=1)
    (tmp / "fork.json").write_text(json.dumps(options))
    forked = train(tmp / "fork", tmp / "fork.json", None, "--fork", f"{source}:0")
    assert forked.returncode == 0, forked.stderr
    state = json.loads((tmp / "fork" / "state.json").read_text())
    assert state["forked_from"]["run"] == "killed"
    for name in ("records.npz", "labels-0.npz", "net-0.npz"):  # kept, byte for byte
        assert (tmp / "fork" / name).read_bytes() == (source / name).read_bytes()
    kept = [json.loads(line) for line in (tmp / "fork" / "log.jsonl").read_text().splitlines()]
    assert [(e["generation"], e["event"]) for e in kept[:2]] == [(0, "trained"), (0, "adopted")]
    assert kept[0]["kept_from"] == "killed" and "kept_from" not in kept[2]
    # Generation 1 is the fork's own: it probed from the first start of its pool only.
    assert list(state["generations"]["1"]["probes"]) == [options["probe_starts"][0]]
    ours, theirs = tmp / "fork" / "selfplay-1.npz", source / "selfplay-1.npz"
    assert ours.read_bytes() != theirs.read_bytes()
    # Options that made the kept data cannot change; a rejected generation cannot be forked.
    options["label_depth"] += 1
    (tmp / "bad.json").write_text(json.dumps(options))
    bad = train(tmp / "fork2", tmp / "bad.json", None, "--fork", f"{source}:0")
    assert bad.returncode == 2 and "label_depth" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    bad = train(tmp / "fork3", None, None, "--fork", f"{source}:7")
    assert bad.returncode == 2 and "only adopted generations" in bad.stderr


def test_self_play_sibling_pairs_compare_children_of_one_parent(tmp_path):
    """With ``selfplay_groups = "siblings"`` every self-play pair is two placements of
    one piece in one well (checked against the probe's own tree)."""
    from hatetris.engine import children
    from hatetris.nnue.dataset import load_dataset
    from hatetris.nnue.training_run import RunConfig

    run, config = finished_tiny_run(tmp_path, pair_weight=1.0, selfplay_as="pairs",
                                    selfplay_groups="siblings", fixed_siblings=True,
                                    probe_width=6, probe_pieces=40, probe_samples=60)
    sp = load_dataset(tmp_path / "run" / "selfplay-1.npz")
    group, life = np.array(sp.meta["group"]), np.array(sp.meta["life"])
    assert len(group) > 0
    pieces = {}
    for g in np.unique(group):
        ids = np.flatnonzero(group == g)
        assert len(ids) >= 2 and life[ids].min() < life[ids].max()
        pieces[g] = ids
    # Siblings: one well's children under one piece hold all the group's wells.
    g, ids = next(iter(pieces.items()))
    wells = {tuple(int(v) for v in sp.rows[j]) for j in ids}
    assert any(wells <= {tuple(int(v) for v in row) for row in children(parent, 0, p)[0]}
               for parent in _parents_of(sp.rows[ids[0]]) for p in range(7))
    with pytest.raises(ValueError, match="selfplay_groups"):
        RunConfig.from_json({**config, "selfplay_groups": "cousins"})


def _parents_of(well):
    """Every well that one placement could have turned into ``well`` without a clear:
    ``well`` minus each set of four of its cells that form a piece (a small brute force
    over the top rows, enough for a probe well whose last piece cleared nothing)."""
    rows = [int(v) for v in well]
    cells = [(r, c) for r in range(20) for c in range(10) if rows[r] >> c & 1]
    top = min(r for r, _ in cells)
    near = [rc for rc in cells if rc[0] < top + 4]
    import itertools

    for four in itertools.combinations(near, 4):
        parent = list(rows)
        for r, c in four:
            parent[r] &= ~(1 << c)
        yield tuple(parent)


def test_search_pairs_order_siblings_by_the_lookaheads_labels(tmp_path):
    """``selfplay_as = "search-pairs"``: self-play wells are labelled by the lookahead
    and enter the fit only as order within a family, a margin apart, never as values."""
    from hatetris.nnue.dataset import load_dataset
    from hatetris.nnue.training_run import SEARCH_PAIR_MARGIN

    run, config = finished_tiny_run(tmp_path, pair_weight=1.0, selfplay_as="search-pairs",
                                    selfplay_groups="siblings", fixed_siblings=True,
                                    probe_width=6, probe_pieces=40, probe_samples=60)
    sp = load_dataset(tmp_path / "run" / "selfplay-1.npz")
    labels_1 = np.load(tmp_path / "run" / "labels-1.npz")["labels"]
    assert len(labels_1) == len(sp.rows)  # every self-play well labelled, nothing else
    group = np.array(sp.meta["group"])
    a, b, base, rows, labels = selfplay_pairs(run, config)
    assert len(a) > 0 and (group[a] == group[b]).all()
    assert (labels_1[a] > labels_1[b] + SEARCH_PAIR_MARGIN).all()
    # Every family pair that far apart is there, and no self-play well has a value target.
    want = sum(int(labels_1[i] > labels_1[j] + SEARCH_PAIR_MARGIN)
               for g in np.unique(group) for i in np.flatnonzero(group == g)
               for j in np.flatnonzero(group == g))
    assert len(a) == want
    assert np.isnan(labels[base:base + len(sp.rows)]).all()


def test_a_run_without_the_records_fits_self_play_alone(tmp_path):
    """``records_in_fit = False``: generation 0 learns from the records, later ones from
    their self-play only (the ablation); its card still says how it values the records."""
    run, config = finished_tiny_run(tmp_path, pair_weight=1.0, selfplay_as="search-pairs",
                                    selfplay_groups="siblings", fixed_siblings=True,
                                    probe_width=6, probe_pieces=40, probe_samples=60,
                                    records_in_fit=False)
    rows0, labels0, kinds0, pairs0 = run.training_data(0)
    rows1, labels1, kinds1, pairs1 = run.training_data(1)
    assert (kinds0 == 0).any() and not (kinds1 < 3).any()  # no labelled well in gen 1
    from hatetris.nnue.dataset import load_dataset

    assert len(rows1) == len(load_dataset(tmp_path / "run" / "selfplay-1.npz").rows)
    assert 0 < len(pairs1[0]) < len(pairs0[0])  # its own pairs only
    fit1 = json.loads((tmp_path / "run" / "state.json").read_text())["generations"]["1"]["fit"]
    assert fit1["samples"] == 0 and "record" in fit1["values"]


def test_a_fork_is_judged_against_its_own_generations_score(tmp_path):
    """Forking generation 0 of a run that later adopted generation 1: the fork's best is
    generation 0, so its bar is generation 0's score, not the source's best."""
    from hatetris.nnue.fork import fork_run
    from hatetris.nnue.training_run import STATE_FORMAT, RunConfig

    config = RunConfig.from_json({"bench_suite": "gate", "generations": 2})
    source = tmp_path / "source"
    source.mkdir()
    bench = {"steady_mean": 1.0, "empty": {}, "score": 0.5}
    # A source made before the newest options existed: they take their defaults.
    older = {k: v for k, v in config.to_json().items() if k not in ("chain_piece", "fit_from")}
    (source / "state.json").write_text(json.dumps({
        "format": STATE_FORMAT, "config": older, "files": {},
        "generations": {"0": {"decision": "adopted", "bench": bench,
                              "empty": {"1000": {"lines": 9, "pieces": 40, "seconds": 1.0}}},
                        "1": {"decision": "adopted", "bench": {**bench, "score": 0.7}}},
        "best": 1, "best_score": 0.7, "baseline": {"init": {**bench, "score": 0.1}}}))
    fork_run(source, 0, tmp_path / "same-gate", config, tmp_path / "log.jsonl")
    state = json.loads((tmp_path / "same-gate" / "state.json").read_text())
    assert state["best"] == 0 and state["best_score"] == 0.5
    assert list(state["generations"]) == ["0"] and "empty" in state["generations"]["0"]
    events = [json.loads(x)["event"] for x in (tmp_path / "log.jsonl").read_text().split("\n")
              if x]
    assert events == ["benchmark", "benchmark", "adopted"]  # initial, generation 0
    other = RunConfig.from_json({**config.to_json(), "bench_width": 2000})
    fork_run(source, 0, tmp_path / "new-gate", other)
    state = json.loads((tmp_path / "new-gate" / "state.json").read_text())
    assert state["best_score"] is None and "bench" not in state["generations"]["0"]
    assert state["baseline"] == {}  # another gate's figure (a fork does not measure it)
    other = RunConfig.from_json({**config.to_json(), "chain_piece": "optimistic"})
    fork_run(source, 0, tmp_path / "new-chain", other)  # the gate's games would differ
    state = json.loads((tmp_path / "new-chain" / "state.json").read_text())
    assert state["best_score"] is None
    # Nor are the empty-well games of the old gate reused (the gate reads them first).
    assert "empty" in json.loads((source / "state.json").read_text())["generations"]["0"]
    assert "empty" not in state["generations"]["0"]
    deeper = RunConfig.from_json({**config.to_json(), "chain_depth": 3, "chain_shortlist": 8})
    fork_run(source, 0, tmp_path / "deeper", deeper)  # another search: another gate
    assert json.loads((tmp_path / "deeper" / "state.json").read_text())["best_score"] is None
    for bad in ({"chain_depth": 0}, {"chain_shortlist": 0.5}):
        with pytest.raises(ValueError, match="chain_"):
            RunConfig.from_json({**config.to_json(), **bad})
    opening = RunConfig.from_json({**config.to_json(), "opening_pieces": 464,
                                   "opening_network": "data/nets/ranked-0.npz"})
    fork_run(source, 0, tmp_path / "opening", opening)  # the gate plays another preset
    assert json.loads((tmp_path / "opening" / "state.json").read_text())["best_score"] is None
    for bad in ({"opening_pieces": 464}, {"opening_network": "data/nets/ranked-0.npz"},
                {"opening_network": "data/nets/ranked-0.npz", "opening_pieces": -1}):
        with pytest.raises(ValueError, match="opening_"):
            RunConfig.from_json({**config.to_json(), **bad})


def test_line_pairs_rank_a_probes_line_above_every_other_placement(tmp_path):
    """``selfplay_as = "line-pairs"``: each probe's line is a pseudo-record. Against the
    reference engine and adversary (with the loop rule over the whole game): every step
    of the line is a placement of the piece the adversary sends, its group holds exactly
    the other live placements of that piece, and the fit ranks the line's well above
    each of them."""
    from hatetris.codecs import decode
    from hatetris.nnue.dataset import load_dataset

    sys.path.insert(0, str(ROOT / "tests"))
    import naive
    from test_dataset import naive_steps

    run, config = finished_tiny_run(tmp_path, pair_weight=1.0, selfplay_as="line-pairs",
                                    fixed_siblings=True, probe_width=6, probe_pieces=40,
                                    line_margin=5, selfplay_pair_copies=2)
    sp = load_dataset(tmp_path / "run" / "selfplay-1.npz")
    group, life = np.array(sp.meta["group"]), np.array(sp.meta["life"])
    depth = group % 100_000
    line = np.flatnonzero(life == 1)
    survived = json.loads((tmp_path / "run" / "state.json").read_text())[
        "generations"]["1"]["probes"][f"{tmp_path / 'kj4.txt'}:100"]["survived"]
    assert len(line) == survived - 5 > 0
    assert np.array_equal(depth[line], np.arange(101, 101 + len(line)))
    keys = decode(json.loads(Path(config["games"]).read_text())[0]["replay"])
    steps = naive_steps(keys)[:100]
    adversary = naive.Hatetris()
    adversary.next_piece(naive.EMPTY_WELL)
    for s in steps:
        adversary.next_piece(s[3])
    well, score = steps[-1][3], steps[-1][4]
    for i in line:
        piece = adversary.next_piece(well)
        kids = {(w, sc) for w, sc, over in naive.children(well, score, piece) if not over}
        got = {(tuple(int(v) for v in sp.rows[j]), int(sp.scores[j]))
               for j in np.flatnonzero(group == group[i])}
        here = (tuple(int(v) for v in sp.rows[i]), int(sp.scores[i]))
        assert here in kids and got == kids
        well, score = here
    a, b, _, _, _ = selfplay_pairs(run, config)
    assert (life[a] == 1).all() and (life[b] == 0).all() and (group[a] == group[b]).all()
    assert len(a) == 2 * int((life == 0).sum())  # each pair twice: selfplay_pair_copies


def test_record_vs_beam_ranks_the_stored_games_well_above_the_beams(tmp_path):
    """``selfplay_as = "record-vs-beam"``: at each depth from ``record_min_offset`` after
    the probe's start, the group holds the stored game's own well (against the reference
    replay) and up to ``record_wells`` other live wells of that depth (their scores are
    those of wells with that many pieces), and the fit ranks the game's well above each."""
    from hatetris.codecs import decode
    from hatetris.nnue.dataset import load_dataset
    from hatetris.rules import BAR

    sys.path.insert(0, str(ROOT / "tests"))
    from test_dataset import naive_steps

    run, config = finished_tiny_run(tmp_path, pair_weight=1.0, selfplay_as="record-vs-beam",
                                    fixed_siblings=True, probe_width=6, probe_pieces=30,
                                    record_min_offset=5, record_wells=3)
    sp = load_dataset(tmp_path / "run" / "selfplay-1.npz")
    group, life = np.array(sp.meta["group"]), np.array(sp.meta["life"])
    depth = group % 100_000
    survived = json.loads((tmp_path / "run" / "state.json").read_text())[
        "generations"]["1"]["probes"][f"{tmp_path / 'kj4.txt'}:100"]["survived"]
    assert np.array_equal(np.unique(depth), np.arange(105, 101 + survived))
    keys = decode(json.loads(Path(config["games"]).read_text())[0]["replay"])
    steps = naive_steps(keys)
    cells = np.array([bin(int(v)).count("1") for v in sp.rows.ravel()]).reshape(
        sp.rows.shape).sum(axis=1)
    for d in np.unique(depth):
        ids = np.flatnonzero(depth == d)
        mine = ids[life[ids] == 1]
        assert len(mine) == 1 and 1 <= len(ids) - 1 <= 3
        assert tuple(int(v) for v in sp.rows[mine[0]]) == steps[d - 1][3]
        others = ids[life[ids] == 0]
        assert not (sp.rows[others] == sp.rows[mine[0]]).all(axis=1).any()
        assert not sp.rows[others, :BAR].any()
        assert (10 * sp.scores[ids] == 4 * d - cells[ids]).all()  # wells of depth d
    a, b, _, _, _ = selfplay_pairs(run, config)
    assert (life[a] == 1).all() and (life[b] == 0).all() and (group[a] == group[b]).all()
    assert len(a) == int((life == 0).sum())


def test_record_vs_beam_options_that_cannot_work_are_refused_with_one_line(tmp_path):
    """A lead (it would replace the stored game, the teacher, with the learner's own), and
    no offset or no wells."""
    config = json.loads(tiny_run(tmp_path).read_text())
    for bad in ({"probe_lead": 10}, {"record_min_offset": 0}, {"record_wells": 0}):
        (tmp_path / "bad.json").write_text(json.dumps(
            {**config, "selfplay_as": "record-vs-beam", "pair_weight": 1.0, **bad}))
        result = train(tmp_path / "run", tmp_path / "bad.json")
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert "record" in result.stderr and not (tmp_path / "run" / "state.json").exists()


def test_fit_from_init_starts_every_generation_from_the_initial_network(tmp_path,
                                                                         monkeypatch):
    """``fit_from = "init"``: generation 1 is fitted from the initial network, not from
    generation 0; and a fit that keeps the weights it started from is rejected unjudged."""
    import hatetris.nnue.fit as fit_module
    from hatetris.nnue.network import load_network

    real_fit, started = fit_module.fit, []

    def spy(net, *args, **kwargs):
        started.append(net.w1.copy())
        return real_fit(net, *args, **kwargs)

    monkeypatch.setattr(fit_module, "fit", spy)
    (tmp_path / "a").mkdir()
    run, config = finished_tiny_run(tmp_path / "a", pair_weight=1.0, selfplay_as="line-pairs",
                                    fixed_siblings=True, probe_width=6, probe_pieces=20,
                                    line_margin=5, fit_from="init")
    init = load_network(config["init"]).w1
    assert len(started) == 2 and np.array_equal(started[0], init)
    assert np.array_equal(started[1], init)  # not generation 0's weights, which moved:
    assert not np.array_equal(load_network(tmp_path / "a" / "run" / "net-0.npz").w1, init)
    state = json.loads((tmp_path / "a" / "run" / "state.json").read_text())
    assert state["generations"]["1"]["fit"]["moved"] and state["best"] == 1

    def stuck_after_0(net, *args, **kwargs):  # generation 1's fit keeps its weights
        stuck_after_0.calls += 1
        return real_fit(net if stuck_after_0.calls == 1 else net.copy(), *args, **kwargs)

    stuck_after_0.calls = 0
    monkeypatch.setattr(fit_module, "fit", stuck_after_0)
    (tmp_path / "b").mkdir()
    finished_tiny_run(tmp_path / "b", pair_weight=1.0, selfplay_as="line-pairs",
                      fixed_siblings=True, probe_width=6, probe_pieces=20, line_margin=5)
    state = json.loads((tmp_path / "b" / "run" / "state.json").read_text())
    g1 = state["generations"]["1"]
    assert not g1["fit"]["moved"] and g1["decision"] == "rejected" and state["best"] == 0


def test_fit_sets_give_the_fits_new_features_starting_from_zero(tmp_path):
    """``fit_sets``: generation 0 is fitted over the initial network's rows and the new
    columns (their weights from 0, then moved by the fit), the rows it had kept though
    not named; a set that does not exist is refused."""
    from hatetris.nnue.network import load_network
    from hatetris.nnue.training_run import RunConfig

    run, config = finished_tiny_run(tmp_path, fit_sets=["columns"])
    net = load_network(tmp_path / "run" / "net-0.npz")
    assert net.sets == ("rows", "columns")
    lay = net.layout
    assert np.abs(net.w1[lay.columns_base:lay.columns_base + 170]).max() > 0
    with pytest.raises(ValueError, match="fit_sets"):
        RunConfig(fit_sets=("rows", "diagonals"))


def test_fit_decay_reaches_the_fit_and_bad_values_are_refused(tmp_path, monkeypatch):
    """A run's ``fit_decay`` and ``fit_decay_to`` are what its fits are given; a negative
    decay or an unknown anchor is refused when the options are read."""
    import hatetris.nnue.fit as fit_module
    from hatetris.nnue.training_run import RunConfig

    seen = []
    real_fit = fit_module.fit

    def spy(net, *args, **kwargs):
        seen.append((kwargs["decay"], kwargs["decay_to"]))
        return real_fit(net, *args, **kwargs)

    monkeypatch.setattr(fit_module, "fit", spy)
    finished_tiny_run(tmp_path, fit_decay=2.5, fit_decay_to="zero")
    assert seen and set(seen) == {(2.5, "zero")}
    with pytest.raises(ValueError, match="fit_decay"):
        RunConfig(fit_decay=-1.0)
    with pytest.raises(ValueError, match="fit_decay_to"):
        RunConfig(fit_decay_to="parent")


def test_compact_networks_store_the_int16_copy_and_can_be_turned_on_when_resumed(
        tmp_path, monkeypatch):
    """``compact_networks``: each network is stored as its int16 copy (the same games);
    a float run resumed with it rewrites its networks so, also when killed halfway;
    turning it off again is refused."""
    import shutil

    from hatetris.nnue import run_compact
    from hatetris.nnue.network import load_network
    from hatetris.nnue.quantized import compact_copy
    from hatetris.nnue.training_run import RunConfig, RunError, TrainingRun

    def stored_compact(path):
        with np.load(path) as z:
            return "w1" not in z and "w1_int16" in z

    for d in ("plain", "compact"):
        (tmp_path / d).mkdir()
    plain, config = finished_tiny_run(tmp_path / "plain")
    compact, _ = finished_tiny_run(tmp_path / "compact", compact_networks=True,
                                   generations=0)
    assert not stored_compact(plain.run_dir / "net-0.npz")
    assert stored_compact(compact.run_dir / "net-0.npz")
    # Generation 0 is fitted from the same start on the same data: its compact file is
    # the float one's int16 copy, to the bit.
    want = compact_copy(load_network(plain.run_dir / "net-0.npz")).w1
    assert load_network(compact.run_dir / "net-0.npz").w1.tobytes() == want.tobytes()

    def resume(run_dir, **options):
        run = TrainingRun(RunConfig.from_json({**config, **options}), run_dir,
                          log=lambda s: None, workers=1)
        run.run()
        return run

    turned = tmp_path / "turned"
    shutil.copytree(plain.run_dir, turned)
    # Killed after the state names the first compact network, before it is moved.
    calls = []
    original = run_compact.finish_compacting

    def killed(run):
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        original(run)

    monkeypatch.setattr(run_compact, "finish_compacting", killed)
    with pytest.raises(KeyboardInterrupt):
        resume(turned, compact_networks=True)
    monkeypatch.setattr(run_compact, "finish_compacting", original)
    state = json.loads((turned / "state.json").read_text())
    assert state["compacting"] == ["net-0.npz", "net-0.json"]
    resume(turned, compact_networks=True)
    names = [n for n in json.loads((turned / "state.json").read_text())["files"]
             if n.startswith("net-") and n.endswith(".npz")]
    assert names
    for name in names:
        assert stored_compact(turned / name)
        want = compact_copy(load_network(plain.run_dir / name)).w1
        assert load_network(turned / name).w1.tobytes() == want.tobytes()
    assert not list(turned.glob("compacting-*"))
    resume(turned, compact_networks=True)  # nothing left to do, every digest holds
    with pytest.raises(RunError, match="other options"):
        resume(turned)
