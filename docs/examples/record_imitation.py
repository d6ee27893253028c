"""Diagnostic: can this network class steer a beam far when its labels are good?

Self-trained networks here plateau at 40-52 lines. Two explanations compete: the
network (features, size) cannot represent a strong evaluation, or the labels that a
2-core machine can afford do not teach it one. This script gives the network labels
that are known to be good, from the published record games, and measures the beam:

* every well of the record games scoring >= 148 lines (about 4,300 wells), labelled by
  how many pieces that record still played from it: +1 with >= ``--horizon`` pieces
  left, down to -1 when the game ends (the record's own hindsight);
* a sample of their siblings (the other placements of the same piece), labelled by
  the trainer's lookahead with the starting network (the same labels as training);

then fine-tunes the starting network on them and writes a network and a preset.
Play it with ``hatetris solve --solver <out>/preset.toml --width W --workers 2``.

This is imitation of published games, not the issue's self-play recipe: a diagnostic,
never a shipped network.

    python docs/examples/record_imitation.py --out runs/imitation
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit, prange

from hatetris.adversary import mild_piece
from hatetris.codecs import decode
from hatetris.config import NJIT_PARALLEL
from hatetris.diagnose import game_wells
from hatetris.engine import children_into, expand_scratch, pad_well
from hatetris.nnue.fit import fit
from hatetris.nnue.labels import graded, lookahead
from hatetris.nnue.network import load_network, save_network
from hatetris.rules import HEIGHT

ROOT = Path(__file__).resolve().parents[2]
RECORDS = ROOT.parent / "shared" / "replays" / "records.json"


@njit(**NJIT_PARALLEL)
def all_children(rows, scores, offsets, out_rows, out_scores, out_count):
    """Every child of each well for the mild adversary's piece, at ``offsets[i]`` (with
    ``out_count`` only: count them)."""
    for i in prange(rows.shape[0]):
        pad, locks, buf, kid_rows, kid_scores, kid_moves = expand_scratch()
        top = pad_well(rows[i], pad)
        p, y0, y1 = mild_piece(pad, top, locks, buf)
        k = children_into(pad, p, locks, y0, y1, scores[i], False, kid_rows, kid_scores,
                          kid_moves, 0, buf)
        out_count[i] = k
        if out_rows.shape[0] == 0:
            continue
        for j in range(k):
            for r in range(HEIGHT):
                out_rows[offsets[i] + j, r] = kid_rows[j, r]
            out_scores[offsets[i] + j] = kid_scores[j]


def siblings(rows: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    counts = np.zeros(len(rows), np.int64)
    none = np.zeros((0, HEIGHT), np.uint16)
    all_children(rows, scores, counts, none, np.zeros(0, np.int64), counts)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    out_rows = np.zeros((counts.sum(), HEIGHT), np.uint16)
    out_scores = np.zeros(counts.sum(), np.int64)
    all_children(rows, scores, offsets, out_rows, out_scores, counts)
    return out_rows, out_scores


def replayed(name: str, replay: str) -> tuple[str, np.ndarray, np.ndarray]:
    """A game's name, its well after every piece and the score at each."""
    wells, scores = game_wells(decode(replay))
    return name, wells, scores.astype(np.int64)


