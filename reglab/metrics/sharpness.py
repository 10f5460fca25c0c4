"""Sharpness: the largest eigenvalue of the loss Hessian, by power iteration.

Papers:

- Keskar, Mudigere, Nocedal, Smelyanskiy & Tang, "On large-batch training for
  deep learning: generalization gap and sharp minima" (ICLR, 2017): large
  batches find sharper minima, which generalize worse.
- Pearlmutter, "Fast exact multiplication by the Hessian" (Neural Computation,
  1994): a Hessian-vector product costs about two gradients, so the Hessian
  itself (P × P entries for P parameters) is never formed.

The sharpness here is the top eigenvalue :math:`\\lambda_{\\max}` of the
Hessian of the mean loss over ``data`` with respect to the trainable
parameters. Gradient descent with learning rate :math:`\\eta` is stable on a
quadratic only where :math:`\\lambda_{\\max} < 2 / \\eta`, which is why a
large learning rate cannot settle in a sharp minimum.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from reglab._validation import check_int, parameter_error

__all__ = ["sharpness"]

Batch = tuple[torch.Tensor, torch.Tensor]


def _batches(data: Batch | Iterable[Batch]) -> list[Batch]:
    """One ``(x, y)`` pair or an iterable of them, as a list of pairs."""
    if isinstance(data, tuple) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
        return [data]
    if not isinstance(data, Iterable):
        raise TypeError(parameter_error("data", "sharpness", "an (x, y) pair or an iterable of them", type(data).__name__))
    batches = list(data)
    if not batches:
        raise ValueError(parameter_error("data", "sharpness", "a non-empty iterable of (x, y) batches", "no batch"))
    return batches


def _hvp(model: nn.Module, loss_fn: Callable, batches: list[Batch], params: list[torch.Tensor],
         vector: list[torch.Tensor]) -> list[torch.Tensor]:
    """Hessian-vector product :math:`H v` of the sample-weighted mean loss (Pearlmutter's trick)."""
    total = sum(len(x) for x, _ in batches)
    result = [torch.zeros_like(p) for p in params]
    device = params[0].device
    for x, y in batches:
        x, y = x.to(device), y.to(device)
        loss = loss_fn(model(x), y) * (len(x) / total)  # this batch's share of the mean
        grads = torch.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * v).sum() for g, v in zip(grads, vector))  # g·v, a scalar
        for r, hv in zip(result, torch.autograd.grad(dot, params)):  # d(g·v)/dθ = H v
            r.add_(hv)
    return result


def sharpness(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    data: Batch | Iterable[Batch],
    *,
    iterations: int = 20,
    seed: int = 0,
) -> torch.Tensor:
    """The largest eigenvalue of the Hessian of the loss, by power iteration on Hessian-vector products.

    Starting from a random unit vector :math:`v_0` over all trainable
    parameters, repeat

    .. math::
        w = H v_k, \\qquad \\lambda_k = v_k^\\top w, \\qquad v_{k+1} = w / \\lVert w \\rVert

    where :math:`H = \\nabla^2_\\theta \\frac{1}{N}\\sum_i \\ell(f_\\theta(x_i), y_i)`.
    :math:`\\lambda_k` converges to the eigenvalue of largest magnitude
    (at a minimum, the largest, positive eigenvalue): :math:`v_k` approaches
    its eigenvector geometrically at the rate :math:`|\\lambda_2 / \\lambda_1|`
    per iteration and, :math:`H` being symmetric, the Rayleigh quotient
    :math:`\\lambda_k` at the square of that rate. The iterations run a fixed number
    of times, with no read back to the host. The model is evaluated in eval
    mode (no dropout noise); its mode and its gradients are left as found.

    Args:
        model (nn.Module): the network; only parameters with
            ``requires_grad`` count.
        loss_fn (callable): ``loss_fn(output, target)`` with mean reduction.
        data ((x, y) or iterable of (x, y)): the points the loss averages
            over; several batches are weighted by their sizes.
        iterations (int): power iterations, at least 1. Default: 20.
        seed (int): seed of the random start vector. Default: 0.

    Returns:
        Tensor: a 0-dim tensor on the model's device, :math:`\\lambda_{\\max}`.

    Example:
        >>> model = nn.Linear(2, 1, bias=False)
        >>> x = torch.tensor([[1.0, 0.0], [0.0, 3.0]])  # mean squared error: H = 2 XᵀX / N = diag(1, 9)
        >>> round(sharpness(model, nn.functional.mse_loss, (x, torch.zeros(2, 1))).item(), 4)
        9.0
    """
    owner = "sharpness"
    if not isinstance(model, nn.Module):
        raise TypeError(parameter_error("model", owner, "an nn.Module", type(model).__name__))
    if not callable(loss_fn):
        raise TypeError(parameter_error("loss_fn", owner, "a callable", loss_fn))
    iterations = check_int(iterations, "iterations", owner, low=1)
    seed = check_int(seed, "seed", owner, low=0)
    batches = _batches(data)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(parameter_error("model", owner, "a model with trainable parameters", "none"))
    generator = torch.Generator(device=params[0].device).manual_seed(seed)
    vector = [torch.randn(p.shape, generator=generator, device=p.device, dtype=p.dtype) for p in params]
    was_training = model.training
    model.eval()
    try:
        eigenvalue = torch.zeros((), device=params[0].device)
        for _ in range(iterations):
            norm = torch.sqrt(sum((v * v).sum() for v in vector)).clamp_min(1e-30)  # H v = 0: stays 0, no NaN
            vector = [v / norm for v in vector]
            product = _hvp(model, loss_fn, batches, params, vector)
            eigenvalue = sum((v * w).sum() for v, w in zip(vector, product))  # Rayleigh quotient vᵀHv
            vector = product
        return eigenvalue.detach()
    finally:
        model.train(was_training)
