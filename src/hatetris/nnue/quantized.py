"""The network in integers, for the beam: int16 weights, int32 accumulators, a tanh table.

The float network (:mod:`hatetris.nnue.network`) is what training writes and reads. The
search evaluates millions of wells a second, so it uses this copy instead:

* ``w1`` is rounded to int16 at a scale of ``2**shift`` (the largest weight is checked to
  fit); a hidden unit's pre-activation is an int32 sum of 121 such columns, exact;
* the hidden tanh is a branch-free rational approximation (:func:`tanh_fast`, within
  3.4e-7), so the loop over hidden units vectorizes;
* the output layer stays float32 (32 multiply-adds and one tanh per well).

The error against the float network is bounded by the rounding of the weights (at most
``active / 2**(shift+1)`` per pre-activation) and of :func:`tanh_fast`:
:meth:`QuantizedNetwork.error_bound`. ``tests/test_nnue_fast.py`` holds values within it
on random and real wells, and the shipped network within :data:`TOLERANCE`.

>>> import numpy as np
>>> from hatetris.nnue.network import Network
>>> net = Network.random(("rows", "windows"), hidden=8, seed=1)
>>> q = quantize(net)
>>> q.shift, q.w1.dtype.name
(14, 'int16')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..config import NJIT
from .network import Network, NetworkError

# The stated tolerance: the shipped network's values on record and random wells stay
# this close to the float ones (tested; measured 8.7e-4). The worst-case bound,
# QuantizedNetwork.error_bound, is looser (2.2e-2 for hind-6) and also tested.
TOLERANCE = 2e-3
MAX_SHIFT = 14


@dataclass(frozen=True)
class QuantizedNetwork:
    """An integer copy of a :class:`Network` (see the module docstring)."""

    sets: tuple[str, ...]
    w1: np.ndarray  # int16 [n_features, hidden], w1_float * 2**shift rounded
    w2: np.ndarray  # float32 [hidden]
    b2: np.ndarray  # float32 [1]
    shift: int

    @property
    def inv_scale(self) -> np.float32:
        return np.float32(2.0**-self.shift)

    @property
    def hidden(self) -> int:
        return self.w1.shape[1]

    def error_bound(self, max_active: int) -> float:
        """A bound on |value - float value| of any well: each pre-activation is off by at
        most ``max_active`` roundings of half a unit, tanh is 1-Lipschitz, and the output
        tanh too; plus :func:`tanh_fast`'s error and float32 slack."""
        w2 = float(np.abs(self.w2.astype(np.float64)).sum())
        return w2 * (max_active * 0.5 * 2.0**-self.shift + 4e-7) + 1e-5


def quantize(net: Network) -> QuantizedNetwork:
    """The int16 copy of ``net``, at the largest scale ``2**shift`` its weights fit."""
    peak = float(np.abs(net.w1).max()) if net.w1.size else 0.0
    shift = MAX_SHIFT
    while shift > 0 and round(peak * 2**shift) > 32767:
        shift -= 1
    if round(peak * 2**shift) > 32767:
        raise NetworkError(f"network weights up to {peak:g} do not fit int16")
    w1 = np.rint(net.w1.astype(np.float64) * 2**shift).astype(np.int16)
    return QuantizedNetwork(net.sets, w1, net.w2.astype(np.float32), net.b2.astype(np.float32),
                            shift)


def compact_copy(net: Network) -> Network:
    """The network a compact file of ``net`` holds (``save_network(..., compact=True)``):
    ``w1`` as its int16 copy's floats, so it plays the same games as ``net`` (the beam
    reads the int16 copy, the same for both). Refused (:class:`NetworkError`) if the copy
    would not quantize back to the same int16 weights.

    >>> net = Network.random(("rows",), hidden=4, seed=2)
    >>> copy = compact_copy(net)
    >>> bool(np.array_equal(quantize(copy).w1, quantize(net).w1))
    True
    >>> float(np.abs(copy.w1 - net.w1).max()) <= 2.0**-(quantize(net).shift + 1)
    True
    """
    q = quantize(net)
    w1 = q.w1.astype(np.float32) * np.float32(2.0**-q.shift)
    copy = Network(net.sets, w1, net.w2.copy(), net.b2.copy(), dict(net.meta))
    back = quantize(copy)
    if back.shift != q.shift or not np.array_equal(back.w1, q.w1):
        raise NetworkError("the network's int16 copy does not quantize to itself")
    return copy


# A rational approximation of tanh on float32 (the form Eigen uses): max error 3.4e-7,
# branch-free, so the loop over the hidden units vectorizes, unlike a table or np.tanh.
_TANH_CLAMP = np.float32(7.90531110763549805)
_A = (np.float32(4.89352455891786e-03), np.float32(6.37261928875436e-04),
      np.float32(1.48572235717979e-05), np.float32(5.12229709037114e-08),
      np.float32(-8.60467152213735e-11), np.float32(2.00018790482477e-13),
      np.float32(-2.76076847742355e-16))
_B = (np.float32(4.89352518554385e-03), np.float32(2.26843463243900e-03),
      np.float32(1.18534705686654e-04), np.float32(1.19825839466702e-06))


@njit(inline="always", **NJIT)
def tanh_fast(x):
    """tanh of a float32, within 3.4e-7."""
    c = min(max(x, -_TANH_CLAMP), _TANH_CLAMP)
    x2 = c * c
    p = _A[6]
    p = p * x2 + _A[5]
    p = p * x2 + _A[4]
    p = p * x2 + _A[3]
    p = p * x2 + _A[2]
    p = p * x2 + _A[1]
    p = p * x2 + _A[0]
    q = _B[3]
    q = q * x2 + _B[2]
    q = q * x2 + _B[1]
    q = q * x2 + _B[0]
    return c * p / q


@njit(error_model="numpy", **NJIT)
def output_value(acc, w2, b2, inv_scale, hidden) -> float:
    """The network's value from a well's int32 accumulator (``inv_scale = 2**-shift``).

    ``hidden`` is float32 scratch of the accumulator's length. The tanh loop vectorizes
    (no zero-division checks: ``error_model="numpy"``); the dot product is summed in
    order, so every kernel that calls this gives the same value to the bit.
    """
    for h in range(acc.shape[0]):
        hidden[h] = tanh_fast(np.float32(acc[h]) * inv_scale)
    out = np.float32(0.0)
    for h in range(acc.shape[0]):
        out += hidden[h] * w2[h]
    return np.tanh(out + b2[0])