def record_games(min_score: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    return [replayed(rec["name"], next(iter(rec["replays"].values())))
            for rec in json.loads(RECORDS.read_text(encoding="utf-8"))
            if rec["score"] >= min_score and "loop" not in rec["name"]]


def own_games(min_score: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The distinct games this project's own searches stored (solutions, nets table)."""
    replays = {}
    for path in sorted((ROOT / "data" / "solutions").glob("*.json")):
        game = json.loads(path.read_text(encoding="utf-8"))
        # This script's own games were taught by the records: not the engine's searches.
        if game["score"] >= min_score and not game["solver"].startswith("records-imitation"):
            replays.setdefault(game["replay"], path.stem)
    table = json.loads((ROOT / "data" / "nets" / "results.json").read_text(encoding="utf-8"))
    for key, game in sorted(table.items()):
        if game["lines"] >= min_score:
            replays.setdefault(game["replay"], key)
    return [replayed(name, text) for text, name in replays.items()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--init", default="data/nets/hind-6.npz")
    ap.add_argument("--out", default="runs/imitation")
    ap.add_argument("--min-score", type=int, default=148)
    ap.add_argument("--horizon", type=int, default=60)
    ap.add_argument("--siblings", type=int, default=30000)
    ap.add_argument("--record-copies", type=int, default=4)
    ap.add_argument("--label-width", type=int, default=32)
    ap.add_argument("--label-depth", type=int, default=10)
    ap.add_argument("--label-grace", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--games", choices=("records", "own"), default="records")
    ap.add_argument("--extra", action="append", default=[],
                    help="also fit on a trainer's labelled pool file (data-K.npz)")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    net = load_network(a.init)
    lay = net.layout

    games = record_games(a.min_score) if a.games == "records" else own_games(a.min_score)
    rec_rows, rec_scores, rec_labels = [], [], []
    for name, wells, scores in games:
        left = len(wells) - 1 - np.arange(len(wells))
        rec_rows.append(wells)
        rec_scores.append(scores)
        rec_labels.append(np.clip(-1.0 + 2.0 * left / a.horizon, -1.0, 1.0))
        print(f"{name}: {len(wells)} wells", file=sys.stderr)
    rec_rows = np.concatenate(rec_rows)
    rec_scores = np.concatenate(rec_scores)
    rec_labels = np.concatenate(rec_labels)

    sib_rows, sib_scores = siblings(rec_rows, rec_scores)
    # Siblings that are themselves game wells keep the game's label only.
    game_set = {r.tobytes() for r in rec_rows}
    keep = np.array([r.tobytes() not in game_set for r in sib_rows])
    sib_rows, sib_scores = sib_rows[keep], sib_scores[keep]
    pick = np.sort(np.random.default_rng(a.seed).choice(
        len(sib_rows), min(a.siblings, len(sib_rows)), replace=False))
    sib_rows, sib_scores = np.ascontiguousarray(sib_rows[pick]), sib_scores[pick]
    print(f"{len(rec_rows)} record wells, {len(sib_rows)} siblings to label", file=sys.stderr)

    t = time.perf_counter()
    value = np.zeros(len(sib_rows))
    survived = np.zeros(len(sib_rows))
    lookahead(sib_rows, sib_scores, a.label_depth, a.label_grace, a.label_width, lay.bases,
              lay.max_active, net.w1, net.w2, net.b2, value, survived)
    sib_labels = graded(value, survived)
    label_s = time.perf_counter() - t
    print(f"labelled in {label_s:.0f} s: mean {sib_labels.mean():.3f}, "
          f"lost {(survived == 0).mean():.3f}", file=sys.stderr)

    rows = np.ascontiguousarray(np.concatenate([np.repeat(rec_rows, a.record_copies, 0),
                                                sib_rows]))
    labels = np.concatenate([np.repeat(rec_labels, a.record_copies), sib_labels])
    for path in a.extra:  # e.g. a self-play generation's data, with the records as anchor
        with np.load(path) as z:
            rows = np.ascontiguousarray(np.concatenate([rows, z["rows"]]))
            labels = np.concatenate([labels, z["labels"]])
    result = fit(net, rows, labels, seed=a.seed, lr=3e-4)
    print(f"fit: val {result.initial_val_loss:.4f} -> {result.val_loss:.4f} "
          f"in {result.epochs} epochs", file=sys.stderr)
    info = {"experiment": "record_imitation", "args": vars(a), "record_wells": len(rec_rows),
            "samples": len(rows),
            "siblings": len(sib_rows), "label_seconds": round(label_s, 1),
            "val_loss": result.val_loss, "initial_val_loss": result.initial_val_loss}
    save_network(out / "net.npz", net, **info)
    (out / "preset.toml").write_text(
        'description = "Diagnostic: nnue-beam with a network fine-tuned on record games"\n\n'
        '[search]\nkind = "beam"\nwidth = 10000\ncheckpoint_every = 10\n\n'
        f'[eval]\nkind = "nnue"\nnetwork = "{(out / "net.npz").resolve()}"\n\n'
        '[quiescence]\nenabled = true\ndepth = 2\n', encoding="utf-8")
    print(json.dumps(info))


if __name__ == "__main__":
    main()
