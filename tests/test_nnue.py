"""NNUE: features against a slow reference, inference against a dense forward pass,
training, weight files, and resumable generations."""

from __future__ import annotations

import json
from pathlib import Path
import random

import numpy as np
import pytest

from hatetris.engine import children
from hatetris.eval.heuristic import FEATURES, heuristic_features
from hatetris.nnue.features import FeatureError, active_features, layout
from hatetris.nnue.evaluation import NNUEEvaluation
from hatetris.nnue.fit import fit, held_out, predict_from_rows
from hatetris.nnue.network import Network, NetworkError, load_network, save_network
from hatetris.nnue.samples import candidate_children
from hatetris.nnue.train import TrainConfig, Trainer
from hatetris.search.beam import BeamSearch

import naive


def random_wells(n: int, seed: int):
    rng = random.Random(seed)
    out, scores = [], []
    well, score = np.zeros(20, np.uint16), 0
    while len(out) < n:
        rows, sc, _ = children(well, score, rng.randrange(7), keep_game_over=False)
        if len(rows) == 0:
            well, score = np.zeros(20, np.uint16), 0
            continue
        k = rng.randrange(len(rows))
        well, score = rows[k], int(sc[k])
        out.append(well)
        scores.append(score)
    return np.array(out, np.uint16), np.array(scores, np.int64)


ROWS, SCORES = random_wells(1500, seed=5)
ALL_SETS = ("rows", "windows", "windows_positional", "counts")


def count_indices(well, base) -> list[int]:
    """The heuristic's features of one well (tested against naive code in
    test_heuristic), bucketed: one index per feature but the score and the cell count."""
    f = np.zeros((1, len(FEATURES)))
    heuristic_features(np.array([well], np.uint16), np.zeros(1, np.int64), True, f)
    kept = [j for j, name in enumerate(FEATURES) if name not in ("lines", "cells")]
    return [base + t * 32 + min(int(f[0, j]), 31) for t, j in enumerate(kept)]


def slow_features(well, sets) -> list[int]:
    """Feature indices written out the long way: one cell at a time."""
    lay = layout(sets)
    cell = lambda r, c: (int(well[r]) >> c) & 1  # noqa: E731
    out = [0]
    if "rows" in sets:
        out += [lay.rows_base + (r - 4) * 1024 + int(well[r]) for r in range(4, 20)]
    for t in range(4, 17):
        for c in range(8):
            pattern = sum(cell(t + i, c + j) << (3 * i + j) for i in range(4) for j in range(3))
            if "windows" in sets:
                out.append(lay.windows_base + pattern)
            if "windows_positional" in sets:
                out.append(lay.windows_pos_base + ((t - 4) * 8 + c) * 4096 + pattern)
    if "counts" in sets:
        out += count_indices(well, lay.counts_base)
    return sorted(out)


@pytest.mark.parametrize("sets", [("rows",), ("windows",), ("rows", "windows"), ("counts",),
                                  ALL_SETS])
def test_features_match_slow_reference(sets):
    lay = layout(sets)
    idx = np.zeros(lay.max_active, np.int64)
    for i in range(0, len(ROWS), 5):
        n = active_features(ROWS, i, lay.bases, idx)
        assert n == lay.max_active
        assert sorted(idx[:n].tolist()) == slow_features(ROWS[i], sets)
        assert idx[:n].max() < lay.n_features


def test_unknown_feature_set_is_refused():
    with pytest.raises(FeatureError):
        layout(("rows", "diagonals"))


def dense_forward(net: Network, rows: np.ndarray) -> np.ndarray:
    lay = net.layout
    x = np.zeros((len(rows), lay.n_features), np.float64)
    idx = np.zeros(lay.max_active, np.int64)
    for i in range(len(rows)):
        n = active_features(rows, i, lay.bases, idx)
        np.add.at(x[i], idx[:n], 1.0)
    hidden = np.tanh(x @ net.w1.astype(np.float64))
    return np.tanh(hidden @ net.w2.astype(np.float64) + net.b2[0])


