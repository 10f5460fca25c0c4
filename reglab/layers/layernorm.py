"""Layer normalization from scratch, matching ``torch.nn.LayerNorm``.

Each sample is normalized over its last dimensions (its features), so the
result does not depend on the other samples of the batch: the layer behaves
the same in training and evaluation and keeps no running statistics.

Paper:

- Ba, Kiros, Hinton. "Layer normalization." arXiv:1607.06450, 2016.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from reglab._validation import check_bool, check_int, check_real, check_tensor, parameter_error

__all__ = ["layer_norm", "LayerNorm"]


def layer_norm(
    x: torch.Tensor,
    normalized_shape: tuple[int, ...],
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Normalize over the trailing ``normalized_shape`` dimensions of each sample.

    .. math::
        y = \\frac{x - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}} \\odot \\gamma + \\beta, \\qquad
        \\mu = \\frac{1}{H}\\sum_{j} x_j, \\quad \\sigma^2 = \\frac{1}{H}\\sum_j (x_j - \\mu)^2

    where :math:`j` runs over the :math:`H` elements of the normalized dimensions
    (biased variance, as in torch).

    Args:
        x (Tensor): input whose trailing dimensions equal ``normalized_shape``.
        normalized_shape (tuple of int): the trailing shape to normalize over.
        weight (Tensor, optional): :math:`\\gamma`, of ``normalized_shape``. Default: None (1).
        bias (Tensor, optional): :math:`\\beta`, of ``normalized_shape``. Default: None (0).
        eps (float): added to the variance, >= 0. Default: 1e-5.

    Shape:
        - Input: :math:`(*, \\text{normalized\\_shape})`. Output: same shape.

    Example:
        >>> layer_norm(torch.tensor([[1.0, 3.0]]), (2,), eps=0.0)
        tensor([[-1.,  1.]])
    """
    check_tensor(x, "x", "layer_norm", min_ndim=len(normalized_shape))
    eps = check_real(eps, "eps", "layer_norm", low=0.0)
    if tuple(x.shape[x.ndim - len(normalized_shape):]) != tuple(normalized_shape):
        raise ValueError(parameter_error("x", "layer_norm", f"a tensor ending in {tuple(normalized_shape)}",
                                         f"shape {tuple(x.shape)}"))
    dims = tuple(range(-len(normalized_shape), 0))  # the trailing dimensions
    mean = x.mean(dim=dims, keepdim=True)  # (*, 1, ..., 1)
    var = x.var(dim=dims, unbiased=False, keepdim=True)
    y = (x - mean) / torch.sqrt(var + eps)
    if weight is not None:
        y = y * weight  # normalized_shape broadcasts over the leading dimensions
    if bias is not None:
        y = y + bias
    return y


class LayerNorm(nn.Module):
    """Layer norm with learned elementwise :math:`\\gamma, \\beta`; see :func:`layer_norm`.

    Args:
        normalized_shape (int or sequence of int): the trailing shape.
        eps (float): added to the variance, > 0. Default: 1e-5.
        elementwise_affine (bool): learn :math:`\\gamma` (and :math:`\\beta`). Default: True.
        bias (bool): learn :math:`\\beta` when ``elementwise_affine``. Default: True.

    Shape:
        - Input: :math:`(*, \\text{normalized\\_shape})`. Output: same shape.

    Example:
        >>> LayerNorm(8)
        LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=True)
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__()
        dims = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape = tuple(check_int(d, "normalized_shape", "LayerNorm", low=1) for d in dims)
        self.eps = check_real(eps, "eps", "LayerNorm", low=0.0, low_open=True)
        self.elementwise_affine = check_bool(elementwise_affine, "elementwise_affine", "LayerNorm")
        self.use_bias = check_bool(bias, "bias", "LayerNorm")
        if elementwise_affine:
            self.weight = nn.Parameter(torch.ones(self.normalized_shape))
            self.bias = nn.Parameter(torch.zeros(self.normalized_shape)) if bias else None
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.use_bias}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
