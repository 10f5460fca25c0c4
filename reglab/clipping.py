"""Gradient clipping by norm and by value, and a ``fit`` hook that records the gradient norm.

Papers:

- Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural networks"
  (ICML, 2013): clipping the gradient's norm against exploding gradients.

Clipping acts on the **gradients**, after ``backward`` and before the optimizer
step (``fit(..., after_backward=...)``). It bounds the size of a step; it does
not constrain the weights (for that see :func:`reglab.penalties.max_norm_` and
:func:`reglab.penalties.clip_weights_`) and cannot enlarge a vanishing gradient.

Results match ``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_value_``:
parameters without a gradient are skipped, the total norm is measured before
clipping, and the scale is ``max_norm / (total_norm + 1e-6)``, capped at 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real

import torch
from torch import nn

from reglab._validation import check_bool, check_real, parameter_error

__all__ = ["grad_norm", "clip_grad_norm_", "clip_grad_value_", "ClipGradNorm"]

Params = torch.Tensor | nn.Module | Iterable[torch.Tensor]
_NORM_TYPES = (1.0, 2.0, math.inf)


def _grads(params: Params, owner: str) -> list[torch.Tensor]:
    """The ``.grad`` of every parameter that has one (a module means its parameters)."""
    if isinstance(params, torch.Tensor):
        params = [params]
    elif isinstance(params, nn.Module):
        params = params.parameters()
    elif not isinstance(params, Iterable):
        raise TypeError(parameter_error("params", owner, "a tensor, an nn.Module or an iterable of tensors", type(params).__name__))
    return [p.grad for p in params if p.grad is not None]  # one pass: works on a generator


def _norm_type(norm_type: float, owner: str) -> float:
    if isinstance(norm_type, bool) or not isinstance(norm_type, Real):
        raise TypeError(parameter_error("norm_type", owner, "1, 2 or math.inf", norm_type))
    if float(norm_type) not in _NORM_TYPES:
        raise ValueError(parameter_error("norm_type", owner, "1, 2 or math.inf", norm_type))
    return float(norm_type)


def _total_norm(grads: list[torch.Tensor], norm_type: float) -> torch.Tensor:
    if not grads:
        return torch.zeros(())
    device = grads[0].device
    per_tensor = torch.stack([torch.linalg.vector_norm(g, norm_type).to(device) for g in grads])  # (P,)
    return torch.linalg.vector_norm(per_tensor, norm_type)  # (): the norm of all entries together


def grad_norm(params: Params, norm_type: float = 2.0) -> torch.Tensor:
    """The norm of all gradients taken together, as if concatenated into one vector.

    .. math::
        \\lVert g \\rVert_p = \\Big(\\sum_{\\text{params}} \\sum_i |g_i|^p\\Big)^{1/p}, \\qquad
        \\lVert g \\rVert_\\infty = \\max_i |g_i|

    Args:
        params (Tensor, nn.Module or iterable of Tensor): parameters; those
            without a gradient are skipped.
        norm_type (float): 1, 2 or ``math.inf``. Default: 2.

    Shape:
        - Output: :math:`()`, on the gradients' device (0 if there is none).

    Example:
        >>> w = torch.zeros(2, requires_grad=True)
        >>> w.grad = torch.tensor([3.0, -4.0])
        >>> grad_norm(w), grad_norm(w, 1), grad_norm(w, math.inf)
        (tensor(5.), tensor(7.), tensor(4.))
    """
    norm_type = _norm_type(norm_type, "grad_norm")
    return _total_norm(_grads(params, "grad_norm"), norm_type)


@torch.no_grad()
def clip_grad_norm_(
    params: Params, max_norm: float, norm_type: float = 2.0, *, error_if_nonfinite: bool = False
) -> torch.Tensor:
    """Rescale all gradients together, in place, so that their total norm is at most ``max_norm``.

    .. math::
        g \\leftarrow g \\cdot \\min\\Big(1, \\frac{c}{\\lVert g \\rVert_p + 10^{-6}}\\Big)

    Every gradient is multiplied by the same factor, so the direction of the
    update is kept and only its length is capped. The factor is computed on
    the device and applied without a branch, so no value is read on the host
    (except with ``error_if_nonfinite=True``, which must look at the norm).

    Args:
        params (Tensor, nn.Module or iterable of Tensor): parameters whose
            ``.grad`` is clipped; those without a gradient are skipped.
        max_norm (float): :math:`c > 0`.
        norm_type (float): 1, 2 or ``math.inf``. Default: 2.
        error_if_nonfinite (bool): raise a ``RuntimeError`` if the total norm
            is NaN or infinite. Default: False.

    Returns:
        Tensor: the total norm **before** clipping, shape :math:`()`.

    Example:
        >>> w = torch.zeros(2, requires_grad=True)
        >>> w.grad = torch.tensor([3.0, -4.0])
        >>> clip_grad_norm_(w, 1.0), w.grad
        (tensor(5.), tensor([ 0.6000, -0.8000]))
    """
    owner = "clip_grad_norm_"
    max_norm = check_real(max_norm, "max_norm", owner, low=0.0, low_open=True)
    norm_type = _norm_type(norm_type, owner)
    check_bool(error_if_nonfinite, "error_if_nonfinite", owner)
    grads = _grads(params, owner)
    total = _total_norm(grads, norm_type)
    if error_if_nonfinite and not torch.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type:g} of the gradients is {total.item()}, so they cannot be clipped. "
            "Set error_if_nonfinite=False to clip anyway (the gradients then become NaN)."
        )
    scale = (max_norm / (total + 1e-6)).clamp(max=1.0)  # (): 1 when the norm is already small enough
    for g in grads:
        g.mul_(scale.to(g.device))
    return total


@torch.no_grad()
def clip_grad_value_(params: Params, clip_value: float) -> None:
    """Clamp every gradient entry, in place, to :math:`[-c, c]`.

    .. math::
        g_i \\leftarrow \\min(\\max(g_i, -c), c)

    Unlike :func:`clip_grad_norm_`, this changes the **direction** of the
    gradient whenever some entries are clamped and others are not.

    Args:
        params (Tensor, nn.Module or iterable of Tensor): parameters whose
            ``.grad`` is clipped; those without a gradient are skipped.
        clip_value (float): :math:`c > 0`.

    Example:
        >>> w = torch.zeros(2, requires_grad=True)
        >>> w.grad = torch.tensor([3.0, -0.5])
        >>> clip_grad_value_(w, 1.0)
        >>> w.grad
        tensor([ 1.0000, -0.5000])
    """
    clip_value = check_real(clip_value, "clip_value", "clip_grad_value_", low=0.0, low_open=True)
    for g in _grads(params, "clip_grad_value_"):
        g.clamp_(-clip_value, clip_value)


class ClipGradNorm:
    """A ``fit(after_backward=...)`` hook: clip the gradient norm and return the norm before clipping.

    ``fit`` stores the returned norm of every step in
    ``history.steps["grad_norm"]``. With ``max_norm=None`` the hook only
    measures, which is how to choose a threshold from an unclipped run.

    Args:
        max_norm (float or None): :math:`c > 0`, or None to measure only.
        norm_type (float): 1, 2 or ``math.inf``. Default: 2.

    Example:
        >>> hook = ClipGradNorm(1.0)
        >>> model = nn.Linear(2, 1)
        >>> model(torch.ones(1, 2)).sum().mul(10).backward()
        >>> hook(model) > 1.0, bool(grad_norm(model) <= 1.0)
        (tensor(True), True)
    """

    __name__ = "grad_norm"  # the key of history.steps

    def __init__(self, max_norm: float | None, norm_type: float = 2.0) -> None:
        if max_norm is not None:
            max_norm = check_real(max_norm, "max_norm", "ClipGradNorm", low=0.0, low_open=True)
        self.max_norm = max_norm
        self.norm_type = _norm_type(norm_type, "ClipGradNorm")

    def __call__(self, model: nn.Module) -> torch.Tensor:
        if self.max_norm is None:
            return grad_norm(model, self.norm_type)
        return clip_grad_norm_(model, self.max_norm, self.norm_type)

    def __repr__(self) -> str:
        return f"ClipGradNorm(max_norm={self.max_norm}, norm_type={self.norm_type:g})"
