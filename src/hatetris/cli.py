"""The ``hatetris`` command line.

Every error a user can cause (bad replay, unknown AI or solver, missing or corrupt file)
is reported as one line on stderr with exit status 2, never a traceback.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Callable

import click

from . import __version__
from .rules import BAR, HEIGHT, WIDTH

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
        from .solution import SolutionError, load_solution

        try:
            return _decode(load_solution(file)["replay"], where=f"{file}: ")
        except SolutionError as e:
            _fail(str(e))
    texts = _read_replays(replay, file)
    if len(texts) != 1:
        _fail(f"{file}: give one replay, not {len(texts)}")
    return _decode(texts[0].strip())


def _decode(text: str, codec: str | None = None, where: str = "") -> str:
    from .codecs import ReplayError, decode

    try:
        return decode(text, codec)
    except ReplayError as e:
        _fail(f"{where}{e}")


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
    from .adversary import UnknownAdversary
    from .game import replay as play

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
    from .codecs import ReplayError
    from .codecs import encode as enc

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


@cli.group()
def bench() -> None:
    """Benchmarks: engine speed, search strategies."""


@bench.command("engine")
@click.option("--wells", "wells", type=str, default=None,
              help="Wells file (default: the shipped copy of wells_beam.txt).")
@click.option("--runs", default=7, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True)
@click.option("--per-well", type=str, default=None,
              help="Write each well's children count and checksum to this file (debugging).")
def bench_engine_cmd(wells: str | None, runs: int, as_json: bool, per_well: str | None) -> None:
    """Time well expansion (adversary's piece + distinct children), single-threaded."""
    from .bench import BenchInputError, bench_engine

    try:
        r = bench_engine(wells, runs=runs)
    except BenchInputError as e:
        _fail(str(e))
    if per_well:
        lines = [f"{i}\t{n}\t{c}" for i, (n, c) in
                 enumerate(zip(r["per_well_children"], r["per_well_checksums"]))]
        _write_text(per_well, "well\tchildren\tchecksum\n" + "\n".join(lines) + "\n")
    if as_json:
        click.echo(json.dumps({k: r[k] for k in
                               ("us_per_expansion", "wells", "distinct_children", "checksum",
                                "compile_s", "runs")}))
    else:
        click.echo(f"wells              {r['wells']}")
        click.echo(f"distinct children  {r['distinct_children']}")
        click.echo(f"checksum           {r['checksum']}")
        click.echo(f"us per expansion   {r['us_per_expansion']:.3f}  "
                   f"(median of {r['runs']} passes after warm-up)")
        click.echo(f"JIT compile        {r['compile_s']:.2f} s (separate)")


def _run_bench(run: Callable[[Callable[[dict], None]], list[dict]], as_json: bool,
               describe: Callable[[dict], str],
               table: Callable[[list[dict]], str]) -> list[dict]:
    """Run a benchmark, showing each run as it ends (a JSON line, or a line on stderr),
    then the table; a failed run is one line and exit 2."""
    def show(row: dict) -> None:
        if as_json:
            click.echo(json.dumps(row))
        else:
            click.echo(f"  {describe(row)}: {row['lines']} lines, {row['seconds']} s", err=True)

    try:
        rows = run(show)
    except RuntimeError as e:
        _fail(str(e))
    if not as_json:
        click.echo(table(rows))
    return rows


@bench.command("starts")
@click.option("--solvers", "solver_names", default="heuristic-beam,nnue-beam",
              show_default=True, help="Comma-separated beam preset names.")
@click.option("--starts", "start_specs", required=True,
              help="Comma-separated GAME:K: continue the stored game GAME (a solution .json "
                   "or a file with one replay) after its K-th piece.")
@click.option("--width", type=click.IntRange(1), default=30000, show_default=True)
@click.option("--workers", type=click.IntRange(1), default=None)
@click.option("--max-depth", type=click.IntRange(1), default=None)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run.")
def bench_starts_cmd(solver_names: str, start_specs: str, width: int, workers: int | None,
                     max_depth: int | None, as_json: bool) -> None:
    """Beam solvers continuing the same stored positions at one width: a comparison of
    evaluations that one chaotic game from the empty well cannot give."""
    from .bench import bench_starts, format_starts_table
    from .presets import PresetError, load_preset

    names = [s.strip() for s in solver_names.split(",") if s.strip()]
    try:
        for name in names:
            if load_preset(name).search.get("kind") != "beam":
                _fail(f"solver {name!r} is not a beam search")
    except PresetError as e:
        _fail(str(e))
    starts = []
    for spec in start_specs.split(","):
        game, sep, piece = spec.strip().rpartition(":")
        if not sep or not game or not piece.isdigit():
            _fail(f"--starts: {spec.strip()!r} is not GAME:K")
        _start_of(game, int(piece), "--starts")  # fails here, before any search
        starts.append((game, int(piece)))

    _run_bench(lambda show: bench_starts(names, starts, width, workers, max_depth, show),
               as_json, lambda row: f"{row['solver']} from {row['start']}", format_starts_table)


@bench.command("search")
@click.option("--solvers", "solver_names", default="quick", show_default=True,
              help="Comma-separated preset names.")
@click.option("--budget", "budgets", default="14000", show_default=True,
              help="Comma-separated budgets: children evaluated per piece "
                   "(beam width or MCTS simulations = budget / 14).")
@click.option("--workers", "workers", default="", help="Comma-separated worker counts "
              "(e.g. 1,2 for the parallel speed-up); default: all cores.")
@click.option("--max-depth", type=click.IntRange(1), default=None)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run.")
@click.option("--plot", type=str, default=None, help="Write a PNG of lines against budget.")
def bench_search_cmd(solver_names: str, budgets: str, workers: str, max_depth: int | None,
                     as_json: bool, plot: str | None) -> None:
    """Run solver presets at equal budgets; print a table (lines, time, children/s, memory)."""
    from .bench import bench_search, format_table, plot_lines
    from .presets import PresetError, load_preset

    names = [s.strip() for s in solver_names.split(",") if s.strip()]
    try:
        for name in names:
            load_preset(name)
        budget_list = [int(b) for b in budgets.split(",") if b.strip()]
        worker_list = [int(w) for w in workers.split(",") if w.strip()] or [None]
    except PresetError as e:
        _fail(str(e))
    except ValueError:
        _fail("--budget and --workers take comma-separated integers")
    if plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            _fail("--plot needs matplotlib: pip install -e '.[plot]'")

    rows = _run_bench(
        lambda show: bench_search(names, budget_list, worker_list, max_depth, progress=show),
        as_json, lambda row: f"{row['solver']} budget {row['budget']:,}", format_table)
    if plot:
        plot_lines(rows, plot)
        click.echo(f"wrote {plot}", err=True)


@cli.command()
def solvers() -> None:
    """List the solver presets (solvers/*.toml)."""
    from .presets import PresetError, list_presets, load_preset

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


def _start_of(game: str, piece: int | None, option: str = "--from") -> tuple[str, int]:
    """(keys, k) for ``solve --from``: a game that can be continued after its k-th piece."""
    from .game import replay
    from .search.tree import game_nodes

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
    from .presets import PresetError, load_preset
    from .search.checkpoint import CheckpointError
    from .solution import SolutionError
    from .solution import save_solution
    from .solve import run_preset

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

    from .diagnose import follow_game
    from .presets import PresetError, load_preset, make_evaluation
    from .solve import default_workers

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


@cli.command()
@click.option("--generations", type=click.IntRange(0), default=4, show_default=True)
@click.option("--features", default="rows,windows", show_default=True,
              help="Feature sets: rows, windows, windows_positional, counts "
                   "(comma-separated).")
@click.option("--hidden", type=click.IntRange(8, 256), default=32, show_default=True)
@click.option("--probe-width", default="2000", show_default=True,
              help="Beam width each generation is judged (and sampled) at; several "
                   "(comma-separated): one probe at each, judged on their mean lines.")
@click.option("--probe-max-depth", type=click.IntRange(1), default=2000, show_default=True)
@click.option("--samples", type=click.IntRange(10), default=20000, show_default=True)
@click.option("--label-depth", type=click.IntRange(1), default=10, show_default=True)
@click.option("--label-width", type=click.IntRange(1), default=8, show_default=True)
@click.option("--label-grace", type=click.IntRange(0), default=0, show_default=True,
              help="Play this many pieces past --label-depth: a well lost there gets a "
                   "label between -1 and a survivor's.")
@click.option("--candidates", type=click.IntRange(0), default=0, show_default=True,
              help="Also label this many random children of each sampled well.")
@click.option("--survivor-labels", type=click.Choice(["lookahead", "teacher"]),
              default="lookahead", show_default=True,
              help="Label wells that survive the lookahead with the best network value at "
                   "its end, or with the teacher's ranking of the well (needs --teacher).")
@click.option("--hindsight", is_flag=True,
              help="Give the probe's wells of each depth their labels in the order of how "
                   "long each one's line lasted in the probe.")
@click.option("--also-sample", default=None, metavar="PRESET",
              help="Also sample each generation's wells from this beam preset's game "
                   "(played once): another style of play, labelled by the same lookahead.")
@click.option("--pool-limit", type=click.IntRange(1), default=200000, show_default=True,
              help="Train each generation on at most this many of the newest labelled wells.")
@click.option("--epochs", type=click.IntRange(1), default=30, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--no-quiescence", is_flag=True)
@click.option("--teacher", default=None,
              help="Preset whose evaluation generation 0 imitates (default: random weights).")
@click.option("--init", "init", default=None,
              help="Start generation 0 from this network (.npz) instead.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--workers", type=click.IntRange(1), default=None)
@click.option("--nets", "nets_dir", default="data/nets", show_default=True,
              help="Where gen-K.npz (+ .json) go.")
@click.option("--work", "work_dir", default="runs/train", show_default=True,
              help="Resumable state: data, probe checkpoints, log.")
def train(generations: int, features: str, hidden: int, probe_width: str,
          probe_max_depth: int, samples: int, label_depth: int, label_width: int,
          label_grace: int, candidates: int, survivor_labels: str, hindsight: bool,
          also_sample: str | None, pool_limit: int, epochs: int, lr: float,
          no_quiescence: bool, teacher: str | None, init: str | None, seed: int,
          workers: int | None, nets_dir: str, work_dir: str) -> None:
    """Train NNUE generations from the engine's own searches (resumable: run it again)."""
    import numba

    from .nnue.features import FeatureError, layout
    from .nnue.network import NetworkError
    from .nnue.train import TrainConfig, Trainer
    from .search.checkpoint import CheckpointError

    sets = tuple(f.strip() for f in features.split(",") if f.strip())
    try:
        layout(sets)
    except FeatureError as e:
        _fail(str(e))
    try:
        widths = tuple(int(w) for w in probe_width.split(","))
    except ValueError:
        widths = ()
    if not widths or min(widths) < 1 or len(set(widths)) != len(widths):
        _fail(f"--probe-width must be distinct positive widths, comma-separated; "
              f"got {probe_width!r}")
    if workers:
        numba.set_num_threads(min(workers, numba.config.NUMBA_NUM_THREADS))
    config = TrainConfig(generations=generations, features=sets, hidden=hidden,
                         probe_width=widths[0] if len(widths) == 1 else widths,
                         probe_max_depth=probe_max_depth,
                         samples=samples, label_depth=label_depth, label_width=label_width,
                         label_grace=label_grace or None, hindsight=hindsight or None,
                         also_sample=also_sample,
                         pool_limit=pool_limit, epochs=epochs, lr=lr,
                         quiescence=not no_quiescence, teacher=teacher, init=init,
                         seed=seed, candidates=candidates or None,
                         survivor_labels=None if survivor_labels == "lookahead" else "teacher")
    if config.survivor_labels == "teacher" and not teacher:
        _fail("--survivor-labels teacher needs --teacher PRESET")
    if also_sample:
        from .presets import PresetError, load_preset

        try:  # fail now, not after a generation's probes
            if load_preset(also_sample).search.get("kind") != "beam":
                _fail(f"--also-sample {also_sample}: not a beam preset")
        except PresetError as e:
            _fail(str(e))
    try:
        Trainer(config, Path(nets_dir), Path(work_dir), log=click.echo, progress=True).run()
    except (ValueError, NetworkError, CheckpointError) as e:
        _fail(str(e))
    except KeyboardInterrupt:
        click.echo(f"interrupted: run the same command again to resume from {work_dir}",
                   err=True)
        sys.exit(130)


@cli.group()
def nets() -> None:
    """Trained networks: the generations table."""


@nets.command("table")
@click.option("--nets", "nets_dir", default="data/nets", show_default=True)
@click.option("--networks", default="",
              help="Comma-separated names (gen-K, counts-K); default: all.")
@click.option("--widths", default="10000,100000", show_default=True)
@click.option("--heuristic", default="heuristic-beam", show_default=True,
              help="Preset to compare with ('' for none).")
@click.option("--max-depth", type=click.IntRange(1), default=None,
              help="Stop each game after D pieces (marked 'capped').")
def nets_table(nets_dir: str, networks: str, widths: str, heuristic: str,
               max_depth: int | None) -> None:
    """Measure networks at fixed widths (cached in results.json) and write README.md."""
    from .nnue.network import NetworkError
    from .nnue.report import measure, network_order, write_table
    from .presets import PresetError

    d = Path(nets_dir)
    names = [n.strip() for n in networks.split(",") if n.strip()] or sorted(
        (p.stem for p in d.glob("*.npz")), key=network_order)
    try:
        width_list = [int(w) for w in widths.split(",") if w.strip()]
    except ValueError:
        _fail("--widths takes comma-separated integers")
    try:
        results = measure(d, names, width_list, heuristic or None, max_depth,
                          log=lambda m: click.echo(m, err=True),
                          solutions_dir=Path("data/solutions"), progress=True)
    except (NetworkError, PresetError) as e:
        _fail(str(e))
    except KeyboardInterrupt:
        click.echo(f"interrupted: the games finished so far are kept in {d / 'results.json'}",
                   err=True)
        sys.exit(130)
    command = shlex.join(["hatetris", "nets", "table"] + sys.argv[3:])
    click.echo(write_table(d, results, command))


@nets.command("values")
@click.argument("replay", required=False)
@click.option("--file", "file", type=str, help="Read the game's replay from a file.")
@click.option("--networks", required=True,
              help="Comma-separated network files (.npz), or names in --nets.")
@click.option("--nets", "nets_dir", default="data/nets", show_default=True)
@click.option("--every", type=click.IntRange(1), default=10, show_default=True,
              help="Print every K-th piece.")
def nets_values(replay: str | None, file: str | None, networks: str, nets_dir: str,
                every: int) -> None:
    """Each network's value of a game's wells, piece by piece (-1: lost)."""
    from .nnue.game_values import game_values
    from .nnue.network import NetworkError, load_network

    keys = _read_one_game(replay, file)
    names = [n.strip() for n in networks.split(",") if n.strip()]
    paths = [Path(n) if n.endswith(".npz") else Path(nets_dir) / f"{n}.npz" for n in names]
    try:
        nets_list = [load_network(p) for p in paths]
    except NetworkError as e:
        _fail(str(e))
    lines, values = game_values(keys, nets_list)
    widths = [max(7, len(n)) for n in names]

    def row(first: str, cells) -> str:
        return first + "  " + " ".join(f"{c:>{w}}" for c, w in zip(cells, widths))

    click.echo(row(f"{'piece':>5} {'lines':>5}", names))
    shown = sorted(set(range(every, len(lines) + 1, every)) | {len(lines)} - {0})
    for p in shown:
        click.echo(row(f"{p:>5} {lines[p - 1]:>5}", [f"{v:.3f}" for v in values[:, p - 1]]))
    click.echo(row(f"{'mean':>11}", [f"{v:.3f}" for v in values.mean(axis=1)]))


def _write_text(path: str, text: str) -> None:
    from .atomic import write_text_atomic

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
