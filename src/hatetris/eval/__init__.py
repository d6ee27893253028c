"""Evaluations of wells, all with one calling convention: ``evaluate(rows, scores, out)``."""

from .heuristic import (
    FEATURES,
    HeuristicEvaluation,
    evaluate_heuristic,
    heuristic_features,
    well_features,
)

__all__ = [
    "FEATURES",
    "HeuristicEvaluation",
    "evaluate_heuristic",
    "heuristic_features",
    "well_features",
]
