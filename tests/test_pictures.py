"""Well pictures: the PNG writer against an independent decoder, and cells where they belong."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from hatetris.pictures import (
    BORDER,
    CELL,
    EMPTY,
    FILLED,
    GAP,
    LAST_PIECE,
    MAX_STRIP,
    SPAWN_ZONE,
    parse_piece_range,
    png_bytes,
    read_png,
    strip_image,
    well_image,
    write_png,
)
from hatetris.rules import BAR, HEIGHT, WIDTH


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_png_bytes_decode_to_the_same_pixels(h, w, seed):
    rgb = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    data = png_bytes(rgb)
    with Image.open(io.BytesIO(data)) as image:  # Pillow, an independent decoder
        image.load()
        assert image.mode == "RGB" and image.size == (w, h)
        assert np.array_equal(np.asarray(image), rgb)
    assert np.array_equal(read_png(data), rgb)


def test_png_rejects_non_images_and_corruption():
    with pytest.raises(ValueError):
        png_bytes(np.zeros((3, 3), np.uint8))
    data = bytearray(png_bytes(np.zeros((2, 2, 3), np.uint8)))
    data[20] ^= 1  # inside IHDR: the CRC no longer matches
    with pytest.raises(ValueError, match="CRC"):
        read_png(bytes(data))


def _cell(image, r, x, cell=CELL):
    """The colour at the centre of well cell (row r, column x)."""
    return tuple(image[(BORDER + r) * cell + cell // 2, (BORDER + x) * cell + cell // 2])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 1023), min_size=HEIGHT, max_size=HEIGHT))
def test_every_cell_is_drawn_where_it_is(rows):
    image = well_image(rows)
    assert image.shape == ((HEIGHT + 2 * BORDER) * CELL, (WIDTH + 2 * BORDER) * CELL, 3)
    for r in range(HEIGHT):
        for x in range(WIDTH):
            want = FILLED if rows[r] >> x & 1 else (SPAWN_ZONE if r < BAR else EMPTY)
            assert _cell(image, r, x) == want, (r, x)


def test_the_last_piece_is_highlighted_only_without_a_clear():
    before = [0] * 19 + [0b0111111110]
    after = list(before)
    after[17] = 0b0000000001  # an L: one cell in row 17, three in row 18
    after[18] = 0b0000000111
    image = well_image(after, before)
    new = {(17, 0), (18, 0), (18, 1), (18, 2)}  # (row, column)
    for r in range(HEIGHT):
        for x in range(WIDTH):
            if (r, x) in new:
                assert _cell(image, r, x) == LAST_PIECE
            elif after[r] >> x & 1:
                assert _cell(image, r, x) == FILLED
    cleared = well_image([0] * 19 + [0b11], [0] * 19 + [0b0111111111])  # cells vanished
    assert LAST_PIECE not in {tuple(p) for p in cleared.reshape(-1, 3)}


def test_a_strip_puts_each_well_in_its_place():
    wells = [[0] * (HEIGHT - 1) + [1 << (i % WIDTH)] for i in range(23)]
    strip = strip_image(wells, per_row=10, cell=4)
    h, w, _ = well_image(wells[0], cell=4).shape
    assert strip.shape == (3 * h + 4 * GAP, 10 * w + 11 * GAP, 3)
    for i, well in enumerate(wells):
        r, c = divmod(i, 10)
        y, x = GAP + r * (h + GAP), GAP + c * (w + GAP)
        panel = strip[y:y + h, x:x + w]
        previous = None if i == 0 else wells[i - 1]
        assert np.array_equal(panel, well_image(well, previous, cell=4)), i
    with pytest.raises(ValueError, match="at most"):
        strip_image([[0] * HEIGHT] * (MAX_STRIP + 1))
    with pytest.raises(ValueError, match="no wells"):
        strip_image([])


def test_write_png_round_trips(tmp_path):
    image = strip_image([[0] * 19 + [0b1111], [0] * 19 + [0b11110000]])
    path = tmp_path / "sub" / "w.png"
    write_png(str(path), image)
    assert np.array_equal(read_png(path.read_bytes()), image)


@pytest.mark.parametrize("text, pieces, want", [
    ("0:1", 1, (0, 1)), ("3:", 10, (3, 10)), (":4", 10, (0, 4)), (" 2 : 5 ", 10, (2, 5))])
def test_piece_ranges(text, pieces, want):
    assert parse_piece_range(text, pieces) == want


@pytest.mark.parametrize("text", ["5", "a:b", "4:4", "-1:3", "0:11", "7:2"])
def test_bad_piece_ranges(text):
    with pytest.raises(ValueError, match="--pieces"):
        parse_piece_range(text, 10)
