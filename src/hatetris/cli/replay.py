"""Commands that read and write replays: replay, encode, decode."""

from __future__ import annotations

import json

import click

from . import AI_NAMES, _decode, _fail, _read_replays, cli, draw_well


@cli.command()
@click.argument("replay", required=False)
@click.option("--file", "file", type=str, help="Read replays from a file, one per line.")
@click.option("--ai", default="hatetris", show_default=True,
              help=f"Adversary: {', '.join(AI_NAMES)}.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per replay.")
@click.option("--show", is_flag=True, help="Draw the final well.")
@click.option("--steps", is_flag=True, help="With --show, draw the well after every lock.")
def replay(replay: str | None, file: str | None, ai: str, as_json: bool, show: bool,
           steps: bool) -> None:
    """Play a replay (raw, hex, Base65536 or Base2048) from the empty well."""
    from ..adversary import UnknownAdversary
    from ..game import replay as play

    texts = _read_replays(replay, file)
    for i, text in enumerate(texts):
        where = f"{file}:{i + 1}: " if file else ""
        keys = _decode(text, where=where)
        try:
            if show and steps:
                result, wells = play(keys, ai, steps=True)
            else:
                result, wells = play(keys, ai), None
        except UnknownAdversary as e:
            _fail(str(e))
        if as_json:
            click.echo(json.dumps(result.to_json()))
        else:
            state = "game over" if result.game_over else "still playing"
            click.echo(f"{where}score {result.score}, {result.pieces_placed} pieces placed, "
                       f"{state}, {result.moves} keys")
        if show:
            if wells is not None:
                for k, well in enumerate(wells):
                    click.echo(f"after piece {k + 1} ({result.pieces[k]}):")
                    click.echo(draw_well([int(v) for v in well]))
            else:
                click.echo(draw_well(result.final_well))


@cli.command()
@click.argument("keys")
@click.option("--codec", default="Base2048", show_default=True,
              type=click.Choice(["raw", "hex", "Base65536", "Base2048"]))
def encode(keys: str, codec: str) -> None:
    """Encode raw keys (L R D U) as a replay string."""
    from ..codecs import ReplayError
    from ..codecs import encode as enc

    try:
        click.echo(enc(keys.strip(), codec))
    except ReplayError as e:
        _fail(str(e))


@cli.command()
@click.argument("replay")
@click.option("--codec", default=None, type=click.Choice(["raw", "hex", "Base65536", "Base2048"]),
              help="Force a codec instead of detecting it.")
def decode(replay: str, codec: str | None) -> None:
    """Decode a replay string to raw keys (L R D U)."""
    click.echo(_decode(replay, codec))
