"""Monte Carlo dropout: keep dropout on at test time and average several stochastic passes.

A network trained with dropout is, approximately, a Bayesian model whose
posterior samples are its random sub-networks. Averaging ``samples`` forward
passes with dropout on estimates the predictive mean, and their spread is a
measure of the model's uncertainty. Every other layer stays in evaluation
mode: in particular batch norm uses its running statistics and does not
update them.

Paper:

- Gal, Ghahramani. "Dropout as a Bayesian approximation: representing model
  uncertainty in deep learning." ICML 2016.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.modules.dropout import _DropoutNd

from reglab._validation import check_int, check_tensor, parameter_error
from reglab.layers._base import _DropoutBase

__all__ = ["is_dropout", "mc_predict"]


def is_dropout(module: nn.Module) -> bool:
    """True for the dropout layers of ``torch.nn`` and the :mod:`reglab.layers` modules with a drop probability ``p``.

    That is ``Dropout``, ``SpatialDropout``, ``EmbeddingDropout``,
    ``LockedDropout``, ``GaussianDropout``, ``DotProductAttention``,
    ``ZoneoutGRUCell``, ``DropPath`` and ``ShakeDrop``; not
    ``DropConnectLinear``, ``GaussianNoise`` or ``ShakeShake``, which
    :func:`mc_predict` therefore leaves in evaluation mode.

    Example:
        >>> from reglab.layers import DropConnectLinear, DropPath
        >>> is_dropout(nn.Dropout(0.1)), is_dropout(DropPath(0.1)), is_dropout(DropConnectLinear(2, 2))
        (True, True, False)
    """
    return isinstance(module, (_DropoutNd, _DropoutBase))


@torch.no_grad()
def mc_predict(model: nn.Module, x: torch.Tensor, samples: int = 50) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of ``samples`` forward passes with only dropout in training mode.

    .. math::
        \\hat\\mu(x) = \\frac{1}{S} \\sum_{s=1}^{S} f_{\\theta, m_s}(x), \\qquad
        \\hat\\sigma(x) = \\sqrt{\\frac{1}{S - 1} \\sum_{s=1}^{S} \\big(f_{\\theta, m_s}(x) - \\hat\\mu(x)\\big)^2}

    where :math:`m_s` are independent dropout masks. The modes of all
    submodules are restored before returning.

    Args:
        model (nn.Module): a network containing dropout layers.
        x (Tensor): a batch of inputs on the model's device.
        samples (int): number of stochastic passes :math:`S`, at least 2. Default: 50.

    Returns:
        ``(mean, std)``, each of the model's output shape.

    Shape:
        - Input: the model's input :math:`(N, *)`. Outputs: the model's output :math:`(N, *)`.

    Example:
        >>> model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 1))
        >>> mean, std = mc_predict(model, torch.randn(4, 3), samples=20)
        >>> mean.shape, bool((std >= 0).all()), model.training
        (torch.Size([4, 1]), True, True)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(parameter_error("model", "mc_predict", "an nn.Module", type(model).__name__))
    check_tensor(x, "x", "mc_predict")
    samples = check_int(samples, "samples", "mc_predict", low=2)
    modes = {module: module.training for module in model.modules()}
    model.eval()
    for module in model.modules():
        if is_dropout(module):
            module.train()
    try:
        outputs = torch.stack([model(x) for _ in range(samples)])  # (S, N, *)
    finally:
        for module, mode in modes.items():
            module.training = mode
    return outputs.mean(dim=0), outputs.std(dim=0)
