"""What the penalties and constraints share: accepting one tensor, a module or a list of tensors."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from reglab._validation import check_real, parameter_error

Params = torch.Tensor | nn.Module | Iterable[torch.Tensor]


def _tensors(params: Params, owner: str) -> list[torch.Tensor]:
    """A list of tensors from one tensor, a module (its parameters) or an iterable of tensors."""
    if isinstance(params, torch.Tensor):
        return [params]
    if isinstance(params, nn.Module):
        return list(params.parameters())
    if isinstance(params, Iterable):
        tensors = list(params)
        if all(isinstance(t, torch.Tensor) for t in tensors):
            return tensors
    raise TypeError(parameter_error("params", owner, "a tensor, an nn.Module or an iterable of tensors", type(params).__name__))


def _strength(value: float, name: str, owner: str) -> float:
    return check_real(value, name, owner, low=0.0)
