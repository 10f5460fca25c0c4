"""Polynomial regression by least squares: the capacity knob of chapter 1.

A polynomial of degree :math:`d` has :math:`d + 1` coefficients; raising
:math:`d` raises the model's capacity one parameter at a time, which is what
makes it the clearest first picture of under- and overfitting.
"""

from __future__ import annotations

import math

import torch

from reglab._validation import check_int, check_real, check_tensor, parameter_error

__all__ = ["polynomial_features", "fit_polynomial"]


def _check_inputs(x: object, owner: str) -> torch.Tensor:
    """Scalar inputs: a float tensor of shape (N,) or (N, 1)."""
    check_tensor(x, "x", owner, ndim=(1, 2), floating=True)
    if x.ndim == 2 and x.shape[1] != 1:
        raise ValueError(parameter_error("x", owner, "of shape (N,) or (N, 1)", tuple(x.shape)))
    return x


def polynomial_features(x: torch.Tensor, degree: int) -> torch.Tensor:
    """The Vandermonde matrix :math:`[1, x, x^2, \\dots, x^d]`.

    Args:
        x (Tensor): scalar inputs.
        degree (int): the highest power :math:`d \\ge 0`.

    Shape:
        - x: :math:`(N,)` or :math:`(N, 1)`.
        - Output: :math:`(N, d + 1)`, same dtype as ``x``.

    Example:
        >>> polynomial_features(torch.tensor([2.0, 3.0]), 2)
        tensor([[1., 2., 4.],
                [1., 3., 9.]])
    """
    _check_inputs(x, "polynomial_features")
    degree = check_int(degree, "degree", "polynomial_features", low=0)
    powers = torch.arange(degree + 1, device=x.device, dtype=x.dtype)  # (d+1,)
    return x.reshape(-1, 1) ** powers  # (N, 1) ** (d+1,) -> (N, d+1)


def fit_polynomial(x: torch.Tensor, y: torch.Tensor, degree: int, *, l2: float = 0.0) -> torch.Tensor:
    """Least-squares coefficients of a degree-:math:`d` polynomial, optionally with an L2 penalty.

    .. math::
        \\hat c = \\arg\\min_c \\lVert \\Phi c - y \\rVert_2^2 + \\lambda \\sum_{k=1}^{d} c_k^2,
        \\qquad \\Phi = [1, x, \\dots, x^d]

    The constant :math:`c_0` is not penalized (as in scikit-learn's ``Ridge``
    with an intercept). The penalty is solved as the augmented least-squares
    problem :math:`[\\Phi; \\sqrt{\\lambda} D]\\,c \\approx [y; 0]` with
    :math:`D = \\mathrm{diag}(0, 1, \\dots, 1)`, in float64 with
    ``torch.linalg.lstsq`` (the minimum-norm solution when the problem is
    under-determined); the result is returned in ``x``'s dtype.

    Args:
        x (Tensor): inputs.
        y (Tensor): targets, one per input.
        degree (int): the polynomial's degree :math:`d \\ge 0`.
        l2 (float): the penalty strength :math:`\\lambda \\ge 0`. Default: 0.

    Shape:
        - x, y: :math:`(N,)` or :math:`(N, 1)`.
        - Output: :math:`(d + 1,)`, the coefficients from the constant up, for
          :func:`reglab.data.polynomial_value`.

    Example:
        >>> x = torch.tensor([0.0, 1.0, 2.0])
        >>> fit_polynomial(x, 1 + 2 * x, 1).round(decimals=4)
        tensor([1., 2.])
    """
    _check_inputs(x, "fit_polynomial")
    check_tensor(y, "y", "fit_polynomial", ndim=(1, 2), floating=True)
    if y.numel() != x.numel():
        raise ValueError(parameter_error("y", "fit_polynomial", f"{x.numel()} targets, one per input", y.numel()))
    degree = check_int(degree, "degree", "fit_polynomial", low=0)
    l2 = check_real(l2, "l2", "fit_polynomial", low=0.0)
    features = polynomial_features(x.double(), degree)  # (N, d+1)
    targets = y.double().reshape(-1, 1)  # (N, 1)
    if l2 > 0:
        penalty_rows = math.sqrt(l2) * torch.eye(degree + 1, dtype=torch.float64, device=x.device)[1:]  # (d, d+1)
        features = torch.cat([features, penalty_rows])  # (N+d, d+1)
        targets = torch.cat([targets, targets.new_zeros(degree, 1)])  # (N+d, 1)
    driver = "gelsd" if x.device.type == "cpu" else None  # gelsd handles rank-deficient systems; CUDA has only gels
    solution = torch.linalg.lstsq(features, targets, driver=driver).solution  # (d+1, 1)
    return solution.squeeze(1).to(x.dtype)
