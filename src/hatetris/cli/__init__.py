"""The ``hatetris`` command line: the group, shared helpers, and the command modules.

Commands live by group in ``replay`` (replay, encode, decode), ``bench`` (bench engine,
search, starts), ``solve`` (solve, solvers, diagnose), ``train`` (train, nets) and
``watch``. Wherever a command reads a game it accepts a replay string (any codec), a
file holding one, a solution JSON, or ``-`` for standard input (:func:`_read_replays`).

Every error a user can cause (bad replay, unknown AI or solver, missing or corrupt file)
is reported as one line on stderr with exit status 2, never a traceback.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import click

from .. import __version__

AI_NAMES = ("hatetris", "hatetris-mild", "lovetris", "burgiel", "brzustowski")


class UserError(click.ClickException):
    """An error caused by the user's input: one line, exit status 2."""

    exit_code = 2


def _fail(message: str) -> None:
    raise UserError(message)


def draw_well(well: list[int] | tuple[int, ...]) -> str:
    """The well as text (:func:`hatetris.game.draw_well`)."""
    from ..game import draw_well as draw

    return draw(well)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hatetris")
def cli() -> None:
    """HATETRIS: an exact emulator, replay verifier and search engine."""


def _read_source(source: str) -> str:
    """The text of a file, or of standard input for ``-``: one line and exit 2 if it
    cannot be read or is not UTF-8."""
    name = "standard input" if source == "-" else source
    try:
        if source == "-":
            data = getattr(sys.stdin, "buffer", sys.stdin).read()
            return data if isinstance(data, str) else data.decode("utf-8")
        return Path(source).read_text(encoding="utf-8")
    except OSError as e:
        _fail(f"cannot read {name}: {e.strerror}")
    except UnicodeDecodeError:
        _fail(f"cannot read {name}: not UTF-8 text")


def _replays_in(text: str, name: str) -> list[str]:
    """The replays a file holds: a solution JSON (its "replay", as ``hatetris solve --out``
    writes), else one replay per non-empty line."""
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            _fail(f"{name}: not a solution JSON ({e})")
        if not isinstance(data, dict) or not isinstance(data.get("replay"), str):
            _fail(f"{name}: not a solution (needs a 'replay' string)")
        return [data["replay"]]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        _fail(f"{name}: no replays in it")
    return lines


def _is_file(text: str) -> bool:
    """True if ``text`` names an existing file (a long replay string is never one)."""
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False


def _looks_like_path(game: str) -> bool:
    # Replay strings (raw keys, hex, Base65536, Base2048) never hold '/' or end in these.
    return "/" in game or Path(game).suffix in (".json", ".txt")


def _read_replays(replay: str | None, file: str | None) -> list[str]:
    """The replay strings a command was given: REPLAY (a replay, a file, or ``-``), or
    ``--file PATH`` (``-`` too): a file of replays, one per line, or a solution JSON."""
    if (replay is None) == (file is None):
        _fail("give exactly one of REPLAY or --file PATH")
    if file is not None:
        return _replays_in(_read_source(file), "standard input" if file == "-" else file)
    if replay == "-":
        return _replays_in(_read_source("-"), "standard input")
    if not replay.strip():
        _fail("empty replay: give a replay string, a file, or - for standard input")
    if _is_file(replay):
        return _replays_in(_read_source(replay), replay)
    if _looks_like_path(replay):
        _fail(f"cannot read {replay}: no such file")
    return [replay]


def _read_one_game(replay: str | None, file: str | None) -> str:
    """The keys of the one game given as REPLAY or in --file: a replay string, a file with
    one replay, a solution JSON, or ``-`` for any of these on standard input."""
    texts = _read_replays(replay, file)
    name = file or replay
    if len(texts) != 1:
        _fail(f"{'standard input' if name == '-' else name}: give one replay, "
              f"not {len(texts)}")
    where = "" if file is None and not _is_file(replay) and replay != "-" else (
        f"{'standard input' if name == '-' else name}: ")
    return _decode(texts[0], where=where)


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

    keys = _read_one_game(game, None)
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


