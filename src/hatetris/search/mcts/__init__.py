"""Monte Carlo tree search over the transposition DAG of game states.

Parts, one job each: ``arrays`` (the store's fields), ``select``, ``expand``, ``backup``
(the kernels of one simulation batch), ``compact`` (keeping the root's subtree), ``tree``
(the ``MCTS`` class that plays a game), ``state`` (a search on disk) and ``runner``
(``run_mcts``: a preset, progress, checkpoints).

HATETRIS is a deterministic single-player game once the adversary is fixed: the player
picks a placement, the adversary's reply is a function of the well and the history. The
search therefore works on *states* (rows and score): one node per distinct state, merged
through a transposition table, so the tree is a DAG (a state reached by two move orders
is one node with two parents). A state's depth (pieces placed) follows from it
(``cells = 4 * depth - 10 * score``), so edges always go one piece deeper: no cycles.

Data, not objects: every node field is one flat numpy array indexed by node (rows, score,
depth, hash, static value, visits, leaf visits, sum of backed-up values, best child
value, virtual loss, edge range, piece, flags); a node's children are the contiguous range
``edge_start[n] : edge_start[n] + edge_count[n]`` of the edge arrays (child node, move
code, piece, visits). The hot loops are Numba kernels; Python only wires them.

One simulation
--------------
1. *Selection* from the root by a UCT variant for a single-player max problem: a child's
   value ``Q`` is its best line (``backup="max"``: the best value among its children,
   recomputed at every backup, so a line that turns out to die loses its value at once),
   the mean of the values backed up through it (``"mean"``, its static value counting as
   one sample) or the average of both (``"mixed"``); before its first visit ``Q`` is its
   static evaluation. ``Q`` is normalized to [0, 1] by the smallest and largest
   evaluation in the current root's subtree; the score is
   ``Q + exploration * sqrt(ln(N_parent) / (N_child + 1))``. Dead children (no live
   placement for the next piece) score -1: they are only entered when every child is
   dead. Exact ties are broken by a seeded generator.
2. *Expansion*: every child of the leaf at once (the adversary's piece for the leaf, its
   distinct live placements, each looked up in the transposition table).
3. *Evaluation*: the new children are evaluated; the leaf's value is the best value of
   its children (the player moves next). Dead ends are worth the smallest value seen.
4. *Backup* along the selection path: visits + 1 and sum + v on every node (``vmax``
   recomputed from the children as above), visits + 1 on every edge, leaf visits + 1 on
   the leaf. So for every node ``visits == sum(visits of its out-edges) + leaf_visits``
   (checked by the tests).

Simulations run in batches (``batch``, default 16): the leaves of a batch are selected
one after the other with a *virtual loss* (a pending visit counts as a visit with value 0
in normalized units), expanded in parallel, evaluated in one ``evaluate`` call and backed
up in order. A batch ends early when a selection reaches a leaf that is already pending.
Everything, including the batch boundaries, is deterministic: same seed, same game.

Playing a game
--------------
After ``simulations`` simulations from the root (optionally also stopped by
``seconds`` per move, which makes the run time-dependent), the search *commits* to the
root's most visited child (``commit="visits"``, the classic robust child; ties to the
better value ``Q``, then the lower edge index); ``commit="value"`` takes the child with
the best ``Q`` instead. Measured with the heuristic preset, "visits" was as good or
slightly better at every budget tried. A dead child is committed to only if all are
dead (then the one with most lines). The child becomes the root and its subtree (all
its descendants in the DAG) is kept: when at least a fifth of the store is no longer
reachable from the new root, or the store is near its cap, the store is compacted to
the reachable nodes and the transposition table and the seen-well filter are rebuilt.
(With transpositions most of the tree often stays reachable: compacting every move
cost about 15% of the time at 3,000 simulations per move.) The game ends when the root
has no live child or at ``max_depth`` pieces.

Loop prevention (the adversary's history)
------------------------------------------
The adversary's piece depends on the history: the committed game (every well up to and
including the root, kept as an :func:`adversary.new_history` table) plus the wells of the
selection path below the root. A leaf's piece is computed at expansion time with the path
that reached it, as the beam search does: the mild choice first; a rows hash filter of
every well in the store and in the committed game; on a filter hit an exact count (the
committed table plus the path, which is an array of node indices); only a real repeat
pays for the full HATETRIS choice over all seven pieces. In the DAG a node reached later
by another path keeps the piece of its first path (an approximation inside the search
only): when the search commits to a node, its piece is recomputed for the real history
and, if it differs, the node is re-expanded (new children, statistics reset). So every
committed move uses the piece the real adversary sends, and the final replay is verified
by :func:`hatetris.solution.make_solution` before it is returned.

Memory
------
``max_nodes`` caps the node store. The arrays grow by doubling up to it; an expansion
reserves room for ``engine.MAX_CHILDREN`` children (a true bound), and when there is no
room a simulation ending at an
unexpanded leaf backs up that leaf's own value instead of expanding it (the search
keeps working with evaluations only; if even the root cannot be expanded, the tree is
dropped and restarts from the root alone). Since a store near its cap is compacted to
the root's subtree at every commit, the cap bounds the subtree kept between moves.
Edges are capped at
``4 * max_nodes`` the same way (in practice there are 1-2 edges per node).

Checkpoints
-----------
With ``checkpoint=DIR``, :func:`run_mcts` writes, every ``checkpoint_every`` moves and at
the end, the game committed so far as a verified solution record (``DIR/mcts-partial.json``)
and the whole search (``DIR/mcts-tree.npz``: every array of the store, the tables, the
history and the generator, see ``state``). ``resume=True`` loads that search and goes on:
a resumed run plays exactly the game of an uninterrupted one (tested). ``MCTS.start_from``
still continues a committed game with a fresh tree, for a game that has no saved search.
"""

from .arrays import BACKUPS, COMMITS, EDGE_FIELDS, MAX_PATH, NODE_FIELDS
from .backup import backup_batch
from .compact import compact_nodes, mark_reachable, rebuild_tables
from .expand import MAX_CHILDREN, expand_leaves, insert_children
from .runner import PARTIAL_FILE, TREE_FILE, mcts_fingerprint, run_mcts
from .select import select_batch
from .state import load_tree, save_tree
from .tree import MCTS, MoveStats

__all__ = ["BACKUPS", "COMMITS", "EDGE_FIELDS", "MAX_CHILDREN", "MAX_PATH", "MCTS",
           "MoveStats", "NODE_FIELDS", "PARTIAL_FILE", "TREE_FILE", "backup_batch",
           "compact_nodes", "expand_leaves", "insert_children", "load_tree", "mark_reachable",
           "mcts_fingerprint", "rebuild_tables", "run_mcts", "save_tree", "select_batch"]
