"""NNUE training: teacher and survivor labels, lookahead labels against a naive beam,
hindsight order, probes at several widths, and generations that resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hatetris.nnue.evaluation import NNUEEvaluation
from hatetris.nnue.network import Network, load_network
from hatetris.nnue.samples import candidate_children
from hatetris.nnue.train import TrainConfig, Trainer
from hatetris.search.beam import BeamSearch

import naive
from nnue_reference import ROWS, SCORES, dense_forward


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


@pytest.mark.parametrize("width, step, least", [(1, 20, 0.75), (4, 50, 0.6)])
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


def test_lineage_reach_beam_futures_and_hindsight_order():
    from hatetris.nnue.labels import (beam_futures, futures_grade, lineage_reach,
                                      order_by_hindsight)
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

    naive_grade = np.zeros(s.size, np.int64)
    for h in (1, 3, 10):  # a future h pieces on: some node h depths below descends from it
        naive = np.zeros(s.size, np.bool_)
        for j in range(s.size):
            a = j
            for _ in range(h):
                a = parent[a]
                if a < 0:
                    break
            else:
                naive[a] = True
        futures = beam_futures(parent, search.level_start, s.size, h)
        assert np.array_equal(futures, naive) and futures.any() and not futures.all()
        naive_grade += naive
    grade = futures_grade(parent, search.level_start, s.size, [1, 3, 10])
    assert np.array_equal(grade, naive_grade) and set(grade.tolist()) == {0, 1, 2, 3}

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
    config = TrainConfig(generations=1, probe_width=(20, 30), probe_max_depth=25,
                         samples=300, label_depth=3, label_width=2, epochs=2, hidden=8,
                         hindsight=True, candidates=1)
    nets, work = tmp_path / "nets", tmp_path / "work"
    Trainer(config, nets, work, log=lambda s: None).run()
    state = json.loads((work / "state.json").read_text())
    for k in (0, 1):
        g = state["generations"][str(k)]
        net = load_network(nets / f"gen-{k}.npz")
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

    data = np.load(work / "data-0.npz")
    trainer = Trainer(config, nets, work)
    trainer.load_state()
    start, depth, life, ids = 0, [], [], []
    for i, w in enumerate((20, 30)):
        search = trainer.probe(0, load_network(nets / "gen-0.npz"), w)
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
