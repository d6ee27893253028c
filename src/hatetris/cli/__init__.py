"""The ``hatetris`` command line: the group, shared helpers, and the command modules.

Commands live by group in ``replay`` (replay, encode, decode), ``bench`` (bench engine,
search, starts), ``solve`` (solve, solvers, diagnose) and ``train`` (train, nets).

Every error a user can cause (bad replay, unknown AI or solver, missing or corrupt file)
is reported as one line on stderr with exit status 2, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import __version__
from ..rules import BAR, HEIGHT, WIDTH

AI_NAMES = ("hatetris", "hatetris-mild", "lovetris", "burgiel", "brzustowski")


class UserError(click.ClickException):
    """An error caused by the user's input: one line, exit status 2."""

    exit_code = 2


def _fail(message: str) -> None:
    raise UserError(message)


def draw_well(well: list[int] | tuple[int, ...]) -> str:
    """The well as text: '#' for a cell, '.' for none, a line under the spawn zone.

    >>> print(draw_well([0] * 19 + [0b1000000011]))  # doctest: +ELLIPSIS
    |..........|
    ...
    |##.......#|
    +----------+
    """
    lines = []
    for r in range(HEIGHT):
        cells = "".join("#" if well[r] >> x & 1 else "." for x in range(WIDTH))
        lines.append(f"|{cells}|")
        if r == BAR - 1:
            lines.append("|" + "-" * WIDTH + "|")
    lines.append("+" + "-" * WIDTH + "+")
    return "\n".join(lines)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hatetris")
def cli() -> None:
    """HATETRIS: an exact emulator, replay verifier and search engine."""


def _read_replays(replay: str | None, file: str | None) -> list[str]:
    if (replay is None) == (file is None):
        _fail("give exactly one of REPLAY or --file PATH")
    if file is not None:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except OSError as e:
            _fail(f"cannot read {file}: {e.strerror}")
        except UnicodeDecodeError:
            _fail(f"cannot read {file}: not UTF-8 text")
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            _fail(f"{file}: no replays in file")
        return lines
    return [replay]


def _read_one_game(replay: str | None, file: str | None) -> str:
    """The keys of the one game given as REPLAY or in --file (one replay, or a solution
    file: JSON with a "replay" field, as ``hatetris solve --out`` writes)."""
    if file is not None and replay is None and file.endswith(".json"):
        from ..solution import SolutionError, load_solution

        try:
            return _decode(load_solution(file)["replay"], where=f"{file}: ")
        except SolutionError as e:
            _fail(str(e))
    texts = _read_replays(replay, file)
    if len(texts) != 1:
        _fail(f"{file}: give one replay, not {len(texts)}")
    return _decode(texts[0].strip())


def _decode(text: str, codec: str | None = None, where: str = "") -> str:
    from ..codecs import ReplayError, decode

    try:
        return decode(text, codec)
    except ReplayError as e:
        _fail(f"{where}{e}")



def _start_of(game: str, piece: int | None, option: str = "--from") -> tuple[str, int]:
    """(keys, k) for ``solve --from``: a game that can be continued after its k-th piece."""
    from ..game import replay
    from ..search.tree import game_nodes

    path = Path(game)
    if not path.is_file() and (path.suffix in (".json", ".txt") or "/" in game):
        _fail(f"cannot read {game}: no such file")
    keys = _read_one_game(None, game) if path.is_file() else _read_one_game(game, None)
    if piece is None:
        piece = replay(keys).pieces_placed
    try:
        game_nodes(keys, piece)
    except ValueError as e:
        _fail(f"{option}: {e}")
    return keys, piece


def _write_text(path: str, text: str) -> None:
    from ..atomic import write_text_atomic

    try:
        write_text_atomic(path, text)
    except OSError as e:
        _fail(f"cannot write {path}: {e.strerror}")


def main() -> None:
    try:
        cli.main(standalone_mode=False, prog_name="hatetris")
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("hatetris: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        # Usage errors included: one line, no usage block.
        click.echo(f"hatetris: error: {e.format_message()}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("hatetris: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)


# The command modules register themselves on ``cli``; imported last, as they import it.
from . import bench, replay, solve, train  # noqa: E402,F401