def _check_writable(path: str) -> None:
    """Refuse an output path that cannot be written, before the work that fills it."""
    p = Path(path)
    if p.is_dir():
        _fail(f"cannot write {path}: it is a directory")
    parent = p.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        _fail(f"cannot write {path}: {parent} is not a writable directory")


def _check_preset_options(preset, width: int | None = None,
                          simulations: int | None = None) -> None:
    """Refuse an option the preset's search does not use, and a beam too wide for memory,
    before anything is compiled or written."""
    from ..search.memory import WidthError, check_width

    kind = preset.search.get("kind")
    if kind == "beam":
        if simulations is not None:
            _fail(f"--simulations is for MCTS solvers; {preset.name!r} is a beam search "
                  f"(give --width)")
        try:
            check_width(int(width or preset.search.get("width", 1000)))
        except WidthError as e:
            _fail(str(e))
    elif width is not None:
        _fail(f"--width is for beam solvers; {preset.name!r} is {kind} (give --simulations)")


CHECKPOINT_FILES = ("meta.json", "mcts-partial.json", "mcts-tree.npz")
# the file without which a checkpoint of each search kind cannot be resumed
RESUME_FILE = {"beam": "meta.json", "mcts": "mcts-partial.json"}


def _check_checkpoint(checkpoint: str | None, resume: bool, overwrite: bool,
                      kind: str) -> None:
    """A checkpoint directory is only continued with --resume, only replaced with
    --overwrite (checked before anything is compiled or written)."""
    if checkpoint is None:
        if resume:
            _fail("--resume needs --checkpoint DIR")
        if overwrite:
            _fail("--overwrite needs --checkpoint DIR")
        return
    if resume and overwrite:
        _fail("give --resume or --overwrite, not both")
    path = Path(checkpoint)
    if path.exists() and not path.is_dir():
        _fail(f"--checkpoint {checkpoint}: not a directory")
    held = [name for name in CHECKPOINT_FILES if (path / name).exists()]
    if held and not resume and not overwrite:
        _fail(f"--checkpoint {checkpoint} already holds a run: add --resume to continue it "
              f"or --overwrite to start again")
    need = RESUME_FILE.get(kind, "meta.json")
    if resume and not (path / need).exists():
        _fail(f"no checkpoint in {checkpoint} ({need} not found)")


def _clear_checkpoint(checkpoint: str) -> None:
    """Remove a checkpoint's own files (``--overwrite``); nothing else in the directory."""
    path = Path(checkpoint)
    for p in [path / n for n in CHECKPOINT_FILES] + list(path.glob("nodes-*-*.npz")):
        p.unlink(missing_ok=True)


def _resume_command(ctx: click.Context, add: tuple[str, ...] = ("--resume",),
                    drop: tuple[str, ...] = ("resume", "overwrite")) -> str:
    """The command line that repeats this command with ``add`` (its options that differ
    from their defaults, in declaration order): what to run to resume it."""
    words = ["hatetris"] + ctx.command_path.split()[1:]  # whatever the program was called
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name in drop:
            continue
        value = ctx.params.get(param.name)
        if value is None or value == param.default or value is False:
            continue
        words += [param.opts[0]] if param.is_flag else [param.opts[0], str(value)]
    return shlex.join(words + list(add))


def _compile_notice() -> None:
    """Say so while Numba compiles the kernels on a cold cache (once, then cached)."""
    from ..running import COLD_COMPILE_SECONDS, kernels_cached

    if not kernels_cached():
        click.echo(f"compiling kernels, once, about {COLD_COMPILE_SECONDS} s "
                   f"(cached for later runs)", err=True)


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
from . import bench, replay, solve, staged, train, watch  # noqa: E402,F401
