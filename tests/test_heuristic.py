"""The heuristic features against naive per-cell versions written here, independently."""

from __future__ import annotations

import random
from collections import deque

import numba
import numpy as np
import pytest

import naive
from hatetris.engine import children
from hatetris.eval.heuristic import FEATURES, HeuristicEvaluation

W, H, BAR = 10, 20, 4
ADVERSARY_ORDER = "SZOILJT"


# --------------------------------------------------------------------------- #
# Naive features: one cell at a time
# --------------------------------------------------------------------------- #

def naive_features(well, score: int, with_erasability: bool = False) -> dict[str, int]:
    filled = [[(well[r] >> c) & 1 == 1 for c in range(W)] for r in range(H)]
    col_top = [next((r for r in range(H) if filled[r][c]), H) for c in range(W)]
    h = [H - t for t in col_top]
    hole = [[not filled[r][c] and r > col_top[c] for c in range(W)] for r in range(H)]

    # BFS from every empty spawn-zone cell through 4-neighbouring empty cells.
    seen = {(r, c) for r in range(BAR) for c in range(W) if not filled[r][c]}
    queue = deque(seen)
    while queue:
        r, c = queue.popleft()
        for rr, cc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
            if 0 <= rr < H and 0 <= cc < W and not filled[rr][cc] and (rr, cc) not in seen:
                seen.add((rr, cc))
                queue.append((rr, cc))
    enclosed = [[r >= BAR and not filled[r][c] and (r, c) not in seen for c in range(W)]
                for r in range(H)]

    def wall_height(c):
        return H if c < 0 or c >= W else h[c]

    row_transitions = 0
    for r in range(H):
        if any(filled[r]):
            line = [True] + filled[r] + [True]
            row_transitions += sum(line[i] != line[i + 1] for i in range(W + 1))
    column_transitions = 0
    for c in range(W):
        column = [filled[r][c] for r in range(H)] + [True]
        column_transitions += sum(column[i] != column[i + 1] for i in range(H))

    f = {
        "lines": score,
        "height": H - min(col_top),
        "holes": sum(map(sum, hole)),
        "enclosed_holes": sum(map(sum, enclosed)),
        "enclosed_lines": sum(any(row) for row in enclosed),
        "covered_lines": sum(any(row) for row in hole),
        "erasability": 0,
        "bumpiness": sum(abs(h[c] - h[c + 1]) for c in range(W - 1)),
        "cells": sum(map(sum, filled)),
        "wells_depth": sum(max(0, min(wall_height(c - 1), wall_height(c + 1)) - h[c])
                           for c in range(W)),
        "row_transitions": row_transitions,
        "column_transitions": column_transitions,
        "next_height": 0,
        "dead_holes": 0,
        "dead_lines": 0,
        "sz_dead_lines": 0,
    }
    if with_erasability and min(col_top) >= BAR:
        # HATETRIS's choice, mild: the piece whose best placement leaves the highest stack.
        f["next_height"] = H - min(max(naive.top_row(w) for w, _, _ in naive.children(well, score, p))
                                   for p in ADVERSARY_ORDER)
    if with_erasability:
        coverable = {cell for p in ADVERSARY_ORDER for state in naive.reachable_locks(well, p)
                     for cell in naive.piece_cells(p, *state)}
        dead = [[hole[r][c] and r >= BAR and (c, r) not in coverable for c in range(W)]
                for r in range(H)]
        f["dead_holes"] = sum(map(sum, dead))
        f["dead_lines"] = sum(any(row) for row in dead)
        sz_coverable = {cell for p in "SZ" for state in naive.reachable_locks(well, p)
                        for cell in naive.piece_cells(p, *state)}
        f["sz_dead_lines"] = sum(any(hole[r][c] and (c, r) not in sz_coverable
                                     for c in range(W)) for r in range(BAR, H))
        f["erasability"] = sum(
            any(naive.lock(well, score, p, *state)[1] > score
                for state in naive.reachable_locks(well, p))
            for p in ADVERSARY_ORDER
        )
    return f


# --------------------------------------------------------------------------- #
# Wells
# --------------------------------------------------------------------------- #

def naive_popcount(a: np.ndarray) -> np.ndarray:
    return sum((a >> c) & 1 for c in range(W))


