"""Numba settings shared by every kernel, in one place (as stumpy does).

``NJIT`` is the option set for hot kernels: compiled once and cached on disk, so a second
process starts in well under a second. Set ``HATETRIS_NUMBA_CACHE=0`` to disable the cache.
"""

from __future__ import annotations

import os

CACHE = os.environ.get("HATETRIS_NUMBA_CACHE", "1") != "0"
NJIT = dict(cache=CACHE, nogil=True, boundscheck=False)
NJIT_PARALLEL = dict(cache=CACHE, nogil=True, boundscheck=False, parallel=True)
