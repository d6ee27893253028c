"""NNUE: a small sparse value network for wells (features, network, inference, training).

The search sees only :class:`~hatetris.nnue.evaluation.NNUEEvaluation`, an evaluation like
any other; features and layers live here, training in :mod:`hatetris.nnue.train`.
"""