def reachable_wells(n: int, seed: int, tidy: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Wells reachable from the empty well by random pieces and placements.

    ``tidy`` picks placements that leave the fewest holes: clean stacks with many rows
    one piece could complete, which random play rarely leaves.
    """
    rng = random.Random(seed)
    rows_out, scores_out = [], []
    well, score = np.zeros(H, np.uint16), 0
    while len(rows_out) < n:
        rows, scores, _ = children(well, score, rng.randrange(7), keep_game_over=False)
        if len(rows) == 0:
            well, score = np.zeros(H, np.uint16), 0
            continue
        k = rng.randrange(len(rows))
        if tidy:
            above = np.zeros_like(rows)
            above[:, 1:] = np.bitwise_or.accumulate(rows, axis=1)[:, :-1]
            holes = naive_popcount(~rows & above & 1023).sum(axis=1)
            best = np.flatnonzero(holes == holes.min())
            k = int(best[rng.randrange(len(best))])
        elif rng.random() < 0.5:
            # Low placements half of the time: long games, clears, holes, near-full rows.
            tops = (rows != 0).argmax(axis=1) + 20 * (rows == 0).all(axis=1)
            best = np.flatnonzero(tops == tops.max())
            k = int(best[rng.randrange(len(best))])
        well, score = rows[k], int(scores[k])
        rows_out.append(well)
        scores_out.append(score)
    return np.array(rows_out, np.uint16), np.array(scores_out, np.int64)


def arbitrary_wells(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random bit patterns of random density (not reachable: caves, cells in the spawn zone)."""
    rng = np.random.default_rng(seed)
    density = rng.uniform(0.0, 0.9, size=(n, 1, 1))
    cells = rng.random((n, H, W)) < density
    cells[: n // 2, :BAR] = False  # half with an empty spawn zone, as in a live game
    rows = (cells * (1 << np.arange(W))).sum(axis=2).astype(np.uint16)
    return rows, rng.integers(0, 5000, n).astype(np.int64)


REACHABLE = reachable_wells(3000, seed=7)
EVAL = HeuristicEvaluation({name: 1.0 for name in FEATURES})


def assert_features_match(rows, scores, with_erasability):
    got = EVAL.features(rows, scores, with_erasability=with_erasability)
    assert got.shape == (len(rows), len(FEATURES))
    for i in range(len(rows)):
        want = naive_features(tuple(int(v) for v in rows[i]), int(scores[i]), with_erasability)
        assert dict(zip(FEATURES, got[i].astype(int).tolist())) == want, rows[i].tolist()
    return got


def test_features_on_reachable_wells():
    got = assert_features_match(*REACHABLE, with_erasability=False)
    # The sample exercises what it should: enclosed holes, holes that are not, clears.
    column = {name: got[:, j] for j, name in enumerate(FEATURES)}
    assert (column["enclosed_holes"] > 0).sum() > 100
    assert (column["holes"] > column["enclosed_holes"]).sum() > 100
    assert column["lines"].max() > 0
    assert (column["erasability"] == 0).all()  # not asked for


def test_features_on_arbitrary_wells():
    assert_features_match(*arbitrary_wells(1500, seed=3), with_erasability=False)


def test_erasability_on_reachable_wells():
    rows, scores = REACHABLE
    tidy_rows, tidy_scores = reachable_wells(150, seed=8, tidy=True)
    got = assert_features_match(np.concatenate([rows[::30], tidy_rows]),
                                np.concatenate([scores[::30], tidy_scores]),
                                with_erasability=True)
    values = got[:, FEATURES.index("erasability")]
    assert len(set(values.tolist())) >= 3  # 0, some and many pieces occur
    # Dead holes occur, and so do live holes under overhangs (holes that are not dead).
    dead = got[:, FEATURES.index("dead_holes")]
    holes = got[:, FEATURES.index("holes")]
    assert (dead > 0).sum() > 10 and (holes > dead).sum() > 10
    # Rows only a piece other than S and Z can help occur too.
    sz_dead = got[:, FEATURES.index("sz_dead_lines")]
    assert (sz_dead > got[:, FEATURES.index("dead_lines")]).sum() > 10


def test_erasability_on_arbitrary_wells():
    rows, scores = arbitrary_wells(60, seed=11)
    assert_features_match(rows, scores, with_erasability=True)


def parse(picture: str) -> np.ndarray:
    lines = picture.split()
    rows = [0] * (H - len(lines)) + [
        sum(1 << c for c, ch in enumerate(line) if ch == "#") for line in lines
    ]
    return np.array([rows], np.uint16)


def test_flood_fill_follows_a_winding_tunnel():
    # Down column 0, right along row 12, up column 8, left along row 8, down column 2:
    # three turns back, so it needs two passes each way. One sealed cell at row 15.
    rows = parse("""
        .#########
        .#########
        .#########
        .#########
        .#.......#
        .#.#####.#
        .#.#####.#
        .#######.#
        .........#
        ##########
        ##########
        #####.####
        ##########
        ##########
        ##########
        ##########
    """)
    f = dict(zip(FEATURES, EVAL.features(rows, np.zeros(1, np.int64))[0].tolist()))
    assert f["enclosed_holes"] == 1 and f["enclosed_lines"] == 1
    assert f["holes"] == naive_features(tuple(rows[0].tolist()), 0)["holes"]


def test_erasability_examples():
    scores = np.zeros(1, np.int64)
    idx = FEATURES.index("erasability")
    # A one-cell gap in the rightmost column of an open well: S, I, L, J and T can fill
    # it; O's rows are two cells wide and Z's single bottom cell is on its left side.
    gap = parse("#########.")
    assert EVAL.features(gap, scores)[0, idx] == 5
    assert naive_features(tuple(gap[0].tolist()), 0, True)["erasability"] == 5
    # The same gap under a roof: nothing reaches it.
    roofed = parse("""
        ........##
        #########.
    """)
    assert EVAL.features(roofed, scores)[0, idx] == 0
    assert naive_features(tuple(roofed[0].tolist()), 0, True)["erasability"] == 0
    # A four-cell gap: only I.
    assert EVAL.features(parse("###....###"), scores)[0, idx] == 1


def test_evaluate_is_the_weighted_sum_of_the_features():
    rows, scores = REACHABLE
    rng = np.random.default_rng(5)
    weights = dict(zip(FEATURES, rng.normal(size=len(FEATURES)).tolist()))
    ev = HeuristicEvaluation(weights)
    out = np.full(len(rows), np.nan)
    ev.evaluate(rows, scores, out)
    feats = ev.features(rows, scores)
    # Same order of operations as the kernel: exact equality.
    want = np.zeros(len(rows))
    for j, name in enumerate(FEATURES):
        want = want + weights[name] * feats[:, j]
    np.testing.assert_array_equal(out, want)
    # int32 scores give the same values.
    out32 = np.zeros(len(rows))
    ev.evaluate(rows, scores.astype(np.int32), out32)
    np.testing.assert_array_equal(out32, out)


def test_erasability_is_skipped_when_its_weight_is_zero():
    rows, scores = parse("#########."), np.zeros(1, np.int64)
    out = np.zeros(1)
    HeuristicEvaluation({"erasability": 0.0, "cells": 1.0}).evaluate(rows, scores, out)
    assert out[0] == 9.0
    HeuristicEvaluation({"erasability": 1.0, "cells": 1.0}).evaluate(rows, scores, out)
    assert out[0] == 14.0


def test_opening_weights_value_the_early_wells():
    rows, scores = REACHABLE
    main = {"height": -4.0, "holes": -1.0, "dead_lines": -10.0, "next_height": -3.0}
    opening = {"height": -1.0, "bumpiness": 2.0, "erasability": 1.5}
    f = HeuristicEvaluation({}).features(rows, scores)
    pieces = (f[:, FEATURES.index("cells")] + 10 * f[:, FEATURES.index("lines")]) / 4
    cut = int(np.median(pieces))
    assert (pieces < cut).sum() > 50 and (pieces >= cut).sum() > 50
    got = np.zeros(len(rows))
    HeuristicEvaluation(main, opening, cut).evaluate(rows, scores, got)
    want_main = np.zeros(len(rows))
    want_opening = np.zeros(len(rows))
    HeuristicEvaluation(main).evaluate(rows, scores, want_main)
    HeuristicEvaluation(opening).evaluate(rows, scores, want_opening)
    assert got.tolist() == np.where(pieces < cut, want_opening, want_main).tolist()
    with pytest.raises(ValueError):
        HeuristicEvaluation(main, opening)  # no opening_pieces
    with pytest.raises(ValueError):
        HeuristicEvaluation(main, {"hoels": 1.0}, 5)


def test_parallel_equals_sequential():
    rows, scores = REACHABLE
    rows = np.concatenate([rows, arbitrary_wells(3000, seed=2)[0]])
    scores = np.concatenate([scores, np.arange(3000)])
    ev = HeuristicEvaluation({name: 0.1 * (j + 1) for j, name in enumerate(FEATURES)})
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = np.zeros(len(rows))
        ev.evaluate(rows, scores, one)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = np.zeros(len(rows))
        ev.evaluate(rows, scores, two)
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_array_equal(one, two)
    # ... and a well's value does not depend on its batch.
    alone = np.zeros(1)
    ev.evaluate(rows[1234:1235], scores[1234:1235], alone)
    assert alone[0] == one[1234]


def test_empty_batch():
    out = np.zeros(0)
    EVAL.evaluate(np.zeros((0, H), np.uint16), np.zeros(0, np.int64), out)
    assert EVAL.features(np.zeros((0, H), np.uint16), np.zeros(0, np.int64)).shape == (
        0, len(FEATURES))


def test_unknown_weight_is_rejected():
    with pytest.raises(ValueError, match=r"unknown heuristic feature 'hole'; valid names: lines"):
        HeuristicEvaluation({"holes": -1.0, "hole": 1.0})


def test_non_finite_weight_is_rejected():
    with pytest.raises(ValueError, match="must be finite: holes"):
        HeuristicEvaluation({"holes": float("inf")})


def test_every_rotation_keeps_a_cell():
    # Why enclosed cells are out of every piece's reach (erasability skips their rows):
    # moves shift cells by one and a rotation keeps a cell, so a piece stays in the
    # empty region connected to the spawn.
    for piece, boxes in naive.OFFSETS.items():
        for o in range(4):
            assert set(boxes[o]) & set(boxes[(o + 1) % 4]), (piece, o)


def test_bad_arrays_are_rejected():
    with pytest.raises(ValueError, match="rows must be uint16"):
        EVAL.evaluate(np.zeros((1, H), np.int64), np.zeros(1, np.int64), np.zeros(1))
    with pytest.raises(ValueError, match="out must be float64"):
        EVAL.evaluate(np.zeros((1, H), np.uint16), np.zeros(1, np.int64), np.zeros(2))
