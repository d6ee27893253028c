"""Turning a training run's float networks into compact ones (``compact_networks``).

A compact network is its int16 copy's non-zero rows (``save_network(..., compact=True)``):
the beam plays the same games with it, and a positional network's file shrinks from
57 MB to 9 MB, small enough for a run's state to be committed. A run stored in floats
may turn the option on when resumed; every network the state names is then rewritten,
each written beside its file first, the state naming the new digest and the pending move
before the move, so that a process killed at any point is mended when resumed.
"""

from __future__ import annotations

import os

import numpy as np

from .dataset import file_digest
from .network import NetworkError, load_network, save_network
from .quantized import compact_copy

COMPACTING = "compacting-"  # a network rewritten compact, before it replaces its file


def compact_stored_networks(run) -> None:
    """Rewrite the float networks ``run`` (a :class:`~hatetris.nnue.training_run.
    TrainingRun`) names compact; log the sizes before and after, if any."""
    from .training_run import RunError

    sizes = {}
    for name in sorted(run.state["files"]):
        if not (name.endswith(".npz") and name.split("-")[0] in ("net", "fit")):
            continue
        path = run.checked(name)
        with np.load(path, allow_pickle=False) as z:
            if "w1" not in z:
                continue  # already compact
        side = name[:-4] + ".json"
        try:
            save_network(run.run_dir / f"{COMPACTING}{name}",
                         compact_copy(load_network(path)), compact=True)
        except NetworkError as e:
            raise RunError(f"{path}: {e}") from None
        before = path.stat().st_size
        for n in (name, side):
            run.state["files"][n] = file_digest(run.run_dir / f"{COMPACTING}{n}")
        run.state["compacting"] = [name, side]
        run.save_state()
        finish_compacting(run)
        sizes[name] = [before, path.stat().st_size]
    if sizes:
        run.event(None, "compacted", files=sizes)


def finish_compacting(run) -> None:
    """Move a compacted network the state already names into place (a move that is done
    already leaves nothing to move)."""
    pending = run.state.pop("compacting", None)
    if pending is None:
        return
    for n in pending:
        tmp = run.run_dir / f"{COMPACTING}{n}"
        if tmp.exists():
            os.replace(tmp, run.run_dir / n)
    run.save_state()
