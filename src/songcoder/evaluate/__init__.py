"""Evaluation: mean and PCA baselines, relative error (overall, per group, masked), retrieval, collapse."""

from songcoder.evaluate.report import evaluate_all

__all__ = ["evaluate_all"]
