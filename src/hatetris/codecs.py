"""Replay codecs: the four formats the reference HATETRIS game reads.

A replay is the sequence of keys ``L``, ``R``, ``D``, ``U`` from the first spawn,
including keys that did nothing. Here it is a plain ``str`` of those letters.

>>> from hatetris.codecs import decode, detect, encode
>>> encode("DDDRUD")
'ਹԇ'
>>> decode("ਹԇ")
'DDDRUD'
>>> [encode("DDDRUD", codec) for codec in CODECS]
['DDDRUD', 'A9E', '𤺤', 'ਹԇ']
>>> [detect(replay) for replay in ("DDDRUD", "A9E", "𤺤", "ਹԇ")]
['raw', 'hex', 'Base65536', 'Base2048']

Decoding mirrors the reference game (``src/replay-codecs/hatetris-replay-codec.ts``)
exactly: the same strings are accepted, the same are rejected, and the same keys come
out, padding keys included, because the game plays those too. Encoding writes
exactly what the reference game writes (except that hex has no trailing space).

The packed formats (Base65536, Base2048) carry no checksum: a character swapped for
another character of the same alphabet, or a Base2048 string cut at a byte boundary,
is simply a different valid replay. Only what breaks the alphabet or the padding bits
can be caught.
"""

from __future__ import annotations

import functools
import re

import base2048
import base65536

__all__ = ["CODECS", "ReplayError", "decode", "detect", "encode"]

CODECS = ("raw", "hex", "Base65536", "Base2048")
"""Codec names, in the order the reference game tries them when reading a replay."""

KEYS = "LRDU"
"""The keys, in the order of their 2-bit code in the hex and nybble formats."""


class ReplayError(ValueError):
    """A malformed replay: not one of the four formats, or keys other than L R D U."""


