"""How often a network already agrees with its rollouts (``selfplay_as = "rollout-pairs"``).

    python docs/examples/rollout_agreement.py data/training/steady-13 1 \
        data/training/steady-13/net-0.npz [optimistic]

Reads generation K's self-play file of a run (or its partial file while it is being
written), values every child with the network (quiescence depth 2, the chain piece given)
and prints, over the families: how many rollout pairs there are, the share of them the
network already orders the same way, and the rollout survival of the network's first
choice against the family's best and its mean. A network that agrees with nearly every
pair has little to learn from them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def main(run: str, gen: str, net_path: str, piece: str = "optimistic") -> None:
    from hatetris.eval.quiescence import QuiescenceEvaluation
    from hatetris.nnue.dataset import load_dataset
    from hatetris.nnue.evaluation import NNUEEvaluation
    from hatetris.nnue.network import load_network
    from hatetris.nnue.selfplay import ordered_pairs

    path = Path(run) / f"selfplay-{gen}.npz"
    if not path.exists():
        path = Path(run) / f"selfplay-{gen}.partial.npz"
    d = load_dataset(path)
    group, life = np.asarray(d.meta["group"]), np.asarray(d.meta["life"])
    ev = QuiescenceEvaluation(NNUEEvaluation(load_network(net_path)), 2, piece)
    values = np.zeros(len(d.rows))
    ev.evaluate(d.rows, d.scores, values)
    pairs = ordered_pairs(group, life)
    agree = float((values[pairs[:, 0]] > values[pairs[:, 1]]).mean()) if len(pairs) else 0
    first, best, mean, top_is_best = [], [], [], 0
    for g in np.unique(group):
        ids = np.flatnonzero(group == g)
        pick = ids[int(np.argmax(values[ids]))]
        first.append(life[pick])
        best.append(life[ids].max())
        mean.append(life[ids].mean())
        top_is_best += int(life[pick] == life[ids].max())
    n = len(first)
    print(f"{path}: {n} families, {len(d.rows)} children, {len(pairs)} rollout pairs")
    print(f"  the network orders {agree:.1%} of the pairs as the rollouts do")
    print(f"  its first choice survives the most in {top_is_best} of {n} families")
    print(f"  rollout survival: its first choice {np.mean(first):.1f}, the family's best "
          f"{np.mean(best):.1f}, the family's mean {np.mean(mean):.1f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
