"""Named suites of starts: survival of beam solvers continuing stored games under a cap.

A suite is a small JSON file (``data/suites/NAME.json``)::

    {"name": "steady", "cap": 300,
     "description": "...",
     "games": [{"game": "../records/david-felipe-6-first-5000.txt", "label": "DF6",
                "pieces": [1000, 1500]}]}

Each (game, K) is a *start*: the game's well after its K-th piece, with the game's
wells as history (``hatetris solve --from GAME --from-piece K``). A solver continues it
for at most ``cap`` pieces (``--max-depth K + cap``); its figure is the pieces it
survived, ``pieces - K``, so a solver that lasts the whole stretch scores ``cap``.
Game paths are relative to the suite file. Pieces survived, not lines: in a steady
state lines follow pieces (0.4 a piece at most), and a capped game that survives says
nothing more by its lines.

Rows are appended to a JSON-lines file as each run ends, so a long suite resumes: a
row already there for the same solver (and the same evaluation: network bytes
included), width, start and cap is not run again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .presets import REPO_ROOT, load_preset, solver_labels


class SuiteError(ValueError):
    """A suite that cannot be found or does not validate (one line)."""


@dataclass(frozen=True)
class Start:
    label: str  # e.g. "DF6:1000"
    game: Path
    piece: int


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    cap: int
    starts: tuple[Start, ...]
    description: str = ""

    def subset(self, labels: list[str] | None = None, every: int = 1) -> "Suite":
        """The starts named in ``labels`` (all if None), then every ``every``-th one."""
        starts = self.starts
        if labels:
            known = {s.label: s for s in starts}
            missing = [x for x in labels if x not in known]
            if missing:
                raise SuiteError(f"suite {self.name}: no start {missing[0]!r} "
                                 f"(starts: {', '.join(known)})")
            starts = tuple(known[x] for x in labels)
        return Suite(self.name, self.path, self.cap, starts[::every], self.description)


def suite_dirs() -> list[Path]:
    return [Path.cwd() / "data" / "suites", REPO_ROOT / "data" / "suites"]


def load_suite(name: str) -> Suite:
    """A suite by name (``data/suites/NAME.json``) or by path to a ``.json`` file."""
    path = Path(name)
    if not (name.endswith(".json") and path.is_file()):
        found = [d / f"{name}.json" for d in suite_dirs() if (d / f"{name}.json").is_file()]
        if not found:
            known = sorted({f.stem for d in suite_dirs() if d.is_dir() for f in d.glob("*.json")})
            raise SuiteError(f"unknown suite {name!r} (available: {', '.join(known) or 'none'})")
        path = found[0]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SuiteError(f"{path}: cannot read suite: {e}") from None
    try:
        cap = data["cap"]
        games = data["games"]
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise SuiteError(f"{path}: cap must be a positive integer")
        if not isinstance(games, list) or not games:
            raise SuiteError(f"{path}: games must be a non-empty list")
        starts = []
        for g in games:
            game = path.parent / g["game"]
            label = str(g.get("label", Path(g["game"]).stem))
            pieces = g["pieces"]
            if not isinstance(pieces, list) or not pieces or not all(
                    isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in pieces):
                raise SuiteError(f"{path}: {label}: pieces must be a list of piece counts")
            if not game.is_file():
                raise SuiteError(f"{path}: {label}: no game file {game}")
            starts += [Start(f"{label}:{k}", game, k) for k in pieces]
    except (KeyError, TypeError) as e:
        raise SuiteError(f"{path}: not a suite ({e!r} missing or of the wrong type)") from None
    labels = [s.label for s in starts]
    if len(set(labels)) != len(labels):
        raise SuiteError(f"{path}: a start appears twice")
    return Suite(str(data.get("name", path.stem)), path, cap, tuple(starts),
                 str(data.get("description", "")))


def check_starts(suite: Suite) -> None:
    """Every start must be a live well of its game: fail before any search."""
    from .search.tree import game_nodes

    for s in suite.starts:
        try:
            game_nodes(read_game(s.game), s.piece)
        except ValueError as e:
            raise SuiteError(f"suite {suite.name}: start {s.label}: {e}") from None


def read_game(path: Path) -> str:
    """The key sequence of a game file: a solution ``.json`` or a file with one replay."""
    from .codecs import decode

    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        text = json.loads(text)["replay"]
    return decode(text.strip())


def solver_fingerprint(solver: str) -> str:
    """What decides a solver's play besides the width: its tables, and for a network
    preset the network's bytes (a retrained file of the same name is another solver)."""
    preset = load_preset(solver)
    h = hashlib.sha256(json.dumps(preset.to_json(), sort_keys=True).encode())
    if preset.eval.get("kind") == "nnue":
        h.update(preset.resolve(preset.eval["network"]).read_bytes())
        if "opening_network" in preset.eval:
            h.update(preset.resolve(preset.eval["opening_network"]).read_bytes())
    return h.hexdigest()[:16]