@pytest.mark.parametrize("sets", [("rows", "windows"), ("windows_positional",),
                                  ("rows", "windows", "counts")])
def test_inference_equals_dense_forward_pass(sets):
    net = Network.random(sets, hidden=24, seed=3, scale=2.0)
    rows = ROWS[:300]
    out = np.zeros(len(rows))
    NNUEEvaluation(net, precision="float32").evaluate(rows, SCORES[:300], out)
    dense = dense_forward(net, rows)
    np.testing.assert_allclose(out, dense, atol=1e-5)
    assert out.std() > 0.05  # not a constant network
    # The search's int16 path: within its stated worst-case bound of the same pass.
    from hatetris.nnue.quantized import quantize

    NNUEEvaluation(net).evaluate(rows, SCORES[:300], out)
    assert np.abs(out - dense).max() <= quantize(net).error_bound(net.layout.max_active)


def test_training_lowers_the_loss():
    net = Network.random(("rows", "windows"), hidden=16, seed=1)
    # A learnable target: fewer filled cells in the bottom rows is better.
    cells = np.array([[bin(int(v)).count("1") for v in w] for w in ROWS]).sum(axis=1)
    labels = np.tanh((20 - cells) / 10.0)
    result = fit(net, ROWS, labels, seed=0, epochs=15, lr=3e-3)
    assert result.val_loss < 0.5 * result.initial_val_loss
    out = np.zeros(len(ROWS))
    NNUEEvaluation(net).evaluate(ROWS, SCORES, out)
    assert np.corrcoef(out, labels)[0, 1] > 0.8


def test_validation_wells_are_chosen_by_the_well_alone():
    """A child generation's pool holds its parent's: a well held out from the parent's
    pool must stay held out, or the child is validated on wells its parent trained on."""
    pool = ROWS[:1000]
    grown = np.concatenate([ROWS[1000:], pool, pool[:50]])  # new wells, and repeats
    assert (held_out(grown, 0.1)[500:1500] == held_out(pool, 0.1)).all()
    val = held_out(grown, 0.1)
    seen = {}
    for well, v in zip(map(bytes, grown), val):
        assert seen.setdefault(well, v) == v  # a repeated well is never on both sides
    assert 0.05 < val.mean() < 0.15
    # fit validates on exactly those wells: with no epoch, its loss is the net's there.
    net = Network.random(("rows",), hidden=8, seed=3)
    labels = np.linspace(-1, 1, len(pool))
    pred = np.zeros(len(pool))
    predict_from_rows(pool, net.layout.bases, net.layout.max_active, net.w1, net.w2, net.b2,
                      pred)
    v = held_out(pool, 0.1)
    result = fit(net, pool, labels, seed=0, epochs=0)
    assert result.initial_val_loss == pytest.approx(np.mean((pred[v] - labels[v]) ** 2))


def test_save_load_round_trip_and_corruption(tmp_path):
    net = Network.random(("rows", "windows"), hidden=32, seed=2)
    path = tmp_path / "gen-0.npz"
    save_network(path, net, generation=0, samples=0)
    back = load_network(path)
    assert back.sets == net.sets and back.meta["generation"] == 0
    for a, b in ((back.w1, net.w1), (back.w2, net.w2), (back.b2, net.b2)):
        assert np.array_equal(a, b)
    # corrupt weights
    bad = tmp_path / "bad.npz"
    bad.write_bytes(path.read_bytes()[:200])
    bad.with_suffix(".json").write_text(path.with_suffix(".json").read_text())
    with pytest.raises(NetworkError, match="corrupt"):
        load_network(bad)
    # a description that does not match the weights
    side = json.loads(path.with_suffix(".json").read_text())
    side["hidden"] = 16
    path.with_suffix(".json").write_text(json.dumps(side))
    with pytest.raises(NetworkError, match="do not match"):
        load_network(path)
    # missing description, non-finite weights
    with pytest.raises(NetworkError, match="not found"):
        load_network(tmp_path / "none.npz")
    net.w2[0] = np.nan
    save_network(path, net)
    with pytest.raises(NetworkError, match="non-finite"):
        load_network(path)


