"""Wells as pictures: a well, or a strip of wells, as a PNG image.

The PNG writer is the format's minimum (one IHDR, one zlib-compressed IDAT, IEND; 8-bit
RGB, no filtering), so drawing wells needs nothing beyond numpy and the standard library.

>>> image = well_image([0] * 19 + [0b0111111110])
>>> image.shape, image.dtype.name
((176, 96, 3), 'uint8')
>>> png_bytes(image)[:8]
b'\\x89PNG\\r\\n\\x1a\\n'
"""

from __future__ import annotations

import struct
import zlib
from typing import Sequence

import numpy as np

from .atomic import write_atomic
from .rules import BAR, HEIGHT, WIDTH

CELL = 8  # pixels per cell side
BORDER = 1  # cells of frame around a well
GAP = 6  # pixels between wells in a strip
MAX_STRIP = 2000  # wells in one strip; a longer range is an error, not a huge file

BACKGROUND = (255, 255, 255)
FRAME = (90, 90, 90)
EMPTY = (24, 24, 32)
SPAWN_ZONE = (52, 44, 60)
FILLED = (160, 170, 185)
LAST_PIECE = (240, 150, 40)
BAR_LINE = (200, 60, 60)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_bytes(rgb: np.ndarray) -> bytes:
    """An 8-bit RGB image (uint8 array of shape (height, width, 3)) as PNG file bytes."""
    rgb = np.ascontiguousarray(rgb, np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"an image is (height, width, 3), not {rgb.shape}")
    h, w, _ = rgb.shape
    raw = np.zeros((h, 1 + 3 * w), np.uint8)  # each scanline: filter type 0, then pixels
    raw[:, 1:] = rgb.reshape(h, 3 * w)
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw.tobytes(), 9)) + _chunk(b"IEND", b""))


def write_png(path: str, rgb: np.ndarray) -> None:
    """Write ``rgb`` as a PNG file, atomically."""
    data = png_bytes(rgb)
    write_atomic(path, lambda f: f.write(data), mode="wb")


def read_png(data: bytes) -> np.ndarray:
    """The pixels of a PNG that :func:`png_bytes` wrote (for tests and round trips).

    Reads 8-bit RGB images with filter type 0 only; raises ValueError on anything else.
    """
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat, size = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise ValueError(f"bad CRC in chunk {kind!r}")
        if kind == b"IHDR":
            w, h, depth, color, *_ = struct.unpack(">IIBBBBB", body)
            if (depth, color) != (8, 2):
                raise ValueError("only 8-bit RGB is read")
            size = (h, w)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    if size is None:
        raise ValueError("no IHDR chunk")
    h, w = size
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + 3 * w)
    if raw[:, 0].any():
        raise ValueError("only filter type 0 is read")
    return raw[:, 1:].reshape(h, w, 3).copy()


def _cells(well: Sequence[int]) -> np.ndarray:
    rows = np.asarray([int(v) for v in well], np.int64)
    if rows.shape != (HEIGHT,):
        raise ValueError(f"a well has {HEIGHT} rows, not {rows.shape[0]}")
    return (rows[:, None] >> np.arange(WIDTH) & 1).astype(bool)


def well_image(well: Sequence[int], previous: Sequence[int] | None = None,
               cell: int = CELL) -> np.ndarray:
    """A well as an RGB image: filled cells grey, the spawn zone (rows 0-3) tinted, a red
    line under it. With ``previous`` (the well before the last piece) and no line cleared
    since, the last piece's four cells are orange."""
    filled = _cells(well)
    grid = np.empty((HEIGHT + 2 * BORDER, WIDTH + 2 * BORDER, 3), np.uint8)
    grid[:] = FRAME
    inner = grid[BORDER:BORDER + HEIGHT, BORDER:BORDER + WIDTH]
    inner[:] = EMPTY
    inner[:BAR] = SPAWN_ZONE
    inner[filled] = FILLED
    if previous is not None:
        before = _cells(previous)
        new = filled & ~before
        if new.sum() == 4 and not (before & ~filled).any():  # no clear: the piece is visible
            inner[new] = LAST_PIECE
    image = np.repeat(np.repeat(grid, cell, axis=0), cell, axis=1)
    y = (BORDER + BAR) * cell
    image[y - 1:y + 1, BORDER * cell:(BORDER + WIDTH) * cell] = BAR_LINE
    # A thin dark grid between cells keeps single cells countable.
    if cell >= 4:
        rows = slice(BORDER * cell, (BORDER + HEIGHT) * cell)
        cols = slice(BORDER * cell, (BORDER + WIDTH) * cell)
        image[rows.start:rows.stop:cell, cols] //= 2
        image[rows, cols.start:cols.stop:cell] //= 2
    return image


def strip_image(wells: Sequence[Sequence[int]], previous: Sequence[int] | None = None,
                per_row: int = 20, cell: int = CELL) -> np.ndarray:
    """Wells side by side, ``per_row`` to a row, in order (left to right, then down).

    ``previous`` is the well before the first one; each later well's predecessor is the
    well before it in the strip, so every piece placed is highlighted (see
    :func:`well_image`).
    """
    n = len(wells)
    if n == 0:
        raise ValueError("no wells to draw")
    if n > MAX_STRIP:
        raise ValueError(f"at most {MAX_STRIP} wells in one picture, not {n}")
    if per_row < 1:
        raise ValueError("per_row must be at least 1")
    images = [well_image(w, previous if i == 0 else wells[i - 1], cell)
              for i, w in enumerate(wells)]
    h, w, _ = images[0].shape
    cols = min(n, per_row)
    rows = (n + cols - 1) // cols
    out = np.empty((rows * h + (rows + 1) * GAP, cols * w + (cols + 1) * GAP, 3), np.uint8)
    out[:] = BACKGROUND
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        y, x = GAP + r * (h + GAP), GAP + c * (w + GAP)
        out[y:y + h, x:x + w] = image
    return out


def parse_piece_range(text: str, pieces: int) -> tuple[int, int]:
    """``A:B`` (pieces A+1..B, as a Python slice of the wells after each piece; either side
    may be empty) as a checked (start, stop) within a game of ``pieces`` pieces.

    >>> parse_piece_range("10:20", 100), parse_piece_range(":5", 100), parse_piece_range("95:", 100)
    ((10, 20), (0, 5), (95, 100))
    """
    a, sep, b = text.partition(":")
    if not sep:
        raise ValueError(f"--pieces {text!r}: give A:B (the wells after pieces A+1 to B)")
    try:
        start = int(a) if a.strip() else 0
        stop = int(b) if b.strip() else pieces
    except ValueError:
        raise ValueError(f"--pieces {text!r}: A and B are piece counts") from None
    if not 0 <= start < stop <= pieces:
        raise ValueError(f"--pieces {text!r}: need 0 <= A < B <= {pieces} (pieces placed)")
    return start, stop
