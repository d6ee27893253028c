"""An MCTS search on disk: every array and number of an :class:`MCTS`, so that a resumed
search plays exactly the moves the uninterrupted one would have played.

Everything is saved as it is, capacities included (the store's arrays, the transposition
table, the seen-well filter, the committed game's history, the generator's state, the
batch buffers): sizes decide nothing about the moves, but saving them whole leaves no
room for a resumed search to differ. The evaluation is not saved; the caller passes the
same one (the runner's fingerprint makes sure of that).

>>> from hatetris.presets import load_preset, make_evaluation
>>> evaluation = make_evaluation(load_preset("mcts-heuristic"))
>>> search = MCTS(evaluation, simulations=8, max_depth=6, max_nodes=4096)
>>> search.step() and search.step() and None   # two moves, then a copy of the search
>>> copy = restore_tree(evaluation, *tree_state(search))
>>> search.run(); copy.run()
>>> copy.keys == search.keys and copy.depth == 6
True
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from ...atomic import write_atomic
from .tree import MCTS

FORMAT = "hatetris-mcts-tree/1"
_NOT_SAVED = ("evaluation",)


def tree_state(search: MCTS) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, meta): the search's arrays by name and its other attributes as JSON."""
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {"format": FORMAT, "scalars": {}, "key_parts": search.key_parts}
    for name, value in vars(search).items():
        if name in _NOT_SAVED or name in ("key_parts", "moves"):
            continue
        if isinstance(value, np.ndarray):
            arrays[f"a.{name}"] = value
        elif isinstance(value, dict):
            for k, a in value.items():
                arrays[f"d.{name}.{k}"] = a
        elif isinstance(value, tuple):
            for i, a in enumerate(value):
                arrays[f"t.{name}.{i}"] = a
            meta.setdefault("tuples", {})[name] = len(value)
        elif value is None or isinstance(value, (bool, int, float, str)):
            meta["scalars"][name] = value
        else:
            raise TypeError(f"MCTS.{name}: cannot save a {type(value).__name__}")
    rows = [m[0] for m in search.moves]
    arrays["moves.rows"] = (np.stack(rows) if rows
                            else np.zeros((0,) + search.nodes["rows"].shape[1:], np.uint16))
    arrays["moves.piece"] = np.array([m[1] for m in search.moves], np.int64)
    arrays["moves.move"] = np.array([m[2] for m in search.moves], np.int64)
    return arrays, meta


def restore_tree(evaluation, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> MCTS:
    """The search ``tree_state`` described, evaluating with ``evaluation``."""
    if meta.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} state")
    search = MCTS.__new__(MCTS)
    search.evaluation = evaluation
    for name, value in meta["scalars"].items():
        setattr(search, name, value)
    dicts: dict[str, dict[str, np.ndarray]] = {}
    tuples: dict[str, dict[int, np.ndarray]] = {}
    for key, a in arrays.items():
        kind, _, rest = key.partition(".")
        if kind == "a":
            setattr(search, rest, np.array(a))
        elif kind == "d":
            name, _, field = rest.partition(".")
            dicts.setdefault(name, {})[field] = np.array(a)
        elif kind == "t":
            name, _, i = rest.partition(".")
            tuples.setdefault(name, {})[int(i)] = np.array(a)
    for name, d in dicts.items():
        setattr(search, name, d)
    for name, n in meta.get("tuples", {}).items():
        setattr(search, name, tuple(tuples[name][i] for i in range(n)))
    search.key_parts = list(meta["key_parts"])
    search.moves = [(np.array(r), int(p), int(m)) for r, p, m in
                    zip(arrays["moves.rows"], arrays["moves.piece"], arrays["moves.move"])]
    return search


def save_tree(path: str | Path, search: MCTS) -> None:
    """Write the search to ``path`` (one .npz, atomically)."""
    arrays, meta = tree_state(search)
    meta_bytes = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    write_atomic(path, lambda f: np.savez(f, **arrays, **{"meta.json": meta_bytes}),
                 mode="wb")


def load_tree(path: str | Path, evaluation) -> MCTS:
    """The search saved at ``path``; ValueError if the file is not one."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError) as e:
        raise ValueError(f"cannot read MCTS tree {path}: {e}") from None
    try:
        meta = json.loads(io.BytesIO(arrays.pop("meta.json").tobytes()).read())
    except (KeyError, json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError(f"{path}: not an MCTS tree") from None
    return restore_tree(evaluation, arrays, meta)