def test_candidate_children_are_children_for_the_mild_piece():
    rows, scores = ROWS[:40], SCORES[:40]
    kids, kid_scores = candidate_children(rows, scores, 2, seed=0)
    expected = set()
    for well, score in zip(rows, scores):
        piece = naive.Hatetris(loop_prevention=False).next_piece([int(v) for v in well])
        mine = {(w, sc) for w, sc, over in naive.children([int(v) for v in well], int(score),
                                                           piece) if not over}
        expected |= mine
    got = [(tuple(int(v) for v in k), int(sc)) for k, sc in zip(kids, kid_scores)]
    assert got and all(g in expected for g in got)
    assert len(got) <= 2 * len(rows)
    assert len(got) > len(rows)  # most wells have two or more children


def test_a_teacher_generation_ranks_like_its_teacher(tmp_path):
    from hatetris.nnue.samples import well_depth
    from hatetris.presets import load_preset, make_evaluation
    from hatetris.search.beam import BeamSearch

    config = TrainConfig(generations=0, features=("counts",), hidden=8, probe_width=100,
                         probe_max_depth=40, samples=1000, epochs=30, teacher="quick")
    nets = tmp_path / "nets"
    Trainer(config, nets, tmp_path / "work", log=lambda s: None).run()
    net = load_network(nets / "gen-0.npz")
    assert net.meta["teacher"] == "quick"
    # On other children of the teacher's beam wells than it was trained on, the network
    # orders wells of one depth the way the teacher's own evaluation (without its
    # quiescence) does: the order is all a beam uses. Chance would be 50%.
    teacher = make_evaluation(load_preset("quick"))
    search = BeamSearch(teacher, 100, 40)
    while search.step() is not None:
        pass
    s = search.store
    kids, kid_scores = candidate_children(s.rows[1:s.size:2], s.score[1:s.size:2], 3, seed=1)
    mine, theirs = np.zeros(len(kids)), np.zeros(len(kids))
    NNUEEvaluation(net).evaluate(kids, kid_scores, mine)
    teacher.inner.evaluate(kids, kid_scores, theirs)
    depth = well_depth(kids, kid_scores)
    agree = total = 0
    rng = np.random.default_rng(0)
    for d in np.unique(depth):
        m = np.flatnonzero(depth == d)
        for _ in range(len(m)):
            i, j = rng.choice(m, 2)
            if theirs[i] != theirs[j]:
                total += 1
                agree += (mine[i] - mine[j]) * (theirs[i] - theirs[j]) > 0
    assert total > 1000 and agree / total > 0.7


def test_survivor_labels_from_the_teacher(tmp_path):
    config = TrainConfig(teacher="quick", survivor_labels="teacher", label_depth=6,
                         label_width=2, features=("rows",), hidden=8)
    trainer = Trainer(config, tmp_path / "nets", tmp_path / "work", log=lambda s: None)
    net = Network.random(("rows",), hidden=8, seed=0)
    rows, scores = ROWS[:400], SCORES[:400]
    labels = trainer.label(net, rows, scores)
    ranking = trainer.teacher_labels(rows, scores)
    dead = labels == -1.0
    assert 0 < dead.sum() < len(rows)  # random play leaves both kinds
    assert np.array_equal(labels[~dead], ranking[~dead])
    # Deaths are the lookahead's: the same as with lookahead labels.
    plain = Trainer(TrainConfig(label_depth=6, label_width=2, features=("rows",), hidden=8),
                    tmp_path / "n2", tmp_path / "w2", log=lambda s: None)
    assert np.array_equal(plain.label(net, rows, scores) <= -0.999, dead)


def naive_beam_lookahead(net: Network, well, score: int, depth: int, grace: int,
                         width: int):
    """``lookahead`` the long way at any width: each step, the distinct children of every
    well in the beam (mild adversary), the best ``width`` of them by the dense forward
    pass. None where wells tie across the cut (which of them stays is arbitrary)."""
    beam = naive.mild_beam(well, score, depth, grace, width,
                           lambda wells: dense_forward(net, np.array(wells, np.uint16)))
    if beam is None:
        return None
    value, lasted = beam
    return value, 0.0 if lasted < depth else (lasted - depth + 1) / (grace + 1)


