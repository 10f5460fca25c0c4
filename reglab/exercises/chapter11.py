"""Checks for chapter 11's exercises.

Drop path is random, and the learner may draw its coins differently from
:func:`reglab.layers.drop_path` (``torch.rand(...) < 1 - p`` against
``bernoulli_(1 - p)``), so the check compares properties, not values: whole
samples are dropped, a fraction ``p`` of them (on 50 000 samples, within 0.01:
about five standard errors), the kept ones are scaled by exactly 1/(1 - p), the
output's mean is that of ``x`` (within 0.015, five standard errors), and
evaluation (or p = 0) returns ``x``.
"""

from __future__ import annotations

import torch

from reglab.exercises._diagnose import forked_rng
from reglab.exercises.checking import Case, run_check

__all__ = ["check_drop_path"]

_N = 50_000


def _x(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) + 0.5  # positive: the mask is y / x


def _dropped(y: torch.Tensor) -> torch.Tensor:
    return (y == 0).flatten(1)  # (N, D): which entries were zeroed


def _partly_dropped(y: torch.Tensor) -> torch.Tensor:
    """The fraction of samples with some, but not all, entries zeroed (0 for drop path)."""
    dropped = _dropped(y)
    return (dropped.any(1) & ~dropped.all(1)).double().mean()


def _diagnose_fraction(got: object, p: float) -> str | None:
    if isinstance(got, torch.Tensor) and abs(got.item() - (1 - p)) < 0.01:
        return "p is the DROP probability: keep each sample with probability 1 - p."
    if isinstance(got, torch.Tensor) and got.item() in (0.0, 1.0):
        return (f"{'every' if got.item() else 'no'} sample was dropped, as with one coin for the whole mini-batch "
                "(Huang et al.'s original stochastic depth): draw one coin per SAMPLE, a mask of shape (N, 1, ..., 1).")
    return None


def _diagnose_scale(got: object, p: float) -> str | None:
    if not isinstance(got, torch.Tensor) or got.numel() == 0:
        return None
    if torch.allclose(got, torch.ones_like(got), atol=1e-5):
        return "the kept samples are not rescaled: divide them by (1 - p), so that the expected output equals x."
    if torch.allclose(got, torch.full_like(got, 1 - p), atol=1e-5):
        return "you multiplied the kept samples by (1 - p); the inverted form DIVIDES them by (1 - p)."
    return None


def _diagnose_eval(got: object, x: torch.Tensor, p: float) -> str | None:
    if not isinstance(got, torch.Tensor) or got.shape != x.shape:
        return None
    if torch.allclose(got, x * (1 - p), atol=1e-5):
        return ("multiplying by (1 - p) in evaluation is Huang et al.'s original convention; with the inverted form "
                "(kept samples scaled by 1/(1 - p) in training) evaluation returns x unchanged.")
    if bool((got == 0).any()):
        return "drop path is active only in training: with training=False return x unchanged."
    return None


def check_drop_path(my_drop_path) -> bool:
    """Exercise 11.1: ``my_drop_path(x, p, training)`` drops whole samples with probability p, scales by 1/(1-p)."""

    def call(x, p, training, seed):
        return forked_rng(lambda: my_drop_path(x.clone(), p, training), seed)

    def whole_samples(name, shape, p, seed):
        x = _x(shape, seed)
        return Case(f"{name}: fraction of samples partly dropped", lambda: (_partly_dropped(call(x, p, True, seed)),
                                                                             torch.tensor(0.0, dtype=torch.float64)),
                    hint="draw ONE coin per sample, a mask of shape (N, 1, ..., 1) that broadcasts over the other "
                         "dimensions, not one per element (that is dropout).")

    def fraction(name, shape, p, seed):
        x = _x(shape, seed)
        return Case(f"{name}: fraction of samples dropped", lambda: (_dropped(call(x, p, True, seed)).all(1).double().mean(),
                                                                     torch.tensor(p, dtype=torch.float64)),
                    atol=0.01, rtol=0.0, diagnose=lambda got: _diagnose_fraction(got, p),
                    hint="drop each sample with probability p (keep it with probability 1 - p).")

    def scale(name, shape, p, seed):
        x = _x(shape, seed)

        def run():
            y = call(x, p, True, seed)
            kept = ~_dropped(y).all(1)  # (N,)
            ratio = (y[kept] / x[kept]).flatten()  # the scale of every kept entry
            return ratio, torch.full_like(ratio, 1 / (1 - p))

        return Case(f"{name}: scale of the kept samples", run, diagnose=lambda got: _diagnose_scale(got, p),
                    hint="multiply the kept samples by 1 / (1 - p).")

    def mean(name, shape, p, seed):
        x = _x(shape, seed)
        return Case(f"{name}: mean of the output (that of x)", lambda: (call(x, p, True, seed).mean(), x.mean()),
                    atol=0.015, rtol=0.0, hint="keep each sample with probability 1 - p and divide the kept ones by "
                                              "(1 - p): then E[output] = x.")

    def identity(name, shape, p, training, seed):
        x = _x(shape, seed)
        return Case(name, lambda: (call(x, p, training, seed), x), diagnose=lambda got: _diagnose_eval(got, x, p),
                    hint="with training=False or p = 0, return x unchanged.")

    cases = [
        whole_samples("(N, 2, 3), p = 0.3", (_N, 2, 3), 0.3, 0),
        fraction("(N, 2, 3), p = 0.3", (_N, 2, 3), 0.3, 0),
        scale("(N, 2, 3), p = 0.3", (_N, 2, 3), 0.3, 0),
        whole_samples("(N, 3, 4, 4) images, p = 0.1", (_N // 10, 3, 4, 4), 0.1, 1),
        fraction("(N, 5), p = 0.8", (_N, 5), 0.8, 2),
        scale("(N, 5), p = 0.8", (_N, 5), 0.8, 2),
        mean("(N, 2, 3), p = 0.3", (_N, 2, 3), 0.3, 5),
        identity("evaluation returns x", (64, 2, 3), 0.3, False, 3),
        identity("p = 0 returns x in training", (64, 2, 3), 0.0, True, 4),
    ]
    return run_check("Exercise 11.1", my_drop_path, cases)
