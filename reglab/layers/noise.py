"""Gaussian noise injection: additive noise and multiplicative (Gaussian) dropout.

Both act only in training mode and are the identity in evaluation.
``gaussian_dropout`` multiplies by :math:`1 + \\sqrt{p/(1-p)}\\,\\varepsilon`,
whose mean 1 and variance :math:`p/(1-p)` equal those of Bernoulli inverted
dropout's factor :math:`m/(1-p)`: same first two moments, no zeros.

Papers:

- Srivastava et al. "Dropout: a simple way to prevent neural networks from
  overfitting." JMLR 15, 2014 (section 10, multiplicative Gaussian noise).
- Bishop. "Training with noise is equivalent to Tikhonov regularization."
  Neural Computation 7(1), 1995.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from reglab._validation import check_bool, check_probability, check_real, check_tensor
from reglab.layers._base import _DropoutBase

__all__ = ["gaussian_noise", "GaussianNoise", "gaussian_dropout", "GaussianDropout"]


def gaussian_noise(x: torch.Tensor, sigma: float = 0.1, training: bool = True) -> torch.Tensor:
    """Add zero-mean Gaussian noise of standard deviation ``sigma`` to every element.

    .. math::
        y = x + \\sigma \\varepsilon, \\quad \\varepsilon \\sim \\mathcal{N}(0, I) \\text{ (training)},
        \\qquad y = x \\text{ (evaluation)}

    Args:
        x (Tensor): floating-point input of any shape.
        sigma (float): noise standard deviation, >= 0. Default: 0.1.
        training (bool): add the noise or return ``x``. Default: True.

    Shape:
        - Input: :math:`(*)`. Output: same shape.

    Example:
        >>> torch.equal(gaussian_noise(torch.ones(3), 0.5, training=False), torch.ones(3))
        True
    """
    sigma = check_real(sigma, "sigma", "gaussian_noise", low=0.0)
    check_bool(training, "training", "gaussian_noise")
    check_tensor(x, "x", "gaussian_noise", floating=True)
    if not training or sigma == 0.0:
        return x
    return x + sigma * torch.randn_like(x)


def gaussian_dropout(x: torch.Tensor, p: float = 0.5, training: bool = True) -> torch.Tensor:
    """Multiplicative Gaussian noise with the mean and variance of inverted dropout at rate ``p``.

    .. math::
        y = x \\odot (1 + \\alpha \\varepsilon), \\quad \\alpha = \\sqrt{\\frac{p}{1 - p}}, \\quad
        \\varepsilon \\sim \\mathcal{N}(0, I)

    so :math:`\\mathbb{E}[y] = x` and :math:`\\operatorname{Var}[y_i] = \\frac{p}{1-p} x_i^2`.

    Args:
        x (Tensor): floating-point input of any shape.
        p (float): the equivalent drop probability, in [0, 1). Default: 0.5.
        training (bool): apply the noise or return ``x``. Default: True.

    Shape:
        - Input: :math:`(*)`. Output: same shape.

    Example:
        >>> gaussian_dropout(torch.ones(2, 3), 0.5).shape
        torch.Size([2, 3])
    """
    p = check_probability(p, "p", "gaussian_dropout")
    check_bool(training, "training", "gaussian_dropout")
    check_tensor(x, "x", "gaussian_dropout", floating=True)
    if not training or p == 0.0:
        return x
    alpha = math.sqrt(p / (1.0 - p))
    return x * (1.0 + alpha * torch.randn_like(x))


class GaussianNoise(nn.Module):
    """Additive Gaussian noise in training, identity in evaluation; see :func:`gaussian_noise`.

    Args:
        sigma (float): noise standard deviation, >= 0. Default: 0.1.

    Shape:
        - Input: :math:`(*)`. Output: same shape.

    Example:
        >>> GaussianNoise(0.2)
        GaussianNoise(sigma=0.2)
    """

    def __init__(self, sigma: float = 0.1) -> None:
        super().__init__()
        self.sigma = check_real(sigma, "sigma", "GaussianNoise", low=0.0)

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gaussian_noise(x, self.sigma, self.training)


class GaussianDropout(_DropoutBase):
    """Multiplicative Gaussian dropout; see :func:`gaussian_dropout`.

    Args:
        p (float): the equivalent drop probability, in [0, 1). Default: 0.5.

    Shape:
        - Input: :math:`(*)`. Output: same shape.

    Example:
        >>> GaussianDropout(0.5)
        GaussianDropout(p=0.5)
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gaussian_dropout(x, self.p, self.training)
