"""In-place steps of constrained training: the proximal L1 step, max-norm, weight clipping.

Papers:

- Beck & Teboulle, "A fast iterative shrinkage-thresholding algorithm" (SIAM J. Imaging Sci., 2009):
  the proximal gradient step (ISTA) that :func:`soft_threshold_` completes.
- Srivastava et al., "Dropout" (JMLR, 2014), section 5.1: the max-norm constraint.
- Arjovsky, Chintala & Bottou, "Wasserstein GAN" (ICML, 2017): weight clipping.

Each function changes parameters in place without recording a gradient, for
``fit(..., after_step=...)``.
"""

from __future__ import annotations

import torch
from torch import nn

from reglab._validation import check_int, check_real, parameter_error
from reglab.penalties._common import Params, _strength, _tensors

__all__ = ["soft_threshold_", "max_norm_", "clip_weights_"]


@torch.no_grad()
def soft_threshold_(params: Params, threshold: float) -> None:
    """The proximal step of the L1 penalty, in place: shrink each entry towards 0 by ``threshold``.

    .. math::
        \\theta_i \\leftarrow \\mathrm{sign}(\\theta_i) \\max(|\\theta_i| - t, 0)
        = \\arg\\min_u \\tfrac{1}{2}(u - \\theta_i)^2 + t |u|

    After a gradient step of size :math:`\\eta` on the smooth part of the loss,
    ``soft_threshold_(params, eta * lam)`` completes one step of proximal
    gradient descent (ISTA) on the loss plus ``l1_penalty(params, lam)``. Unlike
    the subgradient of the L1 penalty, it sets small entries exactly to zero.

    Args:
        params (Tensor, nn.Module or iterable of Tensor): changed in place.
        threshold (float): :math:`t \\ge 0`.

    Example:
        >>> w = torch.tensor([1.5, -0.2, 0.05, -3.0])
        >>> soft_threshold_(w, 0.5)
        >>> w
        tensor([ 1.0000,  0.0000,  0.0000, -2.5000])
    """
    threshold = _strength(threshold, "threshold", "soft_threshold_")
    for p in _tensors(params, "soft_threshold_"):
        p.sub_(p.clamp(-threshold, threshold))  # θ - clamp(θ, -t, t) = sign(θ) max(|θ| - t, 0)


@torch.no_grad()
def max_norm_(params: Params, max_norm: float, *, dim: int = 0) -> None:
    """Rescale, in place, each unit's weight vector whose L2 norm exceeds ``max_norm`` back onto the ball.

    .. math::
        w_j \\leftarrow w_j \\cdot \\min\\Big(1, \\frac{c}{\\lVert w_j \\rVert_2}\\Big)

    where :math:`w_j` is the slice ``weight.select(dim, j)``: with the default
    ``dim=0``, the incoming weights of output unit :math:`j` of a ``Linear``
    (one row) or of output channel :math:`j` of a convolution (one kernel).
    This is a *constraint* applied after each optimizer step, not a penalty:
    weights inside the ball are left exactly as they are. It matches
    ``torch.renorm(weight, 2, dim, max_norm)``.

    Args:
        params (Tensor, nn.Module or iterable of Tensor): weights with at least
            two dimensions; a module means its parameters with at least two
            dimensions (biases are left alone).
        max_norm (float): :math:`c > 0`.
        dim (int): the dimension that indexes the units. Default: 0.

    Shape:
        - Each weight: :math:`(\\text{out}, *)` for ``dim=0``.

    Example:
        >>> w = torch.tensor([[3.0, 4.0], [0.3, 0.4]])
        >>> max_norm_(w, 1.0)
        >>> w
        tensor([[0.6000, 0.8000],
                [0.3000, 0.4000]])
    """
    max_norm = check_real(max_norm, "max_norm", "max_norm_", low=0.0, low_open=True)
    tensors = _tensors(params, "max_norm_")
    if isinstance(params, nn.Module):
        tensors = [p for p in tensors if p.ndim >= 2]
    for w in tensors:
        if w.ndim < 2:
            raise ValueError(parameter_error("params", "max_norm_", "weights with at least 2 dimensions", f"shape {tuple(w.shape)}"))
        d = check_int(dim, "dim", "max_norm_", low=-w.ndim, high=w.ndim - 1) % w.ndim
        units = w.movedim(d, 0).flatten(1)  # (units, fan_in): one row per unit
        norms = units.norm(dim=1)  # (units,)
        scale = torch.where(norms > max_norm, max_norm / (norms + 1e-7), torch.ones_like(norms))  # eps as torch.renorm
        shape = [1] * w.ndim
        shape[d] = -1
        w.mul_(scale.reshape(shape))  # (units,) -> broadcast along dim d


@torch.no_grad()
def clip_weights_(params: Params, clip_value: float) -> None:
    """Clamp every entry of the weights, in place, to :math:`[-c, c]` (as in the original WGAN critic).

    .. math::
        \\theta_i \\leftarrow \\min(\\max(\\theta_i, -c), c)

    This clips the **weights** themselves; it is not gradient clipping
    (``torch.nn.utils.clip_grad_value_``), which clamps the gradients before the step.

    Args:
        params (Tensor, nn.Module or iterable of Tensor): changed in place.
        clip_value (float): :math:`c > 0`.

    Example:
        >>> w = torch.tensor([-2.0, 0.1, 0.7])
        >>> clip_weights_(w, 0.5)
        >>> w
        tensor([-0.5000,  0.1000,  0.5000])
    """
    clip_value = check_real(clip_value, "clip_value", "clip_weights_", low=0.0, low_open=True)
    for p in _tensors(params, "clip_weights_"):
        p.clamp_(-clip_value, clip_value)
