"""A training run on stored games: records as ground truth, then self-play from inside
the positions the records live in; every generation judged on a benchmark.

Generation 0 fine-tunes the initial network (``init``) on the records
(:mod:`hatetris.nnue.dataset`): every record well with its pieces-to-go label, and the
other placements of the same pieces labelled by a lookahead with the initial network.

Generation k > 0 starts from the best network so far. Its *probes* are beams with that
network continuing stored games at many positions (``probe_starts``); wells sampled from
every depth of the probes, with a random child each, are labelled by the lookahead with
the best network, on the same scale. Generation k is fitted on the records' wells (the
anchor against forgetting: in every generation, with their fixed labels), their siblings
labelled again by the best network, and the self-play wells of every generation so far.

A generation is *adopted* (becomes the best) only if its benchmark beats the best's:
mean pieces survived over a suite of steady-state starts (:mod:`hatetris.suite`), over
the cap, plus the mean lines from the empty well at two widths, over 150 (the issue's
line target): one lucky game cannot decide it. The initial network is measured the
same way first, so generation 0 must beat it too.

State lives in the run directory (under ``data/training/``: small, compressed, meant to
be committed) and every phase's result is written atomically before the state names it:
a run that is killed resumes from its last finished phase (labelling resumes from its
last finished chunk), and ends with the same network as one that never stopped, since
every phase is deterministic. A file whose sha256 is not the one the state recorded is
refused with one line.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .. import __version__
from ..atomic import write_atomic, write_json_atomic
from .dataset import (file_digest, load_dataset, read_games,
                      record_pairs, records_dataset, save_dataset, search_labels)
from .network import Network, load_network, mean_network, save_network
from .quantized import compact_copy
from .run_compact import compact_stored_networks, finish_compacting
from .gate import bench_on, benchmark, decide, judge_suite, paired_gain
from .run_config import SEARCH_PAIR_MARGIN, SELFPLAY_AS, UNLABELLED, RunConfig
from .selfplay import graded_pairs, ordered_pairs, self_play

__all__ = ["RunConfig", "RunError", "TrainingRun", "paired_gain", "SEARCH_PAIR_MARGIN",
           "SELFPLAY_AS", "UNLABELLED", "STATE_FORMAT"]

STATE_FORMAT = "hatetris-training-run/1"


class RunError(ValueError):
    """A run directory that cannot be used (one line)."""


@dataclass
class TrainingRun:
    config: RunConfig
    run_dir: Path
    log_path: Path | None = None  # the JSON-lines log of every decision
    log: Callable[[str], None] = print
    workers: int | None = None
    progress: bool = False
    state: dict = field(default_factory=dict)

    # -- state -----------------------------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.run_dir / "state.json"

    def load_state(self) -> None:
        if self.state_path.exists():
            try:
                state = json.loads(self.state_path.read_text(encoding="utf-8"))
                if state.get("format") != STATE_FORMAT:
                    raise ValueError("not a training-run state")
                theirs = RunConfig.from_json(state["config"]).to_json()
            except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
                raise RunError(f"corrupt training state {self.state_path}: "
                               f"{str(e).splitlines()[0]}") from None
            mine = self.config.to_json()
            # Turning compact storage on (not off) is allowed: the same games either way.
            switch = ["compact_networks"] if mine.get("compact_networks") else []
            diff = [k for k in mine if k not in ("generations", *switch)
                    and mine[k] != theirs.get(k)]
            if diff:
                raise RunError(f"{self.run_dir} holds a run with other options "
                               f"({', '.join(diff)}); use another --run dir or the same options")
            state["config"] = mine
            self.state = state
            finish_compacting(self)
            for name in state.get("files", {}):  # refuse a damaged run before any work
                self.checked(name)
            if mine.get("compact_networks"):  # turned on now, or a conversion cut short
                compact_stored_networks(self)
        else:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.state = {"format": STATE_FORMAT, "config": self.config.to_json(),
                          "engine_version": __version__, "files": {}, "generations": {},
                          "best": None, "best_score": None}
            self.save_state()

    def save_state(self) -> None:
        write_json_atomic(self.state_path, self.state)

    def stored(self, net: Network) -> Network:
        """``net`` as the run stores it (its compact copy with ``compact_networks``)."""
        return compact_copy(net) if self.config.compact_networks else net

    def record_file(self, name: str) -> None:
        self.state["files"][name] = file_digest(self.run_dir / name)
        self.save_state()

    def checked(self, name: str) -> Path:
        """A file the state names, refused unless its sha256 is the recorded one."""
        path = self.run_dir / name
        want = self.state["files"].get(name)
        try:
            ok = want is not None and file_digest(path) == want
        except OSError:
            raise RunError(f"{path}: missing (the state names it)") from None
        if not ok:
            raise RunError(f"{path} is corrupt: its sha256 is not the one the state recorded")
        return path

    def gen(self, k: int) -> dict:
        return self.state["generations"].setdefault(str(k), {})

    def event(self, k: int | None, what: str, **fields) -> None:
        entry = {"run": self.run_dir.name, "generation": k, "event": what,
                 "time": time.strftime("%Y-%m-%d %H:%M:%S"), **fields}
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
        short = {a: b for a, b in fields.items() if not isinstance(b, (list, dict))}
        self.log(f"gen {k}: {what} " + ", ".join(f"{a}={b}" for a, b in short.items()))

    def bar(self, **kwargs):
        from tqdm import tqdm

        return tqdm(disable=not self.progress, dynamic_ncols=True, **kwargs)

    # -- the loop ----------------------------------------------------------------------

    def lock(self) -> None:
        """Hold the run directory for this process (released when it exits, however).

        Two processes on one run would overwrite each other's phases."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.run_dir / ".lock", "a")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            raise RunError(f"{self.run_dir} is in use by another training process") from None

    def run(self) -> None:
        self.lock()
        self.load_state()
        c = self.config
        self.build_records()
        # A fork judged by a new gate has a best network already: the initial network's
        # figure would only be shown, at the price of a whole gate.
        if (c.bench_suite and "init" not in self.state.get("baseline", {})
                and self.state["best"] is None):
            self.state.setdefault("baseline", {})["init"] = self.benchmark(
                None, Path(c.init).resolve())
            self.state["best_score"] = self.state["baseline"]["init"]["score"]
            self.save_state()
        if c.bench_suite and self.state["best"] is not None and self.state["best_score"] is None:
            # A fork judged by a new gate: its kept best network is measured on it first.
            k = self.state["best"]
            self.gen(k)["bench"] = self.benchmark(k, self.checked(f"net-{k}.npz"))
            self.state["best_score"] = self.gen(k)["bench"]["score"]
            self.save_state()
        for k in range(c.generations + 1):
            g = self.gen(k)
            if g.get("decision"):
                continue
            parent = self.best_network()
            if k > 0:
                self.self_play(k, parent)
            self.label(k, parent)
            self.train(k, parent)
            self.decide(k)

    def best_network(self) -> Network:
        best = self.state["best"]
        if best is None:
            return load_network(self.config.init)
        return load_network(self.checked(f"net-{best}.npz"))

    # -- phases ------------------------------------------------------------------------

    def build_records(self) -> None:
        """records.npz: every record well (label: its pieces to go) and its siblings."""
        if "records.npz" in self.state["files"]:
            return
        c = self.config
        games = read_games(c.games, c.min_pieces)
        rows, scores, labels, kind, game, piece = records_dataset(games, c.siblings, c.seed,
                                                                  c.horizon)
        # Held out: a held-out game's wells from its piece on, and their siblings.
        keep = np.ones(len(rows), np.bool_)
        names = [g.name for g in games]
        for name, first in c.hold_out:
            if name in names:
                keep &= ~((game == names.index(name)) & (piece >= first))
        labels = np.where(np.isnan(labels), 0.0, labels)
        save_dataset(self.run_dir / "records.npz", rows[keep], scores[keep], labels[keep],
                     kind[keep], games=names, horizon=c.horizon, held_out=int((~keep).sum()))
        self.record_file("records.npz")
        self.event(None, "records dataset", record_wells=int((kind[keep] == 0).sum()),
                   siblings=int((kind[keep] == 1).sum()), held_out=int((~keep).sum()),
                   games=len(games))

    def self_play(self, k: int, net: Network) -> None:
        """selfplay-k.npz: wells sampled from probes continuing stored games with ``net``."""
        self_play(self, k, net)

    def to_label(self, k: int):
        """The wells generation k labels: the records' siblings (unless they keep
        generation 0's labels), then its self-play wells."""
        rec = load_dataset(self.checked("records.npz"))
        sib = rec.kind == 1
        if k > 0 and self.config.fixed_siblings:
            sib = np.zeros(len(rec.kind), np.bool_)
        rows, scores = [rec.rows[sib]], [rec.scores[sib]]
        if k > 0 and self.config.selfplay_as not in UNLABELLED:
            sp = load_dataset(self.checked(f"selfplay-{k}.npz"))
            rows.append(sp.rows)
            scores.append(sp.scores)
        return np.concatenate(rows), np.concatenate(scores), int(sib.sum())

    def label(self, k: int, net: Network) -> None:
        """labels-k.npz, by the lookahead with ``net`` (the best network), chunk by chunk."""
        c = self.config
        name = f"labels-{k}.npz"
        if name in self.state["files"]:
            return
        rows, scores, _ = self.to_label(k)
        path = self.run_dir / name
        labels = np.zeros(len(rows), np.float32)
        done = 0
        if path.exists():  # a partial file from a run that stopped
            try:
                with np.load(path, allow_pickle=False) as z:
                    part, done = z["labels"], int(z["done"])
                if len(part) != len(rows) or not 0 <= done <= len(rows):
                    raise ValueError("wrong length")
            except (OSError, ValueError, KeyError, EOFError) as e:
                raise RunError(f"corrupt partial labels {path}: {e}") from None
            labels[:done] = part[:done]
        if not len(rows):  # nothing to label (self-play as pairs): an empty file
            write_atomic(path, lambda f: np.savez_compressed(
                f, labels=labels, done=np.array(0)), mode="wb")
        kill_after = int(os.environ.get("HATETRIS_TEST_KILL_AFTER_CHUNK", "0"))
        chunks = 0
        with self.bar(total=len(rows), initial=done, unit="well", desc=f"gen {k} labels") as b:
            while done < len(rows):
                end = min(done + c.chunk, len(rows))
                labels[done:end] = search_labels(rows[done:end], scores[done:end], net,
                                                 c.label_width, c.label_depth, c.label_grace,
                                                 c.horizon)
                done = end
                write_atomic(path, lambda f: np.savez_compressed(
                    f, labels=labels, done=np.array(done)), mode="wb")
                b.update(end - b.n)
                chunks += 1
                if kill_after and chunks == kill_after and done < len(rows):
                    os.kill(os.getpid(), signal.SIGKILL)  # tests: a kill, not a Ctrl-C
        self.record_file(name)
        self.event(k, "labelled", wells=int(len(rows)),
                   label_mean=round(float(labels.mean()), 4) if len(rows) else None,
                   label_std=round(float(labels.std()), 4) if len(rows) else None,
                   lost_within_lookahead=int((labels <= -0.99).sum()))

    def selfplay_labels(self, j: int, n: int) -> np.ndarray:
        """Generation j's lookahead labels of its ``n`` self-play wells (the last ``n`` of
        labels-j: the records' siblings, when relabelled, come first)."""
        with np.load(self.checked(f"labels-{j}.npz"), allow_pickle=False) as z:
            lab = z["labels"].astype(np.float64)
        return lab[len(lab) - n:]

    def training_data(self, k: int):
        """Generation k's fit data: record wells (copies), siblings, self-play pool."""
        c = self.config
        rec = load_dataset(self.checked("records.npz"))
        sib_from = 0 if c.fixed_siblings else k
        with np.load(self.checked(f"labels-{sib_from}.npz"), allow_pickle=False) as z:
            labels_k = z["labels"].astype(np.float64)
        rec_w = rec.kind == 0
        n_sib = int((rec.kind == 1).sum())
        rows = [np.repeat(rec.rows[rec_w], c.record_copies, 0), rec.rows[rec.kind == 1]]
        labels = [np.repeat(rec.labels[rec_w], c.record_copies), labels_k[:n_sib]]
        kinds = [np.zeros(int(rec_w.sum()) * c.record_copies, np.uint8),
                 np.ones(n_sib, np.uint8)]
        anchored = c.records_in_fit or k == 0
        if not anchored:
            rows, labels, kinds = rows[:0], labels[:0], kinds[:0]
        lived = []  # self-play pairs (indices into the rows), when self-play is pairs
        for j in self.selfplay_generations(k):
            sp = load_dataset(self.checked(f"selfplay-{j}.npz"))
            if c.selfplay_as != "values":
                base = sum(len(r) for r in rows)
                group = np.asarray(sp.meta["group"], np.int64)
                if c.selfplay_as == "futures":
                    rng = np.random.default_rng(c.seed * 1000 + j)
                    lived.append(graded_pairs(group, np.asarray(sp.meta["life"]),
                                              len(c.horizons), c.futures_pairs, rng) + base)
                elif c.selfplay_as in UNLABELLED:
                    lived.append(np.repeat(ordered_pairs(group, np.asarray(sp.meta["life"])),
                                           c.selfplay_pair_copies, 0) + base)
                else:  # the lookahead's labels, a margin apart
                    lived.append(ordered_pairs(group, self.selfplay_labels(j, len(sp.rows)),
                                               SEARCH_PAIR_MARGIN) + base)
                rows.append(sp.rows)
                labels.append(np.full(len(sp.rows), np.nan))
                kinds.append(np.full(len(sp.rows), 3, np.uint8))
                continue
            lab = self.selfplay_labels(j, len(sp.rows))
            rows.append(sp.rows)
            labels.append(np.minimum(lab, sp.labels) if c.hindsight else lab)
            kinds.append(np.full(len(sp.rows), 2, np.uint8))
        pairs = None
        if c.pair_weight > 0 and anchored:
            # Rebuilt from the games file each time (seconds): the pairs hold every
            # sibling, far more than records.npz keeps, and need no labels.
            # Held-out steps' wells stay in the rows, in no pair and with no label.
            p_rows, _, better, worse, held = record_pairs(
                read_games(c.games, c.min_pieces), c.hold_out, c.horizon)
            base = sum(len(r) for r in rows)
            rows.append(p_rows)
            labels.append(np.full(len(p_rows), np.nan))
            kinds.append(np.full(len(p_rows), 3, np.uint8))
            pairs = (base + better[~held], base + worse[~held])
        if lived:
            both = np.concatenate(lived)
            pairs = (both[:, 0], both[:, 1]) if pairs is None else (
                np.concatenate([pairs[0], both[:, 0]]), np.concatenate([pairs[1], both[:, 1]]))
        return (np.ascontiguousarray(np.concatenate(rows)), np.concatenate(labels),
                np.concatenate(kinds), pairs)

    def selfplay_generations(self, k: int) -> range:
        """The generations whose self-play generation k's fit reads, in the order its rows
        hold them: all from 1, or the last ``selfplay_window``."""
        w = self.config.selfplay_window
        return range(max(1, k - w + 1) if w else 1, k + 1)

    def fit_generation(self, k: int, net: Network, rows, labels, pairs, progress=None):
        """Fit ``net`` in place on generation k's data (:meth:`training_data`) with the
        run's options and seed, as :meth:`train` does; the fit's result."""
        from .fit import fit

        c = self.config
        return fit(net, rows, labels, seed=c.seed + k, epochs=c.epochs, batch=c.batch,
                   lr=c.lr, progress=progress, pairs=pairs, pair_weight=c.pair_weight,
                   temperature=c.pair_temperature, decay=c.fit_decay,
                   decay_to=c.fit_decay_to)

    def train(self, k: int, parent: Network) -> None:
        from .fit import predict_from_rows

        c = self.config
        g = self.gen(k)
        name = f"net-{k}.npz"
        if name in self.state["files"]:
            return
        rows, labels, kinds, pairs = self.training_data(k)
        start = parent if k == 0 or c.fit_from == "best" else load_network(c.init)
        if c.fit_sets is not None:
            # A start from the best network may have them already.
            start = start.with_sets(tuple(dict.fromkeys((*start.sets, *c.fit_sets))))
        net = start.copy()
        net.meta = {}  # the parent's card (its probe lines, its training) is not this net's
        with self.bar(total=c.epochs, unit="epoch", desc=f"gen {k} fit {len(rows):,}") as b:
            def progress(epoch, train_loss, val_loss):
                b.update(1)
                b.set_postfix_str(f"train={train_loss:.4f} val={val_loss:.4f}")

            result = self.fit_generation(k, net, rows, labels, pairs, progress)
        # Early stopping may keep the weights it started from: then there is nothing
        # new to judge.
        moved = not all(np.array_equal(getattr(net, w), getattr(start, w))
                        for w in ("w1", "w2", "b2"))
        card = {}  # the figures below are the generation's network's
        net = self.stored(net)
        if c.ensemble > 1 and k > 0:
            # The fit alone is kept (fit-k) as a member later generations take up.
            save_network(self.run_dir / f"fit-{k}.npz", net, compact=c.compact_networks,
                         generation=k, run=self.run_dir.name, engine_version=__version__)
            self.record_file(f"fit-{k}.npz")
            self.record_file(f"fit-{k}.json")
            members = [f"fit-{k}.npz"] + self.members(self.state["best"])[:c.ensemble - 1]
            net = self.stored(mean_network([net] + [load_network(self.checked(m))
                                                    for m in members[1:]]))
            card = {"members": members}
        pred = np.zeros(len(rows))
        predict_from_rows(rows, net.layout.bases, net.layout.max_active, net.w1, net.w2,
                          net.b2, pred)
        spread = {KIND: {"mean": round(float(pred[kinds == i].mean()), 4),
                         "std": round(float(pred[kinds == i].std()), 4)}
                  for i, KIND in enumerate(("record", "sibling", "selfplay"))
                  if (kinds == i).any()}
        labelled = kinds < 3
        fitted = pred[labelled] if labelled.any() else pred  # all pairs: every well
        if "record" not in spread:  # fitted without the records: how it values them now
            rec = load_dataset(self.checked("records.npz"))
            on_records = np.zeros(int((rec.kind == 0).sum()))
            predict_from_rows(np.ascontiguousarray(rec.rows[rec.kind == 0]), net.layout.bases,
                              net.layout.max_active, net.w1, net.w2, net.b2, on_records)
            spread["record"] = {"mean": round(float(on_records.mean()), 4),
                                "std": round(float(on_records.std()), 4)}
        g["fit"] = {"samples": int(labelled.sum()), "val_loss": round(result.val_loss, 5),
                    "initial_val_loss": round(result.initial_val_loss, 5),
                    "train_loss": round(result.train_loss, 5), "epochs": result.epochs,
                    "value_std": round(float(fitted.std()), 4), "values": spread,
                    "label_means": {KIND: round(float(labels[kinds == i].mean()), 4)
                                    for i, KIND in enumerate(("record", "sibling",
                                                              "selfplay"))
                                    if (kinds == i).any()}}
        g["fit"]["moved"] = moved
        if pairs is not None:
            g["fit"]["pairs"] = int(len(pairs[0]))
            g["fit"]["val_pair_accuracy"] = (None if result.val_pair_accuracy is None else
                                             round(result.val_pair_accuracy, 4))
        save_network(self.run_dir / name, net, compact=c.compact_networks,
                     generation=k, run=self.run_dir.name,
                     parent=self.state["best"] if self.state["best"] is not None else
                     str(c.init), samples=int(labelled.sum()), val_loss=round(result.val_loss, 5),
                     engine_version=__version__, **card)
        self.record_file(name)
        self.record_file(f"net-{k}.json")
        self.event(k, "trained", **g["fit"])

    def members(self, k: int) -> list[str]:
        """The fits generation k's network is the mean of (its own file if one)."""
        card = json.loads(self.checked(f"net-{k}.json").read_text(encoding="utf-8"))
        return list(card.get("members", [f"net-{k}.npz"]))

    def benchmark(self, k: int | None, network: Path, suite: str | None = None) -> dict:
        """The network's beam on the gate's starts (or ``suite``'s) and from the empty
        well; its score."""
        return benchmark(self, k, network, suite)

    def judge_suite(self) -> str:
        """The suite the next generation is judged on (:func:`gate.judge_suite`)."""
        return judge_suite(self)

    def bench_on(self, k: int | None, suite: str) -> dict:
        """Network ``k``'s figures on ``suite``, played once and kept (:func:`gate.bench_on`)."""
        return bench_on(self, k, suite)

    def decide(self, k: int) -> None:
        """Adopt or reject generation ``k`` (:func:`gate.decide`)."""
        decide(self, k)
