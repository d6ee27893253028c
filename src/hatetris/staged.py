"""Long games in committed stages: a beam search that outlives a session.

A beam of width W over thousands of pieces cannot run inside one session, and its
checkpoint (the beam and every live lineage) is far too big to commit. A staged run keeps
only the game itself as its state. Each stage continues the committed game with a fresh
beam (``solve --from``: the whole game is the loop-rule history) to ``stage + lookahead``
pieces past it, then commits only the first ``stage`` pieces of the best line that got
there, so every committed piece is one a search saw survive ``lookahead`` more. A stage
whose beam dies before that is searched again at the next, wider width. When the widest
width dies too, the run may *back up* (at most ``backups`` times in all): it uncommits
the last stage and searches it again at a width wider than the one that committed it
(uncommitting further while that stage was already committed at the widest). When it
cannot, the run ends with the longest line any attempt found.

With ``partial`` stages a beam that dies still commits, when it got far enough: its best
line up to ``lookahead`` pieces before the piece where every line was lost (if that is
past the committed game), and the next stage searches on from there with a fresh beam.
A long game's line is healthy long before it dies (a beam keeps the lineage that lasted
longest, not the one that kept the steady state), so each attempt backs off from its
own death and tries again from a well it saw live ``lookahead`` more pieces.

The state (``state.json``: the plan, the committed game as a Base2048 replay, the log of
every attempt, a checksum) is a few tens of kB for a 10,000-piece game, written
atomically after each stage. A stage depends only on the committed game and the plan, so
a run stopped anywhere (Ctrl-C, a killed process, the end of a session) and resumed
plays the same game as one that never stopped.

>>> plan = StagePlan(solver="quick", widths=(50,), stage=5, lookahead=5)
>>> plan.target(100)
110
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .atomic import write_json_atomic
from .codecs import decode, encode
from .game import replay

STATE_FORMAT = 1


class StagedRunError(ValueError):
    """A state file that is missing, corrupt or of another plan: one line."""


@dataclass(frozen=True)
class StagePlan:
    """What a staged run searches: the preset, the widths tried in turn when a stage's
    beam dies, pieces committed per stage, and pieces the line must survive beyond."""

    solver: str
    widths: tuple[int, ...]
    stage: int = 50
    lookahead: int = 50
    backups: int = 0
    partial: bool = False

    def __post_init__(self):
        if not self.widths or any(int(w) < 1 for w in self.widths):
            raise ValueError("widths must be at least 1")
        if list(self.widths) != sorted(self.widths):
            raise ValueError("widths must be given in increasing order")
        if self.stage < 1 or self.lookahead < 0 or self.backups < 0:
            raise ValueError("stage must be at least 1, lookahead and backups at least 0")
        if self.partial and self.lookahead < 1:
            raise ValueError("partial stages need a lookahead of at least 1")

    def target(self, pieces: int) -> int:
        """The depth a stage's beam must reach from a committed game of ``pieces``."""
        return pieces + self.stage + self.lookahead


