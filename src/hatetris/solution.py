"""Solution records: a found game as JSON, re-verified by replaying it from scratch.

A solution counts only after its replay string, decoded and played by the emulator
from the empty well, gives exactly the claimed score and piece count.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import __version__
from .atomic import write_json_atomic
from .codecs import ReplayError, decode, encode
from .game import ReplayResult, replay


class SolutionError(ValueError):
    """A solution whose replay does not give what it claims, or an unreadable file."""


def verify(replay_text: str, score: int, pieces: int | None = None,
           ai: str = "hatetris") -> ReplayResult:
    """Replay ``replay_text`` from the empty well; raise unless it scores ``score``."""
    try:
        result = replay(decode(replay_text), ai)
    except ReplayError as e:
        raise SolutionError(str(e)) from None
    if result.score != score or (pieces is not None and result.pieces_placed != pieces):
        raise SolutionError(f"replay gives {result.score} lines in {result.pieces_placed} "
                            f"pieces, the solution claims {score} lines in {pieces} pieces")
    return result


def make_solution(keys: str, claimed_score: int, claimed_pieces: int, **fields: Any) -> dict:
    """A solution record for ``keys``, verified before it is returned."""
    text = encode(keys)
    verify(text, claimed_score, claimed_pieces)
    return {"score": claimed_score, "pieces": claimed_pieces, "replay": text,
            "engine_version": __version__, **fields}


def save_solution(path: str | Path, solution: dict) -> None:
    write_json_atomic(path, solution)


def load_solution(path: str | Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SolutionError(f"cannot read solution {path}: {e}") from None
    if not isinstance(data, dict) or not {"score", "replay"} <= set(data):
        raise SolutionError(f"{path}: not a solution (needs 'score' and 'replay')")
    return data
