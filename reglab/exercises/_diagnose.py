"""Helpers for the checks' ``diagnose`` functions: recognize a known wrong answer."""

from __future__ import annotations

from collections.abc import Callable

import torch

from reglab.exercises.checking import close as _close

__all__ = ["close", "known_mistake", "forked_rng"]


def close(got: object, expected: object, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """:func:`~reglab.exercises.checking.close` with NaN equal to NaN, so a wrong answer that yields NaN is recognized."""
    return _close(got, expected, atol, rtol, equal_nan=True)


def known_mistake(got: object, mistakes: dict[str, object]) -> str | None:
    """The hint of the first wrong answer in ``mistakes`` (hint -> wrong value) that ``got`` equals, else None."""
    for hint, wrong in mistakes.items():
        if close(got, wrong):
            return hint
    return None


def forked_rng(function: Callable[[], object], seed: int) -> object:
    """Call ``function()`` with the global CPU (and CUDA) generators seeded, restoring their state afterwards."""
    with torch.random.fork_rng(devices=range(torch.cuda.device_count()) if torch.cuda.is_available() else []):
        torch.manual_seed(seed)
        return function()
