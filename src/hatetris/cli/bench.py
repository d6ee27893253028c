"""Benchmarks: bench engine, bench starts, bench search."""

from __future__ import annotations

import json
import sys
from typing import Callable

import click

from . import _check_preset_options, _compile_notice, _fail, _start_of, _write_text, cli


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
    from ..bench import BenchInputError, bench_engine

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
               table: Callable[[list[dict]], str], total: int | None = None) -> list[dict]:
    """Run a benchmark under a progress bar (stderr), showing each run as it ends (a JSON
    line, or a line on stderr), then the table; a failed run is one line and exit 2."""
    from tqdm import tqdm

    _compile_notice()  # the first run's process compiles them, silently (--quiet)
    bar = tqdm(total=total, unit="run", dynamic_ncols=True, desc="bench", leave=False)

    def show(row: dict) -> None:
        bar.update(1)
        if as_json:
            click.echo(json.dumps(row))
        else:
            bar.write(f"  {describe(row)}: score {row['lines']} lines, {row['pieces']} "
                      f"pieces, {row['seconds']} s", file=sys.stderr)

    try:
        rows = run(show)
    except RuntimeError as e:
        bar.close()
        _fail(str(e))
    bar.close()
    if not as_json:
        click.echo(table(rows))
    return rows


@bench.command("starts")
@click.option("--solvers", "--solver", "solver_names", default="heuristic-beam,nnue-beam",
              show_default=True, help="Comma-separated beam preset names.")
@click.option("--starts", "start_specs", default=None,
              help="Comma-separated GAME:K: continue the stored game GAME (a solution .json "
                   "or a file with one replay) after its K-th piece.")
@click.option("--suite", default=None,
              help="Instead of --starts: a named suite of starts (data/suites/NAME.json, or "
                   "a .json path), each continued for at most the suite's cap of pieces; "
                   "reports pieces survived.")
@click.option("--only", default=None,
              help="With --suite: comma-separated start labels (e.g. DF6:3000,KJ5:500).")
@click.option("--out", "out_file", default=None,
              help="With --suite: append each run to this JSON-lines file; runs already "
                   "in it are reused (a long suite resumes).")
@click.option("--width", type=click.IntRange(1), default=30000, show_default=True)
@click.option("--workers", type=click.IntRange(1), default=None)
@click.option("--max-depth", type=click.IntRange(1), default=None)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run.")
def bench_starts_cmd(solver_names: str, start_specs: str | None, suite: str | None,
                     only: str | None, out_file: str | None, width: int, workers: int | None,
                     max_depth: int | None, as_json: bool) -> None:
    """Beam solvers continuing the same stored positions at one width: a comparison of
    evaluations that one chaotic game from the empty well cannot give."""
    from ..bench import bench_starts, format_starts_table
    from ..presets import PresetError, load_preset

    if (start_specs is None) == (suite is None):
        _fail("give --starts or --suite (one of them)")
    if suite is None and (only or out_file):
        _fail("--only and --out go with --suite")
    if suite is not None and max_depth is not None:
        _fail("--max-depth does not go with --suite: the suite's cap sets each start's depth")

    names = [s.strip() for s in solver_names.split(",") if s.strip()]
    try:
        for name in names:
            if load_preset(name).search.get("kind") != "beam":
                _fail(f"solver {name!r} is not a beam search")
            _check_preset_options(load_preset(name), width)
    except PresetError as e:
        _fail(str(e))
    if suite is not None:
        _bench_suite(suite, only, out_file, names, width, workers, as_json)
        return
    starts = []
    for spec in start_specs.split(","):
        game, sep, piece = spec.strip().rpartition(":")
        if not sep or not game or not piece.isdigit():
            _fail(f"--starts: {spec.strip()!r} is not GAME:K")
        if game == "-":  # each run is a fresh process: standard input is read once
            _fail("--starts: a start must be a file or a replay, not - (standard input)")
        _start_of(game, int(piece), "--starts")  # fails here, before any search
        starts.append((game, int(piece)))

    _run_bench(lambda show: bench_starts(names, starts, width, workers, max_depth, show),
               as_json, lambda row: f"{row['solver']} from {row['start']}", format_starts_table,
               total=len(names) * len(starts))


def _bench_suite(name: str, only: str | None, out_file: str | None, solvers: list[str],
                 width: int, workers: int | None, as_json: bool) -> None:
    """``bench starts --suite``: pieces survived from each start of a suite, and means."""
    from pathlib import Path

    from ..suite import SuiteError, check_starts, format_suite_table, load_suite, run_suite

    try:
        s = load_suite(name)
        s = s.subset([x.strip() for x in only.split(",") if x.strip()] if only else None)
        check_starts(s)  # fails here, before any search
        _run_bench(lambda show: run_suite(s, solvers, width, workers,
                                          Path(out_file) if out_file else None, show),
                   as_json, lambda row: f"{row['solver']} from {row['start']}",
                   format_suite_table, total=len(solvers) * len(s.starts))
    except SuiteError as e:
        _fail(str(e))


@bench.command("search")
@click.option("--solvers", "--solver", "solver_names", default="quick", show_default=True,
              help="Comma-separated preset names.")
