"""A training run's generations as a markdown table, from its state.json.

    python docs/examples/run_table.py data/training/steady-5

One row per generation (and the initial network): the gate's mean pieces survived, the
empty-well lines at each width, the score, the pairs fitted and the decision.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(run: str) -> None:
    state = json.loads((Path(run) / "state.json").read_text(encoding="utf-8"))
    widths = state["config"]["empty_widths"]
    print("| generation | gate mean survived | empty-well lines (widths "
          + ", ".join(f"{w:,}" for w in widths) + ") | score | pairs | decision |")
    print("|---" * 6 + "|")
    rows = [("initial", state.get("baseline", {}).get("init"), {}, "reference")]
    for k in sorted(state["generations"], key=int):
        g = state["generations"][k]
        rows.append((k, g.get("bench"), g.get("fit", {}), g.get("decision", "(running)")))
    for name, bench, fit, decision in rows:
        if bench is None:
            print(f"| {name} | | | | {fit.get('pairs', '')} | {decision} |")
            continue
        empty = " / ".join(str(bench["empty"].get(str(w), {}).get("lines", "-"))
                           for w in widths)
        print(f"| {name} | {bench['steady_mean']} | {empty} | {bench['score']} | "
              f"{fit.get('pairs', '')} | {decision} |")


if __name__ == "__main__":
    main(sys.argv[1])
