"""Numba settings shared by every kernel, in one place (as stumpy does).

``NJIT`` is the option set for hot kernels: compiled once and cached on disk, so a second
process starts in well under a second. Set ``HATETRIS_NUMBA_CACHE=0`` to disable the cache.

Numba invalidates a cached kernel when its own source file changes, not when a kernel it
calls (and compiles into itself) from another file does: after an update that changed only
``engine.py``, the beam's cached kernels would still run the old engine. So the cache is
kept per version of the whole package: :func:`refresh_kernel_cache` drops every cached
kernel when any of the package's sources differs from the ones they were compiled from.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .atomic import write_text_atomic

CACHE = os.environ.get("HATETRIS_NUMBA_CACHE", "1") != "0"
NJIT = dict(cache=CACHE, nogil=True, boundscheck=False)
NJIT_PARALLEL = dict(cache=CACHE, nogil=True, boundscheck=False, parallel=True)

PACKAGE = Path(__file__).resolve().parent
STAMP = "kernel-sources.sha256"


def source_digest(root: Path) -> str:
    """sha256 over the names and contents of every ``.py`` file under ``root``."""
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def refresh_kernel_cache(root: Path = PACKAGE) -> bool:
    """Remove the cached kernels under ``root`` if its sources changed since they were
    compiled (a stamp in ``root/__pycache__`` records the digest). True if it removed
    them. A read-only install is left as it is."""
    stamp = root / "__pycache__" / STAMP
    try:
        digest = source_digest(root)
        if stamp.is_file() and stamp.read_text() == digest:
            return False
        for pattern in ("*.nbi", "*.nbc"):
            for path in root.rglob(pattern):
                path.unlink(missing_ok=True)
        write_text_atomic(stamp, digest)
    except OSError:
        return False
    return True


if CACHE:
    refresh_kernel_cache()