@click.option("--budget", "budgets", default="14000", show_default=True,
              help="Comma-separated budgets: children evaluated per piece "
                   "(beam width or MCTS simulations = budget / 14).")
@click.option("--workers", "workers", default="", help="Comma-separated worker counts "
              "(e.g. 1,2 for the parallel speed-up); default: 1.")
@click.option("--max-depth", type=click.IntRange(1), default=None)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run.")
@click.option("--plot", type=str, default=None, help="Write a PNG of lines against budget.")
@click.option("--cluster", type=str, default=None,
              help="Run the beam presets on a Dask cluster (tcp://host:8786 or local:N); "
                   "--workers is then Numba threads per worker.")
def bench_search_cmd(solver_names: str, budgets: str, workers: str, max_depth: int | None,
                     as_json: bool, plot: str | None, cluster: str | None = None) -> None:
    """Run solver presets at equal budgets; print a table (lines, time, children/s, memory)."""
    from ..bench import CHILDREN_PER_WELL, bench_search, format_table, plot_lines
    from ..presets import PresetError, load_preset

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
    if not names or not budget_list:
        _fail("--solvers and --budget need at least one value each")
    if min(budget_list) < 1:
        _fail(f"--budget must be positive (children per piece), not {min(budget_list)}")
    if any(w is not None and w < 1 for w in worker_list):
        _fail("--workers must be positive")
    for name in names:  # the widest beam must fit in memory, before the first run starts
        preset = load_preset(name)
        if preset.search.get("kind") == "beam":
            _check_preset_options(preset, max(1, max(budget_list) // CHILDREN_PER_WELL))
    if plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            _fail("--plot needs matplotlib: pip install -e '.[plot]'")

    if cluster is not None:
        _bench_on_cluster(names, budget_list, worker_list, max_depth, as_json, cluster)
        return
    rows = _run_bench(
        lambda show: bench_search(names, budget_list, worker_list, max_depth, progress=show),
        as_json, lambda row: f"{row['solver']} budget {row['budget']:,}", format_table,
        total=len(names) * len(budget_list) * len(worker_list))
    if plot:
        plot_lines(rows, plot)
        click.echo(f"wrote {plot}", err=True)


def _bench_on_cluster(names: list[str], budgets: list[int], worker_list: list[int | None],
                      max_depth: int | None, as_json: bool, cluster: str) -> None:
    """bench search --cluster: children/s and memory per worker; bad input is one line."""
    from ..cluster.bench import bench_cluster_search, format_cluster_table
    from ..cluster.run import check_cluster_option
    from ..presets import load_preset

    if len(worker_list) > 1:
        _fail("with --cluster, --workers is one number (Numba threads per worker)")
    try:
        for name in names:
            check_cluster_option(cluster, load_preset(name))
    except ValueError as e:
        _fail(str(e))
    _run_bench(lambda show: bench_cluster_search(names, budgets, cluster, max_depth,
                                                 worker_list[0], progress=show),
               as_json, lambda row: f"{row['solver']} budget {row['budget']:,} on "
                                    f"{row['workers']} workers", format_cluster_table,
               total=len(names) * len(budgets))


@bench.command("memory")
@click.option("--solver", default="quick", show_default=True, help="A beam preset.")
@click.option("--width", type=click.IntRange(1), default=20000, show_default=True)
@click.option("--depths", default="12,120", show_default=True,
              help="Comma-separated pieces to search, one fresh process each.")
@click.option("--prune/--no-prune", "prune", default=None,
              help="Only pruned (or only unpruned) stores; default: both.")
@click.option("--from", "from_game", default=None,
              help="Continue this game (replay, file or solution JSON) instead of the empty "
                   "well.")
@click.option("--from-piece", type=click.IntRange(0), default=None)
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run.")
def bench_memory_cmd(solver: str, width: int, depths: str, prune: bool | None,
                     from_game: str | None, from_piece: int | None, workers: int,
                     as_json: bool) -> None:
    """Peak memory of beam searches of several depths at one width (a process each)."""
    from ..bench_memory import measure, table
    from ..presets import PresetError, load_preset

    try:
        preset = load_preset(solver)
    except PresetError as e:
        _fail(str(e))
    if preset.search.get("kind") != "beam":
        _fail(f"{solver!r} is not a beam search")
    _check_preset_options(preset, width)
    try:
        depth_list = [int(d) for d in depths.split(",") if d.strip()]
    except ValueError:
        _fail(f"--depths: expected comma-separated whole numbers, got {depths!r}")
    if not depth_list or min(depth_list) < 1:
        _fail("--depths: give at least one depth, each at least 1")
    keys, piece = _start_of(from_game, from_piece) if from_game else (None, 0)
    runs = []
    for p in ([True, False] if prune is None else [prune]):
        for d in depth_list:
            try:
                r = measure(str(preset.path), width, d, p, workers, keys, piece)
            except RuntimeError as e:
                _fail(str(e))
            r.solver = preset.name
            runs.append(r)
            if as_json:
                click.echo(json.dumps(r.to_json()))
            else:
                click.echo(f"  {'pruned' if p else 'unpruned'} depth {d:,}: reached "
                           f"{r.reached:,}, peak {r.peak_mb:,.0f} MB, {r.seconds:.1f} s",
                           err=True)
    if not as_json:
        click.echo(table(runs))
