"""The MCTS store's vocabulary: node and edge fields, leaf kinds, backup modes, growth."""

from __future__ import annotations

import numpy as np

from ...rules import HEIGHT


MAX_PATH = 1024  # nodes on one selection path; a longer descent stops there
BACKUPS = ("max", "mean", "mixed")
BACKUP_MAX, BACKUP_MEAN, BACKUP_MIXED = range(3)
COMMITS = ("value", "visits")

# leaf kinds of a selected simulation
LEAF_EXPAND, LEAF_TERMINAL, LEAF_STATIC, _COLLISION = range(4)


NODE_FIELDS = {
    "rows": (np.uint16, (HEIGHT,)),
    "score": (np.int64, ()),
    "depth": (np.int32, ()),
    "hash": (np.uint64, ()),
    "static": (np.float64, ()),  # the evaluation of the node's well
    "visits": (np.int64, ()),
    "leaf_visits": (np.int64, ()),  # simulations that ended here
    "vsum": (np.float64, ()),  # sum of backed-up values
    "vmax": (np.float64, ()),  # the best child value at the last backup ("max" value)
    "virtual": (np.int32, ()),  # pending visits of the current batch
    "edge_start": (np.int64, ()),
    "edge_count": (np.int32, ()),
    "piece": (np.int8, ()),  # the adversary's piece assumed by the expansion
    "expanded": (np.bool_, ()),
    "terminal": (np.bool_, ()),  # expanded with no live child: a dead end
    "pending": (np.bool_, ()),
}
EDGE_FIELDS = {
    "child": (np.int64, ()),
    "move": (np.int16, ()),  # engine.decode_move
    "piece": (np.int8, ()),
    "visits": (np.int64, ()),
}


def _grow(arrays: dict[str, np.ndarray], used: int, need: int) -> None:
    cap = len(next(iter(arrays.values())))
    if need <= cap:
        return
    while cap < need:
        cap *= 2
    for name, a in arrays.items():
        grown = np.zeros((cap,) + a.shape[1:], a.dtype)
        grown[:used] = a[:used]
        arrays[name] = grown
