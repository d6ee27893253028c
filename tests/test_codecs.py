"""Tests for hatetris.codecs: the published records, round trips, and corrupt input."""

from __future__ import annotations

import doctest
import itertools
import json
import os
import re
import time
from pathlib import Path

import base2048
import base65536
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import hatetris.codecs
from hatetris.codecs import CODECS, ReplayError, decode, detect, encode

SHARED = Path(
    os.environ.get("HATETRIS_SHARED") or Path(__file__).resolve().parents[2] / "shared"
)
RECORDS = json.loads((SHARED / "replays" / "records.json").read_text(encoding="utf-8"))
PACKED = ("Base65536", "Base2048")
# The key each codec may append as padding when decoded (see hatetris-rules.md, "Replays").
PAD = {"raw": "", "hex": "D", "Base65536": "L", "Base2048": "L"}
# What the reference game's detection tests for, written out again independently.
RAW_CHARS = frozenset("LRDU")
HEX_CHARS = frozenset("0123456789ABCDEF# ")

by_name = pytest.mark.parametrize("record", RECORDS, ids=[r["name"] for r in RECORDS])
keys_st = st.text(alphabet="LRDU", max_size=300)
# Long runs of one key exercise the split of runs longer than 4.
runs_st = st.lists(st.tuples(st.sampled_from("LRDU"), st.integers(1, 13)), max_size=40).map(
    lambda runs: "".join(k * n for k, n in runs)
)


def reference_bytes(keys: str) -> bytes:
    """The packed bytes, straight from the rules: nybble = key << 2 | run length - 1."""
    nybbles = []
    for key, group in itertools.groupby(keys):
        n = len(list(group))
        while n:
            run = min(n, 4)
            nybbles.append("LRDU".index(key) << 2 | (run - 1))
            n -= run
    if len(nybbles) % 2:
        nybbles.append(0)
    return bytes(16 * nybbles[i] + nybbles[i + 1] for i in range(0, len(nybbles), 2))


def expected_detection(encoded: str, codec: str) -> str:
    """What the reference game's detection makes of ``encoded``: the alphabets overlap."""
    if set(encoded) <= RAW_CHARS:  # the empty string included: no keys, named raw
        return "raw"
    if set(encoded) <= HEX_CHARS:
        return "hex"
    return codec


def test_records_file_is_the_suite():
    # Guard against silently testing nothing (wrong path, emptied file).
    assert len(RECORDS) >= 20
    assert sum("hex" in r["replays"] for r in RECORDS) >= 10
    assert all("Base2048" in r["replays"] for r in RECORDS)


def test_doctests():
    result = doctest.testmod(hatetris.codecs)
    assert result.attempted >= 15 and result.failed == 0


# The published records


@by_name
def test_record_detection(record):
    for codec, replay in record["replays"].items():
        assert detect(replay) == codec
        assert detect(f" \n{replay}\t ") == codec


@by_name
def test_record_encodings_agree(record):
    decoded = {codec: decode(replay) for codec, replay in record["replays"].items()}
    for codec, replay in record["replays"].items():
        assert decode(replay, codec) == decoded[codec]
    # Base65536 and Base2048 hold the same bytes, so the same keys, padding and all.
    if "Base65536" in decoded:
        assert decoded["Base65536"] == decoded["Base2048"]
    # Otherwise one game: a common prefix, then at most one padding key. The packed codecs
    # pad with L, the game's hex encoder with D; but the hex of "Atypical" and "Ivenris"
    # was written by an encoder that paired an odd last key with L (hex digit 4a + 0), so
    # they end in one L the others lack. The game is over by then: the key does nothing.
    common = os.path.commonprefix(list(decoded.values()))
    assert len(common) > 50
    for codec, keys in decoded.items():
        assert keys[len(common) :] in ("", PAD[codec], "L"), codec


