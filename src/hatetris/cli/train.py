"""Networks: train, nets table, nets values."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

import click

from . import _fail, _read_one_game, _resume_command, cli


def _check_training_run(work: Path, nets: Path, resume: bool, overwrite: bool) -> None:
    """A training run is continued only with --resume and replaced only with --overwrite;
    networks it did not make are never taken as its generations."""
    if resume and overwrite:
        _fail("give --resume or --overwrite, not both")
    for d, option in ((work, "--work"), (nets, "--nets")):
        if d.exists() and not d.is_dir():
            _fail(f"{option} {d}: not a directory")
    held = (work / "state.json").exists()
    gens = sorted(p.name for p in nets.glob("gen-*.npz")) if nets.is_dir() else []
    if resume and not held:
        _fail(f"--resume: no training run in {work} (state.json not found)")
    if overwrite:
        for p in [work / "state.json", work / "train-log.jsonl", work / "data-teacher.npz",
                  *work.glob("data-*.npz"), *nets.glob("gen-*.npz"), *nets.glob("gen-*.json")]:
            p.unlink(missing_ok=True)
        for d in [*work.glob("probe-*"), work / "also-sample"]:
            if d.is_dir():
                shutil.rmtree(d)
        return
    if held and not resume:
        _fail(f"--work {work} holds a training run: add --resume to continue it or "
              f"--overwrite to start again")
    if gens and not held:
        _fail(f"--nets {nets} already holds networks ({', '.join(gens[:3])}"
              f"{', ...' if len(gens) > 3 else ''}) that no run in {work} made: give an "
              f"empty --nets directory")


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
@click.option("--nets", "nets_dir", default=None,
              help="Where gen-K.npz (+ .json) go  [default: WORK/nets].")
@click.option("--work", "work_dir", default="runs/train", show_default=True,
              help="Resumable state: data, probe checkpoints, log.")
@click.option("--resume", is_flag=True, help="Continue the training run in --work.")
@click.option("--overwrite", is_flag=True,
              help="Start again: remove the run in --work and its gen-K networks in --nets.")
@click.option("--dataset", type=click.Choice(["self-play", "records"]), default="self-play",
              show_default=True,
              help="records: learn from stored games (records as ground truth), then "
                   "self-play from inside them; its options are --run, --run-config, --log, "
                   "--generations and --workers (see docs/steady-state.md).")
@click.option("--run", "run_dir", default=None,
              help="--dataset records: the run's state directory (e.g. data/training/NAME); "
                   "run the same command again to resume it.")
@click.option("--run-config", default=None,
              help="--dataset records: a new run's options, a JSON object of RunConfig fields.")
@click.option("--log", "log_file", default=None,
              help="--dataset records: append every decision to this JSON-lines log "
                   "[default: RUN/log.jsonl].")
@click.option("--fork", "fork_from", default=None, metavar="RUN:GEN",
              help="--dataset records: start the new --run from run RUN's adopted "
                   "generation GEN (its data and network), with --run-config's options.")
def train(generations: int, features: str, hidden: int, probe_width: str,
          probe_max_depth: int, samples: int, label_depth: int, label_width: int,
          label_grace: int, candidates: int, survivor_labels: str, hindsight: bool,
          also_sample: str | None, pool_limit: int, epochs: int, lr: float,
          no_quiescence: bool, teacher: str | None, init: str | None, seed: int,
          workers: int | None, nets_dir: str | None, work_dir: str, resume: bool,
          overwrite: bool, dataset: str, run_dir: str | None, run_config: str | None,
          log_file: str | None, fork_from: str | None) -> None:
    """Train NNUE generations from the engine's own searches (resumable: --resume)."""
    if dataset == "records":
        _train_records(run_dir, run_config, log_file, workers, fork_from,
                       click.get_current_context())
        return
    import numba

    from ..nnue.features import FeatureError, layout
    from ..nnue.network import NetworkError
    from ..nnue.train import TrainConfig, Trainer
    from ..running import default_workers
    from ..search.checkpoint import CheckpointError

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
    numba.set_num_threads(min(workers or default_workers(), numba.config.NUMBA_NUM_THREADS))
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
        from ..presets import PresetError, load_preset

        try:  # fail now, not after a generation's probes
            if load_preset(also_sample).search.get("kind") != "beam":
                _fail(f"--also-sample {also_sample}: not a beam preset")
        except PresetError as e:
            _fail(str(e))
    nets_dir = nets_dir or str(Path(work_dir) / "nets")
    _check_training_run(Path(work_dir), Path(nets_dir), resume, overwrite)
    try:
        Trainer(config, Path(nets_dir), Path(work_dir), log=click.echo, progress=True).run()
    except (ValueError, NetworkError, CheckpointError) as e:
        _fail(str(e))
    except KeyboardInterrupt:
        click.echo(f"interrupted: the run is saved in {work_dir}; resume with: "
                   f"{_resume_command(click.get_current_context())}", err=True)
        sys.exit(130)