# JavaScript's String.prototype.trim() (WhiteSpace and LineTerminator), which is what the
# reference game strips. Python's default strip() differs (\x1c-\x1f, \x85 but no \ufeff).
_JS_WHITESPACE = (
    "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)

# The reference game's own tests for raw and hex. Both need at least one character, so
# the game sends an empty replay on to Base65536, which decodes it to no keys.
# Upper case only: a lower-case "a" is a Base2048 character, and the game reads it so.
_RAW_RE = re.compile(r"[LRDU]+")
_HEX_RE = re.compile(r"[0-9A-F# ]+")
_NOT_KEY_RE = re.compile(r"[^LRDU]")
_NOT_HEX_RE = re.compile(r"[^0-9A-F# ]")

_HEX_DIGITS = "0123456789ABCDEF"
# Hex: digit = 4 * a + b for the key pair (a, b); characters other than digits are skipped.
_HEX_TO_KEYS = str.maketrans(
    {d: KEYS[i >> 2] + KEYS[i & 3] for i, d in enumerate(_HEX_DIGITS)} | {" ": None, "#": None}
)
_PAIR_TO_HEX = {KEYS[i >> 2] + KEYS[i & 3]: d for i, d in enumerate(_HEX_DIGITS)}
_PAIR_RE = re.compile(r"..")

# Run-length nybbles: high 2 bits the key, low 2 bits the run length - 1. The reference
# encoder extends a run until it holds 4 keys, then starts a new one, which is exactly a
# greedy regex match of 1 to 4 equal keys.
_RUN_RE = re.compile(r"L{1,4}|R{1,4}|D{1,4}|U{1,4}")
_RUN_TO_NYBBLE = {k * n: i << 2 | (n - 1) for i, k in enumerate(KEYS) for n in range(1, 5)}
_NYBBLE_TO_RUN = [KEYS[n >> 2] * ((n & 3) + 1) for n in range(16)]
# A byte holds two nybbles, the first one in the high half: decode a byte in one lookup.
_BYTE_TO_KEYS = [_NYBBLE_TO_RUN[b >> 4] + _NYBBLE_TO_RUN[b & 15] for b in range(256)]


def detect(text: str) -> str:
    """Name the codec the reference game would read ``text`` with.

    Surrounding white space is ignored. Then: only keys is ``"raw"``; only upper-case hex
    digits, spaces and ``#`` is ``"hex"``; otherwise ``"Base65536"`` if it decodes as such,
    else ``"Base2048"`` if it decodes as such, else :class:`ReplayError`.

    >>> detect("LLRRDU"), detect("032A AAAA"), detect("𤆻𡚻"), detect("௨ටໃݹ௨ටໃݹठ")
    ('raw', 'hex', 'Base65536', 'Base2048')

    Lower-case hex is not hex: the reference game reads it as Base2048, whose alphabet
    holds ``8``, ``9``, ``A-Z`` and ``a-z`` (and ``0-7`` as final characters). So a
    short Base2048 string can look like hex or raw, and is then read as such:

    >>> detect("dead"), encode("L"), detect(encode("L"))
    ('Base2048', 'F', 'hex')

    An empty replay (or only white space) is no keys, which every codec writes as ``""``;
    it is named ``"raw"``, as the rule "only keys" says. (The reference game, whose raw
    test needs at least one key, gets the same empty replay from its Base65536 decoder.)

    >>> detect("  ")
    'raw'
    >>> detect("hello world")
    Traceback (most recent call last):
    ...
    hatetris.codecs.ReplayError: invalid replay: character ' ' at position 5 is not a Base2048 character
    """
    return _detect(*_trim(text))[0]


def decode(text: str, codec: str | None = None) -> str:
    """Decode a replay to its keys, padding keys included, as the reference game does.

    With ``codec=None`` the codec is the one :func:`detect` names. With a codec the text
    must be in that format (surrounding white space ignored); that is how to read a short
    Base2048 string that looks like hex or raw.

    >>> decode("A9E"), decode(" 𤺤 "), decode("ਹԇ\\n"), decode("DDDRUD")
    ('DDDRUD', 'DDDRUD', 'DDDRUD', 'DDDRUD')
    >>> decode("F"), decode("F", "Base2048")
    ('UU', 'LL')

    Padding comes out as keys: hex gives an even number of keys, the packed formats an
    even number of runs (one extra ``L`` if the encoder padded):

    >>> decode(encode("DDD", "hex")), decode(encode("DDD", "Base2048"))
    ('DDDD', 'DDDL')

    Anything the reference game would refuse raises :class:`ReplayError`:

    >>> decode("௨ටໃݹ௨ටໃ")
    Traceback (most recent call last):
    ...
    hatetris.codecs.ReplayError: invalid replay: truncated Base2048 (the last character's padding bits are not all 1)
    >>> decode("LRDX", "raw")
    Traceback (most recent call last):
    ...
    hatetris.codecs.ReplayError: invalid replay: character 'X' at position 3 is not a key (L, R, D, U)
    """
    s, offset = _trim(text)
    if codec is None:
        return _detect(s, offset)[1]
    if codec == "raw":
        bad = _NOT_KEY_RE.search(s)
        if bad:
            raise _char_error(s, offset, bad.start(), "is not a key (L, R, D, U)")
        return s
    if codec == "hex":
        bad = _NOT_HEX_RE.search(s)
        if bad:
            raise _lowercase_hex_error(s, offset) or _char_error(
                s, offset, bad.start(), "is not a hex digit (0-9, A-F), space or '#'"
            )
        return s.translate(_HEX_TO_KEYS)
    if codec == "Base65536" or codec == "Base2048":
        keys = _decode_packed(s, codec)
        if keys is None:
            raise _packed_error(s, offset, codec)
        return keys
    raise _codec_error(codec)


def encode(keys: str, codec: str = "Base2048") -> str:
    """Encode keys as the reference game would (Base2048 by default).

    Base65536 and Base2048 run-length encode the keys, up to 4 equal keys per nybble, and
    pad an odd number of nybbles with one ``L`` nybble. Hex writes a digit per pair of keys,
    an odd last key paired with ``D``, in groups of 4 digits. Raw is the keys themselves.

    >>> encode("DDDDDDDDDDL")
    '௧ࡕ'
    >>> encode("DDDDDDDDDDL", "hex")
    'AAAA A2'
    >>> encode("LRDU", "raw")
    'LRDU'
    >>> encode("")
    ''

    Since the pad is an ``L`` run, a replay ending in fewer than 4 ``L`` gains one ``L``
    that merges with that run when decoded, so re-encoding the decoded keys pads again:

    >>> decode(encode("DDDDDL")), encode(decode(encode("DDDDDL"))) == encode("DDDDDL")
    ('DDDDDLL', False)
    >>> encode("LRDD ", "hex")
    Traceback (most recent call last):
    ...
    hatetris.codecs.ReplayError: invalid keys: character ' ' at position 4 is not a key (L, R, D, U)
    """
    bad = _NOT_KEY_RE.search(keys)
    if bad:
        i = bad.start()
        raise ReplayError(
            f"invalid keys: character {keys[i]!r} at position {i} is not a key (L, R, D, U)"
        )
    if codec == "raw":
        return keys
    if codec == "hex":
        if len(keys) % 2:
            keys += "D"
        digits = "".join([_PAIR_TO_HEX[pair] for pair in _PAIR_RE.findall(keys)])
        return " ".join([digits[i : i + 4] for i in range(0, len(digits), 4)])
    if codec == "Base65536" or codec == "Base2048":
        nybbles = [_RUN_TO_NYBBLE[run] for run in _RUN_RE.findall(keys)]
        if len(nybbles) % 2:
            nybbles.append(0)  # one 'L' run: a byte cannot hold half a byte
        data = bytes([hi << 4 | lo for hi, lo in zip(nybbles[::2], nybbles[1::2])])
        return base65536.encode(data) if codec == "Base65536" else base2048.encode(data)
    raise _codec_error(codec)


# Internals


def _trim(text: str) -> tuple[str, int]:
    """``text`` without surrounding white space, and where it starts in ``text``."""
    s = text.lstrip(_JS_WHITESPACE)
    return s.rstrip(_JS_WHITESPACE), len(text) - len(s)


def _detect(s: str, offset: int) -> tuple[str, str]:
    """(codec, keys) of the trimmed replay ``s`` found at ``offset`` in the caller's text."""
    if not s:
        return "raw", ""
    if _RAW_RE.fullmatch(s):
        return "raw", s
    if _HEX_RE.fullmatch(s):
        return "hex", s.translate(_HEX_TO_KEYS)
    for codec in ("Base65536", "Base2048"):
        keys = _decode_packed(s, codec)
        if keys is not None:
            return codec, keys
    raise _undetectable_error(s, offset)


def _decode_packed(s: str, codec: str) -> str | None:
    """Keys of a Base65536 or Base2048 string, None if it is not one."""
    if codec == "Base65536" and _base65536_final_re().search(s, 0, len(s) - 1):
        # base65536 0.1.1 only refuses a second one-byte character, so "𤆻ᔀ𤆻" would
        # decode to 3 bytes; qntm's decoder (the game's) refuses anything after it.
        return None
    try:
        # Both libraries check the alphabet, and base2048-py the padding bits and the
        # place of the 3-bit characters, as qntm's do. They raise ValueError, nothing
        # else: tests/test_codecs.py throws arbitrary text at them.
        data = base65536.decode(s) if codec == "Base65536" else base2048.decode(s)
    except ValueError:
        return None
    return "".join([_BYTE_TO_KEYS[b] for b in data])


@functools.cache
def _base65536_final_re() -> re.Pattern[str]:
    """Matches the characters Base65536 uses for a lone last byte."""
    start = _base65536_blocks()[1] << 8
    return re.compile(f"[{chr(start)}-{chr(start + 255)}]")


@functools.cache
def _base65536_blocks() -> tuple[frozenset[int], int]:
    """Base65536's 256 blocks of 256 code points (code point >> 8), and its final block.

    A character is byte b1 + the block of byte b2; a lone last byte uses the final block.
    Taken from the library rather than written down again.
    """
    blocks = frozenset(ord(base65536.encode(bytes((0, b)))) >> 8 for b in range(256))
    return blocks, ord(base65536.encode(b"\0")) >> 8


@functools.cache
def _base2048_alphabet() -> tuple[frozenset[str], frozenset[str]]:
    """Base2048's 2048 characters of 11 bits and its 8 final-only characters of 3 bits."""
    # The first character of 2 bytes is their top 11 bits; 10 bytes = 7 * 11 + 3 bits end
    # with a 3-bit character holding the last 3 bits.
    primary = frozenset(base2048.encode(bytes((z >> 3, (z & 7) << 5)))[0] for z in range(2048))
    final = frozenset(base2048.encode(bytes(9) + bytes((z,)))[-1] for z in range(8))
    return primary, final


def _in_alphabet(ch: str, codec: str) -> bool:
    if codec == "Base65536":
        blocks, final = _base65536_blocks()
        block = ord(ch) >> 8
        return block in blocks or block == final
    primary, final = _base2048_alphabet()
    return ch in primary or ch in final


def _final_only(ch: str, codec: str) -> bool:
    if codec == "Base65536":
        return ord(ch) >> 8 == _base65536_blocks()[1]
    return ch in _base2048_alphabet()[1]


def _char_error(s: str, offset: int, i: int, why: str) -> ReplayError:
    """Blame character ``i`` of ``s``, giving its position in the caller's text."""
    return ReplayError(f"invalid replay: character {s[i]!r} at position {offset + i} {why}")


def _lowercase_hex_error(s: str, offset: int) -> ReplayError | None:
    """The error for hex written in lower case, the likeliest cause when it does not decode."""
    upper = s.translate(_UPPER_HEX)  # not str.upper(): "ﬀ".upper() == "FF"
    if upper == s or not _HEX_RE.fullmatch(upper):
        return None
    i = next(i for i, ch in enumerate(s) if ch in "abcdef")
    return _char_error(s, offset, i, "is a lower-case hex digit: hex must be upper case")


_UPPER_HEX = str.maketrans("abcdef", "ABCDEF")


def _packed_error(s: str, offset: int, codec: str) -> ReplayError:
    """Why the library refused ``s`` as ``codec``: the first offending character, else padding."""
    last = len(s) - 1
    for i, ch in enumerate(s):
        if not _in_alphabet(ch, codec):
            return _char_error(s, offset, i, f"is not a {codec} character")
        if i != last and _final_only(ch, codec):
            return _char_error(s, offset, i, f"can only be the last character of {codec}")
    # Every character is fine, so the bits after the last whole byte are not all 1: most
    # likely a string cut short. (Base65536 characters hold whole bytes: never there.)
    return ReplayError(
        f"invalid replay: truncated {codec} (the last character's padding bits are not all 1)"
    )


def _undetectable_error(s: str, offset: int) -> ReplayError:
    """Why ``s`` is none of the four formats."""
    lowercase = _lowercase_hex_error(s, offset)
    if lowercase:
        return lowercase
    for i, ch in enumerate(s):
        if ch in "# " or _in_alphabet(ch, "Base65536") or _in_alphabet(ch, "Base2048"):
            continue
        # Keys and hex digits are all Base2048 characters, so this fits no format at all.
        return _char_error(s, offset, i, "is not a key, hex digit, Base65536 or Base2048 character")
    # Every character belongs somewhere: blame the packed format most of the text is in.
    in_65536 = sum(_in_alphabet(ch, "Base65536") for ch in s)
    in_2048 = sum(_in_alphabet(ch, "Base2048") for ch in s)
    return _packed_error(s, offset, "Base65536" if in_65536 > in_2048 else "Base2048")


def _codec_error(codec: object) -> ValueError:
    # A wrong codec name is a programming error, not a malformed replay.
    return ValueError(f"unknown codec {codec!r}: expected one of {', '.join(CODECS)}")
