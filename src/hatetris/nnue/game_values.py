"""How networks value the wells of one game: where does a network think a game is lost?

A beam keeps the wells its evaluation ranks highest, so a network that values a long
game's wells near -1 (lost) will never play that game. ``hatetris nets values`` prints
these values next to each other for a stored game, say another solver's.
"""

from __future__ import annotations

import numpy as np

from ..diagnose import game_wells
from .evaluation import NNUEEvaluation
from .network import Network


def game_values(keys: str, networks: list[Network]) -> tuple[np.ndarray, np.ndarray]:
    """Each network's value of the well after every piece of the game ``keys`` (no
    quiescence), and the lines cleared by then: ``(lines[piece], values[net, piece])``.
    """
    rows, lines = game_wells(keys)
    values = np.zeros((len(networks), len(rows)))
    for i, net in enumerate(networks):
        # The network as trained (a report, not a search): the float path.
        NNUEEvaluation(net, precision="float32").evaluate(rows, np.zeros(len(rows), np.int64),
                                                          values[i])
    return lines, values
