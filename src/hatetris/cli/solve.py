"""Searching: solve, solvers, diagnose."""

from __future__ import annotations

import json

import click

from . import _fail, _read_one_game, _start_of, cli


@cli.command()
def solvers() -> None:
    """List the solver presets (solvers/*.toml)."""
    from ..presets import PresetError, list_presets, load_preset

    presets = list_presets()
    if not presets:
        _fail("no solver presets found (looked in $HATETRIS_SOLVERS, ./solvers)")
    for name in presets:
        try:
            p = load_preset(name)
            kind = f"{p.search['kind']}/{p.eval['kind']}"
            if p.quiescence.get("enabled"):
                kind += "+quiescence"
            width = p.search.get("width", p.search.get("simulations", ""))
            click.echo(f"{name:16} {kind:28} {str(width):>8}  {p.description}")
        except PresetError as e:
            click.echo(f"{name:16} INVALID: {e}")


@cli.command()
@click.option("--solver", default="quick", show_default=True, help="Preset name or .toml path.")
@click.option("--width", type=click.IntRange(1), default=None, help="Beam width (overrides).")
@click.option("--max-depth", type=click.IntRange(1), default=None, help="Stop after D pieces.")
@click.option("--simulations", type=click.IntRange(1), default=None,
              help="MCTS simulations per move (overrides).")
@click.option("--workers", type=click.IntRange(1), default=None,
              help="Threads (default: all cores). The result does not depend on it.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--checkpoint", "checkpoint", type=str, default=None,
              help="Directory for checkpoints (written every N steps and on Ctrl-C).")
@click.option("--checkpoint-every", type=click.IntRange(1), default=None)
@click.option("--resume", is_flag=True, help="Continue the run saved in --checkpoint.")
@click.option("--out", type=str, default=None, help="Write the solution JSON here.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--from", "from_game", type=str, default=None,
              help="Continue this game (a solution .json, a file with one replay, or a "
                   "replay) instead of starting from the empty well (beam solvers).")
@click.option("--from-piece", type=click.IntRange(0), default=None,
              help="With --from: continue after this many of its pieces (default: all).")
def solve(solver: str, width: int | None, max_depth: int | None, simulations: int | None,
          workers: int | None, seed: int, checkpoint: str | None,
          checkpoint_every: int | None, resume: bool, out: str | None, quiet: bool,
          from_game: str | None, from_piece: int | None) -> None:
    """Search for a long game with a solver preset; print and save the verified result."""
    from ..presets import PresetError, load_preset
    from ..search.checkpoint import CheckpointError
    from ..solution import SolutionError
    from ..solution import save_solution
    from ..solve import run_preset

    if resume and not checkpoint:
        _fail("--resume needs --checkpoint DIR")
    if from_piece is not None and from_game is None:
        _fail("--from-piece needs --from GAME")
    start = _start_of(from_game, from_piece) if from_game is not None else None
    try:
        preset = load_preset(solver)
        kwargs = dict(width=width, max_depth=max_depth, workers=workers, seed=seed,
                      checkpoint=checkpoint, resume=resume, checkpoint_every=checkpoint_every,
                      progress=not quiet)
        if simulations is not None:
            kwargs["simulations"] = simulations
        if start is not None:
            if preset.search.get("kind") != "beam":
                _fail(f"--from needs a beam solver; {preset.name!r} is not one")
            kwargs["start"] = start
        solution = run_preset(preset, **kwargs)
    except (PresetError, CheckpointError) as e:
        _fail(str(e))
    except SolutionError as e:  # a bug, never the user's fault: say so loudly
        raise click.ClickException(f"internal error, the found game does not verify: {e}")
    if out:  # first: the game must be saved even if nobody reads what is printed
        try:
            save_solution(out, solution)
        except OSError as e:
            _fail(f"cannot write {out}: {e.strerror}")
    state = " (interrupted)" if solution.get("interrupted") else ""
    click.echo(f"score {solution['score']} lines, {solution['pieces']} pieces{state}, "
               f"verified by replay; {solution['elapsed']:.1f} s")
    click.echo(solution["replay"])
    if out:
        click.echo(f"wrote {out}")


@cli.command()
@click.argument("replay", required=False)
@click.option("--file", "file", type=str, help="Read the game's replay from a file.")
@click.option("--solver", default="heuristic-beam", show_default=True,
              help="Beam preset name or .toml path.")
@click.option("--width", type=click.IntRange(1), default=None, help="Beam width (overrides).")
@click.option("--max-depth", type=click.IntRange(1), default=None, help="Stop after D pieces.")
@click.option("--every", type=click.IntRange(1), default=1, show_default=True,
              help="Print every K-th depth (and every depth where the beam loses the game).")
@click.option("--workers", type=click.IntRange(1), default=None)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per depth.")
def diagnose(replay: str | None, file: str | None, solver: str, width: int | None,
             max_depth: int | None, every: int, workers: int | None, as_json: bool) -> None:
    """Follow a game (a record, say) alongside a solver's beam: where would it be pruned?

    At every depth the game's well is valued by the solver's evaluation and ranked among
    the wells the beam kept (rank 0: the beam's best; rank >= width: pruned), and the
    report says whether the beam still holds the game's exact well.
    """
    import numba

    from ..diagnose import follow_game
    from ..presets import PresetError, load_preset, make_evaluation
    from ..solve import default_workers

    keys = _read_one_game(replay, file)
    try:
        preset = load_preset(solver)
        if preset.search.get("kind") != "beam":
            _fail(f"solver {preset.name!r} is not a beam search")
        evaluation = make_evaluation(preset)
    except PresetError as e:
        _fail(str(e))
    w = int(width or preset.search.get("width", 1000))
    numba.set_num_threads(min(workers or default_workers(), numba.config.NUMBA_NUM_THREADS))
    if not as_json:
        click.echo(f"{'piece':>5} {'lines':>5} {'value':>9} {'rank':>9} {'beam':>7} "
                   f"{'beam best':>9} {'beam worst':>10}  game in beam")

    def show(r) -> None:
        if as_json:
            click.echo(json.dumps(r.to_json()))
        elif r.depth % every == 0 or r.lost_here:
            click.echo(f"{r.depth:>5} {r.lines:>5} {r.value:>9.1f} {r.rank:>9} {r.beam:>7} "
                       f"{r.beam_best:>9.1f} {r.beam_worst:>10.1f}  "
                       f"{'yes' if r.in_beam else 'lost here' if r.lost_here else 'no'}")

    follow_game(evaluation, keys, w, max_depth, preset.search.get("parent_cap"), on_depth=show)
