"""Calibration: how far predicted probabilities are from observed frequencies.

Papers:
    - C. Guo, G. Pleiss, Y. Sun, K. Q. Weinberger. "On Calibration of Modern
      Neural Networks." ICML 2017 (ECE, reliability diagrams, temperature scaling).
    - M. P. Naeini, G. Cooper, M. Hauskrecht. "Obtaining Well Calibrated
      Probabilities Using Bayesian Binning." AAAI 2015 (ECE).
    - G. W. Brier. "Verification of Forecasts Expressed in Terms of
      Probability." Monthly Weather Review, 1950.

All functions take probabilities (rows summing to 1) except
:func:`fit_temperature`, which takes logits, and return tensors on their
inputs' device.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from reglab._validation import check_class_indices, check_int, check_real, check_tensor, parameter_error

__all__ = [
    "ReliabilityData",
    "reliability_data",
    "expected_calibration_error",
    "negative_log_likelihood",
    "brier_score",
    "fit_temperature",
]


def _check(probs: torch.Tensor, target: torch.Tensor, owner: str) -> None:
    check_tensor(probs, "probs", owner, ndim=2, floating=True)
    check_class_indices(target, "target", owner, ndim=1)
    if len(target) != len(probs):
        raise ValueError(parameter_error("target", owner, f"{len(probs)} labels, one per row of probs", len(target)))


class ReliabilityData(NamedTuple):
    """Per-bin statistics of a reliability diagram (each a tensor of shape ``(n_bins,)``,
    except ``edges``, of shape ``(n_bins + 1,)``). Empty bins have count 0 and
    confidence and accuracy 0."""

    edges: torch.Tensor
    confidence: torch.Tensor
    accuracy: torch.Tensor
    count: torch.Tensor


def reliability_data(probs: torch.Tensor, target: torch.Tensor, n_bins: int = 15) -> ReliabilityData:
    """Mean confidence and accuracy of the predictions in each of ``n_bins`` equal-width bins.

    A prediction's confidence is its top probability :math:`\\hat p_i = \\max_k p_{ik}`;
    it falls in bin :math:`b` when :math:`\\hat p_i \\in ((b-1)/M, b/M]` (the first
    bin also holds 0).

    Args:
        probs (Tensor): predicted class probabilities.
        target (Tensor): true class indices.
        n_bins (int): number of bins :math:`M`, at least 1. Default: 15.

    Shape:
        - probs: :math:`(N, K)`; target: :math:`(N,)` int64.

    Example:
        >>> p = torch.tensor([[0.9, 0.1], [0.6, 0.4]])
        >>> data = reliability_data(p, torch.tensor([0, 1]), n_bins=2)
        >>> data.count, data.confidence, data.accuracy
        (tensor([0., 2.]), tensor([0.0000, 0.7500]), tensor([0.0000, 0.5000]))
    """
    owner = "reliability_data"
    _check(probs, target, owner)
    n_bins = check_int(n_bins, "n_bins", owner, low=1)
    confidence, prediction = probs.max(dim=1)                                     # (N,), (N,)
    correct = (prediction == target).to(probs.dtype)                              # (N,)
    edges = torch.linspace(0.0, 1.0, n_bins + 1, dtype=probs.dtype, device=probs.device)
    bins = torch.bucketize(confidence, edges[1:-1], right=False)                  # (N,) in [0, M)
    count = torch.zeros(n_bins, dtype=probs.dtype, device=probs.device).index_add_(0, bins, torch.ones_like(confidence))
    conf_sum = torch.zeros_like(count).index_add_(0, bins, confidence)
    acc_sum = torch.zeros_like(count).index_add_(0, bins, correct)
    denominator = count.clamp(min=1.0)
    return ReliabilityData(edges, conf_sum / denominator, acc_sum / denominator, count)


def expected_calibration_error(probs: torch.Tensor, target: torch.Tensor, n_bins: int = 15) -> torch.Tensor:
    """Expected calibration error with equal-width bins, weighted by bin size.

    .. math::
        \\mathrm{ECE} = \\sum_{b=1}^{M} \\frac{|B_b|}{N}
        \\left| \\mathrm{acc}(B_b) - \\mathrm{conf}(B_b) \\right|

    Args:
        probs (Tensor): predicted class probabilities.
        target (Tensor): true class indices.
        n_bins (int): number of bins :math:`M`, at least 1. Default: 15.

    Shape:
        - probs: :math:`(N, K)`; target: :math:`(N,)` int64; output :math:`()` in [0, 1].

    Example:
        >>> p = torch.tensor([[0.9, 0.1], [0.6, 0.4]])  # both in bin (0.5, 1]: conf 0.75, acc 0.5
        >>> expected_calibration_error(p, torch.tensor([0, 1]), n_bins=2)
        tensor(0.2500)

    References:
        Naeini et al. (2015); Guo et al. (2017), equation (3).
    """
    data = reliability_data(probs, target, n_bins)
    return (data.count * (data.accuracy - data.confidence).abs()).sum() / len(probs)


def negative_log_likelihood(probs: torch.Tensor, target: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Mean negative log-probability of the true class, :math:`-\\frac{1}{N}\\sum_i \\log p_{i y_i}`.

    Probabilities are clamped below at ``eps`` so a confident mistake costs
    :math:`-\\log \\varepsilon` instead of infinity.

    Args:
        probs (Tensor): predicted class probabilities.
        target (Tensor): true class indices.
        eps (float): the smallest probability used, in (0, 1). Default: 1e-12.

    Shape:
        - probs: :math:`(N, K)`; target: :math:`(N,)` int64; output :math:`()`.

    Example:
        >>> negative_log_likelihood(torch.tensor([[0.5, 0.5], [0.9, 0.1]]), torch.tensor([0, 0]))
        tensor(0.3993)
    """
    owner = "negative_log_likelihood"
    _check(probs, target, owner)
    eps = check_real(eps, "eps", owner, low=0.0, high=1.0, low_open=True, high_open=True)
    p_true = probs.gather(1, target.unsqueeze(1)).squeeze(1)  # (N, 1) -> (N,)
    return -p_true.clamp(min=eps).log().mean()


