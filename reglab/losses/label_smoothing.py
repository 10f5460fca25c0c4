"""Label smoothing: cross-entropy against a target mixed with the uniform distribution.

Papers:
    - C. Szegedy, V. Vanhoucke, S. Ioffe, J. Shlens, Z. Wojna. "Rethinking the
      Inception Architecture for Computer Vision." CVPR 2016 (section 7).
    - R. Müller, S. Kornblith, G. Hinton. "When Does Label Smoothing Help?"
      NeurIPS 2019.

The convention is PyTorch's (``F.cross_entropy(..., label_smoothing=ε)``) and
the papers': the mass ε is spread uniformly over **all** K classes, the true
class included, so the true class gets :math:`1 - ε + ε/K` and every other
class :math:`ε/K`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from reglab._validation import check_class_indices, check_int, check_probability, check_tensor, parameter_error

__all__ = ["smooth_labels", "label_smoothing_cross_entropy", "LabelSmoothingCrossEntropy"]

_REDUCTIONS = ("mean", "sum", "none")


def smooth_labels(target: torch.Tensor, num_classes: int, epsilon: float = 0.1) -> torch.Tensor:
    """The smoothed target distribution :math:`(1 - ε)\\,\\mathrm{onehot}(y) + ε/K`.

    Args:
        target (Tensor): class indices in ``[0, num_classes)``.
        num_classes (int): number of classes :math:`K`, at least 1.
        epsilon (float): smoothing mass in [0, 1]. Default: 0.1.

    Shape:
        - target: :math:`(N, *)` int64.
        - Output: :math:`(N, K, *)` float, each distribution along dim 1 summing to 1.

    Example:
        >>> smooth_labels(torch.tensor([0]), 4, 0.2)
        tensor([[0.8500, 0.0500, 0.0500, 0.0500]])
    """
    owner = "smooth_labels"
    check_class_indices(target, "target", owner, min_ndim=1)
    num_classes = check_int(num_classes, "num_classes", owner, low=1)
    epsilon = check_probability(epsilon, "epsilon", owner, allow_one=True)
    one_hot = F.one_hot(target, num_classes).movedim(-1, 1).float()  # (N, *, K) -> (N, K, *)
    return one_hot * (1.0 - epsilon) + epsilon / num_classes


def label_smoothing_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    epsilon: float = 0.1,
    *,
    reduction: str = "mean",
    ignore_index: int = -100,
) -> torch.Tensor:
    """Cross-entropy between the smoothed labels and the model's softmax.

    .. math::
        \\ell_i = -\\sum_{k=1}^{K} q_{ik} \\log \\operatorname{softmax}(z_i)_k,
        \\qquad q_{ik} = (1 - ε)\\,[k = y_i] + \\frac{ε}{K}

    which splits into :math:`(1 - ε)` times the usual cross-entropy plus
    :math:`ε` times the cross-entropy against the uniform distribution.
    Samples whose target is ``ignore_index`` contribute nothing, and ``"mean"``
    divides by the number of the other samples, as ``F.cross_entropy`` does.

    Args:
        logits (Tensor): unnormalized scores, classes along dim 1.
        target (Tensor): class indices (or ``ignore_index``).
        epsilon (float): smoothing mass in [0, 1]; 0 is plain cross-entropy.
            Default: 0.1.
        reduction (str): ``"mean"``, ``"sum"`` or ``"none"``. Default: "mean".
        ignore_index (int): target value to skip. Default: -100.

    Shape:
        - logits: :math:`(N, K)` or :math:`(N, K, d_1, \\dots)`.
        - target: :math:`(N,)` or :math:`(N, d_1, \\dots)` int64.
        - Output: scalar, or the shape of ``target`` for ``"none"``.

    Example:
        >>> z, y = torch.tensor([[2.0, 0.0, -1.0]]), torch.tensor([0])
        >>> label_smoothing_cross_entropy(z, y, 0.1)
        tensor(0.3365)
        >>> F.cross_entropy(z, y, label_smoothing=0.1)
        tensor(0.3365)

    References:
        Szegedy et al. (2016), section 7.
    """
    owner = "label_smoothing_cross_entropy"
    check_tensor(logits, "logits", owner, min_ndim=2, floating=True)
    check_class_indices(target, "target", owner)
    epsilon = check_probability(epsilon, "epsilon", owner, allow_one=True)
    if reduction not in _REDUCTIONS:
        raise ValueError(parameter_error("reduction", owner, f"one of {_REDUCTIONS}", reduction))
    ignore_index = check_int(ignore_index, "ignore_index", owner)
    expected = logits.shape[:1] + logits.shape[2:]
    if target.shape != expected:
        raise ValueError(parameter_error("target", owner, f"a tensor of shape {tuple(expected)}", f"shape {tuple(target.shape)}"))

    keep = target != ignore_index                             # (N, *)
    safe_target = torch.where(keep, target, 0)                # any valid index where ignored
    q = smooth_labels(safe_target, logits.shape[1], epsilon)  # (N, K, *)
    log_p = F.log_softmax(logits, dim=1)                      # (N, K, *)
    loss = -(q * log_p).sum(dim=1) * keep                     # (N, *); ignored entries are 0
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / keep.sum()


class LabelSmoothingCrossEntropy(nn.Module):
    """Module form of :func:`label_smoothing_cross_entropy`, usable as ``loss_fn``.

    Args:
        epsilon (float): smoothing mass in [0, 1]. Default: 0.1.
        reduction (str): ``"mean"``, ``"sum"`` or ``"none"``. Default: "mean".
        ignore_index (int): target value to skip. Default: -100.

    Example:
        >>> LabelSmoothingCrossEntropy(0.1)
        LabelSmoothingCrossEntropy(epsilon=0.1, reduction='mean')
    """

    def __init__(self, epsilon: float = 0.1, *, reduction: str = "mean", ignore_index: int = -100) -> None:
        super().__init__()
        owner = "LabelSmoothingCrossEntropy"
        self.epsilon = check_probability(epsilon, "epsilon", owner, allow_one=True)
        if reduction not in _REDUCTIONS:
            raise ValueError(parameter_error("reduction", owner, f"one of {_REDUCTIONS}", reduction))
        self.reduction = reduction
        self.ignore_index = check_int(ignore_index, "ignore_index", owner)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return label_smoothing_cross_entropy(logits, target, self.epsilon, reduction=self.reduction, ignore_index=self.ignore_index)

    def extra_repr(self) -> str:
        return f"epsilon={self.epsilon}, reduction={self.reduction!r}"
