"""Checks for chapter 8's exercises."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reglab.augment import mixup
from reglab.exercises._diagnose import known_mistake
from reglab.exercises.checking import Case, run_check

__all__ = ["check_mixup"]


def _mix(x, y, lam, partner, num_classes, *, swap_x=False, swap_y=False, mix_y=True):
    """Mixup given ``lam`` (N,) and ``partner`` (N,), with optional known slips."""
    one_hot = F.one_hot(y, num_classes).to(x.dtype)  # (N, K)
    lam_x = lam.reshape(-1, *([1] * (x.ndim - 1)))  # (N, 1, ..., 1)
    a_x = 1 - lam_x if swap_x else lam_x
    a_y = (1 - lam if swap_y else lam)[:, None]  # (N, 1)
    soft = a_y * one_hot + (1 - a_y) * one_hot[partner] if mix_y else one_hot
    return a_x * x + (1 - a_x) * x[partner], soft


def _read_off(y: torch.Tensor, soft: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``lam`` and ``partner`` of reglab's mixup, read off its soft targets (labels all distinct)."""
    n = len(y)
    lam = soft[torch.arange(n), y]  # (N,) weight of the own label
    others = soft.clone()
    others[torch.arange(n), y] = 0
    owner_of = torch.empty_like(y)
    owner_of[y] = torch.arange(n)  # label -> index of the example that has it
    partner = torch.where(others.sum(dim=1) > 0, owner_of[others.argmax(dim=1)], torch.arange(n))
    return lam, partner


def check_mixup(my_mixup) -> bool:
    """Exercise 8.1: ``my_mixup(x, y, lam, partner, num_classes) -> (mixed_x, soft_targets)``."""

    def case(name, x, y, lam, partner, num_classes, expected=None):
        expected = expected if expected is not None else _mix(x, y, lam, partner, num_classes)
        args = (x, y, lam, partner, num_classes)
        mistakes = {
            "each example was mixed with itself, so nothing changed: mix with its partner, x[partner] and "
            "one_hot[partner] (mixup needs a shuffled batch).": _mix(x, y, lam, torch.arange(len(x)), num_classes),
            "use the partner index you are given, not the reversed batch.":
                _mix(x, y, lam, torch.arange(len(x)).flip(0), num_classes),
            "λ weighs the example ITSELF: λ·x + (1 - λ)·x[partner], and the same for the labels.":
                _mix(*args, swap_x=True, swap_y=True),
            "the labels must be mixed with the same weights as the inputs: λ·one_hot(y) + (1 - λ)·one_hot(y)[partner].":
                _mix(*args, swap_y=True),
            "mix the labels too: the targets are λ·one_hot(y) + (1 - λ)·one_hot(y)[partner], not the hard labels.":
                _mix(*args, mix_y=False),
        }

        def run():
            got = my_mixup(x.clone(), y.clone(), lam.clone(), partner.clone(), num_classes)
            return (tuple(got) if isinstance(got, (tuple, list)) else got), expected

        return Case(name, run, diagnose=lambda got: known_mistake(got, mistakes),
                    hint="return (mixed inputs of x's shape, soft targets (N, K)); reshape lam to (N, 1, ..., 1) "
                         "so that it broadcasts over each example.")

    def from_reglab(name, x, seed):
        n = len(x)
        y = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        expected = mixup(x, y, 0.5, n, generator=torch.Generator().manual_seed(seed + 1))
        lam, partner = _read_off(y, expected[1])
        return case(name, x, y, lam, partner, n, expected)

    g = torch.Generator().manual_seed(80)
    x_images, x_points = torch.rand(12, 1, 8, 8, generator=g), torch.randn(16, 2, generator=g)
    y3 = torch.randint(0, 3, (10,), generator=g)
    x10 = torch.randn(10, 3, 4, 4, generator=g)
    cases = [
        from_reglab("12 images (N, 1, 8, 8), reglab's mixup", x_images, 81),
        from_reglab("16 points (N, 2), reglab's mixup", x_points, 82),
        case("lam = 1 keeps every example and its one-hot label", x10, y3, torch.ones(10), torch.randperm(10, generator=g), 5),
        case("3-channel images, 3 classes among num_classes = 5", x10, y3, torch.rand(10, generator=g),
             torch.randperm(10, generator=g), 5),
    ]
    return run_check("Exercise 8.1", my_mixup, cases)
