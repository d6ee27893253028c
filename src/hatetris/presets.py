"""Solver presets: ``solvers/NAME.toml``, one per approach, validated strictly.

A preset has a ``description``, a ``[search]`` table (``kind`` and its parameters), an
``[eval]`` table (``kind`` and its weights or network file), a ``[quiescence]`` table and,
optionally, a ``[lookahead]`` table (:mod:`hatetris.eval.lookahead`: ``enabled``,
``shortlist``, ``from_pieces``; not on a cluster). Unknown keys are an error: a typo in
a weight name must not silently mean "weight 0".
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


class PresetError(ValueError):
    """A preset that cannot be found or does not validate."""


SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "search": {
        "kind": str,
        "width": int,
        "parent_cap": int,
        "max_depth": int,
        "workers": int,
        "checkpoint_every": int,
        "simulations": int,
        "exploration": (int, float),
        "max_nodes": int,
        "rollout_depth": int,
        "backup": str,
    },
    "eval": {"kind": str, "weights": dict, "network": str, "opening_weights": dict,
             "opening_network": str, "opening_pieces": int, "lines_weight": (int, float),
             "heuristic_share": (int, float), "heuristic_weights": dict},
    "quiescence": {"enabled": bool, "depth": int, "piece": str, "shortlist": (int, float),
                   "discount": (int, float)},
    "lookahead": {"enabled": bool, "shortlist": (int, float), "from_pieces": int},
}
SEARCH_KINDS = ("beam", "mcts")
EVAL_KINDS = ("heuristic", "nnue")


def solver_dirs() -> list[Path]:
    """Where presets are looked up, in order: $HATETRIS_SOLVERS, ./solvers, the repo's."""
    dirs = []
    if os.environ.get("HATETRIS_SOLVERS"):
        dirs.append(Path(os.environ["HATETRIS_SOLVERS"]))
    dirs += [Path.cwd() / "solvers", REPO_ROOT / "solvers"]
    out = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in [o.resolve() for o in out]:
            out.append(d)
    return out


def list_presets() -> dict[str, Path]:
    """Every preset name and its file (earlier directories win)."""
    found: dict[str, Path] = {}
    for d in solver_dirs():
        for f in sorted(d.glob("*.toml")):
            found.setdefault(f.stem, f)
    return found


@dataclass
class Preset:
    name: str
    path: Path
    description: str
    search: dict[str, Any]
    eval: dict[str, Any]
    quiescence: dict[str, Any] = field(default_factory=dict)
    lookahead: dict[str, Any] = field(default_factory=dict)

    def resolve(self, relative: str) -> Path:
        """A file named in the preset: relative to the repository (or the preset's folder)."""
        p = Path(relative)
        if p.is_absolute():
            return p
        for base in (self.path.parent.parent, REPO_ROOT, Path.cwd()):
            if (base / p).exists():
                return base / p
        return self.path.parent.parent / p

    def to_json(self) -> dict[str, Any]:
        d = {"search": self.search, "eval": self.eval, "quiescence": self.quiescence}
        if self.lookahead:  # only when set: fingerprints of older presets stay the same
            d["lookahead"] = self.lookahead
        return d