@pytest.mark.parametrize("width, step, least", [(1, 10, 0.75), (4, 25, 0.6)])
def test_lookahead_equals_a_naive_beam(width, step, least):
    """The label beam equals a naive beam over distinct wells: greedy at width 1, and at
    width 4 a beam that kept copies (two parents sharing a child) would lose lines."""
    from hatetris.nnue.labels import lookahead

    net = Network.random(("rows", "windows"), hidden=8, seed=4, scale=2.0)
    lay = net.layout
    rows, scores = ROWS[::step], SCORES[::step]
    value, survived = np.zeros(len(rows)), np.zeros(len(rows))
    lookahead(rows, scores, 3, 4, width, lay.bases, lay.max_active, net.w1, net.w2, net.b2,
              value, survived)
    compared = 0
    for i in range(len(rows)):
        expected = naive_beam_lookahead(net, rows[i], int(scores[i]), 3, 4, width)
        if expected is None:
            continue
        compared += 1
        assert survived[i] == expected[1]
        assert value[i] == pytest.approx(expected[0], abs=1e-5)
    assert compared > least * len(rows)  # ties: children that differ only above row 4
    # Random play loses some wells early, some in the grace stretch, some never.
    assert (survived == 0).any() and (survived == 1).any()
    assert ((survived > 0) & (survived < 1)).any()


def test_graded_labels(tmp_path):
    net = Network.random(("rows",), hidden=8, seed=0)
    rows, scores = ROWS[:400], SCORES[:400]

    def labels(grace):
        config = TrainConfig(label_depth=4, label_width=2, label_grace=grace,
                             features=("rows",), hidden=8)
        return Trainer(config, tmp_path / "n", tmp_path / "w", log=lambda s: None).label(
            net, rows, scores)

    plain, grace = labels(None), labels(6)
    # Wells lost within the depth are -1 either way; the others lie between -1 and their
    # label without grace, equal to it if they last the grace stretch too.
    dead = plain <= -0.999
    assert np.array_equal(grace[dead], plain[dead])
    assert np.all(grace[~dead] <= plain[~dead] + 1e-12) and np.all(grace[~dead] > -1)
    partial = ~dead & (grace < plain - 1e-9)
    assert partial.any() and (~dead & ~partial).any()


def test_lineage_reach_and_hindsight_order():
    from hatetris.nnue.labels import lineage_reach, order_by_hindsight
    from hatetris.presets import load_preset, make_evaluation

    search = BeamSearch(make_evaluation(load_preset("quick")), 20, 40)
    while search.step() is not None:
        pass
    s = search.store
    parent, depth = s.parent[:s.size], s.depth[:s.size]
    naive_reach = depth.astype(np.int64).copy()
    for j in range(s.size):  # every node raises each of its ancestors
        a = parent[j]
        while a >= 0:
            naive_reach[a] = max(naive_reach[a], depth[j])
            a = parent[a]
    reach = lineage_reach(parent, search.level_start, s.size)
    assert np.array_equal(reach, naive_reach)
    assert reach[0] == search.depth and (reach > depth).any() and (reach == depth).any()

    rng = np.random.default_rng(0)
    labels, d, life = rng.random(300), rng.integers(0, 4, 300), rng.integers(0, 5, 300)
    out = order_by_hindsight(labels, d, life)
    for k in range(4):
        m = d == k
        assert np.array_equal(np.sort(out[m]), np.sort(labels[m]))  # the same values
        i, j = np.meshgrid(np.flatnonzero(m), np.flatnonzero(m))
        longer = life[i] > life[j]
        assert np.all(out[i][longer] > out[j][longer])  # longer-lived, higher label
        tie = (life[i] == life[j]) & (labels[i] > labels[j])
        assert np.all(out[i][tie] > out[j][tie])  # ties keep the old order


