"""Start a training run from another run's adopted generation.

The new run keeps the source's data and networks up to that generation (records,
labels, self-play, the adopted network), so it does not pay for generation 0 again, and
goes on with its own options from there. Options that define those files (the games,
the hold-out, the label settings, the initial network) must be the source's; options
that judge a generation (the gate) may differ, in which case the kept best network is
measured again on the new gate before the first new generation.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .. import __version__
from ..atomic import write_json_atomic

# What the kept files were made with: a fork may not change these.
DATA_OPTIONS = ("games", "min_pieces", "hold_out", "horizon", "siblings", "record_copies",
                "label_width", "label_depth", "label_grace", "init", "seed")
# What a generation was judged by: if any differs, old benchmark figures are not kept.
GATE_OPTIONS = ("bench_suite", "bench_starts", "bench_width", "empty_widths",
                "chain_piece", "chain_depth", "chain_shortlist", "opening_network",
                "opening_pieces")


def _generation_of(name: str) -> int:
    """The generation a run file belongs to (records.npz: 0).

    >>> _generation_of("selfplay-3.npz"), _generation_of("records.npz")
    (3, 0)
    """
    stem = name.split(".")[0]
    return int(stem.rsplit("-", 1)[1]) if "-" in stem else 0


def fork_run(source: Path, generation: int, target: Path, config,
             log_path: Path | None = None) -> None:
    """Write ``target``'s state: ``source`` up to its adopted ``generation``, with
    ``config`` (a :class:`~hatetris.nnue.training_run.RunConfig`) as its options.

    With ``log_path``, the kept generations' figures start the new run's log (marked
    ``kept_from``), so that its table and picture begin where the run does."""
    from .run_config import RunConfig
    from .training_run import STATE_FORMAT, RunError

    try:
        state = json.loads((source / "state.json").read_text(encoding="utf-8"))
        gens = state["generations"]
        # Options added since the source was made take their defaults, as on resume.
        theirs = RunConfig.from_json(state["config"]).to_json()
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
        raise RunError(f"cannot fork {source}: no readable training state ({e})") from None
    g = gens.get(str(generation))
    if not g or g.get("decision") != "adopted":
        adopted = [k for k, v in gens.items() if v.get("decision") == "adopted"]
        raise RunError(f"cannot fork {source} at generation {generation}: only adopted "
                       f"generations keep their network ({', '.join(adopted) or 'none'})")
    if (target / "state.json").exists():
        raise RunError(f"{target} already holds a run; fork into a new directory")
    mine = config.to_json()
    differ = [k for k in DATA_OPTIONS if json.dumps(theirs.get(k)) != json.dumps(mine.get(k))]
    if differ:
        raise RunError(f"a fork keeps {source.name}'s data, so these options must be its "
                       f"own: {', '.join(differ)}")
    same_gate = all(json.dumps(theirs.get(k)) == json.dumps(mine.get(k)) for k in GATE_OPTIONS)
    files = {name: digest for name, digest in state["files"].items()
             if _generation_of(name) <= generation}
    target.mkdir(parents=True, exist_ok=True)
    for name in files:
        shutil.copy2(source / name, target / name)
    kept = {}
    for k, v in gens.items():
        if int(k) > generation:
            continue
        v = dict(v)
        if not same_gate:
            # Judged by another gate (its suite games and its empty-well games, which
            # the gate would otherwise reuse); the decisions stand.
            v.pop("bench", None)
            v.pop("benches", None)
            v.pop("empty", None)
        kept[k] = v
    baseline = state.get("baseline", {}) if same_gate else {}
    if log_path is not None:
        log_kept(log_path, target.name, source.name, baseline.get("init"), kept)
    write_json_atomic(target / "state.json", {
        "format": STATE_FORMAT, "config": mine, "engine_version": __version__,
        "files": files, "generations": kept, "best": generation,
        # The forked generation's own score (the source may have adopted later ones);
        # None: measure it on this run's gate before going on.
        "best_score": kept[str(generation)].get("bench", {}).get("score"),
        "baseline": baseline,
        # The suite the forked generation was adopted by (None: the gate's).
        "best_suite": kept[str(generation)].get("judged_on"),
        "forked_from": {"run": source.name, "at": f"generation {generation}",
                        "from_engine_version": state.get("engine_version")}})


def log_kept(log_path: Path, run: str, source: str, init: dict | None, kept: dict) -> None:
    """Append the kept figures (the initial network's benchmark ``init``, when it holds
    for this run's gate, and each kept generation's) to a log, as the source logged them."""
    events = []
    if init:
        events.append((None, "benchmark", init))
    for k in sorted(kept, key=int):
        g = kept[k]
        if "fit" in g:
            events.append((int(k), "trained", g["fit"]))
        if "bench" in g:
            events.append((int(k), "benchmark", g["bench"]))
        if g.get("decision"):
            events.append((int(k), g["decision"], {"reason": f"kept from {source}"}))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", encoding="utf-8") as f:
        for k, what, fields in events:
            f.write(json.dumps({"run": run, "generation": k, "event": what,
                                "kept_from": source, **fields}) + "\n")
