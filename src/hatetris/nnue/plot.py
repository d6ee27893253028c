"""A training run's generations as a picture: benchmark and value spread per generation.

Read from the run's JSON-lines log (:mod:`hatetris.nnue.training_run` writes it): each
generation's ``benchmark`` event (mean pieces survived on the steady-state starts, mean
lines from the empty well), its ``trained`` event (the spread of the network's values on
its training wells, by kind) and its decision. The initial network's benchmark is drawn
as generation -1. A run with a second suite (``second_suite``) also logs
``benchmark_second`` events (a generation, or its parent, measured on the suite the parent
was not adopted by): those are drawn as squares, one colour a suite, beside the gate's.
"""

from __future__ import annotations

import json
from pathlib import Path


class PlotError(ValueError):
    pass


def generations_from_log(path: str | Path) -> dict[int, dict]:
    """Generation -> {"benchmark": ..., "trained": ..., "decision": ..., "second": {suite:
    mean survived}} from a log."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise PlotError(f"cannot read log {path}: {e}") from None
    gens: dict[int, dict] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            e = json.loads(line)
            what = e["event"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise PlotError(f"{path}:{n}: not a training-run log entry") from None
        k = -1 if e.get("generation") is None else int(e["generation"])
        need = {"benchmark": ("steady_mean", "empty_mean_lines"),
                "benchmark_second": ("steady_mean",)}.get(what, ())
        if not all(isinstance(e.get(f), (int, float)) for f in need):
            raise PlotError(f"{path}:{n}: a {what} entry without {' and '.join(need)}")
        if what == "benchmark":
            gens.setdefault(k, {})["benchmark"] = e
        elif what == "benchmark_second":
            gens.setdefault(k, {}).setdefault("second", {})[str(e.get("suite"))] = \
                e["steady_mean"]
        elif what == "trained":
            gens.setdefault(k, {})["trained"] = e
        elif what in ("adopted", "rejected"):
            gens.setdefault(k, {})["decision"] = what
    if not any("benchmark" in g for g in gens.values()):
        raise PlotError(f"{path}: no benchmark in the log")
    return dict(sorted(gens.items()))


def plot_generations(log: str | Path, out: str | Path, title: str | None = None) -> None:
    """Write a PNG: benchmark (steady-state survival, empty-well lines) and value spread
    against generation; rejected generations hollow."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gens = generations_from_log(log)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 6.5), sharex=True)
    ax1b = ax1.twinx()
    for key, ax, colour, name in (("steady_mean", ax1, "tab:blue", "steady-state: mean pieces survived"),
                                  ("empty_mean_lines", ax1b, "tab:orange", "empty well: mean lines")):
        pts = [(k, g["benchmark"][key], g.get("decision")) for k, g in gens.items()
               if "benchmark" in g]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], color=colour, alpha=0.5)
        for k, v, d in pts:
            ax.scatter([k], [v], color=colour, facecolors="none" if d == "rejected" else colour,
                       zorder=3)
        ax.set_ylabel(name, color=colour)
    suites = sorted({s for g in gens.values() for s in g.get("second", {})})
    for suite, colour in zip(suites, ("tab:green", "tab:purple", "tab:brown", "tab:gray")):
        pts = [(k, g["second"][suite]) for k, g in gens.items() if suite in g.get("second", {})]
        ax1.scatter([p[0] for p in pts], [p[1] for p in pts], marker="s", color=colour,
                    zorder=3, label=f"on {suite} (second suite)")
    if suites:
        ax1.legend(fontsize=8, loc="lower right")
    ax1.set_title(title or f"{Path(log).stem}: benchmark per generation (-1: initial network; "
                           f"hollow: rejected)", fontsize=9)
    ax1.grid(True, alpha=0.3)
    kinds = sorted({kind for g in gens.values() if "trained" in g
                    for kind in g["trained"].get("values", {})})
    for kind in kinds:
        pts = [(k, g["trained"]["values"][kind]) for k, g in gens.items()
               if "trained" in g and kind in g["trained"].get("values", {})]
        ax2.errorbar([p[0] for p in pts], [p[1]["mean"] for p in pts],
                     yerr=[p[1]["std"] for p in pts], marker="o", capsize=3, label=kind)
    ax2.set_ylabel("network value on training wells\n(mean ± std, by kind)")
    ax2.set_xlabel("generation")
    ax2.grid(True, alpha=0.3)
    if kinds:
        ax2.legend(fontsize=8)
    ax2.set_xticks(sorted(gens))
    fig.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