def test_a_hindsight_run_reorders_its_labels_within_each_depth(tmp_path):
    from hatetris.nnue.samples import well_depth

    data = {}
    for hindsight in (None, True):
        config = TrainConfig(generations=0, probe_width=30, probe_max_depth=25, samples=300,
                             label_depth=3, label_width=2, hidden=8, hindsight=hindsight)
        config.generations = 1  # label generation 0's probe, train generation 1
        work = tmp_path / str(hindsight)
        Trainer(config, tmp_path / f"n{hindsight}", work, log=lambda s: None).run()
        data[hindsight] = np.load(work / "data-0.npz")
    plain, hind = data[None], data[True]
    assert np.array_equal(plain["rows"], hind["rows"])
    depth = well_depth(plain["rows"], plain["scores"])
    for d in np.unique(depth):
        m = depth == d
        assert np.array_equal(np.sort(plain["labels"][m]), np.sort(hind["labels"][m]))
    assert not np.array_equal(plain["labels"], hind["labels"])


def test_several_probe_widths_judge_a_generation_on_their_mean(tmp_path):
    from hatetris.nnue.network import load_network as load

    config = TrainConfig(generations=1, probe_width=(20, 30), probe_max_depth=25,
                         samples=300, label_depth=3, label_width=2, epochs=2, hidden=8,
                         hindsight=True, candidates=1)
    nets, work = tmp_path / "nets", tmp_path / "work"
    Trainer(config, nets, work, log=lambda s: None).run()
    state = json.loads((work / "state.json").read_text())
    for k in (0, 1):
        g = state["generations"][str(k)]
        net = load(nets / f"gen-{k}.npz")
        lines = []
        for w in (20, 30):  # each probe is the beam its network plays at that width
            alone = BeamSearch(Trainer(config, nets, work).evaluation(net), w, 25)
            while alone.step():
                pass
            lines.append(alone.best_score)
            assert (work / f"probe-{k}-w{w}" / "meta.json").exists()
        assert g["probe_lines_by_width"] == {"20": lines[0], "30": lines[1]}
        assert g["probe_lines"] == np.mean(lines)
        assert json.loads((nets / f"gen-{k}.json").read_text())["lines_by_width"] == lines
    assert state["generations"]["1"]["adopted"] == (
        state["generations"]["1"]["probe_lines"] >= state["generations"]["0"]["probe_lines"])
    # Both probes were sampled, half the wells (plus a child each) from each, and
    # hindsight ordered their wells of a depth together: a longer line in either probe,
    # a higher label.
    from hatetris.nnue.labels import lineage_reach
    from hatetris.nnue.samples import candidate_children

    data = np.load(work / "data-0.npz")
    trainer = Trainer(config, nets, work)
    trainer.load_state()
    start, depth, life, ids = 0, [], [], []
    for i, w in enumerate((20, 30)):
        search = trainer.probe(0, load(nets / "gen-0.npz"), w)
        rows, scores, nodes = trainer.sample(0, search, 150, salt=i)
        kids, _ = candidate_children(rows, scores, 1, 7919 * i)
        store = search.store
        reach = lineage_reach(store.parent[:store.size], search.level_start, store.size)
        assert np.array_equal(data["rows"][start:start + len(nodes)], rows)
        depth.append(store.depth[nodes])
        life.append(reach[nodes] - store.depth[nodes])
        ids.append(np.arange(start, start + len(nodes)))
        start += len(nodes) + len(kids)  # its wells, then a child of each (if any)
    assert start == len(data["rows"])
    depth, life, ids = np.concatenate(depth), np.concatenate(life), np.concatenate(ids)
    labels = data["labels"][ids]
    for d in np.unique(depth):
        m = depth == d
        i, j = np.meshgrid(np.flatnonzero(m), np.flatnonzero(m))
        assert np.all(labels[i][life[i] > life[j]] >= labels[j][life[i] > life[j]])
    assert len(set(np.round(labels, 9))) > 10
    log = [json.loads(x) for x in (work / "train-log.jsonl").read_text().splitlines()]
    decisions = [e for e in log if e["event"] in ("adopted", "rejected")]
    assert [e["probe_width"] for e in decisions] == [[20, 30], [20, 30]]