def brier_score(probs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Brier's score: mean squared distance between the probabilities and the one-hot label.

    .. math::
        \\mathrm{BS} = \\frac{1}{N}\\sum_{i=1}^{N}\\sum_{k=1}^{K} (p_{ik} - [y_i = k])^2

    This is Brier's original definition, in [0, 2]. For two classes it is twice
    the binary form :math:`\\frac{1}{N}\\sum_i (p_{i1} - y_i)^2` that
    scikit-learn's ``brier_score_loss`` reports by default.

    Shape:
        - probs: :math:`(N, K)`; target: :math:`(N,)` int64; output :math:`()`.

    Example:
        >>> brier_score(torch.tensor([[0.8, 0.2]]), torch.tensor([0]))
        tensor(0.0800)
    """
    _check(probs, target, "brier_score")
    one_hot = F.one_hot(target, probs.shape[1]).to(probs.dtype)  # (N, K)
    return ((probs - one_hot) ** 2).sum(dim=1).mean()


def fit_temperature(logits: torch.Tensor, target: torch.Tensor, *, max_iter: int = 100) -> torch.Tensor:
    """Temperature scaling: the one scalar :math:`T > 0` that minimizes the NLL of ``softmax(logits / T)``.

    .. math::
        T^\\star = \\arg\\min_{T > 0} -\\frac{1}{N} \\sum_{i=1}^{N}
        \\log \\operatorname{softmax}(z_i / T)_{y_i}

    Fit it on held-out (validation) logits of a trained model, then divide
    test logits by it. Dividing by a positive scalar never changes the arg max,
    so accuracy is unchanged. The optimization runs L-BFGS over
    :math:`\\log T` (so T stays positive), starting from T = 1, in float64.

    Args:
        logits (Tensor): validation logits (not probabilities).
        target (Tensor): validation class indices.
        max_iter (int): L-BFGS iterations, at least 1. Default: 100.

    Shape:
        - logits: :math:`(N, K)`; target: :math:`(N,)` int64; output :math:`()`,
          on the logits' device, in their dtype.

    Example:
        >>> z = torch.tensor([[4.0, 0.0], [0.0, 4.0], [4.0, 0.0], [0.0, 4.0]])
        >>> T = fit_temperature(z, torch.tensor([0, 1, 1, 0]))  # half wrong: T grows large
        >>> bool(T > 10)
        True

    References:
        Guo et al. (2017), section 4.2.
    """
    owner = "fit_temperature"
    _check(logits, target, owner)
    max_iter = check_int(max_iter, "max_iter", owner, low=1)
    z = logits.detach().double()
    log_t = torch.zeros((), dtype=torch.float64, device=z.device, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(z / log_t.exp(), target)
        loss.backward()
        return loss

    optimizer.step(closure)
    return log_t.detach().exp().to(logits.dtype)
