"""A wide beam as a teacher: which of a step's wells its own future keeps.

The shipped search at a width well above the gate's survives many more pieces (width
9,000: 189 of 300 on the even hundreds, against 160 at 3,000; docs/steady-state-runs.md).
Its surviving *line* taught nothing (run steady-10): one line is one draw. This keeps
the beam's judgement as a whole: continuing a record start at the teacher's width, every
well of the beam at piece ``t`` is marked by whether any well of the beam ``h`` pieces
later descends from it (h = 5, 10, 20, 40). Wells of one step with a future rank above
wells of the same step without one: the comparison the beam makes across lineages,
labelled by what the wider search found ``h`` pieces on.

    python docs/examples/teacher_beam.py collect --width 20000 --pieces 120 \\
        --starts 1000,1100,1200 --out runs/teacher
    python docs/examples/teacher_beam.py fit --data runs/teacher --horizon 10 \\
        --out runs/teacher/fit-h10

The twenty-ninth session's collection (``--stratify``: the few wells whose lineage lasts
20 or 40 pieces are kept in equal shares with those that last 10, and with none), read by
``refit.py fit --teacher`` on top of a run's generation:

    python docs/examples/teacher_beam.py collect \\
        --solver data/training/steady-18/presets/net-2.toml --width 12000 --pieces 140 \\
        --starts 1000,1100,...,2700 --stratify --out runs/teacher140

and in the thirty-seventh, the learner first (``--lead``: the shipped search at width
3,000 plays 20, 40, 60 or 80 pieces, then its whole beam is widened to the teacher's
12,000), the wells of the 20 steps from the lead drawn, half with a future at 20:

    python docs/examples/teacher_beam.py collect --solver nnue-beam --width 12000 \\
        --lead-width 3000 --lead 20,40,60,80 --pieces 40 --sample-steps 20 \\
        --draw-horizon 20 --starts 1000,1200,...,2600 --out runs/lead

``collect`` writes one ``start-K.npz`` a start (``start-K-lead-L.npz`` a start and lead;
files already written are skipped: it resumes): per step up to ``--keep`` wells, every
one with a future at 10 pieces (``--draw-horizon``) up to half of them, the rest drawn
from the others (seeded). ``fit`` refits generation 0 of
``steady-3`` (``ranked-0``'s recipe: hind-6, the records' values, siblings and ranking
pairs) with the teacher's pairs added (``--pairs-per-step`` a step, ``--weight`` copies),
writes ``OUT/net.npz`` and ``OUT/net.toml`` (the shipped search with it), and prints
the ranking figures of ``ranked-0`` and the new network on the records.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HORIZONS = (5, 10, 20, 40)
GAME = Path("data/records/david-felipe-6-first-5000.txt")


def futures(parent: np.ndarray, level_start: list[int], size: int) -> np.ndarray:
    """Bit ``i`` of ``out[node]``: some node ``HORIZONS[i]`` levels below descends from
    it (``nnue.labels.beam_futures`` at each horizon, the tree walked once)."""
    from hatetris.nnue.labels import lineage_ahead

    ahead = lineage_ahead(parent, level_start, size)
    out = np.zeros(size, np.uint8)
    for i, h in enumerate(HORIZONS):
        out |= (ahead >= h).astype(np.uint8) << i
    return out


def grade(fut: np.ndarray) -> np.ndarray:
    """How far a well's lineage reached in the beam: 3 (40 pieces), 2 (20), 1 (10), 0.

    >>> grade(np.array([0b1111, 0b0111, 0b0011, 0b0001, 0], np.uint8)).tolist()
    [3, 2, 1, 0, 0]
    """
    g = np.zeros(len(fut), np.int64)
    for i, h in enumerate((10, 20, 40)):
        g += (fut >> HORIZONS.index(h)) & 1
    return g


def widened_search(evaluation, keys: str, k: int, lead: int, lead_width: int, width: int,
                   end: int):
    """A beam continuing the game ``keys`` from piece ``k`` to ``end``: at ``lead_width``
    (the learner's) for its first ``lead`` pieces, then, if a line is still alive, widened
    to ``width``; the finished search."""
    from hatetris.search.beam import BeamSearch
    from hatetris.search.tree import game_nodes

    s = BeamSearch(evaluation, lead_width if lead else width, end, None,
                   game_nodes(keys, k))
    while s.depth < k + lead and s.step() is not None:
        pass
    if s.depth < k + lead:  # every line died within the lead
        return s
    s.width = width
    while s.step() is not None:
        pass
    return s


def collect(args) -> None:
    import numba

    from hatetris.atomic import write_atomic
    from hatetris.nnue.selfplay import futures_sample
    from hatetris.presets import load_preset, make_evaluation
    from hatetris.search.beam import BeamSearch
    from hatetris.suite import read_game

    numba.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    evaluation = make_evaluation(load_preset(args.solver))
    BeamSearch.warm_up(evaluation)
    keys = read_game(GAME)
    leads = [int(x) for x in args.lead.split(",")] if args.lead else [0]
    h_draw = 1 << HORIZONS.index(args.draw_horizon)
    for k in (int(x) for x in args.starts.split(",")):
        for lead in leads:
            path = out / (f"start-{k}-lead-{lead}.npz" if args.lead else f"start-{k}.npz")
            if path.exists():
                continue
            # With a lead, the teacher goes on from the learner's whole beam, so the
            # wells of the first steps after the lead are the learner's own candidates,
            # marked by what the wider search keeps.
            s = widened_search(evaluation, keys, k, lead, args.lead_width, args.width,
                               k + lead + args.pieces)
            bounds = s.level_start + [s.store.size]
            fut = futures(s.store.parent, s.level_start, s.store.size)
            rng = np.random.default_rng(k * 1000 + lead if args.lead else k)
            # The training run's draw: up to half of a step's kept wells have a future at
            # 10 (--draw-horizon); --stratify: up to a quarter each reach 40, 20 (not 40),
            # 10 (not 20), the rest none.
            draw = (lambda f, n, g: futures_sample(grade(f), n, g, 3)) if args.stratify else (
                lambda f, n, g: futures_sample((f & h_draw) != 0, n, g))
            first = k + max(lead, 1)
            last = len(bounds) - 1 if not args.lead else min(len(bounds) - 1,
                                                             k + lead + args.sample_steps)
            idx = np.concatenate([draw(fut[bounds[t]:bounds[t + 1]], args.keep, rng)
                                  + bounds[t] for t in range(first, last)] or
                                 [np.zeros(0, np.int64)])
            survived = len(bounds) - 2 - k
            meta = json.dumps({"start": k, "width": args.width, "survived": survived,
                               "solver": args.solver, "lead": lead,
                               "lead_width": args.lead_width})
            write_atomic(path, lambda fh: np.savez_compressed(
                fh, rows=s.store.rows[idx], level=s.store.depth[idx],
                score=s.store.score[idx], futures=fut[idx], meta=np.array(meta)), "wb")
            print(json.dumps({"start": k, "lead": lead, "survived": survived,
                              "wells": int(len(idx)), "children": int(s.children_total),
                              "seconds": round(s.elapsed, 1)}), flush=True)


def teacher_pairs(data: Path, horizon: int | str, per_step: int, seed: int = 0):
    """(rows, better, worse): per step, ``per_step`` pairs of a well with a future at
    ``horizon`` above one without (indices into rows), drawn as the training run draws
    them (``nnue.selfplay.sampled_pairs``); the beam's last ``horizon`` steps have no
    future yet, so they give none. ``horizon="graded"``: a third of them at each of 10,
    20 and 40 pieces, so a well whose lineage lasts longer ranks above one that lasts
    less at every horizon (the last 40 steps give pairs at 10 and 20 only)."""
    from hatetris.nnue.selfplay import sampled_pairs

    rng = np.random.default_rng(seed)
    rows, pairs, n = [], [], 0
    for f in sorted(data.glob("start-*.npz")):
        with np.load(f) as z:
            r, level, fut = z["rows"], z["level"], z["futures"]
        last = level.max(initial=0)  # a step sees horizon h only if the beam went h on
        if horizon == "graded":
            for h in (10, 20, 40):
                seen = level + h <= last
                p = sampled_pairs(level[seen], (fut[seen] >> HORIZONS.index(h)) & 1,
                                  max(1, per_step // 3), rng)
                pairs.append(np.flatnonzero(seen)[p] + n if len(p) else p)
        else:
            pairs.append(sampled_pairs(level, fut & (1 << HORIZONS.index(horizon)),
                                       per_step, rng) + n)
        rows.append(r)
        n += len(r)
    both = np.concatenate(pairs)
    return np.concatenate(rows), both[:, 0], both[:, 1]


def fit_net(args) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from ranking_fit import generation_zero_data, preset_text, ranking_report, run_records

    from hatetris.nnue.fit import fit
    from hatetris.nnue.network import load_network, save_network

    run, config, games, (rows, labels, better, worse, held) = run_records(args.run)
    base_rows, base_labels = generation_zero_data(run, config)
    t_rows, t_better, t_worse = teacher_pairs(Path(args.data), args.horizon,
                                              args.pairs_per_step)
    n_base = sum(len(r) for r in base_rows)
    n_rec = n_base + len(rows)
    all_rows = np.ascontiguousarray(np.concatenate(base_rows + [rows, t_rows]))
    all_labels = np.concatenate(base_labels + [np.full(len(rows) + len(t_rows), np.nan)])
    pb = [n_base + better[~held]] + [n_rec + t_better] * args.weight
    pw = [n_base + worse[~held]] + [n_rec + t_worse] * args.weight
    print(f"records' pairs {int((~held).sum())}, teacher's {len(t_better)} x {args.weight}",
          flush=True)
    net = load_network(args.init or config["init"])
    result = fit(net, all_rows, all_labels, seed=config["seed"], epochs=config["epochs"],
                 batch=config["batch"], lr=config["lr"],
                 pairs=(np.concatenate(pb), np.concatenate(pw)),
                 pair_weight=config["pair_weight"], temperature=config["pair_temperature"],
                 progress=lambda e, t, v: print(f"epoch {e}: train {t:.4f} val {v:.4f}",
                                                flush=True))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save_network(out / "net.npz", net, trained={
        "from": "docs/examples/teacher_beam.py", "data": args.data,
        "horizon": args.horizon, "pairs_per_step": args.pairs_per_step,
        "weight": args.weight, "val_loss": result.val_loss, "epochs": result.epochs})
    (out / "net.toml").write_text(preset_text(
        f"ranked-0's recipe plus a wide beam's futures at {args.horizon} pieces",
        "net.npz").replace('network = "net.npz"', f'network = "{(out / "net.npz").as_posix()}"'))
    print(f"fit: {result}")
    t_all = np.arange(len(t_better))
    for name in ["data/nets/ranked-0.npz", str(out / "net.npz")]:
        other = load_network(name)
        tr = ranking_report(other, rows, better[~held], worse[~held])
        ho = ranking_report(other, rows, better[held], worse[held])
        te = ranking_report(other, t_rows, t_better[t_all], t_worse[t_all])
        print(f"{name} | records trained {tr[0]:.3f}, {tr[1]:.3f} | held out {ho[0]:.3f}, "
              f"{ho[1]:.3f} | teacher pairs right {te[1]:.3f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--solver", default="nnue-beam")
    c.add_argument("--width", type=int, default=20000)
    c.add_argument("--pieces", type=int, default=120)
    c.add_argument("--keep", type=int, default=256)
    c.add_argument("--starts", required=True, help="pieces of the 3,711-line prefix")
    c.add_argument("--stratify", action="store_true",
                   help="keep the wells of each horizon reached in equal shares")
    c.add_argument("--lead", help="pieces the learner plays first, e.g. 20,40,60 (one "
                   "file a start and lead): the teacher then widens the learner's beam")
    c.add_argument("--lead-width", type=int, default=3000, help="the learner's width")
    c.add_argument("--sample-steps", type=int, default=20,
                   help="with --lead: steps after the lead whose wells are drawn")
    c.add_argument("--draw-horizon", type=int, default=10, choices=HORIZONS,
                   help="without --stratify: up to half of a step's draw has a future here")
    c.add_argument("--out", required=True)
    f = sub.add_parser("fit")
    f.add_argument("--run", default="data/training/steady-3")
    f.add_argument("--data", required=True)
    f.add_argument("--horizon", type=lambda v: v if v == "graded" else int(v), default=10,
                   choices=list(HORIZONS) + ["graded"])
    f.add_argument("--pairs-per-step", type=int, default=64)
    f.add_argument("--weight", type=int, default=1)
    f.add_argument("--init", default=None)
    f.add_argument("--out", required=True)
    args = ap.parse_args()
    collect(args) if args.cmd == "collect" else fit_net(args)


if __name__ == "__main__":
    main()
