"""``hatetris bench search --cluster``: beam presets on a Dask cluster at given budgets,
with children/s and each worker's peak memory."""

from __future__ import annotations

from typing import Callable

from ..presets import PresetError, load_preset, make_evaluation
from ..running import peak_memory_mb
from ..search.tree import path_keys
from ..solution import make_solution
from .local import ClusterSpecError, connect
from .run import ClusterPresetError, check_preset
from .search import ClusterBeamSearch

CHILDREN_PER_WELL = 14  # as bench.bench_search: budget B is width B // 14


class ClusterBenchError(RuntimeError):
    """A cluster benchmark that cannot run (bad address, preset, lost worker): one line."""


def bench_cluster_search(solvers: list[str], budgets: list[int], cluster,
                         max_depth: int | None = None, threads: int | None = None,
                         progress: Callable[[dict], None] | None = None) -> list[dict]:
    """Each beam solver at each budget on one cluster (kernels warmed up first); every
    game is verified by replay like a solve's."""
    rows = []
    try:
        with connect(cluster) as (client, local_threads):
            threads = threads or local_threads
            for solver in solvers:
                preset = load_preset(solver)
                check_preset(preset)
                evaluation = make_evaluation(preset)
                ClusterBeamSearch.warm_up(client, evaluation, threads=threads)
                for budget in budgets:
                    width = max(1, budget // CHILDREN_PER_WELL)
                    search = ClusterBeamSearch(client, evaluation, width,
                                               max_depth or preset.search.get("max_depth"),
                                               threads=threads)
                    try:
                        search.run()
                    finally:
                        search.close()
                    node = search.best_node
                    solution = make_solution(path_keys(search.store, node),
                                             int(search.store.score[node]),
                                             int(search.store.depth[node]))
                    elapsed = max(search.elapsed, 1e-9)
                    row = {"solver": preset.name, "kind": "beam", "budget": budget,
                           "width": width, "cluster": str(cluster),
                           "workers": len(set(search.addresses)), "shards": search.n_shards,
                           "threads_per_worker": threads, "lines": solution["score"],
                           "pieces": solution["pieces"], "children": search.children_total,
                           "seconds": round(elapsed, 2),
                           "children_per_s": round(search.children_total / elapsed),
                           "peak_memory_mb": round(peak_memory_mb(), 1),
                           "worker_memory_mb": [round(m, 1) for m in
                                                search.peak_memory_mb.values()],
                           "replay": solution["replay"]}
                    rows.append(row)
                    if progress:
                        progress(row)
    except (ClusterSpecError, ClusterPresetError, PresetError) as e:
        raise ClusterBenchError(str(e)) from None
    return rows


def format_cluster_table(rows: list[dict]) -> str:
    head = ("solver", "budget", "width", "workers", "lines", "pieces", "children", "seconds",
            "children/s", "client MB", "MB per worker")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        per_worker = " / ".join(f"{m:,.0f}" for m in r["worker_memory_mb"])
        lines.append(f"| {r['solver']} | {r['budget']:,} | {r['width']:,} | {r['workers']} | "
                     f"{r['lines']} | {r['pieces']} | {r['children']:,} | {r['seconds']} | "
                     f"{r['children_per_s']:,} | {r['peak_memory_mb']:,.0f} | {per_worker} |")
    return "\n".join(lines)
