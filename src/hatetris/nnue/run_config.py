"""The options of a training run (:mod:`hatetris.nnue.training_run`): what it learns
from, how self-play enters the fit, and what judges a generation. Kept in the run's
``state.json``; a run resumed with other options is refused."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from ..eval.quiescence import CHAIN_PIECES
from .dataset import HORIZON
from .features import FeatureError, layout

SELFPLAY_AS = ("values", "pairs", "search-pairs", "line-pairs", "rollout-pairs", "futures",
               "record-vs-beam")
# Self-play that enters the fit as order the probe itself gives (no lookahead labels).
UNLABELLED = ("pairs", "line-pairs", "rollout-pairs", "futures", "record-vs-beam")
# search-pairs: two labels closer than this are a tie, not an order.
SEARCH_PAIR_MARGIN = 0.02


@dataclass
class RunConfig:
    games: str = "data/records/records.json"
    min_pieces: int = 400  # records of at least this many pieces (148 lines and more)
    # (game name, piece): that game's wells from this piece on are not trained on, so
    # the suite's later starts of it measure positions the network never saw.
    hold_out: tuple = (("David & Felipe (6), first 5,000 pieces", 2750),)
    horizon: float = HORIZON
    siblings: int = 2  # per record well
    record_copies: int = 2  # each record well's weight in the fit
    label_width: int = 32
    label_depth: int = 10
    label_grace: int = 10
    init: str = "data/nets/hind-6.npz"
    epochs: int = 20
    lr: float = 3e-4
    batch: int = 256
    seed: int = 0
    generations: int = 0  # self-play generations after generation 0
    probe_starts: tuple = ()  # "GAME:K" (GAME a game file), continued by each probe
    probe_width: int = 500
    probe_pieces: int = 150
    probe_samples: int = 1000  # wells per probe, spread over its depths
    # 0: every generation probes from every start; m: generation k from the next m of
    # them in turn (new games each generation, even when the best network is unchanged).
    probes_per_generation: int = 0
    bench_suite: str | None = "steady"
    bench_starts: tuple = ()  # start labels of the suite (all if empty)
    bench_width: int = 1000
    empty_widths: tuple = (1000, 3000)
    chunk: int = 2000  # wells labelled between two saves
    # Hindsight: a probe that died at depth D caps the label of each of its wells at
    # depth d by D - d pieces to go (the lookahead's bootstrap cannot see that far).
    hindsight: bool = False
    # Fixed siblings: the records' siblings keep generation 0's labels in every
    # generation (their contrast stays the one the records taught); a self-play
    # generation labels only its own wells.
    fixed_siblings: bool = False
    # Records as a ranking: with a weight above 0 every fit also learns, from every
    # sibling of every record step (no search labels them), that the record's placement
    # is worth more (fit.train_pairs_epoch); the temperature sets the margin.
    pair_weight: float = 0.0
    pair_temperature: float = 0.1
    # How self-play wells enter the fit: "values" (labelled by the lookahead, capped by
    # hindsight), "pairs" (no labels: in one group of a probe, a well whose line lived
    # longer in the probe ranks above one whose line died sooner) or "search-pairs" (in
    # one group, labelled by the lookahead, the higher label ranks above the lower: the
    # search's order, never its values) or "line-pairs" (each probe's line as a
    # pseudo-record: at every step its placement ranks above each other placement of
    # the piece, as a record's does; a probe wider than the gate is a stronger player
    # than the network at the gate's width) or "rollout-pairs" (wells drawn from the
    # probes, their best children by the search's values each continued by its own
    # beam: the child that survives longer ranks above, see nnue/rollouts.py) or
    # "futures" (one depth of a probe: a well that still has a descendant in the beam
    # futures_horizon pieces later ranks above one that has none: what a probe wider
    # than the gate judges, across lineages, futures_pairs pairs a depth) or
    # "record-vs-beam" (one depth of a probe at the gate's own width: the stored game's
    # well ranks above each of record_wells wells of the beam that continued it, an
    # order true by construction that reaches as far as the beam lived). Pairs need
    # pair_weight.
    selfplay_as: str = "values"
    # rollout-pairs: wells drawn from each probe, children kept of each (the search's
    # best), and each child's rollout beam (width, pieces at most).
    rollout_families: int = 12
    rollout_children: int = 6
    rollout_width: int = 300
    rollout_pieces: int = 100
    # futures: how many pieces on a well's lineage must still be in the probe's beam,
    # and how many (better, worse) pairs each depth of a probe gives (drawn, seeded).
    # Several horizons (increasing) grade the wells by the longest their lineage
    # reached: at each horizon, a share of the pairs ranks the wells that reached it
    # above those that did not (a wide beam's lineages thin out fast, so the few that
    # last 40 pieces say what 10 cannot).
    futures_horizon: int | tuple = 10
    futures_pairs: int = 64
    # record-vs-beam: each probe continues its stored game at the gate's search (set
    # probe_width to the gate's width and probe_pieces to its cap); at each depth from
    # record_min_offset pieces after the start on, the game's well ranks above each of
    # record_wells wells drawn from the probe's beam (selfplay.record_vs_beam).
    record_min_offset: int = 10
    record_wells: int = 32
    # line-pairs: the last pieces of a probe's line that teach nothing (its last choices
    # are the network's opinion, or all lost).
    line_margin: int = 30
    # Each self-play pair's weight in the fit, as copies (the records give ~180,000).
    selfplay_pair_copies: int = 1
    # With self-play as pairs, which wells are compared: "depth" (any two wells of one
    # depth of a probe) or "siblings" (children of one parent: the same choice the
    # records' pairs teach, whose placement lived longer in the probe).
    selfplay_groups: str = "depth"
    # False: generations after 0 fit self-play alone, without the records (their wells,
    # siblings and pairs): the ablation that shows what the anchor holds.
    records_in_fit: bool = True
    # What a generation after 0 is fitted from: "best" (the best network so far, fine-
    # tuned) or "init" (the initial network, as generation 0 was, on everything so far:
    # new data then shapes the fit from its start instead of having to pull a network
    # that already sits at its own validation optimum).
    fit_from: str = "best"
    # The quiescence chain piece of the run's probes and gate presets ("adversary" or
    # "optimistic", see hatetris.eval.quiescence); the shipped nnue-beam uses the latter.
    chain_piece: str = "adversary"
    # How deep the chains of the probes, rollouts and gate presets go, and whether only
    # the best ``chain_shortlist x width`` children get them (None: every child); the
    # shipped nnue-beam has 3 and 8. The defaults are the searches of the runs made
    # before these options existed.
    chain_depth: int = 2
    chain_shortlist: float | None = None
    # An opening network (a file, found as ``init`` is) that values the wells with fewer than
    # ``opening_pieces`` pieces placed in the probes and the gate (eval/phased.py); the
    # generations' networks value the rest. A teacher that shows only the steady state
    # then cannot make the opening worse. None: the generation's network everywhere.
    opening_network: str | None = None
    opening_pieces: int = 0
    # The learner's own positions (as DAgger takes them): before each probe, the run's
    # best network plays ``probe_lead`` pieces from its start at the gate's width (the
    # gate's search), and the probe starts where that game is then, or ``probe_lead_back``
    # pieces before it ended if it died sooner. The teacher (the probe, wider) is then
    # asked about the positions the gate's search reaches, not the record's. 0: off.
    probe_lead: int = 0
    probe_lead_back: int = 30
    # How many generations' self-play the fit reads: the last ``selfplay_window`` (a
    # replay buffer), so that the self-play's share of the fit stays what it was beside
    # the records' instead of growing every generation. 0: all of them.
    selfplay_window: int = 0
    # An ensemble of fits: generation k's network is the mean (of the output
    # pre-activations, nnue.network.mean_network) of its own fit and the first
    # ``ensemble - 1`` fits of the best network so far, so each network keeps part of its
    # parent's judgement and averages away part of one fit's noise. 1: the fit alone.
    ensemble: int = 1
    # Adoption that noise cannot decide: besides a better score, the mean gain over the
    # best network, start by start on the gate, must exceed ``adopt_margin`` standard
    # errors of that paired difference. 0: the better score alone.
    adopt_margin: float = 0.0
    # Judging without the winner's curse. A network adopted because its gate beat the
    # best's is, among the draws of its recipe, a lucky one, so its gate figure is biased
    # up by that luck and the next generation, held to it, must be luckier still. With a
    # second suite, each generation is judged on the suite its parent (the best network)
    # was not adopted by, the parent measured on it too (once): a comparison, start by
    # start, on starts neither network was chosen by. None: the gate's suite alone.
    second_suite: str | None = None
    # Feature sets the fits take up beside the start network's own, the new ones'
    # weights starting at 0 (``Network.with_sets``), so that a lineage can take up
    # features its initial network did not have. None: the start network's sets.
    fit_sets: tuple[str, ...] | None = None
    # Each fit's pull on the weights it moves (fit.fit's ``decay``, decoupled as AdamW's):
    # toward the network it starts from ("start"), so a generation moves them only where
    # its data insist, or toward 0 ("zero"). 0: none (the fits before this option existed).
    fit_decay: float = 0.0
    fit_decay_to: str = "start"  # or "zero": plain weight decay
    # Store each generation's network as its int16 copy's non-zero rows (save_network's
    # compact form, quantized.compact_copy): what the probes and gates play either way,
    # so the same games, in a file a fraction of the size (a positional network's 57 MB
    # in 9 MB), so that the run's state can be committed. A run stored in floats may turn
    # it on when resumed: its networks are rewritten compact then. The fit's figures (value
    # spread) are the compact network's.
    compact_networks: bool = False

    def __post_init__(self):
        if self.selfplay_as not in SELFPLAY_AS:
            raise ValueError(f"selfplay_as is one of {', '.join(SELFPLAY_AS)}, not "
                             f"{self.selfplay_as!r}")
        if self.selfplay_as != "values" and self.pair_weight <= 0:
            raise ValueError(f"selfplay_as {self.selfplay_as!r} needs a pair_weight above 0")
        if self.chain_piece not in CHAIN_PIECES:
            raise ValueError(f"chain_piece is one of {', '.join(CHAIN_PIECES)}, not "
                             f"{self.chain_piece!r}")
        h = self.horizons
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in h) or \
                not h or min(h) < 1 or self.futures_pairs < len(h) or \
                any(b <= a for a, b in zip(h, h[1:])):
            raise ValueError("futures_horizon (one or more, increasing) must be at least 1 "
                             "and futures_pairs at least one a horizon")
        if self.chain_depth < 1:
            raise ValueError(f"chain_depth must be at least 1, not {self.chain_depth}")
        if self.chain_shortlist is not None and not self.chain_shortlist >= 1:
            raise ValueError(f"chain_shortlist must be at least 1 (times the width) or "
                             f"null, not {self.chain_shortlist}")
        if (self.opening_network is None) != (self.opening_pieces == 0) or \
                self.opening_pieces < 0:
            raise ValueError("opening_network and opening_pieces (at least 1) go together")
        if self.second_suite is not None and (not self.bench_suite or
                                              self.second_suite == self.bench_suite):
            raise ValueError("second_suite needs a bench_suite, and another one")
        if not self.adopt_margin >= 0:
            raise ValueError("adopt_margin must be at least 0")
        if self.ensemble < 1:
            raise ValueError("ensemble must be at least 1")
        if self.ensemble > 1 and self.fit_from != "init":
            raise ValueError("ensemble needs fit_from 'init' (a fit starts from one network)")
        if self.selfplay_window < 0:
            raise ValueError("selfplay_window must be at least 0")
        if self.probe_lead < 0 or self.probe_lead_back < 0:
            raise ValueError("probe_lead and probe_lead_back must be at least 0")
        if self.selfplay_as == "record-vs-beam" and self.probe_lead:
            # The teacher is the stored game's own future; a lead replaces that game
            # with the learner's, which knows no more than the probe.
            raise ValueError("selfplay_as 'record-vs-beam' needs probe_lead 0")
        if self.record_min_offset < 1 or self.record_wells < 1:
            raise ValueError("record_min_offset and record_wells must be at least 1")
        if self.fit_from not in ("best", "init"):
            raise ValueError(f"fit_from is 'best' or 'init', not {self.fit_from!r}")
        if self.fit_sets is not None:
            try:
                layout(self.fit_sets)
            except FeatureError as e:
                raise ValueError(f"fit_sets: {e}") from None
        if not self.fit_decay >= 0:
            raise ValueError("fit_decay must be at least 0")
        if self.fit_decay_to not in ("start", "zero"):
            raise ValueError(f"fit_decay_to is 'start' or 'zero', not {self.fit_decay_to!r}")
        if self.selfplay_groups not in ("depth", "siblings"):
            raise ValueError(f"selfplay_groups is 'depth' or 'siblings', not "
                             f"{self.selfplay_groups!r}")

    @property
    def horizons(self) -> tuple[int, ...]:
        """``futures_horizon`` as a tuple (one horizon, or the grades' horizons)."""
        h = self.futures_horizon
        return tuple(h) if isinstance(h, (tuple, list)) else (h,)

    def to_json(self) -> dict:
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_json(cls, d: dict) -> "RunConfig":
        d = dict(d)
        for k in ("probe_starts", "bench_starts", "empty_widths"):
            d[k] = tuple(d.get(k, ()))
        d["hold_out"] = tuple(tuple(x) for x in d.get("hold_out", ()))
        if d.get("fit_sets") is not None:
            d["fit_sets"] = tuple(d["fit_sets"])
        if isinstance(d.get("futures_horizon"), list):
            d["futures_horizon"] = tuple(d["futures_horizon"])
        return cls(**d)
