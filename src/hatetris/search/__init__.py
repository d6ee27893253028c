"""Search over wells: the node store, transposition tables, beam search, MCTS.

Search is generic over the evaluation: it hands batches of wells to an object with
``evaluate(rows, scores, out)`` and never looks inside.
"""
