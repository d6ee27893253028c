"""Beam search checkpoints: node chunks plus a small JSON index.

Between two compactions of a pruning search (``BeamSearch(prune=True)``) nodes never
change once kept, so each checkpoint writes only the nodes added since the previous one
(``nodes-cK-FROM-TO.npz``, K the compaction count) and then replaces ``meta.json``. After
a compaction it writes the whole (small) store once as a new first chunk, and only then
deletes the chunks the new ``meta.json`` no longer names. Every write is atomic, so an
interruption at any moment leaves a usable checkpoint.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import write_atomic, write_json_atomic
from .beam import BeamSearch, insert_rows_hashes
from .tree import NodeStore
from .tt import table_slots

FORMAT = "hatetris-beam-checkpoint/2"
READABLE = ("hatetris-beam-checkpoint/1", FORMAT)


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt, or from a different run."""


def save_checkpoint(directory: str | Path, search: BeamSearch, fingerprint: dict) -> None:
    directory = Path(directory)
    meta_path = directory / "meta.json"
    chunks: list[str] = []
    saved = 0
    if meta_path.exists():
        meta = _read_meta(directory)
        if (meta["fingerprint"] == fingerprint and meta["size"] <= search.store.size
                and int(meta.get("compactions", 0)) == search.compactions):
            chunks, saved = list(meta["chunks"]), int(meta["size"])
    size = search.store.size
    if size > saved:
        name = f"nodes-c{search.compactions:06d}-{saved:012d}-{size:012d}.npz"
        state = {k: v[saved:size] for k, v in search.store.state().items()}
        write_atomic(directory / name, lambda f: np.savez(f, **state), mode="wb")
        chunks.append(name)
    write_json_atomic(meta_path, {
        "format": FORMAT,
        "fingerprint": fingerprint,
        "size": size,
        "chunks": chunks,
        "level_start": search.level_start,
        "best_node": int(search.best_node),
        "children_total": int(search.children_total),
        "loops_total": int(search.loops_total),
        "elapsed": search.elapsed,
        "finished": search.finished,
        "prune": search.prune,
        "compactions": search.compactions,
        "compact_at": search.compact_at,
        "min_compact": search.min_compact,
    })
    for old in directory.glob("nodes-*.npz"):
        if old.name not in chunks:
            old.unlink(missing_ok=True)


def _read_meta(directory: Path) -> dict[str, Any]:
    path = directory / "meta.json"
    if not path.exists():
        raise CheckpointError(f"no checkpoint in {directory} (meta.json not found)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"corrupt checkpoint {path}: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") not in READABLE:
        raise CheckpointError(f"corrupt checkpoint {path}: not a {FORMAT} file")
    for key in ("fingerprint", "size", "chunks", "level_start", "best_node"):
        if key not in meta:
            raise CheckpointError(f"corrupt checkpoint {path}: missing {key!r}")
    return meta


def _differences(a: dict, b: dict, prefix: str = "") -> list[str]:
    out = []
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k), b.get(k)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += _differences(va, vb, f"{prefix}{k}.")
        elif va != vb:
            out.append(f"{prefix}{k}: checkpoint has {va!r}, this run has {vb!r}")
    return out


def load_checkpoint(directory: str | Path, fingerprint: dict, evaluation,
                    max_depth: int | None) -> BeamSearch:
    """Rebuild a :class:`BeamSearch` from ``directory``; refuse a mismatched run."""
    directory = Path(directory)
    meta = _read_meta(directory)
    if meta["fingerprint"] != fingerprint:
        diff = _differences(meta["fingerprint"], fingerprint)
        raise CheckpointError(f"checkpoint {directory} is from a different run: "
                              + "; ".join(diff[:3]))
    parts: dict[str, list[np.ndarray]] = {k: [] for k in NodeStore.FIELDS}
    expected = 0
    try:
        for name in meta["chunks"]:
            lo, hi = (int(v) for v in name[:-len(".npz")].split("-")[-2:])
            if lo != expected:
                raise CheckpointError(f"corrupt checkpoint {directory}: chunk {name} "
                                      f"does not follow node {expected}")
            with np.load(directory / name, allow_pickle=False) as z:
                for k in NodeStore.FIELDS:
                    a = z[k]
                    if len(a) != hi - lo:
                        raise CheckpointError(f"corrupt checkpoint {directory}: {name} "
                                              f"holds {len(a)} nodes, not {hi - lo}")
                    parts[k].append(a)
            expected = hi
    except CheckpointError:
        raise
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
        raise CheckpointError(f"corrupt checkpoint {directory}: {e}") from None
    if expected != meta["size"]:
        raise CheckpointError(f"corrupt checkpoint {directory}: chunks hold {expected} "
                              f"nodes, meta.json says {meta['size']}")
    try:
        store = NodeStore.from_state({k: np.concatenate(v) for k, v in parts.items()})
    except ValueError as e:
        raise CheckpointError(f"corrupt checkpoint {directory}: {e}") from None
    level_start = [int(v) for v in meta["level_start"]]
    best = int(meta["best_node"])
    if (not level_start or level_start[0] != 0 or level_start[-1] >= store.size
            or not 0 <= best < store.size):
        raise CheckpointError(f"corrupt checkpoint {directory}: inconsistent index")
    search = BeamSearch(evaluation, fingerprint["width"], max_depth,
                        fingerprint.get("parent_cap"), prune=bool(meta.get("prune", False)))
    search.store = store
    search.level_start = level_start
    search.best_node = best
    search.children_total = int(meta.get("children_total", 0))
    search.loops_total = int(meta.get("loops_total", 0))
    search.elapsed = float(meta.get("elapsed", 0.0))
    search.finished = bool(meta.get("finished", False))
    search.compactions = int(meta.get("compactions", 0))
    search.compact_at = int(meta.get("compact_at", search.compact_at))
    search.min_compact = int(meta.get("min_compact", search.min_compact))
    search.seen = np.zeros(table_slots(2 * store.size), np.uint64)
    insert_rows_hashes(store.rows, 0, store.size, search.seen)
    return search
