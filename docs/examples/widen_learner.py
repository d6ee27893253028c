"""When is the learner's game lost? Its beam, widened at a piece, as a wider search's start.

The learner (a preset at ``--width``, the gate's 3,000) continues the 3,711-line prefix
from piece K until every line dies, D pieces on (or the cap). The same search is then
played again to some piece and widened there to ``--wide`` (the teacher's 12,000) to the
cap: if the widened beam lives much longer than D, the learner's beam at that piece still
held a line the wider search could keep; if not, the game was lost before it.

    python docs/examples/widen_learner.py --starts 1000,1800 --before 10,25,50,100
    python docs/examples/widen_learner.py --starts 1000,1800 --at 0,25,50

(``--before``: pieces before the learner's death; ``--at``: pieces after the start, 0
being the wide search from the start.) One JSON line a search, pieces survived after K.
One thread; the games are deterministic. The thirty-seventh session's table
(docs/steady-state-runs.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--solver", default="nnue-beam")
    ap.add_argument("--starts", required=True, help="pieces of the 3,711-line prefix")
    ap.add_argument("--width", type=int, default=3000, help="the learner's width")
    ap.add_argument("--wide", type=int, default=12000, help="the widened beam's width")
    ap.add_argument("--cap", type=int, default=300, help="pieces after the start")
    when = ap.add_mutually_exclusive_group(required=True)
    when.add_argument("--before", help="widen this many pieces before the learner's death")
    when.add_argument("--at", help="widen this many pieces after the start")
    args = ap.parse_args()
    import numba

    from hatetris.presets import load_preset, make_evaluation
    from hatetris.search.beam import BeamSearch
    from hatetris.suite import read_game

    sys.path.insert(0, str(Path(__file__).parent))
    from teacher_beam import GAME, widened_search  # noqa: E402  (the sibling example)

    numba.set_num_threads(1)
    evaluation = make_evaluation(load_preset(args.solver))
    BeamSearch.warm_up(evaluation)
    keys = read_game(GAME)

    def play(k: int, widen_at: int) -> int:
        return widened_search(evaluation, keys, k, widen_at, args.width, args.wide,
                              k + args.cap).depth - k

    for k in (int(x) for x in args.starts.split(",")):
        learner = play(k, args.cap)  # never widened
        print(json.dumps({"start": k, "learner": learner}), flush=True)
        if learner >= args.cap:
            continue
        points = ([learner - int(h) for h in args.before.split(",")] if args.before
                  else [int(a) for a in args.at.split(",")])
        for at in (a for a in points if 0 <= a < learner):
            print(json.dumps({"start": k, "learner": learner, "widened_at": at,
                              "survived": play(k, at)}), flush=True)


if __name__ == "__main__":
    main()
