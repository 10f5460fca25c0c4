"""Scaled dot-product attention with dropout on the attention weights.

Attention dropout zeroes entries of the attention matrix after the softmax
(and rescales by 1/(1-p)), so each query randomly ignores some keys. Like all
dropout it belongs to training only: the module reads ``self.training``, and
in evaluation its output equals ``F.scaled_dot_product_attention`` with
``dropout_p=0``. (The functional form in PyTorch applies its ``dropout_p``
whenever it is called, whatever the module's mode: passing the rate
unconditionally is a common bug.)

Paper:

- Vaswani et al. "Attention is all you need." NIPS 2017.
"""

from __future__ import annotations

import math

import torch

from reglab._validation import check_bool, check_probability, check_tensor
from reglab.layers._base import _DropoutBase
from reglab.layers.dropout import dropout

__all__ = ["attention", "DotProductAttention"]


def attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    p: float = 0.0,
    training: bool = True,
    causal: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention; dropout with rate ``p`` on the weights in training.

    .. math::
        A = \\mathrm{softmax}\\!\\left(\\frac{Q K^{\\top}}{\\sqrt{d}}\\right), \\qquad
        y = \\mathrm{dropout}_p(A)\\, V

    With ``causal``, query :math:`i` sees keys :math:`j \\le i` only.

    Args:
        q (Tensor): queries. k (Tensor): keys. v (Tensor): values.
        p (float): dropout rate on the attention weights, in [0, 1). Default: 0.
        training (bool): apply the dropout. Default: True.
        causal (bool): mask future keys. Default: False.

    Shape:
        - q: :math:`(*, L, d)`, k: :math:`(*, S, d)`, v: :math:`(*, S, d_v)`.
        - Output: :math:`(*, L, d_v)` and the weights actually used, :math:`(*, L, S)`.

    Example:
        >>> q = k = v = torch.ones(1, 2, 4)
        >>> out, weights = attention(q, k, v)
        >>> weights
        tensor([[[0.5000, 0.5000],
                 [0.5000, 0.5000]]])
    """
    p = check_probability(p, "p", "attention")
    check_bool(training, "training", "attention")
    check_bool(causal, "causal", "attention")
    for name, t in (("q", q), ("k", k), ("v", v)):
        check_tensor(t, name, "attention", min_ndim=2, floating=True)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (*, L, d) @ (*, d, S) -> (*, L, S)
    if causal:
        future = torch.ones(scores.shape[-2:], dtype=torch.bool, device=scores.device).triu(1)  # (L, S)
        scores = scores.masked_fill(future, float("-inf"))
    weights = dropout(scores.softmax(dim=-1), p, training)  # (*, L, S)
    return weights @ v, weights  # (*, L, S) @ (*, S, d_v) -> (*, L, d_v)


class DotProductAttention(_DropoutBase):
    """Scaled dot-product attention whose dropout follows the module's mode; see :func:`attention`.

    Args:
        p (float): dropout rate on the attention weights, in [0, 1). Default: 0.
        causal (bool): mask future keys. Default: False.

    Shape:
        - q: :math:`(*, L, d)`, k: :math:`(*, S, d)`, v: :math:`(*, S, d_v)`; output :math:`(*, L, d_v)`.

    Example:
        >>> DotProductAttention(0.1, causal=True)
        DotProductAttention(p=0.1, causal=True)
    """

    def __init__(self, p: float = 0.0, causal: bool = False) -> None:
        super().__init__(p)
        self.causal = check_bool(causal, "causal", "DotProductAttention")
        self.last_weights: torch.Tensor | None = None  # kept for plots; not state

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, causal={self.causal}"

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        out, weights = attention(q, k, v, self.p, self.training, self.causal)
        self.last_weights = weights.detach()
        return out