def _train_records(run_dir: str | None, run_config: str | None, log_file: str | None,
                   workers: int | None, fork_from: str | None, ctx: click.Context) -> None:
    """``train --dataset records``: a resumable run of hatetris.nnue.training_run."""
    import json

    import numba
    from click.core import ParameterSource

    from ..nnue.dataset import DatasetError
    from ..nnue.network import NetworkError
    from ..nnue.training_run import RunConfig, RunError, TrainingRun

    if not run_dir:
        _fail("--dataset records needs --run DIR (the run's state, e.g. data/training/NAME)")
    run = Path(run_dir)
    state = run / "state.json"
    fork = None
    if fork_from:
        source, _, gen = fork_from.rpartition(":")
        if not source or not gen.isdigit():
            _fail(f"--fork takes RUN:GEN (a run directory and a generation), not {fork_from!r}")
        fork = (Path(source), int(gen))
        # Without --run-config the fork keeps its source's options.
        state = fork[0] / "state.json"
    try:
        if run_config:
            config = RunConfig.from_json(json.loads(Path(run_config).read_text("utf-8")))
        elif state.exists():
            config = RunConfig.from_json(json.loads(state.read_text("utf-8"))["config"])
        else:
            config = RunConfig()
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
        _fail(f"cannot read the run's options ({run_config or state}): "
              f"{str(e).splitlines()[0] if str(e) else type(e).__name__}")
    if ctx.get_parameter_source("generations") == ParameterSource.COMMANDLINE:
        config.generations = ctx.params["generations"]
    if workers:
        numba.set_num_threads(min(workers, numba.config.NUMBA_NUM_THREADS))
    log = Path(log_file) if log_file else run / "log.jsonl"
    try:
        if fork and not (run / "state.json").exists():  # once; then it resumes
            from ..nnue.fork import fork_run

            fork_run(fork[0], fork[1], run, config, log)
        TrainingRun(config, run, log, log=click.echo, workers=workers, progress=True).run()
    except (RunError, DatasetError, NetworkError) as e:
        _fail(str(e))
    except KeyboardInterrupt:
        click.echo(f"interrupted: run the same command again to resume {run_dir}", err=True)
        sys.exit(130)


@cli.group()
def nets() -> None:
    """Trained networks: the generations table."""


@nets.command("table")
@click.option("--nets", "nets_dir", default="runs/train/nets", show_default=True,
              help="The networks to measure; results.json and README.md are written here "
                   "(the shipped table: --nets data/nets).")
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
    from ..nnue.network import NetworkError
    import numba

    from ..nnue.report import measure, network_order, write_table
    from ..running import default_workers
    from ..presets import PresetError

    d = Path(nets_dir)
    if not d.is_dir():
        _fail(f"--nets {nets_dir}: no such directory (networks from hatetris train go to "
              f"runs/train/nets; the shipped ones: --nets data/nets)")
    names = [n.strip() for n in networks.split(",") if n.strip()] or sorted(
        (p.stem for p in d.glob("*.npz")), key=network_order)
    if not names:
        _fail(f"--nets {nets_dir}: no networks (*.npz) to measure")
    numba.set_num_threads(min(default_workers(), numba.config.NUMBA_NUM_THREADS))
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
    from ..nnue.game_values import game_values
    from ..nnue.network import NetworkError, load_network

    keys = _read_one_game(replay, file)
    names = [n.strip() for n in networks.split(",") if n.strip()]
    base = Path(nets_dir)
    if not base.is_absolute() and not base.is_dir():  # outside the clone: the shipped ones
        from ..presets import REPO_ROOT

        base = REPO_ROOT / base if (REPO_ROOT / base).is_dir() else base
    paths = [Path(n) if n.endswith(".npz") else base / f"{n}.npz" for n in names]
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


@nets.command("plot")
@click.argument("log")
@click.option("--out", required=True, help="The PNG to write.")
@click.option("--title", default=None)
def nets_plot(log: str, out: str, title: str | None) -> None:
    """Draw a training run's log (train --dataset records): each generation's benchmark
    and value spread, as a PNG."""
    from ..nnue.plot import PlotError, plot_generations

    try:
        plot_generations(log, out, title)
    except PlotError as e:
        _fail(str(e))
    click.echo(f"wrote {out}")


@nets.command("compact")
@click.argument("network")
@click.option("--out", required=True, help="The compact network to write (.npz).")
def nets_compact(network: str, out: str) -> None:
    """Store NETWORK as the int16 weights the search uses, zero rows left out,
    compressed: the same games, a fraction of the file for networks with many features."""
    from ..nnue.network import NetworkError, load_network, save_network
    from ..nnue.quantized import quantize

    if not out.endswith(".npz"):
        _fail(f"--out must be an .npz file, not {out}")
    try:
        net = load_network(network)
        save_network(out, net, compact=True)
        back = load_network(out)
    except NetworkError as e:
        _fail(str(e))
    except OSError as e:
        _fail(f"cannot write {out}: {e.strerror or e}")
    # The promise of the format, checked on the file just written.
    a, b = quantize(net), quantize(back)
    if a.shift != b.shift or a.w1.tobytes() != b.w1.tobytes():
        _fail(f"{out} does not quantize to {network}'s int16 weights")
    size = Path(out).stat().st_size
    click.echo(f"wrote {out}: {size / 1e6:.1f} MB, {int(back.w1.any(axis=1).sum()):,} of "
               f"{back.w1.shape[0]:,} rows stored, int16 at 2**-{b.shift}")
