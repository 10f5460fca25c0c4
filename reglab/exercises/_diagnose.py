"""Helpers for the checks' ``diagnose`` functions: recognize a known wrong answer."""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["close", "known_mistake", "forked_rng"]


def close(got: object, expected: object, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """Whether ``got`` equals ``expected`` (tensors, numbers, or tuples of them) within tolerance, never raising."""
    if isinstance(expected, (tuple, list)):
        return isinstance(got, (tuple, list)) and len(got) == len(expected) and all(
            close(g, e, atol, rtol) for g, e in zip(got, expected)
        )
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
            return False
        g, e = got.detach().cpu().double(), expected.detach().cpu().double()
        return bool(torch.allclose(g, e, atol=atol, rtol=rtol, equal_nan=True))
    return got == expected


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