@dataclass
class StagedRun:
    """The committed state of a staged run (what ``state.json`` holds)."""

    plan: StagePlan
    origin: dict                    # {"game": label, "pieces": K}: where the search began
    keys: str                       # the committed game, from the empty well (read back
    #                                 from Base2048 it may end in a padding key that
    #                                 locks nothing: the same game)
    pieces: int
    score: int
    attempts: list[dict] = field(default_factory=list)
    finished: bool = False
    ended: str = ""
    commits: list[int] = field(default_factory=list)  # per committed stage: its width's index
    next_width: int = 0            # the index of the first width the next stage tries
    backups_used: int = 0
    longest: dict | None = None    # the deepest line a dying attempt found: replay, pieces,
    #                                score (the run's result if it ends shorter)
    avoid: str | None = None       # after a back-up: the well its uncommitted stage ended
    #                                on; a wider search that commits it again is a repeat
    preset: dict | None = None     # the solver preset's tables the stages search with
    #                                (states written before it was kept have none)
    preset_from: int | None = None  # for those: the piece from which ``preset`` applies
    starts: list[int] = field(default_factory=list)  # per committed stage: the piece it
    #                                                  began at (stages may be partial)

    @property
    def searched_pieces(self) -> int:
        return self.searched_in(self.pieces)

    def searched_in(self, pieces: int) -> int:
        """Pieces of a line of ``pieces`` that a search placed (after the origin)."""
        return pieces - int(self.origin["pieces"])

    def to_json(self) -> dict:
        body = {"format": STATE_FORMAT, "plan": {**asdict(self.plan),
                                                 "widths": list(self.plan.widths)},
                "origin": self.origin, "replay": encode(self.keys), "pieces": self.pieces,
                "score": self.score, "attempts": self.attempts, "finished": self.finished,
                "ended": self.ended, "commits": self.commits, "next_width": self.next_width,
                "backups_used": self.backups_used, "longest": self.longest,
                "avoid": self.avoid, "starts": self.starts}
        if self.preset is not None:
            body["preset"] = self.preset
        if self.preset_from is not None:
            body["preset_from"] = self.preset_from
        return {**body, "sha256": _digest(body)}

    @classmethod
    def from_json(cls, data: dict, where: str = "state") -> "StagedRun":
        try:
            body = {k: v for k, v in data.items() if k != "sha256"}
            if data.get("format") != STATE_FORMAT:
                raise StagedRunError(f"{where}: not a staged-run state of format "
                                     f"{STATE_FORMAT}")
            if data.get("sha256") != _digest(body):
                raise StagedRunError(f"corrupt {where}: checksum does not match")
            plan = data["plan"]
            run = cls(StagePlan(plan["solver"], tuple(int(w) for w in plan["widths"]),
                                int(plan["stage"]), int(plan["lookahead"]),
                                int(plan.get("backups", 0)), bool(plan.get("partial", False))),
                      dict(data["origin"]), decode(data["replay"]), int(data["pieces"]),
                      int(data["score"]), list(data["attempts"]), bool(data["finished"]),
                      str(data["ended"]), [int(i) for i in data.get("commits", [])],
                      int(data.get("next_width", 0)), int(data.get("backups_used", 0)),
                      data.get("longest"), data.get("avoid"), data.get("preset"),
                      data.get("preset_from"))
            origin = int(run.origin["pieces"])
            # States written before stages could be partial: every stage was whole.
            run.starts = ([int(p) for p in data["starts"]] if "starts" in data else
                          [origin + i * run.plan.stage for i in range(len(run.commits))])
            if len(run.starts) != len(run.commits):
                raise StagedRunError(f"corrupt {where}: {len(run.starts)} stage starts "
                                     f"for {len(run.commits)} stages")
            longest = run.longest
            if longest is not None:
                found = replay(decode(longest["replay"]))
                if (found.pieces_placed, found.score) != (longest["pieces"],
                                                          longest["score"]):
                    raise StagedRunError(f"corrupt {where}: its longest line does not "
                                         "replay to its figures")
        except StagedRunError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise StagedRunError(f"corrupt {where}: {e}") from None
        result = replay(run.keys)
        if (result.pieces_placed, result.score) != (run.pieces, run.score):
            raise StagedRunError(f"corrupt {where}: its game scores {result.score} lines in "
                                 f"{result.pieces_placed} pieces, not {run.score} in "
                                 f"{run.pieces}")
        return run


