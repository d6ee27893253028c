"""Self-play for a training run: probes continuing stored games, and what they teach.

A probe is a beam with the run's best network continuing a stored game from one of its
positions. Wells sampled from every depth of every probe enter the next fit either as
values (labelled by a lookahead, capped by hindsight: a probe that died soon says the
line it kept did not live long) or as order only, within a group (one depth of a probe,
or the children of one well): the well whose line lived longer in the probe ranks higher,
or the one the lookahead labels higher, or (rollout pairs, :mod:`.rollouts`) of the
search's best children of a probe well, the one whose own beam survives longer, or
(futures) the one whose lineage is still in the probe's beam some pieces later: the
judgement of a probe wider than the gate, across lineages, as the beam compares them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .dataset import load_dataset, save_dataset, value_of_pieces_to_go
from .labels import futures_grade, lineage_reach
from .network import Network
from .rollouts import rollout_pairs
from .samples import candidate_children


def self_play(run, k: int, net: Network) -> None:
    """selfplay-k.npz of ``run`` (a :class:`~hatetris.nnue.training_run.TrainingRun`):
    wells sampled from generation k's probes with ``net``; resumes probe by probe."""
    from ..eval.quiescence import QuiescenceEvaluation
    from ..search.beam import BeamSearch
    from ..search.tree import game_nodes
    from ..suite import read_game
    from .evaluation import NNUEEvaluation

    c = run.config
    g = run.gen(k)
    name = f"selfplay-{k}.npz"
    if name in run.state["files"]:
        return
    part = run.run_dir / f"selfplay-{k}.partial.npz"
    done = g.get("probes_done", 0)
    as_pairs = c.selfplay_as != "values"  # grouped wells, no children
    as_line = c.selfplay_as == "line-pairs"
    as_rollout = c.selfplay_as == "rollout-pairs"
    as_futures = c.selfplay_as == "futures"
    as_record = c.selfplay_as == "record-vs-beam"
    siblings = as_pairs and c.selfplay_groups == "siblings"
    if done and part.exists():
        d = load_dataset(part)
        rows, scores, caps = [d.rows], [d.scores], [d.labels]
        groups, lives = list(d.meta.get("group", [])), list(d.meta.get("life", []))
    else:
        done, rows, scores, caps, groups, lives = 0, [], [], [], [], []
    value = NNUEEvaluation(net)
    if c.opening_network is not None:  # as the gate plays it (nnue/gate.py)
        from ..eval.phased import PhasedEvaluation
        from .network import load_network

        value = PhasedEvaluation(NNUEEvaluation(load_network(c.opening_network)), value,
                                 c.opening_pieces)
    evaluation = QuiescenceEvaluation(value, c.chain_depth, c.chain_piece, c.chain_shortlist)
    for i, spec in enumerate(probe_specs(c, k)):
        if i < done:
            continue
        game, _, piece = spec.rpartition(":")
        keys, piece = read_game(Path(game)), int(piece)
        lead = {}
        if c.probe_lead:
            keys, at, survived = lead_start(evaluation, keys, piece, c.probe_lead,
                                            c.bench_width, c.probe_lead_back,
                                            run.bar(initial=piece, unit="piece",
                                                    desc=f"gen {k} lead {spec}"))
            lead = {"from": at, "lead_survived": survived}
            piece = at
        search = BeamSearch(evaluation, c.probe_width, piece + c.probe_pieces, None,
                            game_nodes(keys, piece))
        from ..solve import finish_search

        finish_search(search, run.bar(initial=search.depth, unit="piece",
                                      desc=f"gen {k} probe {spec}"))
        seed = c.seed * 1000 + k * 101 + i
        rng = np.random.default_rng(seed)
        counts = {}
        if as_line or as_rollout or as_record:  # grouped wells made here
            if as_line:
                r, s, group, life = line_pairs(search, piece, c.line_margin)
                counts["steps"] = int(life.sum())
            elif as_record:
                from ..diagnose import game_wells

                r, s, group, life = record_vs_beam(search, game_wells(keys), piece,
                                                   c.record_min_offset, c.record_wells,
                                                   rng)
                counts["pieces"] = int(life.sum())
            else:
                first = (search.level_start[piece + 1]
                         if len(search.level_start) > piece + 1 else search.store.size)
                r, s, group, life, _ = rollout_pairs(
                    search.store, np.arange(first, search.store.size), evaluation, rng,
                    c.rollout_families, c.rollout_children, c.rollout_width,
                    c.rollout_pieces)
                counts["pairs"] = int(len(ordered_pairs(group, life)))
            kr, ks = np.zeros((0, r.shape[1]), np.uint16), np.zeros(0, np.int64)
            caps += [np.ones(len(r))]
            groups += [i * 100_000 + int(x) for x in group]
            lives += [int(x) for x in life]
        else:
            starts = search.level_start + [search.store.size]
            depths = range(piece + 1, len(starts) - 1)
            per_depth = max(1, c.probe_samples // max(1, len(depths)))
            if as_pairs and not as_futures:  # futures read the same walk's verdict
                reach = lineage_reach(search.store.parent, search.level_start,
                                      search.store.size)
            if as_futures:  # depths whose wells' futures the probe went far enough to see
                grade = futures_grade(search.store.parent, search.level_start,
                                      search.store.size, c.horizons)
                depths = [d for d in depths if d + max(c.horizons) < len(starts) - 1]
                picks = [futures_sample(grade[starts[d]:starts[d + 1]], per_depth, rng,
                                        len(c.horizons)) + starts[d] for d in depths]
            elif siblings:
                picks = [sibling_sample(search.store.parent[starts[d]:starts[d + 1]],
                                        reach[starts[d]:starts[d + 1]], per_depth, rng)
                         + starts[d] for d in depths]
            else:
                picks = [rng.choice(np.arange(starts[d], starts[d + 1]),
                                    size=min(per_depth, starts[d + 1] - starts[d]),
                                    replace=False)
                         for d in depths]
            nodes = np.sort(np.concatenate(picks)) if picks else np.zeros(0, np.int64)
            r = search.store.rows[nodes].copy()
            s = search.store.score[nodes].astype(np.int64)
            if as_pairs:
                kr, ks = np.zeros((0, r.shape[1]), np.uint16), np.zeros(0, np.int64)
                caps += [np.ones(len(r))]
                if siblings:  # one group per parent
                    groups += [i * 100_000_000 + int(q) for q in search.store.parent[nodes]]
                else:  # one group per depth
                    groups += [i * 100_000 + int(d) for d in search.store.depth[nodes]]
                if as_futures:
                    lives += [int(x) for x in grade[nodes]]
                else:
                    lives += [int(x) for x in reach[nodes]]
            elif c.hindsight:
                died = search.depth < piece + c.probe_pieces
                kr, ks, kd = children_by_depth(r, s, search.store.depth[nodes], seed)
                r_cap = hindsight_cap(search.store.depth[nodes], search.depth, died,
                                      c.horizon)
                caps += [r_cap, hindsight_cap(kd, search.depth, died, c.horizon)]
            else:
                kr, ks = candidate_children(r, s, 1, seed)
                caps += [np.ones(len(r)), np.ones(len(kr))]
        rows += [r, kr]
        scores += [s, ks]
        g.setdefault("probes", {})[spec] = {"survived": int(search.depth - piece),
                                            "lines": int(search.best_score),
                                            "wells": int(len(r) + len(kr)), **counts,
                                            **lead}
        _save_partial(part, rows, scores, caps, groups if as_pairs else None, lives)
        g["probes_done"] = i + 1
        run.save_state()
        search = None
    all_rows = np.concatenate(rows) if rows else np.zeros((0, 20), np.uint16)
    all_scores = np.concatenate(scores) if scores else np.zeros(0, np.int64)
    # The labels field holds each well's hindsight cap (1: none).
    all_caps = np.concatenate(caps) if caps else np.zeros(0)
    save_dataset(run.run_dir / name, all_rows, all_scores, all_caps,
                 np.full(len(all_rows), 2, np.uint8),
                 **({"group": groups, "life": lives} if as_pairs else {}))
    run.record_file(name)
    if part.exists():
        part.unlink()
    run.event(k, "self-play", probes=g.get("probes", {}), wells=int(len(all_rows)),
              mean_probe_survived=round(float(np.mean(
                  [p["survived"] for p in g.get("probes", {}).values()] or [0])), 1))


def lead_start(evaluation, keys: str, piece: int, lead: int, width: int, back: int,
               bar) -> tuple[str, int, int]:
    """Where a probe with a lead starts: a beam of ``width`` with ``evaluation``
    continues the game ``keys`` from ``piece`` for at most ``lead`` pieces; the start is
    its best line at ``piece + lead``, or, if it died first (after ``survived`` pieces),
    ``back`` pieces before its end (never before ``piece``). Returns the line's keys
    (the whole game, from the empty well, to the start), the start and ``survived``;
    ``bar`` shows the beam's progress."""
    from ..search.beam import BeamSearch
    from ..search.tree import game_nodes, path_keys
    from ..solve import finish_search

    search = BeamSearch(evaluation, width, piece + lead, None, game_nodes(keys, piece))
    finish_search(search, bar)
    survived = int(search.depth) - piece
    at = piece + lead if survived >= lead else max(piece, piece + survived - back)
    return path_keys(search.store, deepest_line(search)[at]), at, survived


def deepest_line(search) -> list[int]:
    """Node indices from the root to a well of the beam's last depth with the most
    lines (the first such in the store)."""
    from ..search.tree import path_nodes

    st, last = search.store, search.level_start[-1]
    return path_nodes(st.parent, last + int(np.argmax(st.score[last:st.size])))


def _save_partial(part: Path, rows, scores, caps, groups, lives) -> None:
    all_rows, all_scores = np.concatenate(rows), np.concatenate(scores)
    save_dataset(part, all_rows, all_scores, np.concatenate(caps),
                 np.full(len(all_rows), 2, np.uint8),
                 **({"group": groups, "life": lives} if groups is not None else {}))


def line_pairs(search, piece: int, margin: int):
    """A probe's line as a pseudo-record: the line to a deepest well with the most lines,
    from piece ``piece + 1`` to ``margin`` pieces before its end (the last choices of a
    line are the network's opinion, or all lost), and every sibling of each step (the
    other placements of the piece it received there), as ``(rows, scores, depth, life)``:
    life 1 for the line's wells, 0 for the siblings, so that within one depth the line's
    well ranks above each sibling, as a record's does."""
    from .dataset import siblings

    st = search.store
    line = deepest_line(search)
    if any(int(st.depth[n]) != d for d, n in enumerate(line)):
        raise ValueError("a line's node depths are not 0, 1, 2, ...")
    end = len(line) - 1 - margin
    if end <= piece:
        return (np.zeros((0, st.rows.shape[1]), np.uint16), np.zeros(0, np.int64),
                np.zeros(0, np.int64), np.zeros(0, np.int64))
    nodes = np.array(line[piece + 1:end + 1], np.int64)
    r = st.rows[nodes].copy()
    sc = st.score[nodes].astype(np.int64)
    top = line[piece]
    s_rows, s_scores, of = siblings(r, sc, st.rows[top], int(st.score[top]))
    depth = np.concatenate([np.arange(len(r)), of]) + piece + 1
    life = np.concatenate([np.ones(len(r), np.int64), np.zeros(len(s_rows), np.int64)])
    return (np.concatenate([r, s_rows]), np.concatenate([sc, s_scores]), depth, life)


def record_vs_beam(search, game: tuple[np.ndarray, np.ndarray], piece: int,
                   min_offset: int, per_depth: int, rng):
    """The stored game as a long-horizon teacher of the beam that continued it from
    ``piece``: at each depth at least ``min_offset`` pieces after the start that both
    reached, the game's well (``game``: its wells and scores, :func:`~hatetris.diagnose.
    game_wells`) and up to ``per_depth`` live wells of the beam (drawn; never the game's
    own), as ``(rows, scores, depth, life)``, life 1 for the game's well.

    A record lived thousands of pieces past each of its wells; a beam that died at piece D
    kept nothing that lived past D: so the record's well ranks above every well of the
    beam at its depth, an order true by construction, on the positions the learner's
    own search drifts into (a probe as wide as the gate is the learner playing).
    """
    from ..rules import BAR

    wells, scores = game
    st = search.store
    bounds = search.level_start + [st.size]
    rows, sc, depth, life = [], [], [], []
    for d in range(piece + max(1, min_offset), min(len(bounds) - 1, len(wells) + 1)):
        ids = np.arange(bounds[d], bounds[d + 1])
        r = st.rows[ids]
        mine = wells[d - 1]
        ids = ids[~r[:, :BAR].any(axis=1) & ~np.all(r == mine, axis=1)]
        if not len(ids):
            continue
        ids = np.sort(rng.choice(ids, min(per_depth, len(ids)), replace=False))
        rows += [mine[None], st.rows[ids]]
        sc += [np.array([scores[d - 1]], np.int64), st.score[ids].astype(np.int64)]
        depth += [d] * (len(ids) + 1)
        life += [1] + [0] * len(ids)
    if not rows:
        return (np.zeros((0, st.rows.shape[1]), np.uint16), np.zeros(0, np.int64),
                np.zeros(0, np.int64), np.zeros(0, np.int64))
    return (np.concatenate(rows), np.concatenate(sc), np.array(depth, np.int64),
            np.array(life, np.int64))


def probe_specs(config, k: int) -> list[str]:
    """The starts generation k probes from: all of ``probe_starts``, or with
    ``probes_per_generation = m`` the next m of them, in turn, so that generations whose
    best network did not change still play new games.

    >>> from types import SimpleNamespace as C
    >>> probe_specs(C(probe_starts=("a", "b", "c"), probes_per_generation=2), 2)
    ['c', 'a']
    """
    pool = list(config.probe_starts)
    m = config.probes_per_generation
    if not m or not pool:
        return pool
    return [pool[((k - 1) * m + j) % len(pool)] for j in range(m)]


def sibling_sample(parent: np.ndarray, life: np.ndarray, budget: int, rng) -> np.ndarray:
    """Indices of about ``budget`` wells of one depth, whole families: the children of
    parents picked at random among those with two children whose lines lived different
    lengths (only those make pairs).

    >>> sibling_sample(np.array([0, 0, 1, 1, 2]), np.array([5, 9, 4, 4, 7]), 10,
    ...                np.random.default_rng(0)).tolist()
    [0, 1]
    """
    order = np.argsort(parent, kind="stable")
    p_sorted = parent[order]
    cut = np.flatnonzero(np.diff(p_sorted)) + 1
    families = [f for f in np.split(order, cut)
                if len(f) >= 2 and life[f].min() < life[f].max()]
    out, n = [], 0
    for j in rng.permutation(len(families)):
        if n >= budget:
            break
        out.append(families[j])
        n += len(families[j])
    return np.sort(np.concatenate(out)) if out else np.zeros(0, np.int64)


def futures_sample(grade: np.ndarray, n: int, rng, grades: int = 1) -> np.ndarray:
    """Indices of up to ``n`` wells of one depth, drawn without replacement: with G the
    highest grade a well can have (the horizons; ``grade`` a bool array: G = 1), as many
    of each grade G, G - 1, ..., 1 as ``n // (G + 1)`` allows, the rest of grade 0 (no
    future). In a wide beam most wells have no future ten pieces on, and few reach 40,
    so a uniform draw would make few pairs.

    >>> futures_sample(np.array([True, False, False, False, True]), 4,
    ...                np.random.default_rng(0)).tolist()
    [0, 1, 2, 4]
    >>> futures_sample(np.array([2, 0, 1, 0, 0, 1, 2, 2]), 6, np.random.default_rng(0),
    ...                grades=2).tolist()
    [1, 2, 4, 5, 6, 7]
    """
    grade = np.asarray(grade, np.int64)
    picks = []
    for level in range(grades, 0, -1):
        ids = np.flatnonzero(grade == level)
        picks.append(rng.choice(ids, min(n // (grades + 1), len(ids)), replace=False))
    bad = np.flatnonzero(grade == 0)
    taken = sum(len(p) for p in picks)
    picks.append(rng.choice(bad, min(n - taken, len(bad)), replace=False))
    return np.sort(np.concatenate(picks))


def sampled_pairs(group: np.ndarray, alive: np.ndarray, per_group: int, rng) -> np.ndarray:
    """``per_group`` pairs ``[with a future, without]`` drawn (with replacement) from
    each group that has both; groups in increasing order.

    >>> sampled_pairs(np.array([1, 1, 2, 2, 2]), np.array([1, 0, 0, 0, 0]), 2,
    ...               np.random.default_rng(0)).tolist()
    [[0, 1], [0, 1]]
    """
    order = np.argsort(group, kind="stable")
    cut = np.flatnonzero(np.diff(group[order])) + 1
    out = []
    for ids in np.split(order, cut):
        good, bad = ids[alive[ids] != 0], ids[alive[ids] == 0]
        if len(good) and len(bad):
            out.append(np.stack([rng.choice(good, per_group), rng.choice(bad, per_group)], 1))
    return np.concatenate(out) if out else np.zeros((0, 2), np.int64)


def graded_pairs(group: np.ndarray, grade: np.ndarray, grades: int, per_group: int,
                 rng) -> np.ndarray:
    """Pairs ``[higher, lower]`` of one group's wells by the grade of their futures: at
    each level t = 1..``grades``, ``per_group // grades`` pairs of a well of grade t or
    more above one below t (:func:`sampled_pairs`); one grade is ``sampled_pairs``.

    >>> graded_pairs(np.array([1, 1, 1]), np.array([2, 1, 0]), 2, 2,
    ...              np.random.default_rng(0)).tolist()
    [[1, 2], [0, 2]]
    """
    grade = np.asarray(grade)
    out = [sampled_pairs(group, (grade >= t).astype(np.int64), per_group // grades, rng)
           for t in range(1, grades + 1)]
    return np.concatenate(out)


def ordered_pairs(group: np.ndarray, key: np.ndarray, margin: float = 0) -> np.ndarray:
    """Pairs ``[higher, lower]`` of wells of one group whose ``key`` (how long the line
    lived in the probe, or the lookahead's label) differ by more than ``margin``.

    >>> ordered_pairs(np.array([7, 7, 7, 8]), np.array([10, 12, 10, 3])).tolist()
    [[1, 0], [1, 2]]
    >>> ordered_pairs(np.array([1, 1, 1]), np.array([0.5, 0.51, 0.6]), 0.02).tolist()
    [[2, 0], [2, 1]]
    """
    out = []
    for g in np.unique(group):
        ids = np.flatnonzero(group == g)
        for a in ids:
            for b in ids:
                if key[a] > key[b] + margin:
                    out.append((a, b))
    return np.array(out, np.int64).reshape(-1, 2)


def hindsight_cap(depth: np.ndarray, deepest: int, died: bool, horizon: float) -> np.ndarray:
    """A probe well's highest label: if the probe's beam died after reaching depth
    ``deepest``, nothing it kept at depth d lived more than ``deepest - d`` pieces."""
    if not died:
        return np.ones(len(depth))
    return value_of_pieces_to_go(np.maximum(0, deepest - np.asarray(depth, np.int64)),
                                 horizon)


def children_by_depth(rows: np.ndarray, scores: np.ndarray, depth: np.ndarray, seed: int):
    """One random child of each well, drawn depth by depth so each child's depth
    (its parent's + 1) is known."""
    out_r, out_s, out_d = [], [], []
    for d in np.unique(depth):
        ids = np.flatnonzero(depth == d)
        kr, ks = candidate_children(rows[ids], scores[ids], 1, seed * 100003 + int(d))
        out_r.append(kr)
        out_s.append(ks)
        out_d.append(np.full(len(kr), int(d) + 1, np.int64))
    if not out_r:
        return (np.zeros((0, rows.shape[1]), np.uint16), np.zeros(0, np.int64),
                np.zeros(0, np.int64))
    return np.concatenate(out_r), np.concatenate(out_s), np.concatenate(out_d)
