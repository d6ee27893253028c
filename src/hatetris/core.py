"""Small Numba kernels shared by every layer: bit tricks and well hashing."""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from .config import NJIT

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)


@intrinsic
def trailing_zeros(typingctx, x):
    """Index of the lowest set bit of a non-zero int64 (LLVM ``cttz``, one instruction)."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[0], x, types.int64)
        return builder.cttz(value, ir.Constant(ir.IntType(1), 1))

    return types.int64(x), codegen


@intrinsic
def popcount(typingctx, x):
    """Number of set bits of an integer (LLVM ``ctpop``: one ``popcnt`` instruction)."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[0], x, types.int64)
        return builder.ctpop(value)

    return types.int64(x), codegen


@njit(**NJIT)
def fmix64(h: np.uint64) -> np.uint64:
    """MurmurHash3's 64-bit finalizer."""
    h ^= h >> _S33
    h *= _M1
    h ^= h >> _S33
    h *= _M2
    h ^= h >> _S33
    return h


@njit(**NJIT)
def state_hash(rows, score) -> np.uint64:
    """Hash of a well's 20 rows and its score: the benchmark's child hash.

    FNV-1a over the 20 row integers and then the score, finished with ``fmix64``
    (``shared/bench/README.md``). Also the transposition table's key.
    """
    h = FNV_OFFSET
    for r in range(20):
        h ^= np.uint64(rows[r])
        h *= FNV_PRIME
    h ^= np.uint64(score)
    h *= FNV_PRIME
    return fmix64(h)


@njit(**NJIT)
def rows_hash(rows) -> np.uint64:
    """Hash of a well's 20 rows alone: the key of the adversary's seen-well history."""
    h = FNV_OFFSET
    for r in range(20):
        h ^= np.uint64(rows[r])
        h *= FNV_PRIME
    return fmix64(h)


@njit(**NJIT)
def same_well(a, i, b, j) -> bool:
    """Whether well ``a[i]`` equals well ``b[j]`` (20 rows; 2-D arrays indexed in place)."""
    for r in range(20):
        if a[i, r] != b[j, r]:
            return False
    return True


@njit(**NJIT)
def well_is(a, i, rows) -> bool:
    """Whether well ``a[i]`` equals the 20 rows ``rows`` (a 1-D array)."""
    for r in range(20):
        if a[i, r] != rows[r]:
            return False
    return True


def cell_counts(rows: np.ndarray) -> np.ndarray:
    """Filled cells of each well in ``rows`` (shape (n, 20)). A game's cells after p pieces
    are 4 p - 10 lines, so with the pieces or the lines known this gives the other.

    >>> int(cell_counts(np.array([[0] * 19 + [0b1000000001]]))[0])
    2
    """
    return (np.asarray(rows)[:, :, None] >> np.arange(10) & 1).sum(axis=(1, 2))
