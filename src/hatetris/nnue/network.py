"""The network: sparse input layer -> one tanh hidden layer -> one tanh output.

Weights live in an ``.npz`` (arrays ``w1`` [features, hidden], ``w2`` [hidden], ``b2``
[1]) with a JSON sidecar (feature sets, sizes, generation, training figures). Row 0 of
``w1`` is the bias feature, so the hidden layer has no separate bias.

A network with many input features that never occur (positional windows: 446,465 rows,
60% of them zero) can be stored compactly (``save_network(..., compact=True)``): ``w1``
as the int16 copy the search uses (:func:`~hatetris.nnue.quantized.quantize`), only its
non-zero rows, compressed. It loads as ``int16 x 2**-shift`` in float32, which quantizes
back to the same int16 weights, so the search plays exactly the games of the network it
was made from; the float path moves by at most ``2**-(shift+1)`` a weight.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

from ..atomic import write_atomic, write_json_atomic
from ..config import NJIT
from .features import FEATURE_SETS, FeatureError, active_features, layout

FORMAT = "hatetris-nnue/1"


class NetworkError(ValueError):
    """A weights file that is missing, corrupt, or does not match its description."""


@dataclass
class Network:
    sets: tuple[str, ...]
    w1: np.ndarray  # float32 [n_features, hidden]
    w2: np.ndarray  # float32 [hidden]
    b2: np.ndarray  # float32 [1]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def hidden(self) -> int:
        return self.w1.shape[1]

    @property
    def layout(self):
        return layout(self.sets)

    @classmethod
    def random(cls, sets, hidden: int = 32, seed: int = 0, scale: float = 0.1) -> "Network":
        lay = layout(sets)
        rng = np.random.default_rng(seed)
        w1 = (rng.standard_normal((lay.n_features, hidden)) * scale / np.sqrt(lay.max_active))
        w2 = rng.standard_normal(hidden) * scale
        return cls(tuple(sets), w1.astype(np.float32), w2.astype(np.float32),
                   np.zeros(1, np.float32), {})

    def copy(self) -> "Network":
        return Network(self.sets, self.w1.copy(), self.w2.copy(), self.b2.copy(),
                       json.loads(json.dumps(self.meta)))

    def with_sets(self, sets) -> "Network":
        """This network over more feature sets (kept in the layout's order), the new ones'
        weights 0, so that it gives the same values until a fit moves them; every set of
        its own must be kept.

        >>> a = Network.random(("rows", "windows"), hidden=4, seed=1)
        >>> b = a.with_sets(("columns", "rows", "windows"))
        >>> b.sets, float(abs(b.w1[b.layout.columns_base:]).max())
        (('rows', 'windows', 'columns'), 0.0)
        """
        named = layout(tuple(sets)).sets  # unknown, repeated or no sets are refused here
        new = layout(tuple(s for s in FEATURE_SETS if s in named))
        if not set(self.sets) <= set(new.sets):
            raise FeatureError(f"feature sets must keep the network's own "
                               f"({', '.join(self.sets)})")
        return Network(new.sets, carried_weights(self, new), self.w2.copy(), self.b2.copy(),
                       {})


def carried_weights(net: Network, new) -> np.ndarray:
    """``w1`` over layout ``new``: the bias and the weights of every feature set that
    both ``net`` and ``new`` have, copied; every other set's weights 0."""
    old = net.layout
    w1 = np.zeros((new.n_features, net.hidden), np.float32)
    w1[0] = net.w1[0]  # the bias
    for name, start, to in zip(FEATURE_SETS, old.bases, new.bases):
        if start >= 0 and to >= 0:
            size = layout((name,)).n_features - 1
            w1[to:to + size] = net.w1[start:start + size]
    return w1


def mean_network(nets: list[Network]) -> Network:
    """One network whose value is the tanh of the mean of ``nets``' output
    pre-activations: their hidden units side by side, each output weight divided by
    their number (an ensemble the beam evaluates as one network, accumulator and all).

    >>> a, b = (Network.random(("rows",), hidden=4, seed=s) for s in (1, 2))
    >>> m = mean_network([a, b])
    >>> m.hidden, float(m.w2[5]) == float(b.w2[1]) / 2
    (8, True)
    """
    sets = {n.sets for n in nets}
    if len(sets) != 1:
        raise ValueError(f"an ensemble's networks must share their features, not {sets}")
    k = np.float32(len(nets))
    return Network(nets[0].sets, np.ascontiguousarray(np.concatenate([n.w1 for n in nets], 1)),
                   np.concatenate([n.w2 / k for n in nets]).astype(np.float32),
                   (sum(n.b2 for n in nets) / k).astype(np.float32), {})


def save_network(path: str | Path, net: Network, *, compact: bool = False,
                 **meta: Any) -> None:
    """Write ``path`` (.npz) and its sidecar ``path.json``, both atomically; with
    ``compact``, ``w1`` as its int16 copy's non-zero rows (see the module docstring)."""
    path = Path(path)
    net.meta.update(meta)
    info = {"format": FORMAT, "features": list(net.sets), "n_features": int(net.w1.shape[0]),
            "hidden": net.hidden, **net.meta}
    if compact:
        from .quantized import quantize  # it imports this module

        arrays = {**compact_w1(quantize(net)), "w2": net.w2, "b2": net.b2}
        write_atomic(path, lambda f: np.savez_compressed(f, **arrays), mode="wb")
    else:
        write_atomic(path, lambda f: np.savez(f, w1=net.w1, w2=net.w2, b2=net.b2), mode="wb")
    write_json_atomic(path.with_suffix(".json"), info)


def compact_w1(q) -> dict[str, np.ndarray]:
    """The arrays a compact file holds for ``w1``: the non-zero rows of ``q`` (a
    :class:`~hatetris.nnue.quantized.QuantizedNetwork`), their int16 weights and its
    shift; :func:`stored_w1` reads them back."""
    rows = np.flatnonzero(q.w1.any(axis=1)).astype(np.int32)
    return {"w1_rows": rows, "w1_int16": q.w1[rows], "w1_shift": np.int32(q.shift)}


def stored_w1(z, n_features: int, hidden: int) -> np.ndarray:
    """``w1`` of an open weights file (or a mapping of its arrays), plain or compact
    (checked: rows in range, sorted, int16 of the right width, a shift the quantization
    can have)."""
    if "w1" in z:
        return z["w1"]
    rows, q, shift = z["w1_rows"], z["w1_int16"], z["w1_shift"]
    if (rows.ndim != 1 or rows.dtype != np.int32 or q.dtype != np.int16
            or q.shape != (len(rows), hidden) or shift.shape != () or not 0 <= shift <= 30
            or (len(rows) and (rows[0] < 0 or rows[-1] >= n_features
                               or (np.diff(rows) <= 0).any()))):
        raise ValueError("compact w1 is inconsistent")
    w1 = np.zeros((n_features, hidden), np.float32)
    w1[rows] = q.astype(np.float32) * np.float32(2.0 ** -int(shift))
    return w1


def load_network(path: str | Path) -> Network:
    """Read and check a network; any inconsistency is a :class:`NetworkError`."""
    path = Path(path)
    side = path.with_suffix(".json")
    try:
        info = json.loads(side.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NetworkError(f"network description {side} not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise NetworkError(f"corrupt network description {side}: {e}") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise NetworkError(f"{side} is not a {FORMAT} description")
    try:
        lay = layout(info["features"])
        hidden = int(info["hidden"])
    except (KeyError, TypeError, ValueError, FeatureError) as e:
        raise NetworkError(f"corrupt network description {side}: {e}") from None
    try:
        with np.load(path, allow_pickle=False) as z:
            w1, w2, b2 = stored_w1(z, lay.n_features, hidden), z["w2"], z["b2"]
    except FileNotFoundError:
        raise NetworkError(f"network weights {path} not found") from None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
        raise NetworkError(f"corrupt network weights {path}: {e}") from None
    if (w1.shape != (lay.n_features, hidden) or w2.shape != (hidden,) or b2.shape != (1,)
            or w1.dtype != np.float32 or w2.dtype != np.float32 or b2.dtype != np.float32):
        raise NetworkError(f"network weights {path} do not match {side}: w1 {w1.shape}, "
                           f"expected ({lay.n_features}, {hidden}) float32")
    if not (np.isfinite(w1).all() and np.isfinite(w2).all() and np.isfinite(b2).all()):
        raise NetworkError(f"network weights {path} hold non-finite values")
    meta = {k: v for k, v in info.items() if k not in ("format", "features", "n_features",
                                                       "hidden")}
    return Network(tuple(info["features"]), w1, w2, b2, meta)


@njit(**NJIT)
def forward_one(rows, k, bases, w1, w2, b2, idx, acc) -> float:
    """The network's value for well ``rows[k]``: sum of active columns, tanh, tanh."""
    n = active_features(rows, k, bases, idx)
    hidden = w1.shape[1]
    for h in range(hidden):
        acc[h] = 0.0
    for i in range(n):
        f = idx[i]
        for h in range(hidden):
            acc[h] += w1[f, h]
    out = b2[0]
    for h in range(hidden):
        out += np.tanh(acc[h]) * w2[h]
    return np.tanh(out)