def test_wells_from_another_beam_join_the_samples(tmp_path):
    from hatetris.presets import load_preset
    from hatetris.solve import run_beam

    preset = tmp_path / "small.toml"
    preset.write_text(Path("solvers/quick.toml").read_text().replace("width = 2000",
                                                                     "width = 40"))
    config = TrainConfig(generations=1, probe_width=30, probe_max_depth=25, samples=300,
                         label_depth=3, label_width=2, epochs=2, hidden=8,
                         also_sample=str(preset))
    work = tmp_path / "work"
    Trainer(config, tmp_path / "nets", work, log=lambda s: None).run()
    data = np.load(work / "data-0.npz")
    # Its game is the preset's own: the same as `hatetris solve` plays.
    other = Trainer(config, tmp_path / "nets", work).other_beam()
    solved = run_beam(load_preset(str(preset)), max_depth=25, progress=False)
    assert (other.best_score, other.depth) == (solved["score"], solved["pieces"])
    # The samples' second half comes from it (the first from the probe).
    store = other.store
    mine = {bytes(r) for r in store.rows[:store.size]}
    from_other = np.array([bytes(r) in mine for r in data["rows"]])
    assert from_other[-140:].all() and not from_other[:100].all()


def test_train_refuses_an_unknown_or_non_beam_preset_to_sample(tmp_path):
    from click.testing import CliRunner

    from hatetris.cli import cli

    for name, message in (("no-such-solver", "unknown solver"),
                          ("mcts-heuristic", "not a beam preset")):
        result = CliRunner().invoke(cli, ["train", "--also-sample", name,
                                          "--work", str(tmp_path / "w")])
        assert result.exit_code == 2 and message in result.output
        assert not (tmp_path / "w").exists()


def test_generations_resume(tmp_path):
    config = TrainConfig(generations=1, probe_width=30, probe_max_depth=25, samples=300,
                         label_depth=3, label_width=2, epochs=2, hidden=8)
    nets, work = tmp_path / "nets", tmp_path / "work"
    Trainer(config, nets, work, log=lambda s: None).run()
    assert (nets / "gen-0.npz").exists() and (nets / "gen-1.npz").exists()
    gen1_w1 = load_network(nets / "gen-1.npz").w1.copy()
    data0 = np.load(work / "data-0.npz")["labels"].copy()
    log_lines = (work / "train-log.jsonl").read_text().splitlines()
    assert any('"adopted"' in line or '"rejected"' in line for line in log_lines)
    # Interrupted inside generation 1 after training, before its probe was recorded:
    state = json.loads((work / "state.json").read_text())
    del state["generations"]["1"]
    (work / "state.json").write_text(json.dumps(state))
    Trainer(config, nets, work, log=lambda s: None).run()
    assert np.array_equal(load_network(nets / "gen-1.npz").w1, gen1_w1)  # not retrained
    state = json.loads((work / "state.json").read_text())
    assert state["generations"]["1"]["done"] and "probe_lines" in state["generations"]["1"]
    assert np.array_equal(np.load(work / "data-0.npz")["labels"], data0)  # not redone
    # More generations continue the same run; other options are refused.
    config.generations = 2
    Trainer(config, nets, work, log=lambda s: None).run()
    assert (nets / "gen-2.npz").exists()
    with pytest.raises(ValueError, match="other options"):
        Trainer(TrainConfig(generations=2, hidden=16), nets, work, log=lambda s: None).run()


