"""``hatetris staged``: a long game searched in committed stages (hatetris.staged)."""

from __future__ import annotations

import sys

import click

from . import (
    _check_preset_options,
    _check_writable,
    _compile_notice,
    _fail,
    _resume_command,
    _start_of,
    cli,
)


def _widths(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(w) for w in text.split(","))
    except ValueError:
        _fail(f"--widths {text!r}: give widths as integers, e.g. 3000,12000")
    if any(w < 1 for w in widths) or list(widths) != sorted(set(widths)):
        _fail(f"--widths {text!r}: give increasing widths of at least 1")
    return widths


@cli.command()
@click.option("--state", "directory", required=True,
              help="Directory of the run's state (state.json: the committed game, the plan, "
                   "every attempt). Small enough to commit.")
@click.option("--from", "from_game", type=str, default=None,
              help="The game to continue (a record, a solution JSON, a replay); a new run.")
@click.option("--from-piece", type=click.IntRange(0), default=None,
              help="With --from: continue after this many of its pieces (default: all).")
@click.option("--label", default=None,
              help="What --from is, for the record (default: the --from text).")
@click.option("--solver", default="nnue-beam", show_default=True, help="Beam preset.")
@click.option("--widths", default="3000,12000", show_default=True,
              help="Beam widths, tried in turn when a stage's beam dies.")
@click.option("--stage", type=click.IntRange(1), default=50, show_default=True,
              help="Pieces committed per stage.")
@click.option("--lookahead", type=click.IntRange(0), default=50, show_default=True,
              help="Pieces the committed line must have survived beyond the stage.")
@click.option("--backups", type=click.IntRange(0), default=0, show_default=True,
              help="When every width dies: uncommit the last stage and search it again "
                   "wider, at most this many times in the run.")
@click.option("--partial", is_flag=True,
              help="A beam that dies still commits its best line up to LOOKAHEAD pieces "
                   "before where it died, if that is past the committed game; the next "
                   "stage searches on from there.")
@click.option("--stages", type=click.IntRange(1), default=None,
              help="Stop after this many stages (default: until the run ends).")
@click.option("--max-pieces", type=click.IntRange(1), default=None,
              help="Stop once the committed game has this many pieces.")
@click.option("--resume", is_flag=True, help="Continue the run in --state (its own plan).")
@click.option("--out", type=str, default=None, help="Write the committed game's solution JSON.")
@click.option("--out-longest", type=str, default=None,
              help="Write the longest line any attempt found (the committed game if none "
                   "is longer) as a solution JSON.")
