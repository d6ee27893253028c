"""Watching a game: hatetris watch."""

from __future__ import annotations

import click

from . import AI_NAMES, _fail, _read_one_game, cli


@cli.command()
@click.argument("game", required=False)
@click.option("--file", "file", type=str, help="Read the game from a file.")
@click.option("--speed", type=click.FloatRange(0.1, 1000), default=10.0, show_default=True,
              help="Pieces per second.")
@click.option("--from-piece", type=click.IntRange(0), default=0, show_default=True,
              help="Start after this many pieces.")
@click.option("--ai", default="hatetris", show_default=True,
              help=f"Adversary: {', '.join(AI_NAMES)}.")
@click.option("--no-clear", is_flag=True,
              help="Print the frames one after another instead of redrawing in place.")
def watch(game: str | None, file: str | None, speed: float, from_piece: int, ai: str,
          no_clear: bool) -> None:
    """Play a game in the terminal, piece by piece (GAME: a replay, a file, a solution
    JSON, or - for standard input). Ctrl-C stops."""
    from ..adversary import UnknownAdversary
    from ..game import replay
    from ..watch import watch as play

    keys = _read_one_game(game, file)
    try:
        pieces = replay(keys, ai).pieces_placed
    except UnknownAdversary as e:
        _fail(str(e))
    if from_piece > pieces:
        _fail(f"--from-piece {from_piece}: the game has {pieces} pieces")
    play(keys, ai, speed, from_piece, clear=False if no_clear else None)
