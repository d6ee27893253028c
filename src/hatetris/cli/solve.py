"""Searching: solve, solvers, diagnose."""

from __future__ import annotations

import json
import shlex
import sys

import click

from . import (
    _check_checkpoint,
    _check_preset_options,
    _check_writable,
    _clear_checkpoint,
    _compile_notice,
    _fail,
    _read_one_game,
    _start_of,
    cli,
)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per preset.")
def solvers(as_json: bool) -> None:
    """List the solver presets (solvers/*.toml)."""
    from ..presets import PresetError, list_presets, load_preset

    presets = list_presets()
    if not presets:
        _fail("no solver presets found (looked in $HATETRIS_SOLVERS, ./solvers)")
    if not as_json:
        click.echo(f"{'solver':16} {'search/eval':28} {'width':>7} {'simulations':>11}  "
                   f"description")
    for name in presets:
        try:
            p = load_preset(name)
        except PresetError as e:
            if as_json:
                click.echo(json.dumps({"solver": name, "invalid": str(e)}))
            else:
                click.echo(f"{name:16} INVALID: {e}")
            continue
        kind = f"{p.search['kind']}/{p.eval['kind']}"
        if p.quiescence.get("enabled"):
            kind += "+quiescence"
        width = p.search.get("width") if p.search["kind"] == "beam" else None
        sims = p.search.get("simulations") if p.search["kind"] == "mcts" else None
        if as_json:
            click.echo(json.dumps({"solver": name, "search": p.search["kind"],
                                   "eval": p.eval["kind"],
                                   "quiescence": bool(p.quiescence.get("enabled")),
                                   "width": width, "simulations": sims,
                                   "description": p.description}))
        else:
            click.echo(f"{name:16} {kind:28} {width or '-':>7} {sims or '-':>11}  "
                       f"{p.description}")


@cli.command()
@click.option("--solver", default="quick", show_default=True, help="Preset name or .toml path.")
@click.option("--width", type=click.IntRange(1), default=None, help="Beam width (overrides).")
@click.option("--max-depth", type=click.IntRange(1), default=None, help="Stop after D pieces.")
@click.option("--simulations", type=click.IntRange(1), default=None,
              help="MCTS simulations per move (overrides).")
@click.option("--workers", type=click.IntRange(1), default=None,
              help="Threads (default: 1, or $HATETRIS_WORKERS). The result does not "
                   "depend on it.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--checkpoint", "checkpoint", type=str, default=None,
              help="Directory for checkpoints (written every N steps and on Ctrl-C).")
@click.option("--checkpoint-every", type=click.IntRange(1), default=None)
@click.option("--resume", is_flag=True,
              help="Continue the run saved in --checkpoint: the same game as one run.")
@click.option("--overwrite", is_flag=True, help="Replace the run saved in --checkpoint.")
@click.option("--out", type=str, default=None, help="Write the solution JSON here.")
@click.option("--json", "as_json", is_flag=True, help="Print the solution record as JSON.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--from", "from_game", type=str, default=None,
              help="Continue this game (a solution .json, a file with one replay, or a "
                   "replay) instead of starting from the empty well (beam solvers).")
@click.option("--from-piece", type=click.IntRange(0), default=None,
              help="With --from: continue after this many of its pieces (default: all).")
@click.option("--cluster", type=str, default=None,
              help="Run the beam on a Dask cluster: a scheduler address (tcp://host:8786) "
                   "or local:N (N worker processes here). Same game as without.")