def test_an_interrupted_probe_resumes_where_it_stopped(tmp_path, monkeypatch):
    import hatetris.solve

    config = TrainConfig(generations=0, probe_width=30, probe_max_depth=25, hidden=8)
    whole = Trainer(config, tmp_path / "n1", tmp_path / "w1", log=lambda s: None)
    whole.run()
    drive = hatetris.solve.drive

    def interrupted_drive(step, bar, describe, on_step=None, save=None, every=25):
        calls = iter(range(12))
        drive(lambda: step() if next(calls, None) is not None else None, bar, describe,
              on_step, save, every)
        return True  # as if Ctrl-C came after the 12th piece

    monkeypatch.setattr(hatetris.solve, "drive", interrupted_drive)
    work = tmp_path / "w2"
    with pytest.raises(KeyboardInterrupt):
        Trainer(config, tmp_path / "n2", work, log=lambda s: None).run()
    assert json.loads((work / "probe-0" / "meta.json").read_text())["level_start"][12]
    monkeypatch.setattr(hatetris.solve, "drive", drive)
    steps = []
    monkeypatch.setattr(BeamSearch, "step", lambda self, f=BeamSearch.step: steps.append(1)
                        or f(self))
    resumed = Trainer(config, tmp_path / "n2", work, log=lambda s: None)
    resumed.run()
    assert resumed.state["generations"]["0"] == whole.state["generations"]["0"] | {
        "seconds": resumed.state["generations"]["0"]["seconds"],
        "probe_seconds": resumed.state["generations"]["0"]["probe_seconds"]}
    assert len(steps) < 25 - 12 + 2  # the first 12 pieces were not played again


def test_a_finished_probe_is_resumed_without_being_saved_again(tmp_path, monkeypatch):
    import hatetris.nnue.train as train

    config = TrainConfig(generations=0, probe_width=30, probe_max_depth=25, hidden=8)
    trainer = Trainer(config, tmp_path / "n", tmp_path / "w", log=lambda s: None)
    trainer.run()
    saves = []
    monkeypatch.setattr(train, "save_checkpoint", lambda *a: saves.append(a))
    net = load_network(tmp_path / "n" / "gen-0.npz")
    search = trainer.probe(0, net, 30)
    assert search.depth == trainer.state["generations"]["0"]["probe_depth"]
    assert search.best_score == trainer.state["generations"]["0"]["probe_lines"]
    assert saves == []  # the final checkpoint is already on disk


def test_nets_table_is_generated_from_measured_games(tmp_path):
    from hatetris.nnue.report import measure, write_table
    from hatetris.solution import verify

    save_network(tmp_path / "gen-0.npz", Network.random(("rows",), hidden=8, seed=0),
                 generation=0, probe_lines=1, adopted=True)
    results = measure(tmp_path, ["gen-0"], [20], "quick", max_depth=15, log=lambda m: None)
    assert set(results) == {"gen-0@20", "quick@20"}
    for r in results.values():
        verify(r["replay"], r["lines"], r["pieces"])
        assert r["capped"] == (r["depth_reached"] >= 15)
    text = write_table(tmp_path, results, "hatetris nets table --widths 20")
    assert "| gen-0 | yes | 1 |" in text and "| quick |" in text
    assert (tmp_path / "README.md").read_text() == text
    assert json.loads((tmp_path / "results.json").read_text()) == results


def test_nets_table_keeps_stored_games_of_networks_not_asked_for(tmp_path):
    from hatetris.nnue.report import measure

    nets, solutions = tmp_path / "nets", tmp_path / "solutions"
    solutions.mkdir()
    for k in (0, 1):
        save_network(nets / f"gen-{k}.npz", Network.random(("rows",), hidden=8, seed=k),
                     generation=k)
    game = measure(nets, ["gen-0"], [20], None, log=lambda m: None)["gen-0@20"]
    (nets / "results.json").unlink()  # gen-0's game is now only a stored solution
    (solutions / "g0.json").write_text(json.dumps({
        "solver": "nnue-beam", "replay": game["replay"], "score": game["lines"],
        "pieces": game["pieces"],
        "parameters": {"width": 20, "eval": {"network": str(nets / "gen-0.npz")}}}))
    results = measure(nets, ["gen-1"], [20], None, log=lambda m: None,
                      solutions_dir=solutions)
    assert set(results) == {"gen-0@20", "gen-1@20"}
    assert results["gen-0@20"]["replay"] == game["replay"]