def _digest(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def state_path(directory: str | Path) -> Path:
    return Path(directory) / "state.json"


def start_run(plan: StagePlan, keys: str, pieces: int, label: str) -> StagedRun:
    """A new run continuing ``keys`` after its first ``pieces`` pieces."""
    keys, score = game_prefix(keys, pieces)  # ValueError: the game cannot go on
    return StagedRun(plan, {"game": label, "pieces": int(pieces)}, keys, int(pieces), score)


def game_prefix(keys: str, pieces: int) -> tuple[str, int]:
    """The keys of the first ``pieces`` pieces of a game, and their score."""
    from .search.tree import NodeStore, game_nodes, path_keys

    store = NodeStore()
    store.add_root()
    last = store.add_line(game_nodes(keys, pieces))
    return path_keys(store, last), int(store.score[last])


def game_well(keys: str, pieces: int) -> np.ndarray:
    """The well of a game after its first ``pieces`` pieces."""
    _, wells = replay(keys, steps=True)
    return np.asarray(wells[pieces - 1], np.uint16)


def well_digest(rows: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(rows, np.uint16).tobytes()).hexdigest()[:16]


def load_run(directory: str | Path) -> StagedRun:
    path = state_path(directory)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StagedRunError(f"no staged run in {directory} ({path.name} not found)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise StagedRunError(f"corrupt {path}: {e}") from None
    if not isinstance(data, dict):
        raise StagedRunError(f"corrupt {path}: not a JSON object")
    return StagedRun.from_json(data, str(path))


def save_run(directory: str | Path, run: StagedRun) -> None:
    write_json_atomic(state_path(directory), run.to_json())


def search_stage(evaluation, keys: str, pieces: int, width: int, target: int,
                 step_hook: Callable | None = None):
    """One stage's beam: from the game's well after ``pieces`` pieces to depth ``target``
    (or until it dies). Returns the search, its deepest depth and the node the run keeps:
    at the deepest depth, the highest score (ties: the first in the beam)."""
    from .search.beam import BeamSearch
    from .search.tree import game_nodes

    search = BeamSearch(evaluation, width, target, start=game_nodes(keys, pieces), prune=True)
    while True:
        stats = search.step()
        if stats is None:
            break
        if step_hook is not None and step_hook(search, stats):
            return search, None, None  # stopped from outside: nothing to commit
    start = search.level_start[-1]
    level = search.store.score[start:search.store.size]
    node = start + int(np.argmax(level))
    return search, search.depth, node


def ancestor_at(store, node: int, depth: int) -> int:
    while int(store.depth[node]) > depth:
        node = int(store.parent[node])
    return node


def advance(run: StagedRun, evaluation, directory: str | Path, *, stages: int | None = None,
            max_pieces: int | None = None, report: Callable[[str], None] = lambda s: None,
            step_hook: Callable | None = None) -> bool:
    """Run stages until the run ends, ``stages`` stages are committed or the game has
    ``max_pieces``; save the state after each stage or back-up. False if ``step_hook``
    stopped a stage (the state is the last save's)."""
    from .search.tree import path_keys
    from .solution import verify

    plan = run.plan
    done = 0
    while not run.finished and (stages is None or done < stages) and (
            max_pieces is None or run.pieces < max_pieces):
        target = plan.target(run.pieces)
        deepest = None
        committed = False
        for index in range(run.next_width, len(plan.widths)):
            width = plan.widths[index]
            t0 = time.perf_counter()
            search, depth, node = search_stage(evaluation, run.keys, run.pieces, width,
                                               target, step_hook)
            if depth is None:
                return False
            attempt = {"from_piece": run.pieces, "width": width, "target": target,
                       "reached": depth, "children": int(search.children_total),
                       "seconds": round(time.perf_counter() - t0, 2)}
            if depth >= target:
                at = run.pieces + plan.stage
            elif plan.partial and depth - plan.lookahead > run.pieces:
                at = depth - plan.lookahead
                _keep_longest(run, depth, search, node)
            else:
                at = None
            if at is not None:
                node = ancestor_at(search.store, node, at)
                if run.avoid is not None and well_digest(search.store.rows[node]) == run.avoid:
                    # The wider beam chose the line the back-up left: searching on from it
                    # would repeat, attempt for attempt, what already died.
                    attempt["outcome"] = "died (the line backed up from, again)"
                    run.attempts.append(attempt)
                    if index + 1 < len(plan.widths):
                        report(_describe(attempt) + ", widening")
                    continue
                attempt["outcome"] = (f"committed to piece {at}" if depth >= target else
                                      f"died; committed to piece {at}")
                run.attempts.append(attempt)
                committed = True
                break
            if deepest is None or depth > deepest[0]:
                deepest = (depth, search, node)
            attempt["outcome"] = "died"
            run.attempts.append(attempt)
            if index + 1 < len(plan.widths):
                report(_describe(attempt) + ", widening")
        if committed:
            keys = path_keys(search.store, node)
            score, pieces = int(search.store.score[node]), int(search.store.depth[node])
            verify(encode(keys), score, pieces)
            run.starts.append(run.pieces)
            run.keys, run.pieces, run.score = keys, pieces, score
            run.commits.append(index)
            run.next_width = 0
            run.avoid = None
            report(_describe(attempt) + f" -> {run.score} lines, {run.pieces} pieces")
        else:
            if deepest is not None:
                _keep_longest(run, *deepest)
            back = _back_up(run)
            if back is not None:
                run.attempts[-1]["outcome"] = back
                report(_describe(run.attempts[-1]))
            else:
                _finish(run, target)
                report(_describe(run.attempts[-1]) + f"; the run ends: {run.ended}")
        save_run(directory, run)
        done += 1
    return True


def _keep_longest(run: StagedRun, depth: int, search, node: int) -> None:
    from .search.tree import path_keys
    from .solution import verify

    if run.longest is not None and run.longest["pieces"] >= depth:
        return
    keys = path_keys(search.store, node)
    score = int(search.store.score[node])
    verify(encode(keys), score, depth)
    run.longest = {"replay": encode(keys), "pieces": int(depth), "score": score}


def _back_up(run: StagedRun) -> str | None:
    """Uncommit stages until one can be searched again at a wider width than committed
    it; the outcome to log, or None if the run has no back-up (or stage) left."""
    plan, widest = run.plan, len(run.plan.widths) - 1
    stages, starts = list(run.commits), list(run.starts)
    used = run.backups_used
    while stages and used < plan.backups:
        index = stages.pop()
        pieces = starts.pop()
        used += 1
        if index < widest:
            k = len(starts)  # the stage to search again; its end is the well it left
            end = run.starts[k + 1] if k + 1 < len(run.starts) else run.pieces
            run.avoid = well_digest(game_well(run.keys, end))
            run.keys, run.score = game_prefix(run.keys, pieces)
            run.pieces, run.commits, run.backups_used = pieces, stages, used
            run.starts = starts
            run.next_width = index + 1
            return (f"died; backed up to piece {pieces} to search it at width "
                    f"{plan.widths[index + 1]:,}")
    return None


def _finish(run: StagedRun, target: int) -> None:
    run.finished = True
    longest = run.longest
    if longest is not None and longest["pieces"] > run.pieces:
        run.keys = decode(longest["replay"])
        run.pieces, run.score = int(longest["pieces"]), int(longest["score"])
        run.ended = (f"every width died before piece {target}; the longest line any "
                     f"attempt found (to piece {run.pieces}) is the result")
    else:
        run.ended = (f"every width died before piece {target}; the committed game (to "
                     f"piece {run.pieces}) is the result")


def _describe(attempt: dict) -> str:
    return (f"from piece {attempt['from_piece']}, width {attempt['width']:,}: reached "
            f"{attempt['reached']} of {attempt['target']} in {attempt['seconds']:.1f} s, "
            f"{attempt['outcome']}")


def run_solution(run: StagedRun, longest: bool = False) -> dict:
    """The committed game as a verified solution record that says what came from where;
    with ``longest``, the longest line any attempt found instead, when it is longer
    (``line`` in the record says which)."""
    from .solution import make_solution

    keys, score, pieces, line = run.keys, run.score, run.pieces, "committed"
    if longest and run.longest is not None and run.longest["pieces"] > run.pieces:
        keys, score, pieces = (decode(run.longest["replay"]), int(run.longest["score"]),
                               int(run.longest["pieces"]))
        line = "longest"
    return make_solution(
        keys, score, pieces, solver=run.plan.solver, line=line,
        parameters={"staged": {**asdict(run.plan), "widths": list(run.plan.widths)},
                    **({"preset": run.preset} if run.preset is not None else {}),
                    **({"preset_from_piece": run.preset_from}
                       if run.preset_from is not None else {})},
        origin=run.origin, searched_pieces=run.searched_in(pieces),
        stages=len(run.commits), backups=run.backups_used,
        attempts=len(run.attempts), finished=run.finished, ended=run.ended,
        children=sum(a["children"] for a in run.attempts),
        elapsed=round(sum(a["seconds"] for a in run.attempts), 2))
