"""Refit a training run's generation with other fit options, or average networks.

What the twenty-fourth session tried on run steady-18's data (docs/steady-state-runs.md):
a generation's fit exactly as ``hatetris train`` made it (``training_data(k)``, from
``init``, seed ``seed + k``; with no option changed it reproduces the run's network to
the bit), with one thing changed:

    python docs/examples/refit.py fit --run data/training/steady-18 --generation 3 \\
        --window 2 --out runs/refit/w2            # only the last 2 generations' self-play
    python docs/examples/refit.py fit --run data/training/steady-18 --generation 2 \\
        --futures-pairs 256 --out runs/refit/p256  # 4 times the pairs a probe depth
    python docs/examples/refit.py fit --run data/training/steady-18 --generation 2 \\
        --hidden 64 --out runs/refit/h64           # init widened: 32 more hidden units
    python docs/examples/refit.py mean --out runs/refit/e23 \\
        data/training/steady-18/net-2.npz runs/refit/net3/net.npz

and in the twenty-eighth session:

    python docs/examples/refit.py fit --run data/training/steady-18 --generation 2 \\
        --sets rows,windows,counts --out runs/refit/counts  # the heuristic's well features
    python docs/examples/refit.py fit --run data/training/steady-18 --generation 2 \\
        --random-init --lr 1e-3 --epochs 30 --out runs/refit/rand  # not from hind-6
    python docs/examples/refit.py fit --run data/training/steady-18 --generation 2 \\
        --lr 1e-4 --epochs 40 --out runs/refit/lr1e4
    python docs/examples/refit.py fit --run data/training/steady-18 --generation 2 \\
        --init data/training/steady-18/net-1.npz --out runs/refit/from1  # from its parent
    python docs/examples/refit.py fit --run data/training/steady-18 --generation 2 \\
        --seed 1 --out runs/refit/seed1   # another minibatch order (--seed 2 likewise)

and in the twenty-ninth, generation 2's data plus a wide beam's futures at longer horizons
(``teacher_beam.py collect --stratify``):

    python docs/examples/refit.py fit --run data/training/steady-18 --generation 2 \\
        --teacher runs/teacher140 --teacher-horizon graded --out runs/refit/tgraded

and in the thirtieth, the same at 20 pieces with other seeds and reflected:

    python docs/examples/refit.py fit --run data/training/steady-18 --generation 2 \\
        --teacher runs/teacher140 --teacher-horizon 20 --seed 2 --out runs/refit/t20s2
    python docs/examples/refit.py fit --run data/training/steady-18 --generation 2 \\
        --teacher runs/teacher140 --teacher-horizon 20 --mirror --out runs/refit/m20s0

and in the thirty-sixth, generation 5 of steady-29 with pairs of its self-play wells by
their one-piece lookahead values (``lookahead_pairs.py collect``), beside the futures'
pairs and instead of them:

    python docs/examples/refit.py fit --run data/training/steady-29 --generation 5 \\
        --lookahead runs/la --out runs/refit/la64
    python docs/examples/refit.py fit --run data/training/steady-29 --generation 5 \\
        --lookahead runs/la --lookahead-only --out runs/refit/laonly

Each writes ``OUT/net.npz`` and ``OUT/net.toml`` (the run's gate preset with this network:
its chains, and its opening network before its pieces), for ``hatetris bench starts --suite
gate --solvers OUT/net.toml --width 3000``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from lookahead_pairs import lookahead_pairs  # noqa: E402  (sibling examples)
from teacher_beam import HORIZONS, teacher_pairs  # noqa: E402

def run_config(run_dir: Path):
    from hatetris.nnue.run_config import RunConfig

    state = json.loads((run_dir / "state.json").read_text(encoding="utf-8"))
    return RunConfig.from_json(state["config"])


def write_preset(out: Path, run_dir: Path, config, what: str) -> None:
    """``OUT/net.toml``: the run's gate preset (its chains and opening network) with
    ``OUT/net.npz``, files named by absolute path; ``what`` describes the network."""
    from hatetris.nnue.gate import gate_preset

    opening = None
    if config.opening_network is not None:
        opening = (Path(config.opening_network).resolve().as_posix(), config.opening_pieces)
    text = gate_preset(run_dir.name, None, (out / "net.npz").resolve().as_posix(),
                       config.chain_piece, config.chain_depth, config.chain_shortlist, opening)
    # gate_preset's first line describes a run's own generation; this one is not.
    body = text.split("\n", 1)[1]
    (out / "net.toml").write_text(f'description = "{what}"\n{body}', encoding="utf-8")


def widened(net, hidden: int, seed: int):
    """``net`` with ``hidden - net.hidden`` more units: random inputs at the scale of its
    own, output weights 0, so the widened network starts with the same values."""
    from hatetris.nnue.network import Network

    extra = hidden - net.hidden
    rng = np.random.default_rng(seed)
    w1 = np.concatenate([net.w1, (rng.standard_normal((net.w1.shape[0], extra))
                                  * net.w1.std()).astype(np.float32)], 1)
    return Network(net.sets, np.ascontiguousarray(w1),
                   np.concatenate([net.w2, np.zeros(extra, np.float32)]), net.b2.copy(), {})


def with_sets(net, sets: tuple[str, ...]):
    """``net`` with more feature sets, their input weights 0 (``Network.with_sets``)."""
    from hatetris.nnue.features import FeatureError

    try:
        return net.with_sets(sets)
    except FeatureError as e:
        raise SystemExit(f"--sets: {e}") from None


def untied(net):
    """``net`` with its shared windows replaced by one copy per window position
    (``windows_positional``): the same values, the same columns a well, and a fit that
    can then move each position on its own."""
    from hatetris.nnue.features import N_WINDOWS, WINDOW_FEATURES, layout
    from hatetris.nnue.network import Network, carried_weights

    if "windows" not in net.sets or "windows_positional" in net.sets:
        raise SystemExit("--untie needs a network with shared windows and no positional ones")
    sets = tuple("windows_positional" if s == "windows" else s for s in net.sets)
    old, new = net.layout, layout(sets)
    w1 = carried_weights(net, new)
    shared = net.w1[old.windows_base:old.windows_base + WINDOW_FEATURES]
    for w in range(N_WINDOWS):
        at = new.windows_pos_base + w * WINDOW_FEATURES
        w1[at:at + WINDOW_FEATURES] = shared
    return Network(sets, w1, net.w2.copy(), net.b2.copy(), {})


def with_teacher(rows, labels, pairs, data: Path, horizon, per_step: int):
    """Generation k's data plus a wide beam's futures (``teacher_beam.py collect``):
    its wells unlabelled, its pairs (``teacher_beam.teacher_pairs``) beside the run's."""
    t_rows, better, worse = teacher_pairs(data, horizon, per_step)
    if not len(t_rows):
        raise SystemExit(f"--teacher: no start-*.npz in {data}")
    base = len(rows)
    print(f"teacher: {len(t_rows):,} wells, {len(better):,} pairs at {horizon}", flush=True)
    pairs = (base + better, base + worse) if pairs is None else (
        np.concatenate([pairs[0], base + better]), np.concatenate([pairs[1], base + worse]))
    return (np.ascontiguousarray(np.concatenate([rows, t_rows])),
            np.concatenate([labels, np.full(len(t_rows), np.nan)]), pairs)


