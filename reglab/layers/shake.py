"""Shake-Shake and ShakeDrop: random per-sample scales, one in the forward pass and another in the backward pass.

Both rest on one operation, :func:`shake_scale`: multiply by a coefficient
:math:`\\alpha` in the forward pass but by an independent :math:`\\beta` in
the backward pass. Plain autograd cannot do this (it would differentiate
through :math:`\\alpha`), so a custom ``torch.autograd.Function`` does.

- **Shake-Shake** mixes the two branches of a block,
  :math:`\\alpha f_1(x) + (1 - \\alpha) f_2(x)` with :math:`\\alpha \\sim U(0, 1)`
  per sample, and sends the gradient back as :math:`\\beta, 1 - \\beta` with an
  independent :math:`\\beta \\sim U(0, 1)`. At test time both are 1/2.
- **ShakeDrop** scales a single branch by :math:`b + \\alpha - b\\alpha`
  forward and :math:`b + \\beta - b\\beta` backward, with
  :math:`b \\sim \\mathrm{Bernoulli}(1 - p)`, :math:`\\alpha \\sim U(-1, 1)`,
  :math:`\\beta \\sim U(0, 1)`: a kept sample (:math:`b = 1`) passes unchanged,
  a "dropped" one is shaken. At test time it uses the expectation
  :math:`\\mathbb{E}[b + \\alpha - b\\alpha] = 1 - p`.

Papers:

- Gastaldi. "Shake-Shake regularization." arXiv:1705.07485, 2017.
- Yamada, Iwamura, Akiba, Kise. "ShakeDrop regularization for deep residual
  learning." IEEE Access 7, 2019.
"""

from __future__ import annotations

import torch
from torch import nn

from reglab._validation import check_bool, check_probability, check_tensor, parameter_error
from reglab.layers._base import _DropoutBase

__all__ = ["shake_scale", "shake_shake", "ShakeShake", "shake_drop", "ShakeDrop"]


