"""Stochastic depth (drop path): drop a residual branch for whole samples, with a linear decay over depth.

A residual block computes :math:`x + f(x)`. Stochastic depth multiplies the
branch :math:`f(x)` of each *sample* by a keep-coin :math:`b \\sim
\\mathrm{Bernoulli}(1 - p)`, so a dropped sample passes through the block on
its shortcut alone: in every step the network is a random shallower one.

Two conventions give the same expectation:

- Huang et al. (2016) leave the kept branch unscaled in training and multiply
  it by its survival probability :math:`1 - p` at test time;
- this module (like timm's ``DropPath``) scales the kept branch by
  :math:`1 / (1 - p)` in training, so evaluation is the identity.

Huang et al. drop one coin per *mini-batch* and block; timm and this module
draw one coin per *sample*, which gives a less noisy gradient for the same
rate. The drop rate grows linearly with depth (:func:`drop_path_rates`): early
blocks, whose features every later block uses, are dropped least.

Papers:

- Huang, Sun, Liu, Sedra, Weinberger. "Deep networks with stochastic depth."
  ECCV 2016.
- Larsson, Maire, Shakhnarovich. "FractalNet: ultra-deep neural networks
  without residuals." ICLR 2017 (the name "drop path").
"""

from __future__ import annotations

import torch

from reglab._validation import check_bool, check_int, check_probability, check_tensor
from reglab.layers._base import _apply_mask, _DropoutBase

__all__ = ["drop_path", "DropPath", "drop_path_rates"]


def drop_path(x: torch.Tensor, p: float = 0.0, training: bool = True) -> torch.Tensor:
    """Zero whole samples of a residual branch with probability ``p``; scale the kept ones by 1/(1-p).

    .. math::
        y_n = \\frac{b_n}{1 - p} x_n, \\quad b_n \\sim \\mathrm{Bernoulli}(1 - p)
        \\text{ (training)}, \\qquad y = x \\text{ (evaluation)}

    so that :math:`\\mathbb{E}[y] = x`. Apply it to the branch, not to the sum:
    ``x + drop_path(f(x), p, training)``.

    Args:
        x (Tensor): the output of a residual branch, batch first.
        p (float): probability of dropping a sample's branch, in [0, 1). Default: 0.0.
        training (bool): apply the mask (True) or return ``x`` (False). Default: True.

    Shape:
        - Input: :math:`(N, *)`. Output: same shape. The mask is :math:`(N, 1, \\dots, 1)`.

    Example:
        >>> y = drop_path(torch.ones(1000, 3, 2, 2), 0.5)
        >>> per_sample = y.flatten(1)  # (N, 12)
        >>> bool(((per_sample == 0).all(1) | (per_sample == 2).all(1)).all())
        True
        >>> torch.equal(drop_path(torch.ones(4, 3), 0.5, training=False), torch.ones(4, 3))
        True
    """
    p = check_probability(p, "p", "drop_path")
    check_bool(training, "training", "drop_path")
    check_tensor(x, "x", "drop_path", min_ndim=1)
    if not training or p == 0.0:
        return x
    mask_shape = (x.shape[0],) + (1,) * (x.ndim - 1)  # (N, 1, ..., 1): one coin per sample
    return _apply_mask(x, mask_shape, p)  # the mask broadcasts over every non-batch dimension


def drop_path_rates(depth: int, p_max: float) -> list[float]:
    """The linear decay rule of Huang et al. (2016): block ``l`` of ``depth`` drops with rate ``p_max * l / depth``.

    .. math::
        p_l = \\frac{l}{L} \\, p_L, \\qquad l = 1, \\dots, L

    In Huang et al.'s survival probabilities this is
    :math:`1 - p_l = 1 - \\frac{l}{L}(1 - p_L^{\\text{keep}})`, with
    :math:`p_L^{\\text{keep}} = 0.5` in the paper: the last block survives half
    the time, the first almost always. (timm's models use
    ``torch.linspace(0, p_max, depth)`` instead, which starts at 0 for the first
    block; for ``depth > 1`` both end at ``p_max``, and they differ by at
    most one step :math:`p_L / L`, at the first block.)

    Args:
        depth (int): number of residual blocks :math:`L`, at least 1.
        p_max (float): drop rate of the last block, in [0, 1).

    Returns:
        list of float: the ``depth`` drop rates, first block first.

    Example:
        >>> drop_path_rates(4, 0.5)
        [0.125, 0.25, 0.375, 0.5]
    """
    depth = check_int(depth, "depth", "drop_path_rates", low=1)
    p_max = check_probability(p_max, "p_max", "drop_path_rates")
    return [p_max * block / depth for block in range(1, depth + 1)]


class DropPath(_DropoutBase):
    """Stochastic depth per sample as a module; see :func:`drop_path`. Same distribution as timm's ``DropPath``.

    Args:
        p (float): probability of dropping a sample's branch, in [0, 1). Default: 0.5.

    Shape:
        - Input: :math:`(N, *)`. Output: same shape.

    Example:
        >>> layer = DropPath(0.2).eval()
        >>> layer
        DropPath(p=0.2)
        >>> torch.equal(layer(torch.ones(2, 3)), torch.ones(2, 3))
        True
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return drop_path(x, self.p, self.training)
