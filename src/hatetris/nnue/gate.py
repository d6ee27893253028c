"""The gate of a training run: what a generation must beat to be adopted.

A network plays a beam at the gate's width from each start of a suite of stored
positions (mean pieces survived, over the suite's cap) and from the empty well at a few
widths (mean lines, over :data:`LINE_TARGET`); the score is the sum. One lucky game
cannot decide it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..atomic import write_text_atomic

LINE_TARGET = 150  # the empty-well benchmark's scale: lines over this


def benchmark(run, k: int | None, network: Path, suite_name: str | None = None) -> dict:
    """Generation ``k``'s (None: the initial network's) gate figures and score, for
    ``run`` (a :class:`~hatetris.nnue.training_run.TrainingRun`), on the run's gate suite
    or on ``suite_name`` (its second suite: all its starts, logged as
    ``benchmark_second``)."""
    from ..bench import run_solver_process
    from ..suite import load_suite, mean_survived, run_suite

    c = run.config
    preset = run.run_dir / "presets" / (f"net-{k}.toml" if k is not None else "init.toml")
    net_ref = f"net-{k}.npz" if k is not None else run_relative(network, run.run_dir)
    write_text_atomic(preset, gate_preset(run.run_dir.name, k, net_ref, c.chain_piece,
                                          c.chain_depth, c.chain_shortlist,
                                          opening_of(c, run.run_dir, network)))
    primary = suite_name in (None, c.bench_suite)
    suite = (load_suite(c.bench_suite).subset(list(c.bench_starts) or None) if primary
             else load_suite(suite_name))
    cache = run.run_dir / "bench.jsonl"
    rows = run_suite(suite, [str(preset)], c.bench_width, run.workers, cache,
                     lambda r: run.log(f"  {r['start']}: {r['survived']} pieces"))
    steady = mean_survived(rows)[preset.stem]
    empty = {}
    if k is not None:
        done = run.gen(k).get("empty", {})
    else:  # the initial network's games, when its gate was played before
        done = run.state.get("baseline", {}).get("init", {}).get("empty", {})
    for w in c.empty_widths:
        if str(w) in done:
            empty[str(w)] = done[str(w)]
            continue
        r = run_solver_process(str(preset), width=w, workers=run.workers)
        empty[str(w)] = {"lines": int(r["score"]), "pieces": int(r["pieces"]),
                         "seconds": round(float(r["elapsed"]), 1)}
        run.log(f"  empty well w{w}: {r['score']} lines")
        if k is not None:
            run.gen(k).setdefault("empty", {})[str(w)] = empty[str(w)]
            run.save_state()
    lines = float(np.mean([e["lines"] for e in empty.values()])) if empty else 0.0
    score = steady / suite.cap + lines / LINE_TARGET
    result = {"steady": {r["start"]: r["survived"] for r in rows},
              "steady_mean": round(steady, 2), "empty": empty,
              "empty_mean_lines": round(lines, 2), "score": round(score, 4),
              "bench_width": c.bench_width}
    if not primary:
        result["suite"] = suite_name
    run.event(k, "benchmark" if primary else "benchmark_second",
              network=str(network if k is None else net_ref), **result)
    return result


def run_relative(path: Path | str, run_dir: Path) -> str:
    """A file named in a run's preset: relative to the run (where a run's preset looks
    first), so that the run can move."""
    return Path(os.path.relpath(Path(path).resolve(), run_dir)).as_posix()


def opening_of(config, run_dir: Path, network: Path) -> tuple[str, int] | None:
    """The run's opening network (as its preset names it) and its pieces for a gate of
    ``network``; None without one, or when it is ``network`` itself (the same play, and
    the preset, so its cached games, of the network alone)."""
    if config.opening_network is None:
        return None
    if Path(network).read_bytes() == Path(config.opening_network).read_bytes():
        return None
    return run_relative(config.opening_network, run_dir), config.opening_pieces


def gate_preset(run_name: str, k: int | None, net_ref: str, chain_piece: str,
                depth: int = 2, shortlist: float | None = None,
                opening: tuple[str, int] | None = None) -> str:
    """The preset a gate plays generation ``k`` (None: the initial network) with;
    ``opening``: (network file, pieces) valuing the opening (eval/phased.py).

    >>> print(gate_preset("steady-13", 2, "net-2.npz", "optimistic"))  # doctest: +ELLIPSIS
    description = "Training run steady-13: generation 2"
    ...
    [quiescence]
    enabled = true
    depth = 2
    piece = "optimistic"
    <BLANKLINE>
    >>> print(gate_preset("r", 1, "net-1.npz", "optimistic", 3, 8, ("o.npz", 464))
    ...       .split("[eval]")[1])  # doctest: +ELLIPSIS
    <BLANKLINE>
    kind = "nnue"
    network = "net-1.npz"
    opening_network = "o.npz"
    opening_pieces = 464
    ...
    >>> print(gate_preset("r", 0, "net-0.npz", "optimistic", 3, 8).split("[quiescence]")[1])
    <BLANKLINE>
    enabled = true
    depth = 3
    piece = "optimistic"
    shortlist = 8
    <BLANKLINE>
    """
    # The adversary's piece is the default: its presets keep the text (and the cached
    # games' fingerprints) of the runs made before the option existed.
    chains = "" if chain_piece == "adversary" else f'piece = "{chain_piece}"\n'
    if shortlist is not None:
        chains += f"shortlist = {shortlist:g}\n"
    return (f'description = "Training run {run_name}: '
            f'{"generation " + str(k) if k is not None else "its initial network"}"\n\n'
            '[search]\nkind = "beam"\nwidth = 1000\ncheckpoint_every = 10\n\n'
            f'[eval]\nkind = "nnue"\nnetwork = "{net_ref}"\n'
            + (f'opening_network = "{opening[0]}"\nopening_pieces = {opening[1]}\n'
               if opening else "") + "\n"
            f'[quiescence]\nenabled = true\ndepth = {depth}\n{chains}')