def run_suite(suite: Suite, solvers: list[str], width: int, workers: int | None = None,
              out: Path | None = None, progress: Callable[[dict], None] | None = None,
              run=None) -> list[dict]:
    """Each solver continues each start for at most ``suite.cap`` pieces; one row each.

    With ``out``, rows already in that JSON-lines file are reused and new ones appended.
    ``run`` (tests) replaces :func:`bench.run_solver_process`.
    """
    from .bench import run_solver_process

    run = run or run_solver_process
    fingerprints = {s: solver_fingerprint(s) for s in solvers}
    labels = solver_labels(solvers)
    done: dict[tuple, dict] = {}
    if out is not None and out.exists():
        for line in out.read_text(encoding="utf-8").splitlines():
            try:
                r = json.loads(line)
                done[r["solver_fingerprint"], r["width"], r["start"], r["cap"]] = r
            except (json.JSONDecodeError, KeyError, TypeError):
                raise SuiteError(f"{out}: not a suite results file") from None
    rows = []
    for s in suite.starts:
        for solver in solvers:
            key = (fingerprints[solver], width, s.label, suite.cap)
            row = done.get(key)
            if row is None:
                r = run(solver, width=width, workers=workers, max_depth=s.piece + suite.cap,
                        start=(str(s.game), s.piece))
                row = {"suite": suite.name, "start": s.label, "solver": r["solver"],
                       "solver_fingerprint": fingerprints[solver], "width": width,
                       "cap": suite.cap, "survived": int(r["pieces"]) - s.piece,
                       "lines": int(r["score"]), "pieces": int(r["pieces"]),
                       "seconds": round(float(r["elapsed"]), 2), "replay": r["replay"]}
                if out is not None:
                    out.parent.mkdir(parents=True, exist_ok=True)
                    with open(out, "a", encoding="utf-8") as f:
                        f.write(json.dumps(row) + "\n")
            row = {**row, "solver": labels[solver]}
            rows.append(row)
            if progress:
                progress(row)
    return rows


def mean_survived(rows: list[dict]) -> dict[str, float]:
    """Each solver's mean pieces survived over its rows.

    >>> mean_survived([{"solver": "a", "survived": 10}, {"solver": "a", "survived": 30}])
    {'a': 20.0}
    """
    solvers = list(dict.fromkeys(r["solver"] for r in rows))
    return {v: sum(r["survived"] for r in rows if r["solver"] == v)
            / sum(r["solver"] == v for r in rows) for v in solvers}


def paired_gain(new: dict, old: dict) -> tuple[float, float]:
    """The mean of ``new[s] - old[s]`` over the starts both hold, and its standard
    error (infinite with fewer than two starts: no gain can be shown).

    >>> gain, se = paired_gain({"a": 10, "b": 14, "c": 9}, {"a": 8, "b": 10, "c": 9})
    >>> gain, round(se, 4)
    (2.0, 1.1547)
    """
    d = np.array([new[s] - old[s] for s in new if s in old], np.float64)
    if len(d) < 2:
        return (float(d.mean()) if len(d) else 0.0), float("inf")
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


def format_suite_table(rows: list[dict]) -> str:
    """Starts down, solvers across (pieces survived of the cap), the mean at the bottom;
    with several solvers, each one's paired gain over the first (the mean difference
    start by start over the starts both played, its standard error, and on how many
    starts it survived longer and shorter): a mean alone hides how much of a difference
    the starts' spread could make.

    >>> print(format_suite_table([
    ...     {"start": "A:1", "solver": "x", "survived": 10, "cap": 30},
    ...     {"start": "A:1", "solver": "y", "survived": 14, "cap": 30},
    ...     {"start": "A:2", "solver": "x", "survived": 20, "cap": 30},
    ...     {"start": "A:2", "solver": "y", "survived": 18, "cap": 30},
    ...     {"start": "A:3", "solver": "x", "survived": 30, "cap": 30},
    ...     {"start": "A:3", "solver": "y", "survived": 30, "cap": 30}]))
    | start (pieces survived of 30) | x | y |
    |---|---|---|
    | A:1 | 10 | 14 |
    | A:2 | 20 | 18 |
    | A:3 | 30 | 30 |
    | mean | 20.0 | 20.7 |
    | gain over x (s.e.), longer/shorter | | +0.7 (1.8), 1/1 |
    """
    solvers = list(dict.fromkeys(r["solver"] for r in rows))
    starts = list(dict.fromkeys(r["start"] for r in rows))
    cell = {(r["start"], r["solver"]): r for r in rows}
    cap = rows[0]["cap"] if rows else 0
    lines = [f"| start (pieces survived of {cap}) | " + " | ".join(solvers) + " |",
             "|" + "---|" * (len(solvers) + 1)]
    for s in starts:
        lines.append(f"| {s} | " + " | ".join(
            str(cell[s, v]["survived"]) if (s, v) in cell else "" for v in solvers) + " |")
    means = mean_survived(rows)
    lines.append("| mean | " + " | ".join(f"{means[v]:.1f}" for v in solvers) + " |")
    if len(solvers) > 1:
        survived = {v: {s: cell[s, v]["survived"] for s in starts if (s, v) in cell}
                    for v in solvers}
        first = survived[solvers[0]]
        gains = []
        for v in solvers[1:]:
            mine = survived[v]
            gain, se = paired_gain(mine, first)
            both = [s for s in mine if s in first]
            longer = sum(mine[s] > first[s] for s in both)
            shorter = sum(mine[s] < first[s] for s in both)
            gains.append(f"{gain:+.1f} ({se:.1f}), {longer}/{shorter}" if both else "")
        lines.append(f"| gain over {solvers[0]} (s.e.), longer/shorter | | "
                     + " | ".join(gains) + " |")
    return "\n".join(lines)
