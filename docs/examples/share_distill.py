"""Teach the network the heuristic share, so that the search need not pay for it.

``nnue-beam`` plus 0.002 times ``heuristic-beam``'s value survives a little longer in the
records' steady state at width 3,000, but the heuristic's lookahead terms (every piece's
reachable placements, for dead lines, next height and erasability) make a child cost
about three times as much (docs/steady-state-runs.md, twenty-first session). This fits
``ranked-0`` to its own value plus that share, on the wells a shipped beam keeps while it
continues the 3,711-line record from training-region positions (pieces 1,000-2,700, none
the gate or the held-out suite uses):

    python docs/examples/share_distill.py --out runs/distill [--share 0.002] [--width 1000]

writes ``OUT/net.npz``, a preset ``OUT/net.toml`` (the shipped search with this network)
and prints the fit: validation loss before and after, and how much of the share's
spread over a step's wells the new network's change carries (correlation), and how the
part it did not take in correlates with each term of the heuristic. Survival:
``hatetris bench starts --suite gate --solvers OUT/net.toml --width 3000``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hatetris.eval.heuristic import FEATURES, HeuristicEvaluation
from hatetris.nnue.fit import fit, predict_from_rows
from hatetris.nnue.network import load_network, save_network
from hatetris.presets import load_preset, make_evaluation
from hatetris.search.beam import BeamSearch
from hatetris.search.tree import game_nodes
from hatetris.suite import read_game

RECORD = Path("data/records/david-felipe-6-first-5000.txt")
STARTS = range(1000, 2701, 100)


def float_values(net, rows: np.ndarray) -> np.ndarray:
    out = np.zeros(len(rows))
    lay = net.layout
    predict_from_rows(rows, lay.bases, lay.max_active, net.w1, net.w2, net.b2, out)
    return out


def beam_wells(width: int, pieces: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The wells the shipped search keeps, ``pieces`` steps from each start: rows, scores
    and a group id (start and depth: the wells one step compares)."""
    evaluation = make_evaluation(load_preset("nnue-beam"))
    keys = read_game(RECORD)
    rows, scores, groups = [], [], []
    for i, k in enumerate(STARTS):
        search = BeamSearch(evaluation, width, max_depth=k + pieces, start=game_nodes(keys, k))
        while search.step() is not None:
            pass
        store = search.store
        first = search.level_start[min(k + 1, len(search.level_start) - 1)]
        rows.append(store.rows[first:store.size].copy())
        scores.append(store.score[first:store.size].astype(np.int64))
        groups.append(i * 100_000 + store.depth[first:store.size].astype(np.int64))
        print(f"start {k}: {len(rows[-1])} wells", flush=True)
    return np.concatenate(rows), np.concatenate(scores), np.concatenate(groups)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--share", type=float, default=0.002)
    ap.add_argument("--width", type=int, default=1000)
    ap.add_argument("--pieces", type=int, default=40)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--lr", type=float, default=3e-4)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    rows, scores, groups = beam_wells(args.width, args.pieces)
    net = load_network("data/nets/ranked-0.npz")
    before = float_values(net, rows)
    heuristic_ev = HeuristicEvaluation(load_preset("heuristic-beam").eval["weights"])
    heuristic = np.zeros(len(rows))
    heuristic_ev.evaluate(rows, scores, heuristic)
    # Only differences within a step rank wells: centre the share on each step's median
    # (the lines term differs between wells of one step by the lines they cleared), so
    # that the targets stay inside the network's tanh range where its values are.
    _, group_of = np.unique(groups, return_inverse=True)
    sizes = np.bincount(group_of)
    delta = np.zeros(len(rows))
    by_group = np.argsort(group_of, kind="stable")
    for at in np.split(by_group, np.cumsum(sizes)[:-1]):
        delta[at] = args.share * (heuristic[at] - np.median(heuristic[at]))
    target = np.clip(before + delta, -0.999, 0.999)
    print(f"{len(rows)} wells; network values {before.mean():.3f} +- {before.std():.3f}, "
          f"share {delta.std():.3f} (std), clipped {np.mean(target != before + delta):.4f}")
    result = fit(net, rows, target, epochs=args.epochs, lr=args.lr,
                 progress=lambda e, t, v: print(f"epoch {e}: train {t:.5f} val {v:.5f}",
                                                flush=True))
    after = float_values(net, rows)
    change = after - before
    print(f"val loss {result.initial_val_loss:.5f} -> {result.val_loss:.5f} "
          f"({result.epochs} epochs); the change's correlation with the share "
          f"{np.corrcoef(change, delta)[0, 1]:.3f}, of the share's spread "
          f"{np.polyfit(delta, change, 1)[0]:.3f}")
    # What the network did not take in, term by term: the correlation of the residual
    # (target - new value) with each weighted term's part of the share.
    terms = heuristic_ev.features(rows, scores)
    residual = target - after
    for j, name in enumerate(FEATURES):
        w = heuristic_ev.weights[j]
        if w != 0 and terms[:, j].std() > 0:
            part = args.share * w * terms[:, j]
            part = part - (np.bincount(group_of, part) / sizes)[group_of]  # within a step
            print(f"  {name:>20}: share std {part.std():.4f}, "
                  f"residual correlation {np.corrcoef(residual, part)[0, 1]:+.3f}")
    save_network(out / "net.npz", net, distilled_share=args.share)
    text = load_preset("nnue-beam").path.read_text()
    (out / "net.toml").write_text(text.replace('network = "data/nets/ranked-0.npz"',
                                               f'network = "{(out / "net.npz").resolve()}"'))


if __name__ == "__main__":
    main()
