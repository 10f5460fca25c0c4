"""Checks for chapter 4's exercises."""

from __future__ import annotations

import torch

from reglab.exercises._diagnose import forked_rng
from reglab.exercises.checking import Case, run_check
from reglab.layers import locked_dropout

__all__ = ["check_locked_dropout"]


def _constant_along(ratio: torch.Tensor, dim: int) -> bool:
    return bool(torch.allclose(ratio, ratio.select(dim, 0).unsqueeze(dim).expand_as(ratio), atol=1e-5))


def _diagnose(got: object, x: torch.Tensor, p: float, batch_first: bool) -> str | None:
    """Name what is wrong with the mask that ``got = x * mask`` reveals (``x`` is positive)."""
    if not isinstance(got, torch.Tensor) or got.shape != x.shape or p == 0.0:
        return None
    ratio = (got.detach().cpu().double() / x.double())  # the mask times its scale
    kept = ratio[ratio.abs() > 1e-6]
    if kept.numel() and torch.allclose(kept, torch.ones_like(kept), atol=1e-5):
        return "the kept values are not rescaled: divide by (1 - p), so that the expected output equals x."
    if kept.numel() and torch.allclose(kept, torch.full_like(kept, 1 - p), atol=1e-5):
        return "you multiplied by (1 - p); inverted dropout DIVIDES the kept values by (1 - p)."
    time, batch = (1, 0) if batch_first else (0, 1)
    if not _constant_along(ratio, time):
        if _constant_along(ratio, batch):
            return (f"your mask is shared over the batch, not over time: with batch_first={batch_first} time is "
                    f"dimension {time}, so the mask has shape {'(N, 1, D)' if batch_first else '(1, N, D)'}.")
        return ("you drew a fresh mask at every time step (plain dropout): draw one mask per sequence, of shape "
                f"{'(N, 1, D)' if batch_first else '(1, N, D)'}, and let it broadcast over time.")
    dropped = (ratio.abs() <= 1e-6).double().mean().item()
    if p != 0.5 and abs(dropped - (1 - p)) < abs(dropped - p):
        return "p is the DROP probability: keep each unit with probability 1 - p (bernoulli_(1 - p))."
    return ("your mask has the right shape and scale but other random numbers: draw it with "
            "torch.empty(mask_shape, dtype=x.dtype).bernoulli_(1 - p), as reglab does, so the same seed gives the same mask.")


def check_locked_dropout(my_locked_dropout) -> bool:
    """Exercise 4.1: ``my_locked_dropout(x, p, batch_first)`` with one mask per sequence, scaled by 1/(1-p)."""

    def case(name, shape, p, batch_first, seed):
        x = torch.rand(shape, generator=torch.Generator().manual_seed(seed)) + 0.5  # positive: the mask is got / x
        expected = forked_rng(lambda: locked_dropout(x, p, True, batch_first), seed)
        return Case(name, lambda: (forked_rng(lambda: my_locked_dropout(x.clone(), p, batch_first), seed), expected),
                    hint="return x times one Bernoulli(1 - p) mask per sequence (size 1 on the time axis), divided by (1 - p).",
                    diagnose=lambda got: _diagnose(got, x, p, batch_first))

    cases = [
        case("(T, N, D) = (6, 40, 30), p = 0.2", (6, 40, 30), 0.2, False, 4),
        case("(N, T, D) = (40, 6, 30), p = 0.2, batch_first", (40, 6, 30), 0.2, True, 5),
        case("(T, N, D) = (5, 7, 3), p = 0.4", (5, 7, 3), 0.4, False, 3),
        case("(N, T, D) = (7, 5, 3), p = 0.4, batch_first", (7, 5, 3), 0.4, True, 3),
        case("p = 0 returns x", (4, 3, 2), 0.0, False, 6),
    ]
    return run_check("Exercise 4.1", my_locked_dropout, cases)