def solve(solver: str, width: int | None, max_depth: int | None, simulations: int | None,
          workers: int | None, seed: int, checkpoint: str | None,
          checkpoint_every: int | None, resume: bool, overwrite: bool, out: str | None,
          as_json: bool, quiet: bool, from_game: str | None, from_piece: int | None,
          cluster: str | None = None) -> None:
    """Search for a long game with a solver preset; print and save the verified result."""
    from ..presets import PresetError, load_preset
    from ..search.checkpoint import CheckpointError
    from ..solution import SolutionError
    from ..solution import save_solution
    from ..solve import run_preset

    if from_piece is not None and from_game is None:
        _fail("--from-piece needs --from GAME")
    try:
        preset = load_preset(solver)
    except PresetError as e:
        _fail(str(e))
    kind = preset.search.get("kind")
    _check_preset_options(preset, width, simulations)
    if from_game is not None and kind != "beam":
        _fail(f"--from needs a beam solver; {preset.name!r} is not one")
    if cluster is not None:
        _check_cluster(cluster, preset)
    _check_checkpoint(checkpoint, resume, overwrite, kind)
    start = _start_of(from_game, from_piece) if from_game is not None else None
    if out:
        _check_writable(out)
    if overwrite:
        _clear_checkpoint(checkpoint)
    if not quiet:
        _compile_notice()
    try:
        kwargs = dict(width=width, max_depth=max_depth, workers=workers, seed=seed,
                      checkpoint=checkpoint, resume=resume, checkpoint_every=checkpoint_every,
                      progress=not quiet)
        if simulations is not None:
            kwargs["simulations"] = simulations
        if start is not None:
            kwargs["start"] = start
        if cluster is not None:
            solution = _run_on_cluster(preset, cluster, kwargs)
        else:
            solution = run_preset(preset, **kwargs)
    except (PresetError, CheckpointError) as e:
        _fail(str(e))
    except OSError as e:
        _fail(f"cannot write checkpoint {checkpoint}: {e.strerror}")
    except SolutionError as e:  # a bug, never the user's fault: say so loudly
        raise click.ClickException(f"internal error, the found game does not verify: {e}")
    if out:  # first: the game must be saved even if nobody reads what is printed
        try:
            save_solution(out, solution)
        except OSError as e:
            _fail(f"cannot write {out}: {e.strerror}")
    interrupted = bool(solution.get("interrupted"))
    if as_json:
        click.echo(json.dumps(solution))
    else:
        state = " (interrupted)" if interrupted else ""
        click.echo(f"score {solution['score']} lines, {solution['pieces']} pieces{state}, "
                   f"verified by replay; {solution['elapsed']:.1f} s")
        click.echo(solution["replay"])
        if out:
            click.echo(f"wrote {out}")
    if interrupted:
        if checkpoint:
            again = ["hatetris", "solve", "--solver", solver]
            for flag, value in (("--width", width), ("--simulations", simulations),
                                ("--max-depth", max_depth),
                                ("--workers", workers), ("--seed", seed or None),
                                ("--checkpoint", checkpoint),
                                ("--checkpoint-every", checkpoint_every), ("--out", out),
                                ("--from", from_game), ("--from-piece", from_piece),
                                ("--cluster", cluster)):
                if value is not None:
                    again += [flag, str(value)]
            again += ["--resume"] + (["--json"] if as_json else []) + (
                ["--quiet"] if quiet else [])
            click.echo(f"interrupted: checkpoint in {checkpoint}; resume with: "
                       f"{shlex.join(again)}", err=True)
        else:
            click.echo("interrupted: no checkpoint kept (give --checkpoint DIR to make a run "
                       "resumable)", err=True)
        sys.exit(130)


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
@click.option("--quiet", is_flag=True, help="No progress bar.")
def diagnose(replay: str | None, file: str | None, solver: str, width: int | None,
             max_depth: int | None, every: int, workers: int | None, as_json: bool,
             quiet: bool) -> None:
    """Follow a game (a record, say) alongside a solver's beam: where would it be pruned?

    At every depth the game's well is valued by the solver's evaluation and ranked among
    the wells the beam kept (rank 0: the beam's best; rank >= width: pruned), and the
    report says whether the beam still holds the game's exact well.
    """
    import numba
    from tqdm import tqdm

    from ..diagnose import follow_game
    from ..game import replay as play
    from ..presets import PresetError, load_preset, make_evaluation
    from ..running import default_workers

    keys = _read_one_game(replay, file)
    try:
        preset = load_preset(solver)
        if preset.search.get("kind") != "beam":
            _fail(f"solver {preset.name!r} is not a beam search")
        _check_preset_options(preset, width)
        evaluation = make_evaluation(preset)
    except PresetError as e:
        _fail(str(e))
    w = int(width or preset.search.get("width", 1000))
    numba.set_num_threads(min(workers or default_workers(), numba.config.NUMBA_NUM_THREADS))
    pieces = play(keys).pieces_placed
    if not quiet:
        _compile_notice()
    bar = tqdm(total=min(pieces, max_depth or pieces), unit="piece", dynamic_ncols=True,
               desc=f"{preset.name} w={w}", disable=quiet, leave=False)
    if not as_json:
        click.echo(f"{'piece':>5} {'lines':>5} {'value':>9} {'rank':>9} {'beam':>7} "
                   f"{'beam best':>9} {'beam worst':>10}  game in beam")

    def show(r) -> None:
        bar.update(1)
        if as_json:
            bar.write(json.dumps(r.to_json()), file=sys.stdout)
        elif r.depth % every == 0 or r.lost_here:
            bar.write(f"{r.depth:>5} {r.lines:>5} {r.value:>9.1f} {r.rank:>9} {r.beam:>7} "
                      f"{r.beam_best:>9.1f} {r.beam_worst:>10.1f}  "
                      f"{'yes' if r.in_beam else 'lost here' if r.lost_here else 'no'}",
                      file=sys.stdout)

    try:
        follow_game(evaluation, keys, w, max_depth, preset.search.get("parent_cap"),
                    on_depth=show)
    finally:
        bar.close()


def _check_cluster(cluster: str, preset) -> None:
    """--cluster: local:N (N >= 1) or an address, and a beam preset the cluster runs."""
    from ..cluster.run import check_cluster_option

    try:
        check_cluster_option(cluster, preset)
    except ValueError as e:
        _fail(str(e))


def _run_on_cluster(preset, cluster: str, kwargs: dict) -> dict:
    """solve --cluster: an unreachable scheduler is the user's (exit 2); a worker lost
    mid-run is one line too (exit 1), never a wrong game."""
    from ..cluster import ClusterError, ClusterSpecError
    from ..cluster.run import run_cluster_beam

    kwargs = {k: v for k, v in kwargs.items() if k != "simulations"}
    try:
        return run_cluster_beam(preset, cluster, **kwargs)
    except ClusterSpecError as e:
        _fail(str(e))
    except ClusterError as e:
        raise click.ClickException(str(e)) from None
