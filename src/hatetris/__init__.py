"""hatetris: an exact, fast HATETRIS emulator and search engine.

The Python API in a few lines (each name is imported on first use, so ``import hatetris``
stays fast and compiles nothing):

>>> import hatetris
>>> result = hatetris.replay("ѻටՀݹ३ටර0")       # any codec: raw, hex, Base65536, Base2048
>>> result.score, result.pieces_placed, result.pieces
(0, 3, 'SSSS')
>>> hatetris.decode(hatetris.encode("LLDD", "hex"))
'LLDD'
>>> game = hatetris.Game().play("D" * 18)     # a game in progress, key by key
>>> game.pieces_placed, game.piece
(1, 'S')
>>> solution = hatetris.solve("quick", width=5, max_depth=4)
>>> solution["pieces"], hatetris.replay(solution["replay"]).pieces_placed
(4, 4)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["CODECS", "Game", "ReplayError", "ReplayResult", "decode", "encode", "replay",
           "solve", "__version__"]

# public name -> module that defines it
# (``solve`` is the module hatetris.solve, which is callable: its function ``solve``.)
_LAZY = {"solve": "solve", "Game": "game", "ReplayResult": "game", "CODECS": "codecs",
         "ReplayError": "codecs", "decode": "codecs", "encode": "codecs"}

if TYPE_CHECKING:
    from .codecs import CODECS, ReplayError, decode, encode
    from .game import Game, ReplayResult
    from .solve import solve


def replay(text: str, ai: str = "hatetris") -> "ReplayResult":
    """Play a replay string (any codec, detected) from the empty well under adversary
    ``ai``; the result has ``score``, ``pieces_placed``, ``game_over``, ``pieces``,
    ``final_well`` and ``moves``. Raises :class:`ReplayError` for a string that is no
    replay."""
    from .codecs import decode
    from .game import replay as play

    return play(decode(text), ai)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        value = module if name == "solve" else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hatetris' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
