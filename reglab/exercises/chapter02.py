"""Checks for chapter 2's exercises."""

from __future__ import annotations

import torch

from reglab.exercises._diagnose import known_mistake
from reglab.exercises.checking import Case, run_check
from reglab.penalties import soft_threshold_

__all__ = ["check_soft_threshold"]


def _reference(w: torch.Tensor, t: float) -> torch.Tensor:
    out = w.clone()
    soft_threshold_(out, t)
    return out


def check_soft_threshold(my_soft_threshold) -> bool:
    """Exercise 2.1: ``my_soft_threshold(w, t)`` returns ``sign(w) * max(|w| - t, 0)`` as a new tensor."""

    def case(name, w, t):
        expected = _reference(w, t)
        mistakes = {
            "that is hard thresholding: the surviving entries must also move towards 0 by t.":
                w * (w.abs() > t),
            "entries with |w| < t must become exactly 0; you moved them past zero (w - t·sign(w) is a subgradient step, "
            "not the proximal step). Take max(|w| - t, 0) before multiplying by the sign.":
                w - t * torch.sign(w),
            "the result lost its sign: multiply max(|w| - t, 0) by sign(w).":
                (w.abs() - t) * (w.abs() > t),
        }
        return Case(name, lambda: (my_soft_threshold(w.clone(), t), expected),
                    hint="apply sign(w) * max(|w| - t, 0) to every entry and return a tensor of w's shape.",
                    diagnose=lambda got: known_mistake(got, mistakes))

    def untouched():
        w = torch.tensor([1.5, -0.2, 0.05, -3.0])
        before = w.clone()
        my_soft_threshold(w, 0.5)
        return w, before

    g = torch.Generator().manual_seed(21)
    cases = [
        case("w = [1.5, -0.2, 0.05, -3.0], t = 0.5", torch.tensor([1.5, -0.2, 0.05, -3.0]), 0.5),
        case("t = 0 leaves w unchanged", torch.randn(50, generator=g), 0.0),
        case("1,000 random entries, t = 0.7", torch.randn(1000, generator=g), 0.7),
        case("a (4, 6) matrix in float64, t = 0.3", torch.randn(4, 6, generator=g, dtype=torch.float64), 0.3),
        case("a threshold larger than every entry gives zeros", torch.randn(20, generator=g), 10.0),
        Case("w itself is not modified", untouched,
             hint="do not change w in place (no sub_, mul_, or w[...] = ...): return a new tensor.",
             diagnose=lambda got: None),
    ]
    return run_check("Exercise 2.1", my_soft_threshold, cases)
