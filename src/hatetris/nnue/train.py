"""Training generations: probe, sample, label, fit; adopt only what plays better.

Generation K's network runs a beam search at the probe width (its *probe*: the lines it
reaches are its score). Wells sampled from every depth of that probe are labelled by
lookahead with the best network so far and added to the data pool. Generation K + 1 is
trained from the best network's weights on the pool, then probed; it is *adopted* (becomes
the best) only if it reaches at least as many lines as the best so far. Every decision is
logged. This is what keeps self-training from drifting into a constant or getting worse.

With several probe widths, a generation plays one probe at each and its score is their
mean: one game at one width is chaotic (a network's lines can move by 10 between
neighbouring widths), so a single probe adopts lucky draws. The samples are then spread
over the probes.

Everything is resumable: each phase of each generation writes its result atomically into
the work directory, and the probe beam itself checkpoints.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .. import __version__
from ..atomic import write_atomic, write_json_atomic
from ..eval.quiescence import QuiescenceEvaluation
from ..search.beam import BeamSearch
from ..search.checkpoint import load_checkpoint, save_checkpoint
from .evaluation import NNUEEvaluation
from .fit import fit, predict_from_rows
from .labels import graded, lineage_reach, lookahead, order_by_hindsight
from .network import Network, load_network, save_network
from .samples import candidate_children, spread_by_depth, tanh_z_by_depth, well_depth


@dataclass
class TrainConfig:
    generations: int = 4
    features: tuple[str, ...] = ("rows", "windows")
    hidden: int = 32
    # One width, or several: the generation's score is then the mean of their lines.
    probe_width: int | tuple[int, ...] = 2000
    probe_max_depth: int = 2000
    samples: int = 20000
    label_depth: int = 10
    label_width: int = 8
    # Pieces the lookahead plays on after label_depth: a loss in that stretch is graded.
    label_grace: int | None = None
    pool_limit: int = 200000
    epochs: int = 30
    lr: float = 1e-3
    batch: int = 256
    quiescence: bool = True
    teacher: str | None = None  # a preset whose evaluation generation 0 learns to rank like
    normalise_labels: bool = True  # spread the survivors' labels per depth (anti-collapse)
    init: str | None = None  # start generation 0 from this network file instead
    # Also label this many random children of each sampled well: a beam ranks children,
    # most of which it rejects, and a network that saw only kept wells misranks them.
    candidates: int | None = None
    # What a well that survives the lookahead is labelled with: the best network value
    # at its end (None), or "teacher": the teacher's ranking of the well itself.
    survivor_labels: str | None = None
    # Reorder the labels of the probe's own wells, depth by depth, by how long each one's
    # line of play lasted in the probe (order_by_hindsight).
    hindsight: bool | None = None
    # A beam preset whose game (played once, at the preset's width) is sampled too, each
    # generation: wells from another style of play, labelled by the same lookahead.
    also_sample: str | None = None
    seed: int = 0

    def to_json(self) -> dict:
        d = dict(self.__dict__)
        d["features"] = list(self.features)
        if not isinstance(self.probe_width, int):
            d["probe_width"] = list(self.probe_width)
        return d

    @property
    def probe_widths(self) -> tuple[int, ...]:
        w = self.probe_width
        return (w,) if isinstance(w, int) else tuple(w)


@dataclass
class Trainer:
    config: TrainConfig
    nets_dir: Path
    work_dir: Path
    log: Callable[[str], None] = print
    progress: bool = False  # tqdm bars for the probe, the labelling and the fit
    state: dict = field(default_factory=dict)

    # -- state -----------------------------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.work_dir / "state.json"

    def load_state(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        if self.state_path.exists():
            self.state = json.loads(self.state_path.read_text())
            # More generations may be asked for later: that continues the same run.
            mine = {k: v for k, v in self.config.to_json().items() if k != "generations"}
            theirs = {k: v for k, v in self.state.get("config", {}).items()
                      if k != "generations"}
            # An option added in a later version reads as its default (None) in older runs.
            diff = [k for k in sorted(set(mine) | set(theirs)) if mine.get(k) != theirs.get(k)]
            if diff:
                raise ValueError(f"{self.work_dir} holds a training run with other options "
                                 f"({', '.join(diff)}); use another --work dir or the same "
                                 f"options")
            self.state["config"] = self.config.to_json()
        else:
            self.state = {"config": self.config.to_json(), "generations": {}, "best": None,
                          "best_lines": -1, "pool": []}
            self.save_state()

    def save_state(self) -> None:
        write_json_atomic(self.state_path, self.state)

    def gen(self, k: int) -> dict:
        return self.state["generations"].setdefault(str(k), {})

    def net_path(self, k: int) -> Path:
        return self.nets_dir / f"gen-{k}.npz"

    def event(self, k: int, what: str, **fields) -> None:
        entry = {"generation": k, "event": what, "time": time.strftime("%Y-%m-%d %H:%M:%S"),
                 **fields}
        with open(self.work_dir / "train-log.jsonl", "a") as f:
            f.write(json.dumps(entry) + "\n")
        details = ", ".join(f"{a}={b}" for a, b in fields.items())
        self.log(f"gen {k}: {what}" + (f" ({details})" if details else ""))

    # -- phases ------------------------------------------------------------------------

    def evaluation(self, net: Network):
        ev = NNUEEvaluation(net)
        return QuiescenceEvaluation(ev, 2) if self.config.quiescence else ev

    def bar(self, **kwargs):
        from tqdm import tqdm

        return tqdm(disable=not self.progress, dynamic_ncols=True, **kwargs)

    def finish_search(self, search: BeamSearch, desc: str, save: Callable | None = None) -> None:
        """Step ``search`` to its end under a progress bar. On Ctrl-C, ``save()`` (if
        given) and raise ``KeyboardInterrupt``: a rerun resumes from what was saved."""
        from ..solve import finish_search

        finish_search(search, self.bar(initial=search.depth, unit="piece", desc=desc), save)

    def probe(self, k: int, net: Network, width: int) -> BeamSearch:
        """Beam search with generation k's network at ``width`` (checkpointed)."""
        c = self.config
        single = len(c.probe_widths) == 1
        ck = self.work_dir / (f"probe-{k}" if single else f"probe-{k}-w{width}")
        fp = {"kind": "probe", "generation": k, "width": width,
              "engine_version": __version__}
        desc = f"gen {k} probe" + ("" if single else f" w{width:,}")
        return self.play_to_end(ck, fp, self.evaluation(net), width, desc)

    def play_to_end(self, ck: Path, fp: dict, ev, width: int, desc: str,
                    parent_cap: int | None = None) -> BeamSearch:
        """A beam resumed from its checkpoint ``ck`` (or started), played to its end."""
        if (ck / "meta.json").exists():
            search = load_checkpoint(ck, fp, ev, self.config.probe_max_depth)
        else:
            search = BeamSearch(ev, width, self.config.probe_max_depth, parent_cap)
        self.finish_search(search, desc, lambda: save_checkpoint(ck, search, fp))
        return search

    def other_beam(self) -> BeamSearch:
        """The ``also_sample`` preset's beam, played to its end once (checkpointed like
        ``hatetris solve --checkpoint``, whose checkpoint of the same preset and width
        it accepts)."""
        from ..presets import load_preset, make_evaluation
        from ..solve import beam_fingerprint

        preset = load_preset(self.config.also_sample)
        if preset.search.get("kind") != "beam":
            raise ValueError(f"--also-sample {preset.name}: not a beam preset")
        width = int(preset.search.get("width", 1000))
        return self.play_to_end(self.work_dir / "also-sample", beam_fingerprint(preset, width),
                                make_evaluation(preset), width, f"{preset.name} w{width:,}",
                                preset.search.get("parent_cap"))

    def play_probes(self, k: int, net: Network) -> BeamSearch | None:
        """Generation k's probe at every width (each recorded as it ends), then its
        score, the mean of their lines, and the adoption decision. Returns the last
        probe if it was played here (its tree is needed next, for the samples)."""
        c = self.config
        g = self.gen(k)
        by_width = g.setdefault("probe_lines_by_width", {})
        search = None
        for w in c.probe_widths:
            if str(w) in by_width:
                continue
            search = None  # a wide probe's tree is large: one at a time
            search = self.probe(k, net, w)
            by_width[str(w)] = search.best_score
            g["probe_depth"] = max(g.get("probe_depth", 0), search.depth)
            g["probe_seconds"] = round(g.get("probe_seconds", 0) + search.elapsed, 1)
            self.save_state()
        lines = [by_width[str(w)] for w in c.probe_widths]
        g["probe_lines"] = lines[0] if len(lines) == 1 else round(float(np.mean(lines)), 2)
        best_lines = self.state["best_lines"]
        adopted = g["probe_lines"] >= best_lines
        g["adopted"] = adopted
        if adopted:
            self.state["best"], self.state["best_lines"] = k, g["probe_lines"]
        each = {"probe_width": c.to_json()["probe_width"]}
        if len(lines) > 1:
            each["lines_by_width"] = lines
        self.event(k, "adopted" if adopted else "rejected", probe_lines=g["probe_lines"],
                   **each, best_before=best_lines, best_now=self.state["best_lines"])
        save_network(self.net_path(k), net, probe_lines=g["probe_lines"], **each,
                     adopted=adopted)
        self.save_state()
        return search

    def fit(self, net: Network, rows: np.ndarray, labels: np.ndarray, seed: int):
        c = self.config
        with self.bar(total=c.epochs, unit="epoch", desc=f"fit {len(rows):,} wells") as bar:
            def progress(epoch: int, train_loss: float, val_loss: float) -> None:
                bar.update(1)
                bar.set_postfix_str(f"train={train_loss:.4f} val={val_loss:.4f}")

            return fit(net, rows, labels, seed=seed, epochs=c.epochs, batch=c.batch, lr=c.lr,
                       progress=progress)

    def sample(self, k: int, search: BeamSearch, samples: int,
               salt: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """About ``samples`` wells from every depth of a probe, equally many per depth:
        their rows, scores and node indices."""
        rng = np.random.default_rng(self.config.seed * 1000 + k + 7919 * salt)
        starts = search.level_start + [search.store.size]
        per_depth = max(1, samples // max(1, search.depth))
        picks = []
        for d in range(1, len(starts) - 1):
            lo, hi = starts[d], starts[d + 1]
            n = min(per_depth, hi - lo)
            picks.append(rng.choice(np.arange(lo, hi), size=n, replace=False))
        nodes = np.sort(np.concatenate(picks)) if picks else np.zeros(0, np.int64)
        return search.store.rows[nodes].copy(), search.store.score[nodes].astype(np.int64), nodes

    def label(self, net: Network, rows: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Lookahead labels; with ``normalise_labels``, survivors are spread per depth.

        With ``survivor_labels = "teacher"``, a survivor is labelled with the teacher's
        ranking of the well itself (:meth:`teacher_labels`): the lookahead only adds which
        wells are lost within ``label_depth`` pieces, knowledge a heuristic lacks.

        Labels that are the network's own values shrink toward a constant generation
        after generation (-1 is the only fixed anchor). A beam only compares wells of one
        depth, so only the order among a depth's survivors matters: it is kept, and
        rescaled to 0.9 tanh(z) with z standardised among them. Deaths stay -1.

        With ``label_grace`` G, a well that outlives ``label_depth`` but is lost within G
        pieces more gets a label between -1 and its survivor's label (:func:`graded`).
        """
        c = self.config
        lay = net.layout
        value = np.zeros(len(rows))
        survived = np.zeros(len(rows))
        chunk = 1000  # for the progress bar only: wells are labelled independently
        with self.bar(total=len(rows), unit="well", desc="labels") as bar:
            for a in range(0, len(rows), chunk):
                b = min(a + chunk, len(rows))
                lookahead(rows[a:b], scores[a:b], c.label_depth, c.label_grace or 0,
                          c.label_width, lay.bases, lay.max_active, net.w1, net.w2, net.b2,
                          value[a:b], survived[a:b])
                bar.update(b - a)
                bar.set_postfix_str(f"lost={int((survived[:b] == 0).sum())}", refresh=False)
        if c.survivor_labels == "teacher":
            value = self.teacher_labels(rows, scores)
        elif c.normalise_labels:
            value = spread_by_depth(rows, scores, np.where(survived > 0, value, -1.0))
        return graded(value, survived)

    # -- the loop ----------------------------------------------------------------------

    def run(self) -> None:
        c = self.config
        self.load_state()
        self.nets_dir.mkdir(parents=True, exist_ok=True)
        for k in range(0, c.generations + 1):
            g = self.gen(k)
            data = self.work_dir / f"data-{k}.npz"
            # Phases are checked one by one: a run extended with more generations still
            # owes the data of what was its last generation.
            if g.get("done") and (k == c.generations or data.exists()):
                continue
            t0 = time.perf_counter()
            # 1. the network of generation k
            if k == 0 and not self.net_path(0).exists():
                net = Network.random(c.features, c.hidden, seed=c.seed)
                if c.init:
                    net = load_network(c.init)
                    if net.sets != tuple(c.features) or net.hidden != c.hidden:
                        raise ValueError(f"--init {c.init} has features "
                                         f"{'+'.join(net.sets)} and {net.hidden} hidden units, "
                                         f"not {'+'.join(c.features)} and {c.hidden}")
                    save_network(self.net_path(0), net, generation=0, parent=str(c.init),
                                 engine_version=__version__)
                    self.event(0, "initialised from a network", init=str(c.init))
                elif c.teacher:
                    self.learn_from_teacher(net)
                else:
                    save_network(self.net_path(0), net, generation=0, samples=0,
                                 val_loss=None, parent=None, engine_version=__version__)
                    self.event(0, "initialised with random weights", hidden=c.hidden,
                               features="+".join(c.features))
            elif k > 0 and not self.net_path(k).exists():
                self.train_generation(k)
            net = load_network(self.net_path(k))
            # 2. its probes
            last = self.play_probes(k, net) if "probe_lines" not in g else None
            # 3. new data from the probes, labelled by the best network
            if k < c.generations and not data.exists():
                self.label_probes(k, net, data, last)
            g["done"] = True
            g["seconds"] = round(g.get("seconds", 0) + time.perf_counter() - t0, 1)
            self.save_state()

    def label_probes(self, k: int, net: Network, data: Path,
                     last: BeamSearch | None = None) -> None:
        """Sample generation k's probes (``last``: one already in memory), label the
        wells with the best network and add them to the pool as ``data``.

        The wells of all probes (and of ``also_sample``'s beam) are labelled together:
        survivors are ranked per depth across the probes (:meth:`label`), then hindsight
        reorders the beams' own wells, depth by depth, by how long each one's line lasted
        in its beam."""
        c = self.config
        widths = c.probe_widths + ((0,) if c.also_sample else ())  # 0: the other beam
        rows, scores, kept, life = [], [], [], []
        for i, w in enumerate(widths):
            if w == 0:
                search = self.other_beam()
            elif last is not None and last.width == w:
                search = last
            else:  # resumes from its final checkpoint
                search = self.probe(k, net, w)
            share = c.samples // len(widths) + (i < c.samples % len(widths))
            part_rows, part_scores, nodes = self.sample(k, search, share, salt=i)
            if c.hindsight:
                store = search.store
                reach = lineage_reach(store.parent[:store.size], search.level_start,
                                      store.size)
                depth = store.depth[nodes]
                life.append((depth, reach[nodes] - depth))
            kept.append(len(part_rows))
            if c.candidates:
                kid_rows, kid_scores = candidate_children(part_rows, part_scores, c.candidates,
                                                          c.seed * 1000 + k + 7919 * i)
                part_rows = np.concatenate([part_rows, kid_rows])
                part_scores = np.concatenate([part_scores, kid_scores])
            rows.append(part_rows)
            scores.append(part_scores)
            search = last = None  # a wide probe's tree is large: one at a time
        best_net = load_network(self.net_path(self.state["best"]))
        labels = self.label(best_net, np.concatenate(rows), np.concatenate(scores))
        if c.hindsight:
            # One ordering over all the beams' wells of a depth: a line that lasted longer
            # in any beam outranks one that ended sooner in another.
            starts = np.cumsum([0] + [len(r) for r in rows[:-1]])
            ids = np.concatenate([np.arange(a, a + n) for a, n in zip(starts, kept)])
            depth, lived = (np.concatenate(x) for x in zip(*life))
            labels[ids] = order_by_hindsight(labels[ids], depth, lived)
        rows, scores = np.concatenate(rows), np.concatenate(scores)
        write_atomic(data, lambda f: np.savez(f, rows=rows, scores=scores, labels=labels),
                     mode="wb")
        self.state["pool"].append(data.name)
        self.event(k, "labelled", samples=len(rows), dead=int((labels <= -0.999).sum()),
                   label_mean=round(float(labels.mean()), 3),
                   label_std=round(float(labels.std()), 3),
                   labelled_by=f"gen-{self.state['best']}")

    def teacher_labels(self, rows: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """tanh(z), z the teacher's value standardised among the wells of one depth.

        The student is wrapped in quiescence too (when configured): it learns the
        teacher's value of the well itself, not of the well's best line-clearing chain.
        """
        from ..presets import load_preset, make_evaluation

        c = self.config
        teacher = make_evaluation(load_preset(c.teacher))
        inner = getattr(teacher, "inner", teacher) if c.quiescence else teacher
        values = np.zeros(len(rows))
        inner.evaluate(rows, scores, values)
        labels = np.zeros(len(rows))
        tanh_z_by_depth(well_depth(rows, scores), values, np.ones(len(rows), np.bool_), 1.0,
                        labels)
        return labels

    def learn_from_teacher(self, net: Network) -> None:
        """Generation 0 from a teacher: rank wells of each depth like the teacher does.

        Wells sampled from the teacher's own probe beam are labelled tanh(z), z being the
        teacher's value standardised among the sampled wells of the same depth: a beam
        only compares wells of one depth, so that ranking is all the network must learn.
        With quiescence on, the value is the teacher's own, without its quiescence.
        """
        from ..presets import load_preset, make_evaluation

        c = self.config
        preset = load_preset(c.teacher)
        teacher = make_evaluation(preset)
        search = BeamSearch(teacher, c.probe_widths[-1], c.probe_max_depth)
        self.finish_search(search, f"teacher {c.teacher}")
        rows, scores, _ = self.sample(0, search, c.samples)
        # A beam ranks children, most of which it rejects: the network must see those too,
        # not only the wells the teacher kept.
        kid_rows, kid_scores = candidate_children(rows, scores, max(2, c.candidates or 0),
                                                  c.seed)
        rows = np.concatenate([rows, kid_rows])
        scores = np.concatenate([scores, kid_scores])
        labels = self.teacher_labels(rows, scores)
        result = self.fit(net, rows, labels, seed=c.seed)
        # The teacher's data joins the pool: the first generations keep learning from it
        # (until newer data pushes it out), so they start from what the teacher knows.
        data = self.work_dir / "data-teacher.npz"
        write_atomic(data, lambda f: np.savez(f, rows=rows, scores=scores, labels=labels),
                     mode="wb")
        if data.name not in self.state["pool"]:
            self.state["pool"].append(data.name)
            self.save_state()
        save_network(self.net_path(0), net, generation=0, parent=None, teacher=c.teacher,
                     teacher_lines=search.best_score, samples=int(len(rows)),
                     val_loss=round(result.val_loss, 5),
                     initial_val_loss=round(result.initial_val_loss, 5), epochs=result.epochs,
                     engine_version=__version__)
        self.event(0, "learned from teacher", teacher=c.teacher,
                   teacher_lines=search.best_score, samples=len(rows),
                   val_loss=round(result.val_loss, 5),
                   initial_val_loss=round(result.initial_val_loss, 5))

    def train_generation(self, k: int) -> None:
        c = self.config
        parent = self.state["best"]
        net = load_network(self.net_path(parent)).copy()
        rows, labels = [], []
        for name in self.state["pool"]:
            with np.load(self.work_dir / name) as z:
                rows.append(z["rows"])
                labels.append(z["labels"])
        rows_a = np.concatenate(rows)[-c.pool_limit:]
        labels_a = np.concatenate(labels)[-c.pool_limit:]
        result = self.fit(net, rows_a, labels_a, seed=c.seed + k)
        pred = np.zeros(len(rows_a))
        predict_from_rows(rows_a, net.layout.bases, net.layout.max_active, net.w1, net.w2,
                          net.b2, pred)
        save_network(self.net_path(k), net, generation=k, parent=parent,
                     samples=int(len(rows_a)), val_loss=round(result.val_loss, 5),
                     initial_val_loss=round(result.initial_val_loss, 5),
                     epochs=result.epochs, pred_std=round(float(pred.std()), 4),
                     pred_mean=round(float(pred.mean()), 4), engine_version=__version__)
        self.event(k, "trained", parent=f"gen-{parent}", samples=len(rows_a),
                   val_loss=round(result.val_loss, 5),
                   initial_val_loss=round(result.initial_val_loss, 5), epochs=result.epochs,
                   pred_std=round(float(pred.std()), 4))
