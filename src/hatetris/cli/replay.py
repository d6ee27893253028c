"""Commands that read and write replays: replay, encode, decode."""

from __future__ import annotations

import json

import click

from . import AI_NAMES, _decode, _fail, _read_one_game, _read_replays, cli, draw_well


@cli.command()
@click.argument("replay", required=False)
@click.option("--file", "file", type=str, help="Read replays from a file, one per line.")
@click.option("--ai", default="hatetris", show_default=True,
              help=f"Adversary: {', '.join(AI_NAMES)}.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per replay.")
@click.option("--show", is_flag=True, help="Draw the final well.")
@click.option("--steps", is_flag=True, help="With --show, draw the well after every lock.")
@click.option("--summary", is_flag=True, help="Summarise one game: lines per 100 pieces, "
              "stack height, holes, bottom row, where the loop rule changed the piece.")
@click.option("--every", type=click.IntRange(1), default=None,
              help="With --summary, pieces per table row  [default: 500].")
@click.option("--plot", type=str, default=None,
              help="Write a PNG plot of one game's lines per 100 pieces, stack and holes.")
@click.option("--png", type=str, default=None,
              help="Draw one game's final well (or the wells of --pieces) as a PNG here.")
@click.option("--pieces", "piece_range", type=str, default=None,
              help="With --png, the wells after pieces A+1 to B (A:B).")
def replay(replay: str | None, file: str | None, ai: str, as_json: bool, show: bool,
           steps: bool, summary: bool, every: int | None, plot: str | None, png: str | None,
           piece_range: str | None) -> None:
    """Play a replay (raw, hex, Base65536 or Base2048) from the empty well.

    --summary, --plot and --png take one game (a replay, a file with one replay or a
    solution JSON, or - for standard input).
    """
    from ..adversary import UnknownAdversary
    from ..game import replay as play

    if summary or plot or png or every is not None or piece_range is not None:
        _one_game(replay, file, ai, as_json, show, steps, summary, every, plot, png,
                  piece_range)
        return
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
            click.echo(where + _status(result))
        if show:
            if wells is not None:
                for k, well in enumerate(wells):
                    click.echo(f"after piece {k + 1} ({result.pieces[k]}):")
                    click.echo(draw_well([int(v) for v in well]))
            else:
                click.echo(draw_well(result.final_well))


def _status(result) -> str:
    state = "game over" if result.game_over else "still playing"
    return (f"score {result.score} lines, {result.pieces_placed} pieces, {state}, "
            f"{result.moves} keys")


def _one_game(replay: str | None, file: str | None, ai: str, as_json: bool, show: bool,
              steps: bool, summary: bool, every: int | None, plot: str | None,
              png: str | None, piece_range: str | None) -> None:
    """``replay --summary / --plot / --png``: figures and pictures of one game."""
    from ..adversary import UnknownAdversary
    from ..game import replay as play

    if every is not None and not summary:
        _fail("--every is for --summary")
    if piece_range is not None and png is None:
        _fail("--pieces is for --png FILE")
    if steps:
        _fail("--steps draws every well as text; for a long game use --png FILE --pieces A:B")
    if plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            _fail("--plot needs matplotlib: pip install -e '.[plot]'")
    keys = _read_one_game(replay, file)
    try:
        result, wells = play(keys, ai, steps=True)
    except UnknownAdversary as e:
        _fail(str(e))
    stats = None
    if summary or plot:
        from ..summary import summarize_replayed

        stats = summarize_replayed(result, wells, ai)
    if png:
        from ..pictures import parse_piece_range, strip_image, write_png
        from ..rules import HEIGHT

        try:
            if piece_range is None:
                if len(wells) == 0:
                    _fail("--png: no piece was placed: nothing to draw")
                a, b = len(wells) - 1, len(wells)
            else:
                a, b = parse_piece_range(piece_range, len(wells))
            image = strip_image(wells[a:b], wells[a - 1] if a > 0 else [0] * HEIGHT)
        except ValueError as e:
            _fail(str(e))
        _write_file(png, lambda: write_png(png, image))
    if plot:
        from ..summary import plot_summary

        _write_file(plot, lambda: plot_summary(stats, plot))
    if as_json:
        out = result.to_json()
        if summary:
            out["summary"] = {"totals": stats.totals(), "windows": stats.windows(every or 500)}
        click.echo(json.dumps(out))
    else:
        click.echo(_status(result))
        if summary:
            click.echo(stats.text(every or 500))
        if show:
            click.echo(draw_well(result.final_well))
    for path in (png, plot):
        if path:
            click.echo(f"wrote {path}", err=True)


def _write_file(path: str, write) -> None:
    try:
        write()
    except OSError as e:
        _fail(f"cannot write {path}: {e.strerror}")


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