def selfplay_blocks(run, k: int, kinds):
    """``(first row, dataset)`` of each self-play file in generation k's fit data
    (``run.training_data(k)``, whose ``kinds`` these are): as the fit reads them, one
    after another, ahead of the records' pair rows (self-play as pairs: kind 3)."""
    from hatetris.nnue.dataset import load_dataset

    at = int(np.flatnonzero(kinds == 3)[0])
    for j in run.selfplay_generations(k):
        sp = load_dataset(run.checked(f"selfplay-{j}.npz"))
        yield at, sp
        at += len(sp.rows)


def selfplay_pair_mask(run, k: int, kinds, better) -> np.ndarray:
    """Which pairs of generation k's fit data are self-play pairs (their better well is
    a self-play row; the rest are the records' pairs)."""
    blocks = list(selfplay_blocks(run, k, kinds))
    first, end = blocks[0][0], blocks[-1][0] + len(blocks[-1][1].rows)
    return (better >= first) & (better < end)


def fewer_probes(run, k: int, kinds, pairs, fraction: float, seed: int):
    """``pairs`` without the self-play pairs of a share ``1 - fraction`` of the probes
    (drawn with ``seed``, whole probes: a probe's depths are one game, so fewer probes is
    what a run with fewer of them would have had); the record pairs all stay. The rows
    stay too (a row in no pair and with no label does not enter the fit)."""
    rng = np.random.default_rng(seed)
    probe = np.full(len(kinds), -1, np.int64)  # a self-play row's probe, numbered across files
    n_probes = 0
    for at, sp in selfplay_blocks(run, k, kinds):
        _, ids = np.unique(np.asarray(sp.meta["group"]) // 1000, return_inverse=True)
        probe[at:at + len(sp.rows)] = n_probes + ids
        n_probes += int(ids.max()) + 1
    kept = rng.permutation(n_probes)[:round(fraction * n_probes)]
    p = probe[pairs[0]]
    keep = (p < 0) | np.isin(p, kept)
    print(f"probes kept {len(kept)} of {n_probes}: {int(keep.sum()):,} of {len(keep):,} pairs",
          flush=True)
    return pairs[0][keep], pairs[1][keep]


def with_lookahead(run, k: int, kinds, pairs, data: Path, per_group: int, margin: float,
                   only: bool, seed: int):
    """``pairs`` plus pairs of the self-play wells by their lookahead values
    (``lookahead_pairs.py collect``): ``per_group`` drawn a probe depth, kept when the
    values differ by more than ``margin``; with ``only``, the self-play's own pairs
    (the futures) are dropped first and the records' pairs stay."""
    rng = np.random.default_rng(seed)
    better, worse = [], []
    for j, (at, sp) in zip(run.selfplay_generations(k), selfplay_blocks(run, k, kinds)):
        path = data / f"lookahead-{j}.npy"
        if not path.exists():
            raise SystemExit(f"--lookahead: {path} missing (lookahead_pairs.py collect)")
        value = np.load(path)
        if len(value) != len(sp.rows):
            raise SystemExit(f"--lookahead: {path} has {len(value):,} values for "
                             f"{len(sp.rows):,} wells")
        got = at + lookahead_pairs(np.asarray(sp.meta["group"]), value.astype(np.float64),
                                   per_group, margin, rng)
        better.append(got[:, 0])
        worse.append(got[:, 1])
    if only and pairs is not None:
        keep = ~selfplay_pair_mask(run, k, kinds, pairs[0])
        pairs = (pairs[0][keep], pairs[1][keep])
    n_new = sum(len(b) for b in better)
    print(f"lookahead: {n_new:,} pairs ({'instead of' if only else 'beside'} the futures')",
          flush=True)
    if pairs is None:
        return np.concatenate(better), np.concatenate(worse)
    return np.concatenate([pairs[0], *better]), np.concatenate([pairs[1], *worse])


def mirrored(rows, labels, pairs):
    """The data and its left-right mirror image: every well reflected (its rows' ten
    bits reversed), with the same label, and every pair reflected with it. For an
    adversary that treats left and right alike; HATETRIS's does not (it breaks ties S
    before Z, and the record's steady state is 54% S, 8% Z), and this fit lost 27
    pieces a start on the gate (thirtieth session).

    >>> r, lab, p = mirrored(np.array([[0b1000000011]], np.uint16), np.array([0.5]), None)
    >>> [bin(x) for x in r[:, 0]], lab.tolist(), p
    (['0b1000000011', '0b1100000001'], [0.5, 0.5], None)
    """
    from hatetris.rules import WIDTH

    flip = np.zeros(1 << WIDTH, np.uint16)
    for v in range(1 << WIDTH):
        flip[v] = int(format(v, f"0{WIDTH}b")[::-1], 2)
    n = len(rows)
    both = np.ascontiguousarray(np.concatenate([rows, flip[rows]]))
    if pairs is not None:
        pairs = (np.concatenate([pairs[0], pairs[0] + n]),
                 np.concatenate([pairs[1], pairs[1] + n]))
    return both, np.concatenate([labels, labels]), pairs


def fit_net(args) -> None:
    from hatetris.nnue.network import Network, load_network
    from hatetris.nnue.training_run import TrainingRun

    run_dir, k = Path(args.run), args.generation
    config = run_config(run_dir)
    run = TrainingRun(config, run_dir)
    run.load_state()
    if args.window is not None:
        run.config.selfplay_window = args.window
    if args.futures_pairs is not None:
        run.config.futures_pairs = args.futures_pairs
    rows, labels, kinds, pairs = run.training_data(k)
    if args.teacher:
        rows, labels, pairs = with_teacher(rows, labels, pairs, Path(args.teacher),
                                           args.teacher_horizon, args.teacher_pairs)
    if args.lookahead:
        pairs = with_lookahead(run, k, kinds, pairs, Path(args.lookahead),
                               args.lookahead_pairs, args.lookahead_margin,
                               args.lookahead_only, args.seed or 0)
    if args.probes is not None:
        pairs = fewer_probes(run, k, kinds, pairs, args.probes, args.probes_seed)
    if args.mirror:
        rows, labels, pairs = mirrored(rows, labels, pairs)
    print(f"{len(rows):,} rows, {len(pairs[0]) if pairs else 0:,} pairs", flush=True)
    if args.seed is not None:
        run.config.seed = args.seed  # the fit's minibatch order: seed + generation
    net = load_network(args.init or config.init)
    if args.random_init:
        # The run's feature sets and size, weights drawn afresh (ranking_fit.py's --sets).
        net = Network.random(net.sets, hidden=net.hidden, seed=run.config.seed)
    if args.lr is not None:
        run.config.lr = args.lr
    if args.epochs is not None:
        run.config.epochs = args.epochs
    if args.decay is not None:
        run.config.fit_decay = args.decay
    if args.decay_to is not None:
        run.config.fit_decay_to = args.decay_to
    if args.hidden and args.hidden > net.hidden:
        net = widened(net, args.hidden, args.hidden)
    if args.sets:
        net = with_sets(net, tuple(args.sets.split(",")))
    if args.untie:
        net = untied(net)
    result = fit_and_write(run, k, net, rows, labels, pairs, Path(args.out), {
        "from": "docs/examples/refit.py", "window": args.window,
        "futures_pairs": args.futures_pairs, "hidden": net.hidden,
        "sets": list(net.sets), "untie": args.untie, "init": args.init,
        "random_init": args.random_init,
        "lr": run.config.lr, "seed": run.config.seed,
        "epochs_max": run.config.epochs, "decay": run.config.fit_decay,
        "decay_to": run.config.fit_decay_to, "teacher": args.teacher,
        "teacher_horizon": args.teacher_horizon if args.teacher else None,
        "teacher_pairs": args.teacher_pairs if args.teacher else None,
        "lookahead": args.lookahead, "lookahead_pairs": args.lookahead_pairs,
        "lookahead_margin": args.lookahead_margin, "lookahead_only": args.lookahead_only,
        "mirror": args.mirror, "probes": args.probes, "probes_seed": args.probes_seed},
        f"{run_dir.name}: generation {k} refitted")
    print(f"fit: {result}")


def fit_and_write(run, k: int, net, rows, labels, pairs, out: Path, trained: dict, what: str):
    """Fit ``net`` on generation k's data as ``run`` does (epochs printed), write
    ``OUT/net.npz`` (``trained`` plus the run, generation and fit's figures in its
    metadata) and ``OUT/net.toml``; the fit's result."""
    from hatetris.nnue.network import save_network

    result = run.fit_generation(k, net, rows, labels, pairs, lambda e, t, v: print(
        f"epoch {e}: train {t:.4f} val {v:.4f}", flush=True))
    out.mkdir(parents=True, exist_ok=True)
    save_network(out / "net.npz", net, trained={
        **trained, "run": str(run.run_dir), "generation": k, "val_loss": result.val_loss,
        "epochs": result.epochs})
    write_preset(out, run.run_dir, run.config, what)
    return result


def mean_net(args) -> None:
    from hatetris.nnue.network import load_network, mean_network, save_network

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save_network(out / "net.npz", mean_network([load_network(p) for p in args.nets]),
                 mean_of=args.nets)
    run_dir = Path(args.run)
    write_preset(out, run_dir, run_config(run_dir), "mean of " + ", ".join(args.nets))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fit")
    f.add_argument("--run", default="data/training/steady-18")
    f.add_argument("--generation", type=int, required=True)
    f.add_argument("--window", type=int, help="only the last W generations' self-play")
    f.add_argument("--futures-pairs", type=int, help="pairs drawn a probe depth")
    f.add_argument("--hidden", type=int, help="widen the initial network to this many units")
    f.add_argument("--sets", help="feature sets of the fit, e.g. rows,windows,counts "
                   "(the initial network's own, the new ones starting at 0)")
    f.add_argument("--untie", action="store_true",
                   help="shared windows become one copy per position (same start values)")
    f.add_argument("--init", help="start from this network instead of the run's init")
    f.add_argument("--random-init", action="store_true",
                   help="start from random weights instead of the run's init network")
    f.add_argument("--seed", type=int, help="the run's seed for the fit (default: the run's)")
    f.add_argument("--lr", type=float, help="learning rate (default: the run's)")
    f.add_argument("--epochs", type=int, help="most epochs (default: the run's)")
    f.add_argument("--decay", type=float, help="pull toward the start network (fit_decay; "
                   "default: the run's)")
    f.add_argument("--decay-to", choices=("start", "zero"),
                   help="what the decay pulls toward (default: the run's)")
    f.add_argument("--teacher", help="a teacher_beam.py collect directory: its futures' "
                   "pairs join the fit")
    f.add_argument("--teacher-horizon", default=10, choices=(*HORIZONS, "graded"),
                   type=lambda v: v if v == "graded" else int(v),
                   help="pieces a teacher's future looks ahead, or graded (default 10)")
    f.add_argument("--teacher-pairs", type=int, default=64, help="pairs a step (default 64)")
    f.add_argument("--lookahead", help="a lookahead_pairs.py collect directory: pairs of "
                   "the self-play wells by their lookahead values join the fit")
    f.add_argument("--lookahead-pairs", type=int, default=64,
                   help="lookahead pairs drawn a probe depth (default 64)")
    f.add_argument("--lookahead-margin", type=float, default=0.02,
                   help="values closer than this make no pair (default 0.02)")
    f.add_argument("--lookahead-only", action="store_true",
                   help="drop the self-play's futures pairs (the records' stay)")
    f.add_argument("--mirror", action="store_true",
                   help="every well and pair also reflected left-right")
    f.add_argument("--probes", type=float,
                   help="keep the self-play pairs of this share of the probes (whole probes)")
    f.add_argument("--probes-seed", type=int, default=0, help="which probes --probes keeps")
    f.add_argument("--out", required=True)
    m = sub.add_parser("mean")
    m.add_argument("--run", default="data/training/steady-18",
                   help="the run whose gate preset plays the mean")
    m.add_argument("--out", required=True)
    m.add_argument("nets", nargs="+")
    args = ap.parse_args()
    {"fit": fit_net, "mean": mean_net}[args.cmd](args)


if __name__ == "__main__":
    main()
