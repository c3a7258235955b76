"""Evaluation: the song encoder (mean and PCA baselines, relative error, retrieval, collapse)
and the audio RNN's continuations (`generation`, `continuation`, `structure`)."""

from songcoder.evaluate.report import evaluate_all

__all__ = ["evaluate_all"]
