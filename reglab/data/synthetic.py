"""Synthetic data sets, drawn in PyTorch from an explicit generator.

Each function returns tensors (features first, targets second) whose true
generating process is known, so a chapter can compare a fitted model with the
truth: the polynomial behind ``make_polynomial``, the two half circles behind
``make_moons``, the sparse coefficients behind ``make_sparse_regression``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from reglab._validation import check_int, check_real, parameter_error

__all__ = ["polynomial_value", "make_polynomial", "make_moons", "make_sparse_regression"]

DEFAULT_COEFFICIENTS = (0.0, 5.0, 0.0, -20.0, 0.0, 16.0)
"""The Chebyshev polynomial T₅(x) = 16x⁵ - 20x³ + 5x, which reaches -1 and 1 alternately six times on [-1, 1] (five swings)."""


def polynomial_value(x: torch.Tensor, coefficients: Sequence[float]) -> torch.Tensor:
    """Evaluate :math:`f(x) = \\sum_k c_k x^k` (coefficients from the constant up).

    Args:
        x (Tensor): points, any shape.
        coefficients (sequence of float): :math:`c_0, c_1, \\dots, c_d`.

    Shape:
        - Output: same as ``x``.

    Example:
        >>> polynomial_value(torch.tensor([2.0]), [1.0, 0.0, 3.0])
        tensor([13.])
    """
    if len(coefficients) == 0:
        raise ValueError(parameter_error("coefficients", "polynomial_value", "a non-empty sequence", coefficients))
    result = torch.zeros_like(x)
    for c in reversed(coefficients):  # Horner's rule
        result = result * x + c
    return result


def make_polynomial(
    n_samples: int,
    *,
    coefficients: Sequence[float] = DEFAULT_COEFFICIENTS,
    noise: float = 0.2,
    x_range: tuple[float, float] = (-1.0, 1.0),
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy samples of a polynomial: :math:`y = f(x) + \\varepsilon`.

    .. math::
        x \\sim \\mathcal{U}(a, b), \\qquad
        \\varepsilon \\sim \\mathcal{N}(0, \\sigma^2), \\qquad
        f(x) = \\sum_k c_k x^k

    Args:
        n_samples (int): number of points, at least 1.
        coefficients (sequence of float): :math:`c_0, \\dots, c_d` of the true
            function. Default: ``DEFAULT_COEFFICIENTS``, a degree-5 polynomial.
        noise (float): standard deviation :math:`\\sigma \\ge 0` of the noise.
            Default: 0.2.
        x_range (tuple of float): the interval :math:`(a, b)`. Default: (-1, 1).
        generator (torch.Generator, optional): source of randomness.

    Shape:
        - x: :math:`(N, 1)`, float32.
        - y: :math:`(N, 1)`, float32.

    Example:
        >>> x, y = make_polynomial(5, noise=0.0, generator=torch.Generator().manual_seed(0))
        >>> bool(torch.allclose(y, polynomial_value(x, DEFAULT_COEFFICIENTS)))
        True
    """
    owner = "make_polynomial"
    n_samples = check_int(n_samples, "n_samples", owner, low=1)
    noise = check_real(noise, "noise", owner, low=0.0)
    low, high = (check_real(v, "x_range", owner) for v in x_range)
    if not low < high:
        raise ValueError(parameter_error("x_range", owner, "a pair (a, b) with a < b", x_range))
    x = low + (high - low) * torch.rand(n_samples, 1, generator=generator)  # (N, 1)
    y = polynomial_value(x, coefficients) + noise * torch.randn(n_samples, 1, generator=generator)
    return x, y


def make_moons(
    n_samples: int,
    *,
    noise: float = 0.1,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaving half circles, a classic two-class problem.

    Class 0 lies on the upper unit half circle :math:`(\\cos t, \\sin t)`,
    class 1 on the lower one shifted to :math:`(1 - \\cos t, 0.5 - \\sin t)`,
    with :math:`t \\sim \\mathcal{U}(0, \\pi)` and isotropic Gaussian noise of
    standard deviation ``noise`` added to both coordinates. (scikit-learn's
    ``make_moons`` draws the same shapes with evenly spaced :math:`t`.)

    Args:
        n_samples (int): total number of points, at least 2; class 0 gets
            ``n_samples // 2`` and class 1 the rest.
        noise (float): standard deviation of the added noise, >= 0. Default: 0.1.
        generator (torch.Generator, optional): source of randomness.

    Shape:
        - x: :math:`(N, 2)`, float32.
        - y: :math:`(N,)`, int64 labels in {0, 1}.

    Example:
        >>> x, y = make_moons(4, noise=0.0, generator=torch.Generator().manual_seed(0))
        >>> x.shape, y.tolist()
        (torch.Size([4, 2]), [0, 0, 1, 1])
    """
    n_samples = check_int(n_samples, "n_samples", "make_moons", low=2)
    noise = check_real(noise, "noise", "make_moons", low=0.0)
    n_upper = n_samples // 2
    t = math.pi * torch.rand(n_samples, generator=generator)  # (N,)
    upper = torch.stack([torch.cos(t[:n_upper]), torch.sin(t[:n_upper])], dim=1)
    lower = torch.stack([1.0 - torch.cos(t[n_upper:]), 0.5 - torch.sin(t[n_upper:])], dim=1)
    x = torch.cat([upper, lower]) + noise * torch.randn(n_samples, 2, generator=generator)  # (N, 2)
    y = torch.cat([torch.zeros(n_upper, dtype=torch.long), torch.ones(n_samples - n_upper, dtype=torch.long)])
    return x, y


def make_sparse_regression(
    n_samples: int,
    n_features: int,
    *,
    n_informative: int = 5,
    noise: float = 0.1,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A linear model in which only a few features matter.

    .. math::
        y = X w^\\star + \\varepsilon, \\qquad X_{ij} \\sim \\mathcal{N}(0, 1),
        \\qquad \\varepsilon \\sim \\mathcal{N}(0, \\sigma^2)

    where :math:`w^\\star` has exactly ``n_informative`` non-zero entries, at
    random positions, each of magnitude in [1, 3) with a random sign.

    Args:
        n_samples (int): number of rows, at least 1.
        n_features (int): number of columns, at least 1.
        n_informative (int): non-zero coefficients, in [0, n_features]. Default: 5.
        noise (float): standard deviation :math:`\\sigma \\ge 0`. Default: 0.1.
        generator (torch.Generator, optional): source of randomness.

    Shape:
        - X: :math:`(N, D)`; y: :math:`(N,)`; w_true: :math:`(D,)`; all float32.

    Example:
        >>> X, y, w = make_sparse_regression(20, 10, n_informative=3, noise=0.0)
        >>> int((w != 0).sum()), bool(torch.allclose(X @ w, y))
        (3, True)
    """
    owner = "make_sparse_regression"
    n_samples = check_int(n_samples, "n_samples", owner, low=1)
    n_features = check_int(n_features, "n_features", owner, low=1)
    n_informative = check_int(n_informative, "n_informative", owner, low=0, high=n_features)
    noise = check_real(noise, "noise", owner, low=0.0)
    X = torch.randn(n_samples, n_features, generator=generator)  # (N, D)
    support = torch.randperm(n_features, generator=generator)[:n_informative]
    magnitude = 1.0 + 2.0 * torch.rand(n_informative, generator=generator)
    sign = torch.randint(0, 2, (n_informative,), generator=generator) * 2 - 1
    w_true = torch.zeros(n_features)
    w_true[support] = sign * magnitude
    y = X @ w_true + noise * torch.randn(n_samples, generator=generator)  # (N,)
    return X, y, w_true
