"""Checks for chapter 4's exercises.

Each case first compares the learner's output with :func:`reglab.layers.locked_dropout`
under the same seed: an answer that draws its mask as reglab does
(``torch.empty(mask_shape).bernoulli_(1 - p)``) gives the same numbers. A mask
drawn another way (``torch.rand(mask_shape) < 1 - p``, ``torch.bernoulli``) is
right too, so it is accepted when it has the properties of one: every entry 0
or 1/(1 - p), the same at every time step, different across sequences and
features, and a fraction of zeros within five standard errors of p.
"""

from __future__ import annotations

import torch

from reglab.exercises._diagnose import forked_rng
from reglab.exercises.checking import Case, run_check
from reglab.layers import locked_dropout

__all__ = ["check_locked_dropout"]


def _constant_along(ratio: torch.Tensor, dim: int) -> bool:
    return bool(torch.allclose(ratio, ratio.select(dim, 0).unsqueeze(dim).expand_as(ratio), atol=1e-5))


def _ratio(got: object, x: torch.Tensor) -> torch.Tensor | None:
    """The mask times its scale, ``got / x`` (``x`` is positive), or None if ``got`` is not a tensor of x's shape."""
    if not isinstance(got, torch.Tensor) or got.shape != x.shape:
        return None
    return got.detach().cpu().double() / x.double()


def _mask_shape(batch_first: bool) -> str:
    return "(N, 1, D)" if batch_first else "(1, N, D)"


def _valid(got: object, x: torch.Tensor, p: float, batch_first: bool) -> bool:
    """Whether ``got`` is x times a valid locked-dropout mask, drawn in any way."""
    ratio = _ratio(got, x)
    if ratio is None or p == 0.0:
        return False
    time, batch = (1, 0) if batch_first else (0, 1)
    zero, kept = ratio.abs() <= 1e-6, (ratio - 1 / (1 - p)).abs() <= 1e-5 / (1 - p)
    mask = ratio.select(time, 0)  # (N, D): one entry per sequence and feature
    spread = 5 * (p * (1 - p) / mask.numel()) ** 0.5  # five standard errors of the fraction of zeros
    return (bool((zero | kept).all()) and _constant_along(ratio, time)
            and not _constant_along(mask, 0) and not _constant_along(mask, 1)  # varies over sequences and features
            and abs(zero.select(time, 0).double().mean().item() - p) <= spread)


def _diagnose(got: object, x: torch.Tensor, p: float, batch_first: bool) -> str | None:
    """Name what is wrong with the mask that ``got = x * mask`` reveals (``x`` is positive)."""
    ratio = _ratio(got, x)
    if ratio is None or p == 0.0:
        return None
    shape = _mask_shape(batch_first)
    zero = ratio.abs() <= 1e-6
    kept = ratio[~zero]
    time = 1 if batch_first else 0
    dropped = zero.select(time, 0).double().mean().item()  # the fraction of zeros in the (N, D) mask
    keeps_p = abs(dropped - (1 - p)) < abs(dropped - p)  # p was read as the keep probability
    if kept.numel() and torch.allclose(kept, torch.ones_like(kept), atol=1e-5):
        return "the kept values are not rescaled: divide by (1 - p), so that the expected output equals x." + (
            " And p is the DROP probability: keep each unit with probability 1 - p (bernoulli_(1 - p))."
            if keeps_p else "")
    if kept.numel() and p != 0.5 and torch.allclose(kept, torch.full_like(kept, 1 / p), atol=1e-5):
        return ("p is the DROP probability, not the keep probability: keep each unit with probability 1 - p "
                "(bernoulli_(1 - p), or torch.rand(...) < 1 - p) and divide the kept values by (1 - p), not by p.")
    if kept.numel() and torch.allclose(kept, torch.full_like(kept, 1 - p), atol=1e-5):
        return "you multiplied by (1 - p); inverted dropout DIVIDES the kept values by (1 - p)."
    if kept.numel() and not torch.allclose(kept, torch.full_like(kept, 1 / (1 - p)), atol=1e-5):
        return ("every entry of the mask must be 0 or 1/(1 - p): draw Bernoulli(1 - p) coins (bernoulli_(1 - p), or "
                "torch.rand(...) < 1 - p) and divide by (1 - p); multiplying by uniform random numbers is not dropout.")
    batch = 0 if batch_first else 1
    if not _constant_along(ratio, time):
        if _constant_along(ratio, batch):
            return (f"your mask is shared over the batch, not over time: with batch_first={batch_first} time is "
                    f"dimension {time}, so the mask has shape {shape}.")
        return ("you drew a fresh mask at every time step (plain dropout): draw one mask per sequence, of shape "
                f"{shape}, and let it broadcast over time.")
    mask = ratio.select(time, 0)  # (N, D)
    if _constant_along(mask, 0) or _constant_along(mask, 1):
        return (f"one coin per sequence AND feature: the mask has shape {shape}, not one shared by every sequence "
                "(or by every feature).")
    if keeps_p:
        return "p is the DROP probability: keep each unit with probability 1 - p (bernoulli_(1 - p))."
    return None


def check_locked_dropout(my_locked_dropout) -> bool:
    """Exercise 4.1: ``my_locked_dropout(x, p, batch_first)`` with one mask per sequence, scaled by 1/(1-p)."""

    def case(name, shape, p, batch_first, seed):
        x = torch.rand(shape, generator=torch.Generator().manual_seed(seed)) + 0.5  # positive: the mask is got / x
        expected = forked_rng(lambda: locked_dropout(x, p, True, batch_first), seed)
        return Case(name, lambda: (forked_rng(lambda: my_locked_dropout(x.clone(), p, batch_first), seed), expected),
                    hint=f"return x times one Bernoulli(1 - p) mask per sequence, of shape {_mask_shape(batch_first)} "
                         "(size 1 on the time axis), divided by (1 - p).",
                    diagnose=lambda got: _diagnose(got, x, p, batch_first),
                    accept=lambda got: _valid(got, x, p, batch_first))

    cases = [
        case("(T, N, D) = (6, 40, 30), p = 0.2", (6, 40, 30), 0.2, False, 4),
        case("(N, T, D) = (40, 6, 30), p = 0.2, batch_first", (40, 6, 30), 0.2, True, 5),
        case("(T, N, D) = (5, 7, 3), p = 0.4", (5, 7, 3), 0.4, False, 3),
        case("(N, T, D) = (7, 5, 3), p = 0.4, batch_first", (7, 5, 3), 0.4, True, 3),
        case("p = 0 returns x", (4, 3, 2), 0.0, False, 6),
    ]
    return run_check("Exercise 4.1", my_locked_dropout, cases)
