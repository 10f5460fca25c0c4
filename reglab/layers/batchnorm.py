"""Batch normalization from scratch, matching ``torch.nn.BatchNorm1d/2d`` in training and evaluation.

In training, each channel is normalized with the mean and the *biased*
variance of the current batch, then scaled and shifted by learned
:math:`\\gamma, \\beta`; the running statistics are updated with the batch
mean and the *unbiased* variance. In evaluation the running statistics are
used and nothing is updated. Parameter and buffer names (``weight``,
``bias``, ``running_mean``, ``running_var``, ``num_batches_tracked``) are
torch's, so ``state_dict`` s load both ways.

Paper:

- Ioffe, Szegedy. "Batch normalization: accelerating deep network training by
  reducing internal covariate shift." ICML 2015.
"""

from __future__ import annotations

import torch
from torch import nn

from reglab._validation import check_bool, check_int, check_real, check_tensor, parameter_error

__all__ = ["batch_norm", "BatchNorm1d", "BatchNorm2d"]


def batch_norm(
    x: torch.Tensor,
    running_mean: torch.Tensor | None,
    running_var: torch.Tensor | None,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    training: bool = False,
    momentum: float | torch.Tensor = 0.1,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Normalize each channel (dimension 1) over the batch and every other dimension.

    .. math::
        \\hat x = \\frac{x - \\mu_B}{\\sqrt{\\sigma_B^2 + \\epsilon}}, \\quad y = \\gamma \\hat x + \\beta,
        \\qquad \\mu_B = \\frac{1}{n}\\sum_i x_i, \\quad \\sigma_B^2 = \\frac{1}{n}\\sum_i (x_i - \\mu_B)^2

    with :math:`n` values per channel. Running statistics (updated in place in training):

    .. math::
        \\hat\\mu \\leftarrow (1 - m)\\,\\hat\\mu + m\\,\\mu_B, \\qquad
        \\hat\\sigma^2 \\leftarrow (1 - m)\\,\\hat\\sigma^2 + m\\,\\frac{n}{n - 1}\\sigma_B^2

    Evaluation (``training=False`` with running statistics) uses :math:`\\hat\\mu, \\hat\\sigma^2`
    in place of :math:`\\mu_B, \\sigma_B^2`. Without running statistics the batch is always used.

    Args:
        x (Tensor): input, channels in dimension 1.
        running_mean (Tensor or None): :math:`\\hat\\mu`, shape :math:`(C,)`.
        running_var (Tensor or None): :math:`\\hat\\sigma^2`, shape :math:`(C,)`.
        weight (Tensor, optional): :math:`\\gamma`, shape :math:`(C,)`. Default: None (1).
        bias (Tensor, optional): :math:`\\beta`, shape :math:`(C,)`. Default: None (0).
        training (bool): use and update batch statistics. Default: False.
        momentum (float or Tensor): :math:`m`, in [0, 1] (a 0-dim float tensor is
            not range-checked, to keep its value on the device). Default: 0.1.
        eps (float): :math:`\\epsilon \\ge 0`, added to the variance. Default: 1e-5.

    Shape:
        - Input: :math:`(N, C, *)`. Output: same shape.

    Example:
        >>> x = torch.tensor([[1.0], [3.0]])  # (N=2, C=1)
        >>> mean, var = torch.zeros(1), torch.ones(1)
        >>> batch_norm(x, mean, var, training=True, momentum=0.5, eps=0.0)
        tensor([[-1.],
                [ 1.]])
        >>> mean, var  # 0.5 * 0 + 0.5 * 2 and 0.5 * 1 + 0.5 * 2 (unbiased variance of 1, 3)
        (tensor([1.]), tensor([1.5000]))
    """
    owner = "batch_norm"
    check_tensor(x, "x", owner, min_ndim=2)
    training = check_bool(training, "training", owner)
    if isinstance(momentum, torch.Tensor):  # the cumulative average's 1/t: its value stays on the device
        check_tensor(momentum, "momentum", owner, ndim=0, floating=True)
    else:
        momentum = check_real(momentum, "momentum", owner, low=0.0, high=1.0)
    eps = check_real(eps, "eps", owner, low=0.0)
    use_batch = training or running_mean is None
    n = x.numel() // x.shape[1]  # values per channel
    if use_batch and n <= 1:
        allowed = "a tensor with more than 1 value per channel when training (or without running statistics)"
        raise ValueError(parameter_error("x", owner, allowed, f"shape {tuple(x.shape)}"))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)  # (1, C, 1, ..., 1) broadcasts over (N, C, *)
    if use_batch:
        dims = [0, *range(2, x.ndim)]  # every dimension but the channel
        mean = x.mean(dim=dims)  # (C,)
        var = x.var(dim=dims, unbiased=False)  # (C,) biased: what the batch is normalized with
        if training and running_mean is not None:
            with torch.no_grad():
                running_mean.mul_(1 - momentum).add_(momentum * mean)
                running_var.mul_(1 - momentum).add_(momentum * var * (n / (n - 1)))  # unbiased
    else:
        mean, var = running_mean, running_var
    y = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + eps)
    if weight is not None:
        y = y * weight.view(shape)
    if bias is not None:
        y = y + bias.view(shape)
    return y


class _BatchNorm(nn.Module):
    """Checks, parameters, buffers and ``extra_repr`` shared by :class:`BatchNorm1d` and :class:`BatchNorm2d`."""

    _ranks: tuple[int, ...] = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.num_features = check_int(num_features, "num_features", owner, low=1)
        self.eps = check_real(eps, "eps", owner, low=0.0, low_open=True)
        self.momentum = None if momentum is None else check_real(momentum, "momentum", owner, low=0.0, high=1.0)
        self.affine = check_bool(affine, "affine", owner)
        self.track_running_stats = check_bool(track_running_stats, "track_running_stats", owner)
        self.use_bias = check_bool(bias, "bias", owner)
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))  # gamma
            self.bias = nn.Parameter(torch.zeros(num_features)) if bias else None  # beta
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features))
            self.register_buffer("running_var", torch.ones(num_features))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.use_bias}, track_running_stats={self.track_running_stats}"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", type(self).__name__, ndim=self._ranks)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative average: m = 1 / (number of batches so far)
                momentum = 1.0 / self.num_batches_tracked  # a tensor on the device, no host sync
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          self.training, momentum, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch norm over a batch of vectors or of sequences; see :func:`batch_norm`.

    Args:
        num_features (int): :math:`C`.
        eps (float): added to the variance, > 0. Default: 1e-5.
        momentum (float or None): running-average factor in [0, 1]; None for
            a cumulative average. Default: 0.1.
        affine (bool): learn :math:`\\gamma, \\beta`. Default: True.
        track_running_stats (bool): keep running statistics for evaluation;
            if False, batch statistics are used in both modes. Default: True.
        bias (bool, keyword-only): learn :math:`\\beta` when ``affine``. Default: True.

    Shape:
        - Input: :math:`(N, C)` or :math:`(N, C, L)`. Output: same shape.

    Example:
        >>> BatchNorm1d(4)
        BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over images: one mean and variance per channel over :math:`N, H, W`; see :func:`batch_norm`.

    Args:
        num_features (int): :math:`C`.
        eps (float): added to the variance, > 0. Default: 1e-5.
        momentum (float or None): running-average factor in [0, 1]; None for
            a cumulative average. Default: 0.1.
        affine (bool): learn :math:`\\gamma, \\beta`. Default: True.
        track_running_stats (bool): keep running statistics. Default: True.
        bias (bool, keyword-only): learn :math:`\\beta` when ``affine``. Default: True.

    Shape:
        - Input: :math:`(N, C, H, W)`. Output: same shape.

    Example:
        >>> sorted(BatchNorm2d(3).state_dict())
        ['bias', 'num_batches_tracked', 'running_mean', 'running_var', 'weight']
    """

    _ranks = (4,)
