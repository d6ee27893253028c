"""What a beam of a given width costs in memory, checked before a search starts.

A beam step holds every child of the beam at once (rows, score, move, parent, hash,
dedupe table, value, and the quiescence level's children), and the node store holds the
kept wells of the lineages still alive. Both grow with the width; the estimate below is
per unit of width, measured on this project's presets (see ``docs/speed.md``), rounded up.

>>> estimate_beam_bytes(1000) < estimate_beam_bytes(2000)
True
>>> check_width(10**9, available=24 * 2**30)
Traceback (most recent call last):
...
hatetris.search.memory.WidthError: width 1,000,000,000 needs about 8,382 GB of memory; this machine has 24 GB available (at most width 2,816,708)
"""

from __future__ import annotations

import os

# Bytes per unit of width: peak RSS over width measured 6 KB (quick, width 20,000) and
# 8 KB (nnue-beam, width 100,000) with a pruning store (docs/speed.md),
# with headroom: children (about 14 to 34 per well) and their buffers dominate.
BYTES_PER_WIDTH = 9000
BASE_BYTES = 400 * 2**20  # the interpreter, numba, kernels and a network


class WidthError(ValueError):
    """A requested beam width that cannot fit in this machine's memory."""


def estimate_beam_bytes(width: int) -> int:
    """Estimated peak memory of a beam search of ``width`` wells, in bytes."""
    return BASE_BYTES + BYTES_PER_WIDTH * int(width)


def available_bytes() -> int:
    """Memory this process could use now: MemAvailable, else physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 1 << 62


def max_width(available: int | None = None) -> int:
    """The widest beam the estimate lets fit in ``available`` bytes."""
    available = available_bytes() if available is None else available
    return max(1, (available - BASE_BYTES) // BYTES_PER_WIDTH)


def check_width(width: int, available: int | None = None) -> None:
    """Raise :class:`WidthError` (one line) if ``width`` cannot fit in memory."""
    available = available_bytes() if available is None else available
    need = estimate_beam_bytes(width)
    if need > available:
        raise WidthError(f"width {width:,} needs about {need / 2**30:,.0f} GB of memory; "
                         f"this machine has {available / 2**30:,.0f} GB available "
                         f"(at most width {max_width(available):,})")
