"""Checks for chapter 1's exercises."""

from __future__ import annotations

import numbers

import torch

from reglab.exercises._diagnose import known_mistake
from reglab.exercises.checking import Case, run_check
from reglab.metrics import bias_variance_decomposition

__all__ = ["check_bias_variance"]


def _as_tensor(value: object) -> object:
    """A returned number as a 0-d float64 tensor (Python and NumPy numbers are accepted as well as tensors)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return torch.tensor(float(value), dtype=torch.float64)
    return value


def check_bias_variance(my_bias_variance) -> bool:
    """Exercise 1.1: ``my_bias_variance(predictions (R, M), truth (M,)) -> (bias², variance)``."""

    def case(name, predictions, truth):
        expected = bias_variance_decomposition(predictions, truth)
        refits, points = predictions.shape
        known_mistakes = {
            "variance divides by R - 1: the decomposition uses the population variance (divide by R).":
                (expected[0], expected[1] * refits / (refits - 1)),
            "your bias² is the mean squared error of the refits; bias² is the squared gap of the MEAN prediction.":
                ((predictions - truth).pow(2).mean(), expected[1]),
            "you averaged over the points (dim 1) first; average over the refits (dim 0), then over the points.":
                ((predictions.mean(1).mean() - truth).pow(2).mean(), (predictions - predictions.mean(1, keepdim=True)).pow(2).mean()),
            "you summed over the M points; both quantities are AVERAGED over the points.":
                (expected[0] * points, expected[1] * points),
            "you returned (variance, bias²); return them in the order (bias², variance).": (expected[1], expected[0]),
        }

        def run():
            got = my_bias_variance(predictions, truth)
            return (tuple(_as_tensor(v) for v in got) if isinstance(got, (tuple, list)) else got), expected

        return Case(name, run,
                    hint="return (bias², variance): bias² = mean over the points of (mean over the refits - truth)², "
                         "variance = mean over refits and points of (prediction - mean prediction)², as in section 1.5.",
                    diagnose=lambda got: known_mistake(got, known_mistakes))

    g = torch.Generator().manual_seed(11)
    cases = [
        case("three refits at two points", torch.tensor([[0.0, 1.0], [2.0, 5.0], [1.0, 6.0]], dtype=torch.float64),
             torch.tensor([1.0, 3.0], dtype=torch.float64)),
        case("every refit predicts 2, the truth is 0", torch.full((5, 3), 2.0, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)),
        case("40 random refits at 9 points", torch.randn(40, 9, generator=g, dtype=torch.float64), torch.randn(9, generator=g, dtype=torch.float64)),
    ]
    return run_check("Exercise 1.1", my_bias_variance, cases)
