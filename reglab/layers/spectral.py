"""The spectral norm (largest singular value) of a weight, estimated by power iteration.

Spectral normalization divides a weight by this estimate so that the layer is
1-Lipschitz in the Euclidean norm; ``torch.nn.utils.parametrizations.spectral_norm``
does it with one power-iteration step per training step. For a convolution
kernel of shape :math:`(C_{out}, C_{in}, k_h, k_w)` the kernel is reshaped
to a :math:`C_{out} \\times C_{in} k_h k_w` matrix first: the norm of that
matrix is *not* the Lipschitz constant of the convolution as an operator on
images (which depends on the image size, stride and padding).

Paper:

- Miyato, Kataoka, Koyama, Yoshida. "Spectral normalization for generative
  adversarial networks." ICLR 2018.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reglab._validation import check_int, check_tensor

__all__ = ["spectral_norm_estimate"]


@torch.no_grad()
def spectral_norm_estimate(weight: torch.Tensor, n_iter: int = 100) -> torch.Tensor:
    """Largest singular value of ``weight`` reshaped to a matrix, by power iteration.

    .. math::
        v \\leftarrow \\frac{W^{\\top} u}{\\lVert W^{\\top} u \\rVert}, \\quad
        u \\leftarrow \\frac{W v}{\\lVert W v \\rVert}, \\qquad
        \\sigma(W) \\approx u^{\\top} W v

    After :math:`k` iterations :math:`v` is off the top singular direction by an
    angle of order :math:`(\\sigma_2 / \\sigma_1)^{2k}`, and the estimate,
    which equals :math:`\\lVert W v \\rVert`, errs by the square of it, of
    order :math:`(\\sigma_2 / \\sigma_1)^{4k}`: a matrix whose top two
    singular values are close needs more iterations.

    Args:
        weight (Tensor): a matrix, or a kernel whose first dimension is the
            output (it is reshaped to :math:`(\\text{out}, -1)`).
        n_iter (int): power-iteration steps, at least 1. Default: 100.

    Returns:
        A 0-dim tensor on ``weight``'s device.

    Shape:
        - Input: :math:`(\\text{out}, *)`. Output: :math:`()`.

    Example:
        >>> spectral_norm_estimate(torch.diag(torch.tensor([3.0, 1.0, 0.5])))
        tensor(3.)
    """
    check_tensor(weight, "weight", "spectral_norm_estimate", min_ndim=2, floating=True)
    n_iter = check_int(n_iter, "n_iter", "spectral_norm_estimate", low=1)
    matrix = weight.reshape(weight.shape[0], -1)  # (out, in * k_h * k_w for a conv kernel)
    u = F.normalize(torch.randn(matrix.shape[0], dtype=matrix.dtype, device=matrix.device), dim=0)  # (out,)
    for _ in range(n_iter):
        v = F.normalize(matrix.T @ u, dim=0)  # (in,)
        u = F.normalize(matrix @ v, dim=0)  # (out,)
    return u @ matrix @ v