def _check_table(name: str, table: Any, where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise PresetError(f"{where}: [{name}] must be a table")
    allowed = SCHEMA[name]
    for key, value in table.items():
        if key not in allowed:
            raise PresetError(f"{where}: unknown key {key!r} in [{name}] "
                              f"(allowed: {', '.join(allowed)})")
        want = allowed[key]
        if isinstance(value, bool) and want is not bool:
            raise PresetError(f"{where}: [{name}] {key} must not be a boolean")
        if not isinstance(value, want):
            raise PresetError(f"{where}: [{name}] {key} has the wrong type "
                              f"({type(value).__name__})")
    return dict(table)


def solver_labels(names: list[str]) -> dict[str, str]:
    """A short label for each solver a table names: a preset file's stem, and where two
    files share a stem, as many of their last folders as tell them apart.

    >>> solver_labels(["nnue-beam", "runs/a/net.toml", "runs/b/net.toml", "x/quick.toml"])
    {'nnue-beam': 'nnue-beam', 'runs/a/net.toml': 'a/net', 'runs/b/net.toml': 'b/net', \
'x/quick.toml': 'quick'}
    >>> solver_labels(["quick", "quick.toml"])
    {'quick': 'quick', 'quick.toml': 'quick.toml'}
    """
    def label(name: str, parts: int) -> str:
        if not name.endswith(".toml"):
            return name
        return "/".join(Path(name).with_suffix("").parts[-parts:])

    distinct = list(dict.fromkeys(names))
    out = {n: label(n, 1) for n in distinct}
    for n in distinct:
        k = 1
        while k < len(Path(n).parts) and sum(out[m] == out[n] for m in distinct) > 1:
            k += 1
            for m in distinct:
                if label(m, 1) == label(n, 1):
                    out[m] = label(m, k)
    for n in distinct:  # still the same label (a preset name and a file): the name given
        if sum(out[m] == out[n] for m in distinct) > 1:
            out[n] = n
    return out


def load_preset(name: str) -> Preset:
    """Load a preset by name (``solvers/NAME.toml``) or by path to a ``.toml`` file."""
    path = Path(name)
    if not (name.endswith(".toml") and path.is_file()):
        presets = list_presets()
        if name not in presets:
            known = ", ".join(presets) or "none found"
            raise PresetError(f"unknown solver {name!r} (available: {known})")
        path = presets[name]
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise PresetError(f"{where}: cannot read: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise PresetError(f"{where}: invalid TOML: {e}") from None
    unknown = set(data) - {"description", "search", "eval", "quiescence", "lookahead"}
    if unknown:
        raise PresetError(f"{where}: unknown top-level key(s): {', '.join(sorted(unknown))}")
    search = _check_table("search", data.get("search", {}), where)
    ev = _check_table("eval", data.get("eval", {}), where)
    quiescence = _check_table("quiescence", data.get("quiescence", {}), where)
    lookahead = _check_table("lookahead", data.get("lookahead", {}), where)
    if search.get("kind") not in SEARCH_KINDS:
        raise PresetError(f"{where}: [search] kind must be one of {', '.join(SEARCH_KINDS)}")
    if ev.get("kind") not in EVAL_KINDS:
        raise PresetError(f"{where}: [eval] kind must be one of {', '.join(EVAL_KINDS)}")
    for key in ("width", "parent_cap", "max_depth", "workers", "checkpoint_every",
                "simulations", "max_nodes", "depth"):
        for table in (search, quiescence):
            if key in table and table[key] < 1:
                raise PresetError(f"{where}: {key} must be at least 1")
    for table in ("weights", "opening_weights", "heuristic_weights"):
        for k, v in ev.get(table, {}).items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise PresetError(f"{where}: [eval.{table}] {k} must be a number")
    opening = "opening_weights" if ev.get("kind") == "heuristic" else "opening_network"
    if ("opening_weights" in ev and ev["kind"] != "heuristic") or (
            "opening_network" in ev and ev["kind"] != "nnue"):
        raise PresetError(f"{where}: [eval] opening_weights are for kind 'heuristic', "
                          "opening_network for kind 'nnue'")
    if (opening in ev) != ("opening_pieces" in ev):
        raise PresetError(f"{where}: [eval] {opening} and opening_pieces go together")
    if ev.get("opening_pieces", 1) < 1:
        raise PresetError(f"{where}: opening_pieces must be at least 1")
    # Negative weights are allowed: they hold back clears (docs/steady-state-runs.md,
    # twentieth session, measures both signs).
    for key in ("lines_weight", "heuristic_share"):
        if key in ev and (ev["kind"] != "nnue" or not math.isfinite(ev[key])):
            raise PresetError(f"{where}: [eval] {key} is a finite number for kind 'nnue'")
    if ("heuristic_share" in ev) != ("heuristic_weights" in ev):
        raise PresetError(f"{where}: [eval] heuristic_share and heuristic_weights go together")
    if ev["kind"] == "nnue" and "network" not in ev:
        raise PresetError(f"{where}: [eval] kind 'nnue' needs a network file")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise PresetError(f"{where}: description must be a string")
    return Preset(path.stem, path, description, search, ev, quiescence, lookahead)


def make_evaluation(preset: Preset):
    """The evaluation a preset describes (heuristic or NNUE, the NNUE optionally plus a
    share of a heuristic, each optionally with quiescence)."""
    from .eval.quiescence import QuiescenceEvaluation

    ev = preset.eval
    if ev["kind"] == "heuristic":
        from .eval.heuristic import HeuristicEvaluation

        try:
            evaluation = HeuristicEvaluation(ev.get("weights", {}), ev.get("opening_weights"),
                                             ev.get("opening_pieces", 0))
        except ValueError as e:
            raise PresetError(f"{preset.path}: {e}") from None
    else:
        from .nnue.network import NetworkError, load_network
        from .nnue.evaluation import NNUEEvaluation

        try:
            evaluation = NNUEEvaluation(load_network(preset.resolve(ev["network"])),
                                        ev.get("lines_weight", 0.0))
            if "opening_network" in ev:
                from .eval.phased import PhasedEvaluation

                opening = NNUEEvaluation(load_network(preset.resolve(ev["opening_network"])),
                                         ev.get("lines_weight", 0.0))
                evaluation = PhasedEvaluation(opening, evaluation, ev["opening_pieces"])
        except NetworkError as e:
            raise PresetError(f"{preset.path}: {e}") from None
        if "heuristic_share" in ev:
            from .eval.heuristic import HeuristicEvaluation
            from .eval.mixed import MixedEvaluation

            try:
                heuristic = HeuristicEvaluation(ev["heuristic_weights"])
            except ValueError as e:
                raise PresetError(f"{preset.path}: [eval.heuristic_weights] {e}") from None
            evaluation = MixedEvaluation(evaluation, heuristic, ev["heuristic_share"])
    q = preset.quiescence
    if q.get("enabled", False):
        try:
            evaluation = QuiescenceEvaluation(evaluation, q.get("depth", 2),
                                              q.get("piece", "adversary"),
                                              q.get("shortlist"), q.get("discount", 0.0))
        except ValueError as e:
            raise PresetError(f"{preset.path}: [quiescence] {e}") from None
    la = preset.lookahead
    if la.get("enabled", False):
        from .eval.lookahead import LookaheadEvaluation

        try:
            evaluation = LookaheadEvaluation(evaluation, la.get("shortlist", 2.0),
                                             la.get("from_pieces", 0))
        except ValueError as e:
            raise PresetError(f"{preset.path}: [lookahead] {e}") from None
    return evaluation