class _Shake(torch.autograd.Function):
    """y = alpha * x in the forward pass; grad_x = beta * grad_y in the backward pass."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(beta)
        return alpha * x

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (beta,) = ctx.saved_tensors
        return beta * grad_output, None, None  # no gradient for the random coefficients


def shake_scale(x: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """Multiply by ``alpha`` going forward and by ``beta`` going backward.

    .. math::
        y = \\alpha \\odot x, \\qquad \\frac{\\partial \\mathcal{L}}{\\partial x}
        := \\beta \\odot \\frac{\\partial \\mathcal{L}}{\\partial y}

    Args:
        x (Tensor): input.
        alpha (Tensor): forward coefficients, broadcastable to ``x``.
        beta (Tensor): backward coefficients, broadcastable to ``x`` (the
            gradient takes ``x``'s shape only if ``beta * grad`` does).

    Shape:
        - Input: :math:`(N, *)`; ``alpha``, ``beta`` typically :math:`(N, 1, \\dots, 1)`.
        - Output: same shape as ``x``.

    Example:
        >>> x = torch.ones(2, requires_grad=True)
        >>> y = shake_scale(x, torch.tensor([2.0, 3.0]), torch.tensor([0.5, 0.25]))
        >>> y.sum().backward()
        >>> y.tolist(), x.grad.tolist()
        ([2.0, 3.0], [0.5, 0.25])
    """
    check_tensor(x, "x", "shake_scale")
    check_tensor(alpha, "alpha", "shake_scale")
    check_tensor(beta, "beta", "shake_scale")
    return _Shake.apply(x, alpha, beta)


def _per_sample_uniform(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """One U(low, high) draw per sample, shaped (N, 1, ..., 1) to broadcast over ``x``."""
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)  # (N, 1, ..., 1)
    return torch.empty(shape, dtype=x.dtype, device=x.device).uniform_(low, high)


def shake_shake(x1: torch.Tensor, x2: torch.Tensor, training: bool = True) -> torch.Tensor:
    """Mix two residual branches with a random convex weight forward and another backward.

    .. math::
        y = \\alpha x_1 + (1 - \\alpha) x_2 \\text{ (forward)}, \\qquad
        \\frac{\\partial y}{\\partial x_1} = \\beta, \\;
        \\frac{\\partial y}{\\partial x_2} = 1 - \\beta \\text{ (backward)},

    with :math:`\\alpha, \\beta \\sim U(0, 1)` independent, one pair per sample
    ("Shake-Shake-Image" in Gastaldi's terms). In evaluation
    :math:`y = (x_1 + x_2) / 2`, the expectation of the forward mix.

    It is written :math:`y = x_2 + \\mathrm{shake\\_scale}(x_1 - x_2)`, which has
    exactly these forward values and gradients.

    Args:
        x1 (Tensor): output of the first branch, batch first.
        x2 (Tensor): output of the second branch, same shape.
        training (bool): draw random weights (True) or use 1/2 (False). Default: True.

    Shape:
        - Input: two tensors :math:`(N, *)`. Output: :math:`(N, *)`.

    Example:
        >>> a, b = torch.zeros(3, 4), torch.ones(3, 4)
        >>> shake_shake(a, b, training=False)[0].tolist()
        [0.5, 0.5, 0.5, 0.5]
        >>> bool(((shake_shake(a, b) >= 0) & (shake_shake(a, b) <= 1)).all())
        True
    """
    check_tensor(x1, "x1", "shake_shake", min_ndim=1)
    check_tensor(x2, "x2", "shake_shake", min_ndim=1)
    if x1.shape != x2.shape:
        raise ValueError(parameter_error("x2", "shake_shake", f"a tensor of the shape of x1, {tuple(x1.shape)}",
                                         f"shape {tuple(x2.shape)}"))
    check_bool(training, "training", "shake_shake")
    if not training:
        return 0.5 * (x1 + x2)
    alpha = _per_sample_uniform(x1, 0.0, 1.0)  # (N, 1, ..., 1)
    beta = _per_sample_uniform(x1, 0.0, 1.0)  # independent of alpha
    return x2 + shake_scale(x1 - x2, alpha, beta)


def shake_drop(x: torch.Tensor, p: float = 0.5, training: bool = True) -> torch.Tensor:
    """Scale a residual branch by b + α − bα forward and b + β − bβ backward, per sample.

    .. math::
        y_n = (b_n + \\alpha_n - b_n\\alpha_n) \\, x_n, \\qquad
        \\frac{\\partial y_n}{\\partial x_n} = b_n + \\beta_n - b_n\\beta_n,

    with :math:`b_n \\sim \\mathrm{Bernoulli}(1 - p)`, :math:`\\alpha_n \\sim U(-1, 1)`,
    :math:`\\beta_n \\sim U(0, 1)`. In evaluation
    :math:`y = \\mathbb{E}[b + \\alpha - b\\alpha] \\, x = (1 - p) \\, x`
    (as :math:`\\mathbb{E}[\\alpha] = 0`). Yamada et al. let ``p`` grow linearly
    with depth up to 0.5, as in :func:`~reglab.layers.drop_path_rates`.

    Args:
        x (Tensor): the output of a residual branch, batch first.
        p (float): probability that a sample's branch is shaken (:math:`b = 0`),
            in [0, 1). Default: 0.5.
        training (bool): draw random coefficients (True) or scale by
            :math:`1 - p` (False). Default: True.

    Shape:
        - Input: :math:`(N, *)`. Output: same shape.

    Example:
        >>> shake_drop(torch.ones(2, 3), 0.25, training=False)[0].tolist()
        [0.75, 0.75, 0.75]
        >>> torch.equal(shake_drop(torch.ones(5, 3), 0.0), torch.ones(5, 3))
        True
    """
    p = check_probability(p, "p", "shake_drop")
    check_bool(training, "training", "shake_drop")
    check_tensor(x, "x", "shake_drop", min_ndim=1)
    if not training:
        return (1.0 - p) * x
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)  # (N, 1, ..., 1): one draw per sample
    b = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(1.0 - p)
    alpha = _per_sample_uniform(x, -1.0, 1.0)
    beta = _per_sample_uniform(x, 0.0, 1.0)
    # b + (1 - b) c equals b + c - bc, and is exactly 1 when b = 1 (no rounding in c - c)
    return shake_scale(x, b + (1.0 - b) * alpha, b + (1.0 - b) * beta)


class ShakeShake(nn.Module):
    """Mix two residual branches; see :func:`shake_shake`. Has no parameters.

    Shape:
        - Input: two tensors :math:`(N, *)`. Output: :math:`(N, *)`.

    Example:
        >>> layer = ShakeShake().eval()
        >>> layer(torch.zeros(1, 2), torch.ones(1, 2)).tolist()
        [[0.5, 0.5]]
    """

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return shake_shake(x1, x2, self.training)


class ShakeDrop(_DropoutBase):
    """ShakeDrop on one residual branch; see :func:`shake_drop`.

    Args:
        p (float): probability that a sample's branch is shaken, in [0, 1). Default: 0.5.

    Shape:
        - Input: :math:`(N, *)`. Output: same shape.

    Example:
        >>> ShakeDrop(0.5)
        ShakeDrop(p=0.5)
        >>> ShakeDrop(0.5).eval()(torch.ones(1, 2)).tolist()
        [[0.5, 0.5]]
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return shake_drop(x, self.p, self.training)
