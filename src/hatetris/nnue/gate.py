"""The gate of a training run: what a generation must beat to be adopted.

A network plays a beam at the gate's width from each start of a suite of stored
positions (mean pieces survived, over the suite's cap) and from the empty well at a few
widths (mean lines, over :data:`LINE_TARGET`); the score is the sum. One lucky game
cannot decide it. :func:`decide` adopts a generation whose score beats the best
network's on the suite it is judged by, and with ``adopt_margin`` only by a paired gain
beyond that many standard errors (:func:`paired_gain`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..atomic import write_text_atomic
from ..suite import paired_gain

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


def judge_suite(run) -> str:
    """The suite the next generation is judged on: the gate's, or with a second
    suite the one the best network was not adopted by (the initial network was
    adopted by none; a forked or older run's best, by the gate)."""
    c = run.config
    if not c.second_suite:
        return c.bench_suite
    chosen_by = run.state.get("best_suite") or (
        c.bench_suite if run.state["best"] is not None else None)
    return c.second_suite if chosen_by == c.bench_suite else c.bench_suite


def bench_on(run, k: int | None, suite: str) -> dict:
    """Network ``k``'s (None: the initial network's) figures on ``suite``, played
    once and kept: the gate's as ``bench`` (the initial network's as ``baseline.init``),
    a second suite's under ``benches``."""
    c = run.config
    holder = run.gen(k) if k is not None else run.state.setdefault("baseline", {})
    key = ("bench" if k is not None else "init") if suite == c.bench_suite else suite
    if suite != c.bench_suite:
        holder = holder.setdefault("benches", {})
    if key not in holder:
        network = (run.run_dir / f"net-{k}.npz" if k is not None
                   else Path(c.init).resolve())
        holder[key] = run.benchmark(k, network, suite)  # a method: tests stand in for it
        run.save_state()
    return holder[key]


def decide(run, k: int) -> None:
    """Adopt generation ``k`` of ``run`` if it beats the best network on the suite it is
    judged on (by more than ``adopt_margin`` standard errors, when set), else reject it
    and drop its weights; log the decision."""
    c = run.config
    g = run.gen(k)
    if k > 0 and not g.get("fit", {}).get("moved", True):
        adopted, reason = False, "the fit kept its parent's weights"
    elif c.bench_suite:
        judge = (g.setdefault("judged_on", run.judge_suite()) if c.second_suite
                 else c.bench_suite)
        mine = run.bench_on(k, judge)
        if c.second_suite:
            # The best network on the same starts, which it was not adopted by.
            parent = run.bench_on(run.state["best"], judge)
            best = parent["score"]
        else:
            # The best so far: a generation's figures, or before any the initial
            # network's.
            parent = (run.state.get("baseline", {}).get("init", {})
                      if run.state["best"] is None else
                      run.state["generations"].get(str(run.state["best"]), {})
                      .get("bench", {}))
            best = run.state["best_score"]
        adopted = best is None or mine["score"] > best
        reason = ((f"on {judge}: " if c.second_suite else "")
                  + f"score {mine['score']} vs best {best}")
        if adopted and best is not None and c.adopt_margin > 0:
            gain, se = paired_gain(mine.get("steady", {}), parent.get("steady", {}))
            adopted = gain > c.adopt_margin * se
            reason += (f"; gain {gain:+.2f} a start, {c.adopt_margin} x s.e. "
                       f"{se:.2f} needed")
    else:
        adopted, reason = True, "no benchmark configured"
    before = run.state["best"]
    if adopted:
        run.state["best"] = k
        if c.bench_suite:
            run.state["best_score"] = mine["score"]
        if c.second_suite:
            run.state["best_suite"] = judge
    g["decision"] = "adopted" if adopted else "rejected"
    if not adopted:
        # No later phase reads a rejected network: its weights (2.6 MB) would only
        # swell the committed state. Its sidecar (.json) and its figures stay.
        run.state["files"].pop(f"net-{k}.npz", None)
        run.state["files"].pop(f"fit-{k}.npz", None)
        g["weights_dropped"] = True
    run.save_state()
    if not adopted:
        (run.run_dir / f"net-{k}.npz").unlink(missing_ok=True)
        (run.run_dir / f"fit-{k}.npz").unlink(missing_ok=True)
    run.event(k, g["decision"], reason=reason,
              best_before=before if before is not None else "init",
              best_now=run.state["best"])
