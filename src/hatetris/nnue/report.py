"""The generations table: lines each network's beam reaches at fixed widths.

Results are cached in ``results.json`` beside the networks (one entry per network and
width, with the game's replay, verified), so the table can be extended run by run and is
always regenerated from measured games, never typed in.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..atomic import write_json_atomic, write_text_atomic
from ..eval.quiescence import QuiescenceEvaluation
from ..search.beam import BeamSearch
from ..search.tree import path_keys
from ..solution import make_solution
from .evaluation import NNUEEvaluation
from .network import load_network


def _run(evaluation, width: int, max_depth: int | None, desc: str = "",
         progress: bool = False) -> dict:
    """Play one game; Ctrl-C raises ``KeyboardInterrupt`` (games finished before it stay
    in ``results.json``)."""
    from tqdm import tqdm

    from ..solve import finish_search

    BeamSearch.warm_up(evaluation)
    search = BeamSearch(evaluation, width, max_depth)
    finish_search(search, tqdm(disable=not progress, unit="piece", desc=desc,
                               dynamic_ncols=True))
    node = search.best_node
    sol = make_solution(path_keys(search.store, node), int(search.store.score[node]),
                        int(search.store.depth[node]))
    return {"lines": sol["score"], "pieces": sol["pieces"], "seconds": round(search.elapsed, 1),
            "replay": sol["replay"], "depth_reached": search.depth,
            "capped": max_depth is not None and search.depth >= max_depth}


def _stored_games(solutions_dir: Path | None) -> dict[str, dict]:
    """Games already played by ``hatetris solve`` (data/solutions), keyed like results.

    A heuristic preset's game is ``PRESET@WIDTH``; an NNUE preset's is ``gen-K@WIDTH`` for
    the network file it names. Each is verified again before it is used.
    """
    from ..solution import verify

    found: dict[str, dict] = {}
    if solutions_dir is None or not solutions_dir.is_dir():
        return found
    for f in sorted(solutions_dir.glob("*.json")):
        try:
            sol = json.loads(f.read_text())
            params = sol["parameters"]
            width = int(params["width"])
            network = params.get("eval", {}).get("network")
            name = Path(network).stem if network else sol["solver"]
            if params.get("max_depth") or sol.get("interrupted"):
                continue
            verify(sol["replay"], sol["score"], sol["pieces"])
        except (KeyError, TypeError, ValueError, OSError):
            continue
        found[f"{name}@{width}"] = {
            "lines": sol["score"], "pieces": sol["pieces"], "seconds": sol.get("elapsed"),
            "replay": sol["replay"], "depth_reached": sol.get("depth_reached"),
            "capped": False, "from": f.name,
            "evaluation": _evaluation_of(params)}
    return found


def _evaluation_of(params: dict) -> dict:
    """What decides a preset's play besides the width: its evaluation and quiescence."""
    return {"eval": params.get("eval"), "quiescence": params.get("quiescence")}


