"""Records against the beam's own choices: the record's well above the wells a beam keeps.

The records' pairs (``ranking_fit.py``) compare a record's placement with its siblings:
wells of one parent, one piece apart. A beam compares wells of different lines, tens of
pieces apart, and that is where it goes wrong: from a record position it keeps the lines
its network values most and they die within about 160 pieces, while the record's own
line lived thousands. This mines those mistakes. From record positions ``t`` (every
``--stride`` pieces of the trained part of each record), the search (the shipped preset's:
quiescence chains of 3, optimistic piece, shortlist 8, at ``--width``) continues the
record for ``--depth`` pieces; at depths ``t + d`` (every ``--every`` pieces) the record's
own well is paired above the ``--negatives`` wells of the beam the network values most
(the record's well left out if the beam holds it). Only positions whose record went on
at least ``--alive`` pieces past ``t + d`` are used: the record's well is then known to
live, the beam's are the network's own choices. The fit is ``ranking_fit.py``'s
generation-0 data and pairs plus these, continuing from ``--init``.

    python docs/examples/beam_negatives_fit.py --init data/nets/ranked-0.npz \
        --out runs/beam-negatives

Writes ``OUT/negatives.npz`` (the mined wells and pairs; reused if present),
``OUT/net.npz`` and a preset ``OUT/presets/net.toml``; the gate is then
``hatetris bench starts --suite gate --solvers OUT/presets/net.toml --width 1000``.
With ``--rounds R`` it mines again with each round's network (the self-play loop:
the negatives are the current network's own mistakes, the records' wells the anchor).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ranking_fit import (  # noqa: E402
    generation_zero_data, preset_text, ranking_report, run_records)

from hatetris.diagnose import game_wells  # noqa: E402
from hatetris.eval.quiescence import QuiescenceEvaluation  # noqa: E402
from hatetris.nnue.evaluation import NNUEEvaluation  # noqa: E402
from hatetris.nnue.fit import fit  # noqa: E402
from hatetris.nnue.network import load_network, save_network  # noqa: E402
from hatetris.search.beam import BeamSearch  # noqa: E402
from hatetris.search.tree import game_nodes  # noqa: E402

def mine(net, games, hold_out, args
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
    """(wells, better, worse, pair_meta, figures): the record's wells and the beam's,
    the pairs, each pair's depth and whether the beam still held the record's well."""
    first_held = dict(hold_out)
    own = NNUEEvaluation(net)
    search_eval = QuiescenceEvaluation(own, 3, "optimistic", shortlist=8)
    wells, better, worse, meta = [], [], [], []
    n = 0
    starts = 0
    in_beam = {d: 0 for d in range(args.every, args.depth + 1, args.every)}
    t0 = time.perf_counter()
    for game in games:
        rows, _ = game_wells(game.keys)
        total = len(rows) + game.pieces_after
        end = min(len(rows) - 1, first_held.get(game.name, len(rows)))
        all_nodes = game_nodes(game.keys, end)
        for t in range(args.stride, end - args.depth, args.stride):
            if total - (t + args.depth) < args.alive:
                break
            start = {k: v[:t] for k, v in all_nodes.items()}
            beam = BeamSearch(search_eval, args.width, max_depth=t + args.depth,
                              start=start)
            starts += 1
            for d in range(1, args.depth + 1):
                if beam.step() is None:
                    break
                if d % args.every:
                    continue
                s = beam.store
                kept = s.rows[beam.level_start[-1]:s.size]
                record = rows[t + d - 1]  # the well after piece t + d
                same = np.all(kept == record, axis=1)
                in_beam[d] += int(same.any())
                kept = kept[~same]
                if not len(kept):
                    continue
                v = np.zeros(len(kept))
                own.evaluate(kept, np.zeros(len(kept), np.int64), v)
                top = kept[np.argsort(-v, kind="stable")[: args.negatives]]
                wells += [record[None], top]
                better.append(np.full(len(top), n))
                worse.append(n + 1 + np.arange(len(top)))
                meta.append(np.tile([[d, int(same.any())]], (len(top), 1)))
                n += 1 + len(top)
        print(f"{game.name}: {starts} starts so far, {n} wells, "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
    figures = {"starts": starts, "record_well_in_beam_at_depth": in_beam,
               "pairs": int(sum(len(b) for b in better)),
               "seconds": round(time.perf_counter() - t0, 1)}
    return (np.ascontiguousarray(np.concatenate(wells)), np.concatenate(better),
            np.concatenate(worse), np.concatenate(meta), figures)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="data/training/steady-2")
    ap.add_argument("--init", default="data/nets/ranked-0.npz")
    ap.add_argument("--out", default="runs/beam-negatives")
    ap.add_argument("--width", type=int, default=1000)
    ap.add_argument("--depth", type=int, default=40)
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--stride", type=int, default=25)
    ap.add_argument("--negatives", type=int, default=16)
    ap.add_argument("--alive", type=int, default=300)
    ap.add_argument("--copies", type=int, default=1, help="copies of each mined pair")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--min-depth", type=int, default=0, help="pairs from this depth on")
    ap.add_argument("--only-lost", action="store_true",
                    help="only where the beam no longer holds the record's well")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    args = ap.parse_args()

    run, config, games, (p_rows, _, p_better, p_worse, held) = run_records(args.run)

    base_rows, base_labels = generation_zero_data(run, config)
    n_pairs_base = sum(len(r) for r in base_rows)
    base_rows.append(p_rows)
    base_labels.append(np.full(len(p_rows), np.nan))

    out = Path(args.out)
    (out / "presets").mkdir(parents=True, exist_ok=True)
    net = load_network(args.init)
    mined_rows, mined_b, mined_w = [], [], []
    for r in range(1, args.rounds + 1):
        cache = out / f"negatives-{r}.npz"
        if cache.exists():
            with np.load(cache) as z:
                m_rows, m_b, m_w, m_meta = z["rows"], z["better"], z["worse"], z["meta"]
        else:
            m_rows, m_b, m_w, m_meta, figures = mine(net, games, config["hold_out"], args)
            print(f"mined round {r}: {figures}", flush=True)
            tmp = out / f"negatives-{r}.tmp.npz"
            np.savez_compressed(tmp, rows=m_rows, better=m_b, worse=m_w, meta=m_meta)
            tmp.replace(cache)
        use = m_meta[:, 0] >= args.min_depth
        if args.only_lost:
            use &= m_meta[:, 1] == 0
        m_b, m_w = m_b[use], m_w[use]
        print(f"round {r}: {int(use.sum())} of {len(use)} mined pairs used", flush=True)
        mined_rows.append(m_rows)
        mined_b.append(m_b)
        mined_w.append(m_w)
        all_rows = np.ascontiguousarray(np.concatenate(base_rows + mined_rows))
        all_labels = np.concatenate(base_labels + [np.full(len(m), np.nan)
                                                   for m in mined_rows])
        bs = [n_pairs_base + p_better[~held]]
        ws = [n_pairs_base + p_worse[~held]]
        at = sum(len(x) for x in base_rows)
        for rows_j, b, w in zip(mined_rows, mined_b, mined_w):
            bs += [at + b] * args.copies
            ws += [at + w] * args.copies
            at += len(rows_j)
        result = fit(net, all_rows, all_labels, seed=config["seed"] + r,
                     epochs=args.epochs or config["epochs"], batch=config["batch"],
                     lr=args.lr or config["lr"], pairs=(np.concatenate(bs), np.concatenate(ws)),
                     pair_weight=1.0, temperature=0.1)
        print(f"fit {r}: {result}", flush=True)
        name = f"net-{r}.npz"
        save_network(out / name, net, trained={
            "from": args.init, "round": r, "width": args.width, "depth": args.depth,
            "stride": args.stride, "negatives": args.negatives, "copies": args.copies,
            "val_loss": result.val_loss, "val_pair_accuracy": result.val_pair_accuracy,
            "epochs": result.epochs})
        (out / "presets" / f"net-{r}.toml").write_text(
            preset_text("beam_negatives_fit.py", name))
        tr = ranking_report(net, p_rows, p_better[~held], p_worse[~held])
        ho = ranking_report(net, p_rows, p_better[held], p_worse[held])
        print(f"round {r}: records' ranking trained {tr[0]:.3f}, {tr[1]:.3f}; "
              f"held out {ho[0]:.3f}, {ho[1]:.3f}", flush=True)


if __name__ == "__main__":
    main()