@click.option("--workers", type=click.IntRange(1), default=None)
@click.option("--quiet", is_flag=True, help="No progress lines.")
def staged(directory: str, from_game: str | None, from_piece: int | None,
           label: str | None, solver: str,
           widths: str, stage: int, lookahead: int, backups: int, partial: bool,
           stages: int | None,
           max_pieces: int | None, resume: bool, out: str | None, out_longest: str | None,
           workers: int | None, quiet: bool) -> None:
    """Play a long game in stages: each continues the committed game with a fresh beam to
    STAGE + LOOKAHEAD pieces, commits STAGE pieces of its best line, and widens the beam
    when it dies (and with --backups, searches the last stage again wider; with --partial,
    a dying beam commits its line up to LOOKAHEAD pieces before its death). Stop it
    anywhere; --resume continues it, the same game as one run."""
    import numba

    from ..presets import PresetError, load_preset, make_evaluation
    from ..running import default_workers, deferred_interrupt
    from ..solution import save_solution
    from ..solve import beam_postfix
    from ..staged import (StagedRunError, StagePlan, advance, load_run, run_solution,
                          save_run, start_run, state_path)

    ctx = click.get_current_context()
    if resume:
        if from_game is not None or from_piece is not None:
            _fail("--resume continues the run in --state; it takes no --from")
        try:
            run = load_run(directory)
        except StagedRunError as e:
            _fail(str(e))
    else:
        if from_game is None:
            _fail("give --from GAME for a new run, or --resume")
        if state_path(directory).exists():
            _fail(f"--state {directory} already holds a run: add --resume to continue it")
        plan_widths = _widths(widths)
        if partial and lookahead < 1:
            _fail("--partial needs a --lookahead of at least 1")
    try:
        preset = load_preset(run.plan.solver if resume else solver)
    except PresetError as e:
        _fail(str(e))
    if preset.search.get("kind") != "beam":
        _fail(f"staged needs a beam solver; {preset.name!r} is not one")
    for w in (run.plan.widths if resume else plan_widths):
        _check_preset_options(preset, w)
    if resume and run.preset is not None and run.preset != preset.to_json():
        changed = ", ".join(t for t in run.preset if run.preset.get(t) != preset.to_json().get(t))
        _fail(f"the preset {preset.name!r} is not the one this run searched with ([{changed}] "
              f"differs; the run's is in {directory}/state.json): restore it to resume")
    for path in (out, out_longest):
        if path:
            _check_writable(path)
    if not resume:
        keys, k = _start_of(from_game, from_piece)
        run = start_run(StagePlan(solver, plan_widths, stage, lookahead, backups, partial),
                        keys, k, label or (from_game if len(from_game) < 200 else "a replay"))
        run.preset = preset.to_json()
        try:
            save_run(directory, run)
        except OSError as e:
            _fail(f"cannot write {state_path(directory)}: {e.strerror}")
    if run.preset is None:
        # A state from before the preset was kept: what its stages searched is unknown;
        # the stages from here on are recorded.
        click.echo(f"note: {state_path(directory)} does not say which {preset.name!r} its "
                   f"stages searched with; from piece {run.pieces} on, the preset as it is "
                   f"now (recorded)", err=True)
        run.preset = preset.to_json()
        run.preset_from = run.pieces
    numba.set_num_threads(min(workers or default_workers(), numba.config.NUMBA_NUM_THREADS))
    if not quiet:
        _compile_notice()
    evaluation = make_evaluation(preset)
    shown: dict = {"search": None, "bar": None}  # the attempt under way and its bar

    def close_bar() -> None:
        if shown["bar"] is not None:
            shown["bar"].close()
        shown["bar"] = None

    def say(line: str) -> None:
        if not quiet:
            close_bar()
            click.echo(line, err=True)

    def step_hook(search, stats) -> bool:
        if not quiet:
            if shown["search"] is not search:  # a new attempt: a bar of its own
                from tqdm import tqdm

                close_bar()
                shown["search"] = search
                shown["from"] = search.depth - 1  # the hook runs after each step
                shown["bar"] = tqdm(total=search.max_depth - shown["from"], initial=1,
                                    unit="piece", dynamic_ncols=True, leave=False,
                                    desc=f"from {shown['from']} w={search.width:,}")
            bar = shown["bar"]
            bar.set_postfix_str(beam_postfix(search, stats), refresh=False)
            bar.update(search.depth - shown["from"] - bar.n)
        return stop["set"]

    with deferred_interrupt() as stop:
        complete = advance(run, evaluation, directory, stages=stages, max_pieces=max_pieces,
                           report=say, step_hook=step_hook)
    close_bar()
    for path, longest in ((out, False), (out_longest, True)):
        if path:
            try:
                save_solution(path, run_solution(run, longest))
            except OSError as e:
                _fail(f"cannot write {path}: {e.strerror}")
    click.echo(f"score {run.score} lines, {run.pieces} pieces ({run.searched_pieces} searched "
               f"after piece {run.origin['pieces']}), verified by replay"
               + (f"; ended: {run.ended}" if run.finished else ""))
    if not complete:
        again = _resume_command(ctx, add=("--resume",),
                                drop=("resume", "from_game", "from_piece", "label", "solver",
                                      "widths", "stage", "lookahead", "backups", "partial"))
        click.echo(f"interrupted: the committed game is in {directory}; resume with: "
                   f"{again}", err=True)
        sys.exit(130)