def test_nets_table_measures_a_changed_preset_again(tmp_path):
    from hatetris.nnue.report import measure

    save_network(tmp_path / "gen-0.npz", Network.random(("rows",), hidden=8, seed=0),
                 generation=0, probe_lines=1, adopted=True)
    first = measure(tmp_path, [], [20], "quick", max_depth=15, log=lambda m: None)
    assert first["quick@20"]["evaluation"]["eval"]["kind"] == "heuristic"
    # A game played with other weights (as if the preset changed since) is not shown.
    stale = json.loads((tmp_path / "results.json").read_text())
    stale["quick@20"]["lines"] = 999
    stale["quick@20"]["evaluation"]["eval"]["weights"]["height"] = 123.0
    (tmp_path / "results.json").write_text(json.dumps(stale))
    again = measure(tmp_path, [], [20], "quick", max_depth=15, log=lambda m: None)
    assert {k: again["quick@20"][k] for k in ("lines", "replay", "evaluation")} == \
        {k: first["quick@20"][k] for k in ("lines", "replay", "evaluation")}
    assert json.loads((tmp_path / "results.json").read_text())["quick@20"]["lines"] != 999


def test_an_interrupted_nets_table_keeps_the_games_it_finished(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import hatetris.solve
    from hatetris.cli import cli

    save_network(tmp_path / "gen-0.npz", Network.random(("rows",), hidden=8, seed=0),
                 generation=0)
    drive = hatetris.solve.drive
    games = []

    def drive_then_ctrl_c(step, bar, describe, on_step=None, save=None, every=25):
        games.append(1)
        if len(games) == 2:
            return True  # Ctrl-C during the second game
        return drive(step, bar, describe, on_step, save, every)

    monkeypatch.setattr(hatetris.solve, "drive", drive_then_ctrl_c)
    result = CliRunner().invoke(cli, ["nets", "table", "--nets", str(tmp_path), "--widths",
                                      "20", "--heuristic", "quick", "--max-depth", "15"])
    assert result.exit_code == 130
    assert result.output.strip().splitlines()[-1].startswith("interrupted:")
    assert "Traceback" not in result.output
    assert set(json.loads((tmp_path / "results.json").read_text())) == {"gen-0@20"}


def test_game_values_are_each_network_on_each_well_of_the_game(tmp_path):
    from click.testing import CliRunner

    from hatetris.cli import cli
    from hatetris.codecs import decode
    from hatetris.game import replay
    from hatetris.nnue.game_values import game_values

    game = json.loads(Path("data/solutions/quick-w2000.json").read_text())
    keys = decode(game["replay"])
    nets = [load_network("data/nets/hind-6.npz"), Network.random(("rows",), 8, seed=3)]
    lines, values = game_values(keys, nets)
    result, wells = replay(keys, steps=True)
    assert len(lines) == result.pieces_placed and lines[-1] == game["score"]
    assert np.all(np.diff(lines) >= 0) and lines[0] == 0
    for net, v in zip(nets, values):
        np.testing.assert_allclose(v, dense_forward(net, wells.astype(np.uint16)), atol=1e-5)
    out = CliRunner().invoke(cli, ["nets", "values", game["replay"], "--networks",
                                   "hind-6", "--every", "50"])
    assert out.exit_code == 0, out.output
    rows = [line.split() for line in out.output.splitlines()[1:]]
    assert [int(r[0]) for r in rows[:-1]] == [50, 100, result.pieces_placed]
    assert float(rows[1][2]) == pytest.approx(values[0, 99], abs=5e-4)
    assert float(rows[-1][1]) == pytest.approx(values[0].mean(), abs=5e-4)
    (tmp_path / "bad.npz").write_bytes(b"not a network")
    (tmp_path / "bad.json").write_text("{")
    out = CliRunner().invoke(cli, ["nets", "values", game["replay"], "--networks",
                                   str(tmp_path / "bad.npz")])
    assert out.exit_code == 2 and "corrupt network description" in out.output
