"""The bias–variance decomposition of a regressor, from refits on fresh training sets."""

from __future__ import annotations

import torch

from reglab._validation import check_tensor, parameter_error

__all__ = ["bias_variance_decomposition"]


def bias_variance_decomposition(
    predictions: torch.Tensor, truth: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Squared bias and variance of a learner, from refits on fresh training sets.

    Fit the same learner on :math:`R` independent training sets and predict at
    :math:`M` fixed test points. With :math:`\\hat f_r(x)` the r-th fit and
    :math:`\\bar f(x)` their mean, averaged over test points:

    .. math::
        \\mathrm{bias}^2 = \\frac{1}{M}\\sum_{m} \\left(\\bar f(x_m) - f(x_m)\\right)^2,
        \\qquad
        \\mathrm{variance} = \\frac{1}{M}\\sum_{m} \\frac{1}{R}\\sum_{r}
        \\left(\\hat f_r(x_m) - \\bar f(x_m)\\right)^2

    The expected squared error against noisy targets is then
    bias² + variance + σ² (the noise variance, which no learner removes).

    Args:
        predictions (Tensor): the R fits' predictions at the M test points.
        truth (Tensor): the noise-free target :math:`f(x_m)`.

    Shape:
        - predictions: :math:`(R, M)` with :math:`R \\ge 2`.
        - truth: :math:`(M,)`.
        - Output: two tensors of shape :math:`()`.

    Example:
        >>> bias_sq, var = bias_variance_decomposition(torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([2.0, 2.0]))
        >>> bias_sq.item(), var.item()
        (0.5, 1.0)
    """
    owner = "bias_variance_decomposition"
    check_tensor(predictions, "predictions", owner, ndim=2, floating=True)
    check_tensor(truth, "truth", owner, ndim=1, floating=True)
    if len(predictions) < 2:
        raise ValueError(parameter_error("predictions", owner, "at least 2 refits (rows)", len(predictions)))
    if predictions.shape[1] != truth.shape[0]:
        raise ValueError(parameter_error("truth", owner, f"{predictions.shape[1]} values, one per column of predictions", truth.shape[0]))
    mean_prediction = predictions.mean(dim=0)  # (M,)
    bias_squared = (mean_prediction - truth).pow(2).mean()
    variance = (predictions - mean_prediction).pow(2).mean()  # (R, M) - (M,) broadcasts over refits
    return bias_squared, variance