def measure(nets_dir: Path, names: list[str], widths: list[int], heuristic: str | None,
            max_depth: int | None = None, log=print,
            solutions_dir: Path | None = None, progress: bool = False) -> dict:
    """Run every (network, width) not yet in ``results.json``; return all results.

    Games already stored in ``solutions_dir`` by ``hatetris solve`` are reused.
    """
    from ..presets import load_preset, make_evaluation

    path = nets_dir / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    current = None
    if heuristic:
        preset = load_preset(heuristic)
        current = _evaluation_of({"eval": preset.eval, "quiescence": preset.quiescence})

    def played_now(items: dict) -> dict:
        """Drop the preset's games played with other weights: the table must show what
        the preset plays now, so those are measured again."""
        return {k: r for k, r in items.items()
                if k.split("@")[0] != heuristic or r.get("evaluation") == current}

    results = played_now(results)
    if max_depth is None:
        # Every network here, not only those asked for: the table lists them all.
        wanted = (set(names) | {f.stem for f in nets_dir.glob("*.npz")}
                  | ({heuristic} if heuristic else set()))
        for key, r in played_now(_stored_games(solutions_dir)).items():
            if key.split("@")[0] in wanted:
                results.setdefault(key, r)
    jobs = [(n, w) for n in names for w in widths]
    if heuristic:
        jobs += [(heuristic, w) for w in widths]
    for name, width in jobs:
        key = f"{name}@{width}"
        if key in results:
            continue
        if name == heuristic:
            evaluation = make_evaluation(preset)
        else:
            evaluation = QuiescenceEvaluation(NNUEEvaluation(load_network(nets_dir / f"{name}.npz")), 2)
        t0 = time.perf_counter()
        results[key] = _run(evaluation, width, max_depth, key, progress)
        if name == heuristic:
            results[key]["evaluation"] = current
        log(f"{key}: {results[key]['lines']} lines in {time.perf_counter() - t0:.0f} s")
        # Another table run may have added results meanwhile: merge, do not overwrite.
        on_disk = json.loads(path.read_text()) if path.exists() else {}
        results = {**played_now(on_disk), **results}
        write_json_atomic(path, results)
    return results


def network_order(name: str) -> tuple:
    """Lineages by name (gen-K first), generations in numeric order, presets last.

    >>> sorted(["heuristic-beam", "gen-10", "counts-0", "gen-2"], key=network_order)
    ['gen-2', 'gen-10', 'counts-0', 'heuristic-beam']
    """
    lineage, _, k = name.rpartition("-")
    if not k.isdigit():
        return (2, name, 0)
    return (0 if lineage == "gen" else 1, lineage, int(k))


def write_table(nets_dir: Path, results: dict, command: str) -> str:
    """Write ``README.md`` from every result; ``command`` joins the commands that made them."""
    log = nets_dir / "table-commands.txt"
    commands = log.read_text().splitlines() if log.exists() else []
    if command not in commands:
        commands.append(command)
        write_text_atomic(log, "\n".join(commands) + "\n")
    names = sorted({k.split("@")[0] for k in results}, key=network_order)
    widths = sorted({int(k.split("@")[1]) for k in results})
    meta = {}
    for n in names:
        side = nets_dir / f"{n}.json"
        if side.exists():
            meta[n] = json.loads(side.read_text())
    head = (["network", "adopted", "probe lines", "probe width", "val loss"]
            + [f"lines @ {w:,}" for w in widths])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n in names:
        m = meta.get(n, {})
        adopted = {True: "yes", False: "no"}.get(m.get("adopted"), "")
        w = m.get("probe_width")
        # Several probe widths: probe lines are the mean of one game at each.
        width = "/".join(f"{x:,}" for x in w) if isinstance(w, list) else f"{w:,}" if w else ""
        cells = [n, adopted, str(m.get("probe_lines", "")), width,
                 str(m.get("val_loss", "") or "")]
        for w in widths:
            r = results.get(f"{n}@{w}")
            cells.append("" if r is None else f"{r['lines']}" + (" (capped)" if r["capped"] else ""))
        lines.append("| " + " | ".join(cells) + " |")
    text = ("# Trained networks\n\n"
            "Lines reached by a beam search with each network (plus quiescence), next to the\n"
            "hand-crafted `heuristic-beam` preset at the same widths. Generated by:\n\n"
            + "".join(f"    {c}\n" for c in commands) + "\n"
            "Every game behind a number is stored, verified, in `results.json`.\n"
            "`probe lines` is what the network reached at its training probe width, the\n"
            "figure its adoption was decided on. Each lineage's log of every training\n"
            "decision is its `logs/*train-log.jsonl` (`logs/train-log.jsonl` for gen-K).\n\n"
            + "\n".join(lines) + "\n")
    write_text_atomic(nets_dir / "README.md", text)
    return text
