"""Stored games as labelled data: what followed a well in a game that lasted, and the
other placements of the same piece as contrast, labelled by the search.

**The label scale.** A well's value is ``1 - 2 exp(-n / H)`` for ``n`` the pieces still
played from it (:func:`value_of_pieces_to_go`): -1 for a lost well, 0 at ``n = H ln 2``,
and +1 only as ``n`` grows into the thousands. With ``H = 300`` (the steady-state
suite's cap) 60 pieces is -0.64, 300 is 0.26, 1,000 is 0.93 and the 3,711-line record's
4,000 pieces to go are 1.0. A label that saturates at 60 pieces calls a doomed
steady-state well (dead in 100) as good as one that lasts for ever; this scale orders
them, and still calls "thousands more" won.

It is also a discount: ``1 - v`` is twice ``gamma ** n`` with ``gamma = exp(-1/H)``, so a
well whose best line reaches, after ``d`` pieces, a well valued ``v'`` is worth
``1 - gamma ** d (1 - v')`` (:func:`bootstrap`). A lookahead's label and a record's label
are then on one scale: the search's labels do not drift away from the records' as the
network's own values come back into them generation after generation.

**Records.** A record well's ``n`` is what the record still played after it, to its end
(``pieces_after`` adds what is known to have followed a stored prefix: the 3,711-line
game lasted 9,309 pieces, 4,309 after its stored 5,000). It is a lower bound on what
the well is worth: the record's players lasted that long from it.

**Contrast.** The siblings of a record well are the other placements of the piece the
record received there (the loop rule's piece where it decided). Each is labelled by a
narrow lookahead beam (:func:`hatetris.nnue.labels.lookahead_lasted`) with the current
network: a sibling whose lines all die after ``s`` pieces is worth ``1 - 2 gamma ** s``;
one that outlives ``depth + grace`` is :func:`bootstrap` of the best value at ``depth``.

**Files.** Wells are stored as their 16 live rows (rows 0-3, above the bar, are empty in
a live well), with scores, labels and a kind per well, compressed (``save_dataset``);
``load_dataset`` refuses anything else with one line (:class:`DatasetError`).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit, prange

from ..adversary import N_PIECES, mild_piece
from ..atomic import write_atomic
from ..config import NJIT_PARALLEL
from ..core import same_well
from ..engine import MAX_CHILDREN, children_into, expand_scratch, lock_masks, pad_well
from ..rules import BAR, HEIGHT

HORIZON = 300.0
FORMAT = "hatetris-wells/1"
KINDS = ("record", "sibling", "selfplay")


class DatasetError(ValueError):
    """A game or dataset file that cannot be read or does not check out (one line)."""


def value_of_pieces_to_go(n, horizon: float = HORIZON) -> np.ndarray:
    """``1 - 2 exp(-n / horizon)``: -1 for a lost well, toward +1 as ``n`` grows.

    >>> [round(float(v), 2) for v in value_of_pieces_to_go([0, 60, 300, 1000, 4000])]
    [-1.0, -0.64, 0.26, 0.93, 1.0]
    """
    return 1.0 - 2.0 * np.exp(-np.asarray(n, np.float64) / horizon)


def bootstrap(value, depth, horizon: float = HORIZON) -> np.ndarray:
    """The value of a well whose best line reaches, ``depth`` pieces on, a well valued
    ``value``: ``1 - gamma ** depth (1 - value)``, gamma = exp(-1 / horizon).

    >>> round(float(bootstrap(value_of_pieces_to_go(100), 50)), 12) == round(
    ...     float(value_of_pieces_to_go(150)), 12)
    True
    """
    return 1.0 - np.exp(-np.asarray(depth, np.float64) / horizon) * (
        1.0 - np.asarray(value, np.float64))


# -- games -------------------------------------------------------------------------------

@dataclass
class StoredGame:
    """A game to learn from: its keys, and the pieces known to follow what is stored
    (0 for a game that ended there)."""

    name: str
    keys: str
    pieces_after: int = 0


def read_games(path: str | Path, min_pieces: int = 0) -> list[StoredGame]:
    """The games of a file: a records list (``data/records/records.json``: entries with
    ``name``, ``replay`` and optionally ``pieces_total``), a solution ``.json`` (one
    ``replay``), or a text file of replays, one a line. Games shorter than
    ``min_pieces`` (stored plus known to follow) are left out."""
    from ..codecs import decode
    from ..game import replay

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"cannot read games from {path}: {e}") from None
    entries: list[tuple[str, str, int | None]] = []
    try:
        if path.suffix == ".json":
            data = json.loads(text)
            if isinstance(data, dict):
                data = [{"name": path.stem, **data}]
            for e in data:
                entries.append((str(e["name"]), str(e["replay"]), e.get("pieces_total")))
        else:
            for i, line in enumerate(text.splitlines()):
                if line.strip():
                    entries.append((f"{path.stem}:{i + 1}", line.strip(), None))
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise DatasetError(f"{path}: not a games file ({e!r})") from None
    games = []
    for name, text, total in entries:
        try:
            keys = decode(text)
            played = replay(keys).pieces_placed
        except ValueError as e:
            raise DatasetError(f"{path}: game {name!r} does not replay: {e}") from None
        after = 0 if total is None else int(total) - played
        if after < 0:
            raise DatasetError(f"{path}: game {name!r} has {played} pieces, "
                               f"more than its pieces_total {total}")
        if played + after >= min_pieces:
            games.append(StoredGame(name, keys, after))
    if not games:
        raise DatasetError(f"{path}: no game of at least {min_pieces} pieces")
    return games


def game_labels(game: StoredGame, horizon: float = HORIZON):
    """The live well after every piece of ``game``, its score, and its label by the
    live wells the game still reached from it: ``(rows, scores, pieces_to_go, labels)``.
    A game's last well, if the game ended there, is left out: it is lost, and any
    evaluation values it -1 already. The last live well of a game that ended is -1."""
    from ..diagnose import game_wells

    rows, scores = game_wells(game.keys)
    live = ~rows[:, :BAR].any(axis=1)
    n = int(np.argmin(live)) if not live.all() else len(rows)
    rows, scores = rows[:n], scores[:n]
    to_go = len(rows) - 1 - np.arange(len(rows)) + game.pieces_after
    return rows, scores.astype(np.int64), to_go, value_of_pieces_to_go(to_go, horizon)


# -- siblings ----------------------------------------------------------------------------

@njit(**NJIT_PARALLEL)
def sibling_counts(prev_rows, prev_scores, rows, out_piece, out_count):
    """For each step ``prev_rows[i] -> rows[i]`` of a game: the piece that made it (the
    mild adversary's, else the first in order that can: the loop rule's), and how many
    children that piece has. ``out_piece[i] = -1`` if no piece makes the step."""
    for i in prange(rows.shape[0]):
        pad, locks, buf, kid_rows, kid_scores, kid_moves = expand_scratch()
        top = pad_well(prev_rows[i], pad)
        mild, y0, y1 = mild_piece(pad, top, locks, buf)
        out_piece[i] = -1
        out_count[i] = 0
        for t in range(N_PIECES + 1):
            p = mild if t == 0 else t - 1
            if t > 0 and p == mild:
                continue
            y0, y1 = lock_masks(pad, top, p, locks)
            k = children_into(pad, p, locks, y0, y1, prev_scores[i], False, kid_rows,
                              kid_scores, kid_moves, 0, buf)
            found = False
            for j in range(k):
                if same_well(kid_rows, j, rows, i):
                    found = True
                    break
            if found:
                out_piece[i] = p
                out_count[i] = k
                break


@njit(**NJIT_PARALLEL)
def write_siblings(prev_rows, prev_scores, rows, piece, offsets, out_rows, out_scores,
                   out_of):
    """Write the children of ``piece[i]`` on ``prev_rows[i]`` except ``rows[i]`` itself,
    from ``offsets[i]``; ``out_of`` says which step each came from."""
    for i in prange(rows.shape[0]):
        if piece[i] < 0:
            continue
        pad, locks, buf, kid_rows, kid_scores, kid_moves = expand_scratch()
        top = pad_well(prev_rows[i], pad)
        y0, y1 = lock_masks(pad, top, piece[i], locks)
        k = children_into(pad, piece[i], locks, y0, y1, prev_scores[i], False, kid_rows,
                          kid_scores, kid_moves, 0, buf)
        n = offsets[i]
        for j in range(k):
            if same_well(kid_rows, j, rows, i):
                continue
            for r in range(HEIGHT):
                out_rows[n, r] = kid_rows[j, r]
            out_scores[n] = kid_scores[j]
            out_of[n] = i
            n += 1


def siblings(rows: np.ndarray, scores: np.ndarray, first_parent: np.ndarray | None = None,
             first_score: int = 0):
    """The other placements of each step's piece, for a game's wells ``rows`` (the well
    after piece 1, 2, ...): ``(sibling rows, scores, step index)``, step by step in the
    engine's child order. The first step's parent is the empty well, or ``first_parent``
    (with ``first_score`` lines) for a stretch of a game that starts later."""
    rows = np.ascontiguousarray(rows, np.uint16)
    prev = np.zeros_like(rows)
    prev[1:] = rows[:-1]
    prev_scores = np.zeros(len(rows), np.int64)
    prev_scores[1:] = scores[:-1]
    if first_parent is not None and len(rows):
        prev[0] = first_parent
        prev_scores[0] = first_score
    piece = np.zeros(len(rows), np.int64)
    count = np.zeros(len(rows), np.int64)
    sibling_counts(prev, prev_scores, rows, piece, count)
    if (piece < 0).any():
        raise DatasetError(f"step {int(np.flatnonzero(piece < 0)[0]) + 1} of the game is "
                           f"not a placement of any piece")
    count = np.maximum(count - 1, 0)
    offsets = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    total = int(count.sum())
    out_rows = np.zeros((total, HEIGHT), np.uint16)
    out_scores = np.zeros(total, np.int64)
    out_of = np.zeros(total, np.int64)
    write_siblings(prev, prev_scores, rows, piece, offsets, out_rows, out_scores, out_of)
    return out_rows, out_scores, out_of


def sample_per_step(of: np.ndarray, per_step: int, seed: int) -> np.ndarray:
    """Indices of up to ``per_step`` items of each step (``of``: an item's step), chosen
    at random (seeded), in increasing order."""
    rng = np.random.default_rng(seed)
    keys = rng.random(len(of))
    order = np.lexsort((keys, of))
    sorted_of = of[order]
    first = np.searchsorted(sorted_of, sorted_of, side="left")
    rank = np.arange(len(of)) - first
    return np.sort(order[rank < per_step])


# -- labels by search --------------------------------------------------------------------

def search_labels(rows: np.ndarray, scores: np.ndarray, net, width: int, depth: int,
                  grace: int, horizon: float = HORIZON) -> np.ndarray:
    """Each well labelled by a lookahead beam with ``net`` on the pieces-to-go scale:
    ``1 - 2 gamma ** s`` if every line died after ``s`` pieces (``s < depth + grace``),
    else :func:`bootstrap` of the best network value at ``depth``."""
    from .labels import lookahead_lasted

    lay = net.layout
    value = np.zeros(len(rows))
    lasted = np.zeros(len(rows), np.int64)
    lookahead_lasted(np.ascontiguousarray(rows, np.uint16),
                     np.ascontiguousarray(scores, np.int64), depth, grace, width, lay.bases,
                     lay.max_active, net.w1, net.w2, net.b2, value, lasted)
    return labels_from_lookahead(value, lasted, depth, grace, horizon)


def labels_from_lookahead(value, lasted, depth: int, grace: int,
                          horizon: float = HORIZON) -> np.ndarray:
    """The pieces-to-go label of a lookahead's ``(value at depth, pieces lasted)``.

    >>> labels_from_lookahead(np.array([0.5, 0.5]), np.array([3, 12]), 10, 2, 300.0).round(3)
    array([-0.98 ,  0.516])
    """
    lasted = np.asarray(lasted)
    dead = value_of_pieces_to_go(lasted, horizon)
    return np.where(lasted >= depth + grace, bootstrap(value, depth, horizon), dead)


# -- files -------------------------------------------------------------------------------

def pack_rows(rows: np.ndarray) -> np.ndarray:
    """The 16 live rows of each well (rows 0-3, above the bar, must be empty)."""
    rows = np.asarray(rows, np.uint16)
    if rows.ndim != 2 or rows.shape[1] != HEIGHT or rows[:, :BAR].any():
        raise DatasetError("wells to pack must be live: 20 rows, nothing above the bar")
    return np.ascontiguousarray(rows[:, BAR:])


def unpack_rows(packed: np.ndarray) -> np.ndarray:
    out = np.zeros((len(packed), HEIGHT), np.uint16)
    out[:, BAR:] = packed
    return out


def save_dataset(path: str | Path, rows: np.ndarray, scores: np.ndarray, labels: np.ndarray,
                 kind: np.ndarray, **meta) -> str:
    """Write a compressed dataset file atomically; return its sha256 (for a state file
    that names it)."""
    n = len(rows)
    if not (len(scores) == len(labels) == len(kind) == n):
        raise DatasetError("rows, scores, labels and kinds must have one entry per well")
    arrays = {"format": np.array(FORMAT), "meta": np.array(json.dumps(meta)),
              "rows": pack_rows(rows), "scores": np.asarray(scores, np.int32),
              "labels": np.asarray(labels, np.float32), "kind": np.asarray(kind, np.uint8)}
    write_atomic(path, lambda f: np.savez_compressed(f, **arrays), mode="wb")
    return file_digest(path)


def file_digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass
class Dataset:
    rows: np.ndarray  # uint16 [n, 20]
    scores: np.ndarray  # int64 [n]
    labels: np.ndarray  # float64 [n]
    kind: np.ndarray  # uint8 [n], an index into KINDS
    meta: dict


def load_dataset(path: str | Path, digest: str | None = None) -> Dataset:
    """Read a dataset file, checking its format, shapes, values and (if given) digest."""
    path = Path(path)
    if digest is not None:
        try:
            if file_digest(path) != digest:
                raise DatasetError(f"{path} is corrupt: its sha256 is not the one recorded")
        except OSError as e:
            raise DatasetError(f"cannot read dataset {path}: {e.strerror}") from None
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["format"]) != FORMAT:
                raise DatasetError(f"{path} is not a {FORMAT} file")
            meta = json.loads(str(z["meta"]))
            packed, scores, labels, kind = z["rows"], z["scores"], z["labels"], z["kind"]
    except DatasetError:
        raise
    except FileNotFoundError:
        raise DatasetError(f"dataset {path} not found") from None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError,
            json.JSONDecodeError) as e:
        raise DatasetError(f"corrupt dataset {path}: {str(e).splitlines()[0]}") from None
    n = len(packed)
    if (packed.dtype != np.uint16 or packed.shape != (n, HEIGHT - BAR)
            or scores.shape != (n,) or labels.shape != (n,) or kind.shape != (n,)):
        raise DatasetError(f"corrupt dataset {path}: arrays of inconsistent shapes")
    if not np.isfinite(labels).all() or np.abs(labels).max(initial=0) > 1 or (
            kind >= len(KINDS)).any() or (packed > 1023).any() or (scores < 0).any():
        raise DatasetError(f"corrupt dataset {path}: values out of range")
    return Dataset(unpack_rows(packed), scores.astype(np.int64), labels.astype(np.float64),
                   kind.astype(np.uint8), meta)


def record_pairs(games: list[StoredGame], hold_out=(), horizon: float = HORIZON):
    """Every live well of ``games`` and all its siblings, as ranking pairs: the record's
    placement is worth more than each other placement of the same piece.

    Returns ``(rows, labels, better, worse, held)``: the wells (each game's record wells,
    then their siblings), the record wells' labels (NaN for siblings), one pair per
    sibling (``better[t]`` its record well, ``worse[t]`` the sibling), and whether the
    pair's step is held out (``hold_out``: ``(game name, first piece)`` pairs, as in a
    training run). A sibling that is itself a well of its game is left out.
    """
    rows, labels, better, worse, held = [], [], [], [], []
    base = 0
    first = dict(hold_out)
    for game in games:
        r, s, _, lab = game_labels(game, horizon)
        s_rows, _, of = siblings(r, s)
        known = {x.tobytes() for x in r}
        keep = np.array([x.tobytes() not in known for x in s_rows], np.bool_)
        s_rows, of = s_rows[keep], of[keep]
        rows += [r, s_rows]
        labels += [lab, np.full(len(s_rows), np.nan)]
        better.append(base + of)
        worse.append(base + len(r) + np.arange(len(s_rows)))
        held.append(of + 1 >= first[game.name] if game.name in first
                    else np.zeros(len(of), np.bool_))
        base += len(r) + len(s_rows)
    return (np.ascontiguousarray(np.concatenate(rows)), np.concatenate(labels),
            np.concatenate(better).astype(np.int64), np.concatenate(worse).astype(np.int64),
            np.concatenate(held))


def records_dataset(games: list[StoredGame], siblings_per_well: int, seed: int,
                    horizon: float = HORIZON):
    """Every live well of ``games`` with its pieces-to-go label, and up to
    ``siblings_per_well`` random siblings of each (unlabelled: the search labels them).
    A sibling that is itself a well of one of the games is left out: it has the game's
    label. Returns ``(rows, scores, labels, kind, game, piece)``: labels NaN for
    siblings; ``game`` indexes ``games``; ``piece`` is the piece whose placement made
    the well (a record well is the well after that piece, a sibling its alternative)."""
    rec_rows, rec_scores, rec_labels, rec_game, rec_piece = [], [], [], [], []
    sib_rows, sib_scores, sib_game, sib_piece = [], [], [], []
    for gi, game in enumerate(games):
        rows, scores, _, labels = game_labels(game, horizon)
        rec_rows.append(rows)
        rec_scores.append(scores)
        rec_labels.append(labels)
        rec_game.append(np.full(len(rows), gi))
        rec_piece.append(np.arange(1, len(rows) + 1))
        s_rows, s_scores, of = siblings(rows, scores)
        pick = sample_per_step(of, siblings_per_well, seed * 7919 + gi)
        sib_rows.append(s_rows[pick])
        sib_scores.append(s_scores[pick])
        sib_game.append(np.full(len(pick), gi))
        sib_piece.append(of[pick] + 1)
    rec = np.concatenate(rec_rows)
    known = {r.tobytes() for r in rec}
    sib = np.concatenate(sib_rows)
    keep = np.array([r.tobytes() not in known for r in sib], np.bool_)
    rows = np.concatenate([rec, sib[keep]])
    scores = np.concatenate(rec_scores + [np.concatenate(sib_scores)[keep]])
    labels = np.concatenate(rec_labels + [np.full(int(keep.sum()), np.nan)])
    kind = np.concatenate([np.zeros(len(rec), np.uint8), np.ones(int(keep.sum()), np.uint8)])
    game = np.concatenate(rec_game + [np.concatenate(sib_game)[keep]])
    piece = np.concatenate(rec_piece + [np.concatenate(sib_piece)[keep]])
    return rows, scores, labels, kind, game, piece
