"""DropConnect: drop weights, not activations.

Dropout zeroes units of the layer's *output*; DropConnect zeroes individual
*weights* :math:`W_{ij}`, so each output unit sees its own random subset of
inputs. With the inverted scaling used here, evaluation uses the mean weights
:math:`W` (Wan et al. instead fit a Gaussian to the pre-activations at test
time; the mean-weight rule is the common cheap approximation).

One mask is drawn per forward pass and shared by the batch (Wan et al. draw
one per example, which costs a weight matrix per sample).

Paper:

- Wan, Zeiler, Zhang, LeCun, Fergus. "Regularization of neural networks using
  DropConnect." ICML 2013.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from reglab._validation import check_bool, check_probability, check_tensor
from reglab.layers._base import _apply_mask

__all__ = ["drop_connect", "DropConnectLinear"]


def drop_connect(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    p: float = 0.5,
    training: bool = True,
) -> torch.Tensor:
    """A linear map whose weights are dropped with probability ``p`` (inverted scaling).

    .. math::
        y = x \\left(\\frac{M \\odot W}{1 - p}\\right)^{\\top} + b, \\quad
        M_{ij} \\sim \\mathrm{Bernoulli}(1 - p) \\text{ (training)}; \\qquad
        y = x W^{\\top} + b \\text{ (evaluation)}

    The bias is not dropped.

    Args:
        x (Tensor): input, features last.
        weight (Tensor): :math:`W`, shape :math:`(\\text{out}, \\text{in})`.
        bias (Tensor, optional): :math:`b`, shape :math:`(\\text{out},)`. Default: None.
        p (float): probability of dropping a weight, in [0, 1). Default: 0.5.
        training (bool): drop weights or use the mean weights. Default: True.

    Shape:
        - Input: :math:`(*, \\text{in})`. Output: :math:`(*, \\text{out})`.

    Example:
        >>> w = torch.ones(2, 3)
        >>> drop_connect(torch.ones(1, 3), w, training=False)
        tensor([[3., 3.]])
    """
    p = check_probability(p, "p", "drop_connect")
    check_bool(training, "training", "drop_connect")
    check_tensor(weight, "weight", "drop_connect", ndim=2)
    if training and p > 0.0:
        weight = _apply_mask(weight, tuple(weight.shape), p)  # (out, in): one coin per weight
    return F.linear(x, weight, bias)


class DropConnectLinear(nn.Linear):
    """``nn.Linear`` with DropConnect on its weight; see :func:`drop_connect`.

    Parameters and ``state_dict`` keys are those of ``nn.Linear`` (``weight``,
    ``bias``), so weights load both ways.

    Args:
        in_features (int): input size.
        out_features (int): output size.
        bias (bool): learn an additive bias. Default: True.
        p (float): probability of dropping a weight, in [0, 1). Default: 0.5.

    Shape:
        - Input: :math:`(*, \\text{in})`. Output: :math:`(*, \\text{out})`.

    Example:
        >>> DropConnectLinear(4, 2, p=0.3)
        DropConnectLinear(in_features=4, out_features=2, bias=True, p=0.3)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, p: float = 0.5) -> None:
        super().__init__(in_features, out_features, bias)
        self.p = check_probability(p, "p", "DropConnectLinear")

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, p={self.p}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return drop_connect(x, self.weight, self.bias, self.p, self.training)