@by_name
def test_record_reencodes_exactly(record):
    # The published strings are canonical: re-encoding the decoded keys (padding included)
    # gives them back character for character, hex grouping included. That holds because
    # no record's last real run is an L run of fewer than 4 followed by a pad: such a pad
    # would merge into the run when re-encoded (see test_pad_merges_into_final_l_run).
    for codec, replay in record["replays"].items():
        assert encode(decode(replay), codec) == replay


def test_record_keys_match_rules_oracle():
    # Independent of the module's tables: bytes from the libraries, packing from the rules.
    for record in RECORDS:
        for codec in PACKED:
            if codec in record["replays"]:
                replay = record["replays"][codec]
                library = base65536 if codec == "Base65536" else base2048
                assert library.decode(replay) == reference_bytes(decode(replay))


def test_known_values_from_the_reference_tests():
    # qntm's hatetris-replay-codec.spec.ts
    assert encode("DDDRUD") == "ਹԇ"
    for replay in ("A9E", "𤺤", "ਹԇ", " A9E", "𤺤 ", " ਹԇ "):
        assert decode(replay) == "DDDRUD"


# Round trips


@settings(max_examples=150, deadline=None)
@given(keys=st.one_of(keys_st, runs_st))
@example(keys="")
@example(keys="L")
@example(keys="DDDDDL")
@example(keys="UR")
def test_round_trip(keys):
    data = reference_bytes(keys)
    nybbles = sum(-(-len(list(run)) // 4) for _, run in itertools.groupby(keys))
    for codec in CODECS:
        encoded = encode(keys, codec)
        decoded = decode(encoded, codec)
        if codec == "raw":
            assert encoded == keys and decoded == keys
        elif codec == "hex":
            assert decoded == keys + "D" * (len(keys) % 2)
            groups = encoded.split(" ") if keys else []
            assert all(len(group) == 4 for group in groups[:-1])
            assert all(1 <= len(group) <= 4 for group in groups[-1:])
            assert len(encoded.replace(" ", "")) == (len(keys) + 1) // 2
        else:
            assert decoded == keys + "L" * (nybbles % 2)
            library = base65536 if codec == "Base65536" else base2048
            assert library.decode(encoded) == data
        # Detection follows the reference game, which can misread short strings.
        assert detect(encoded) == expected_detection(encoded, codec)
        if detect(encoded) == codec:
            assert decode(encoded) == decoded


@settings(max_examples=100, deadline=None)
@given(keys=st.one_of(keys_st, runs_st).filter(bool), codec=st.sampled_from(CODECS))
def test_detection_misreads_only_ascii_lookalikes(keys, codec):
    encoded = encode(keys, codec)
    detected = detect(encoded)
    if codec in ("raw", "Base65536"):
        assert detected == codec  # no other format reads L R D U or Base65536's characters
    elif codec == "hex":
        # Only D is both a key and a hex digit, and 5 digits or more have a space.
        assert (detected == "raw") == (set(encoded) == {"D"})
    else:
        # Base2048 holds 8 9 A-Z a-z and (last) 0-7: rarely, all of them keys or hex digits.
        assert (detected == codec) == bool(set(encoded) - HEX_CHARS - RAW_CHARS)


def test_lookalikes():
    # A single L packs to byte 0, which Base2048 writes as "F": a hex digit.
    assert encode("L") == "F"
    assert (detect("F"), decode("F"), decode("F", "Base2048")) == ("hex", "UU", "LL")
    # "UR" is hex digit D, and "DDDD" is raw.
    assert encode("URURURUR", "hex") == "DDDD"
    assert (detect("DDDD"), decode("DDDD"), decode("DDDD", "hex")) == ("raw", "DDDD", "URURURUR")
    assert detect("DDDD D") == "hex"


def test_pad_merges_into_final_l_run():
    # An odd number of runs ending in a short L run: the pad L joins it when decoded.
    assert decode(encode("DDDDDL")) == "DDDDDLL"
    assert encode("DDDDDLL") != encode("DDDDDL")
    # With 4 L the pad is a run of its own, so the round trip is stable.
    assert encode(decode(encode("DLLLL"))) == encode("DLLLL")


def test_empty():
    for codec in CODECS:
        assert encode("", codec) == ""
        assert decode("", codec) == ""
        assert decode(" \n", codec) == ""
    assert detect("") == detect("  \u3000\ufeff") == "raw"
    assert decode("#") == decode(" # # ") == ""


def test_whitespace_is_javascripts():
    # JavaScript's trim() takes U+FEFF and U+3000, but not U+0085 or U+001F.
    assert decode("\ufeff\u3000A9E\u2028") == "DDDRUD"
    for junk in ("\x85", "\x1f"):
        with pytest.raises(ReplayError):
            decode(junk + "A9E")
    with pytest.raises(ReplayError, match="position 3"):
        decode("A9E\x85")


def test_lowercase_hex_is_not_hex():
    # The reference game reads lower case as Base2048 when it can: so do we.
    assert detect("dead") == "Base2048"
    assert decode("dead") != decode("DEAD")
    with pytest.raises(ReplayError, match=r"'a' at position 0 is a lower-case hex digit"):
        decode("a9e")
    with pytest.raises(ReplayError, match=r"'b' at position 6 is a lower-case hex digit"):
        decode("  A9E b", "hex")


def test_explicit_codec_is_enforced():
    with pytest.raises(ReplayError, match=r"'X' at position 3 is not a key"):
        decode("LRDX", "raw")
    with pytest.raises(ReplayError, match=r"'L' at position 0 is not a hex digit"):
        decode("LRDU", "hex")
    with pytest.raises(ReplayError, match="not a Base65536 character"):
        decode("ਹԇ", "Base65536")
    with pytest.raises(ReplayError, match="not a Base2048 character"):
        decode("𤺤", "Base2048")
    with pytest.raises(ValueError, match="unknown codec"):
        decode("LRDU", "base2048")
    with pytest.raises(ValueError, match="unknown codec"):
        encode("LRDU", "Base64")


# Corrupt replays


@by_name
def test_truncated_base2048(record):
    replay = record["replays"]["Base2048"]
    keys = decode(replay)
    for cut in (1, 2, 3):
        short = replay[:-cut]
        try:
            short_keys = decode(short)
        except ReplayError as error:
            assert "truncated Base2048" in str(error)
            continue
        # Accepted only if the cut fell where the remaining bits end on a byte boundary
        # (or with all-1 padding): then it is the canonical encoding of a shorter replay,
        # which nothing can tell from a real one. It must be a prefix of the real game.
        assert detect(short) == "Base2048"
        assert base2048.encode(base2048.decode(short)) == short
        assert keys.startswith(short_keys) and len(short_keys) < len(keys)


def test_truncation_is_caught_for_most_records():
    rejected = 0
    for record in RECORDS:
        try:
            decode(record["replays"]["Base2048"][:-1])
        except ReplayError:
            rejected += 1
    # 13 of the 21 records; the other 8 end where 11 * (n - 1) bits leave all-1 padding.
    assert rejected >= len(RECORDS) // 2


def test_trailing_3_bit_character():
    # base2048 (qntm's and base2048-py alike) accepts a surplus final '7' (3 padding bits)
    # after a string whose padding is already all 1: the reference game reads it, so do we.
    replay = "௨ටໃݹ௨ටໃݹठ"
    assert decode(replay + "7") == decode(replay)
    with pytest.raises(ReplayError, match="truncated Base2048"):
        decode(replay + "0")


OUT_OF_ALPHABET = [" ", "!", "-", "=", "é", "\u200b", "\t", "\ud800", "🙂", "𤺤", "ᔀ"]


@by_name
def test_base2048_with_a_foreign_character(record):
    replay = record["replays"]["Base2048"]
    places = range(1, len(replay) - 1, max(1, len(replay) // 7))
    for i, bad in zip(places, itertools.cycle(OUT_OF_ALPHABET)):
        corrupt = replay[:i] + bad + replay[i + 1 :]
        for codec in (None, "Base2048"):
            with pytest.raises(ReplayError, match=f"at position {i}") as error:
                decode(corrupt, codec)
            assert repr(bad) in str(error.value)


@settings(max_examples=100, deadline=None)
@given(
    record=st.sampled_from(RECORDS),
    where=st.floats(0, 1, exclude_max=True),
    bad=st.sampled_from(OUT_OF_ALPHABET + ["0", "3", "7"]),
)
def test_base2048_corruption_is_rejected(record, where, bad):
    replay = record["replays"]["Base2048"]
    # Neither the first character (a space there is trimmed) nor the last ('0'-'7' may end it).
    i = 1 + int(where * (len(replay) - 2))
    corrupt = replay[:i] + bad + replay[i + 1 :]
    with pytest.raises(ReplayError, match=f"at position {i}"):
        decode(corrupt)


def test_base65536_one_byte_character_must_be_last():
    # base65536 0.1.1 decodes "𤆻ᔀ𤆻"; qntm's (the game's) refuses it, and so must we.
    assert len(base65536.decode("𤆻ᔀ𤆻")) == 5
    assert decode("𤆻ᔀ") == "DDDDDDDDDDDDDDDDLL"
    for codec in (None, "Base65536"):
        with pytest.raises(ReplayError, match=r"'ᔀ' at position 1 can only be the last"):
            decode("𤆻ᔀ𤆻", codec)


def test_mixed_alphabets():
    with pytest.raises(ReplayError, match="not a Base2048 character"):
        decode("௨ටໃݹ𤆻௨ටໃݹठ")
    with pytest.raises(ReplayError, match="not a Base65536 character"):
        decode("𤆻𤆻𤆻ठ𤆻𤆻")
    with pytest.raises(ReplayError, match="'!' at position 4 is not a key, hex digit"):
        decode("LRDU!")


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=30) | st.text(alphabet="LRDU0123456789ABCDEF #abc", max_size=12))
def test_junk_raises_only_replay_error(text):
    try:
        keys = decode(text)
    except ReplayError as error:
        assert str(error).startswith("invalid replay: ")
        assert "\n" not in str(error)
        return
    assert set(keys) <= RAW_CHARS
    # Whatever decodes is a replay in the detected format, and re-encodes to one.
    codec = detect(text)
    assert decode(encode(keys, codec), codec).startswith(keys)


@settings(max_examples=100, deadline=None)
@given(keys=keys_st, bad=st.characters().filter(lambda c: c not in "LRDU"), where=st.integers(0))
def test_encode_rejects_non_keys(keys, bad, where):
    i = where % (len(keys) + 1)
    message = f"character {bad!r} at position {i} is not a key"
    with pytest.raises(ReplayError, match=re.escape(message)):
        encode(keys[:i] + bad + keys[i:], "raw")
    for codec in ("hex", "Base2048"):
        with pytest.raises(ReplayError):
            encode(keys[:i] + bad + keys[i:], codec)


def test_alphabets_come_out_whole():
    # The module derives the alphabets from the libraries; check they came out whole.
    primary, final = hatetris.codecs._base2048_alphabet()
    assert len(primary) == 2048 and final == frozenset("01234567")
    assert not primary & final and {"L", "R", "D", "U", "A", "F", "8", "9", "a", "z"} <= primary
    blocks, final_block = hatetris.codecs._base65536_blocks()
    assert len(blocks) == 256 and final_block == 0x15 and final_block not in blocks


# Speed


def test_speed():
    keys = ("DDDDDDDDDDDDLLLUR" * 1200)[:20000]
    start = time.perf_counter()
    for codec in CODECS:
        assert decode(encode(keys, codec)) in (keys, keys + PAD[codec])
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5, f"{elapsed:.3f} s for 20k keys in every codec"
