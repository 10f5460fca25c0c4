"""Classification accuracy, as a tensor on its inputs' device."""

from __future__ import annotations

import torch

from reglab._validation import check_tensor, parameter_error

__all__ = ["accuracy"]


def accuracy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Fraction of samples whose highest-scoring class is the target class.

    .. math::
        \\mathrm{acc} = \\frac{1}{N} \\sum_{i=1}^{N}
        \\mathbb{1}\\left[\\arg\\max_k z_{ik} = y_i\\right]

    Soft targets (rows of class probabilities, as mixup makes) count their
    most probable class as the label.

    Args:
        logits (Tensor): scores (or probabilities) per class.
        target (Tensor): class indices, or class probabilities per sample.

    Shape:
        - logits: :math:`(N, K)`.
        - target: :math:`(N,)` int64, or :math:`(N, K)` float.
        - Output: :math:`()`, a float tensor in [0, 1].

    Example:
        >>> accuracy(torch.tensor([[2.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 0]))
        tensor(0.5000)
    """
    check_tensor(logits, "logits", "accuracy", ndim=2)
    check_tensor(target, "target", "accuracy", ndim=(1, 2))
    if target.ndim == 2:
        if target.shape != logits.shape:
            raise ValueError(parameter_error("target", "accuracy", f"soft targets of shape {tuple(logits.shape)}", tuple(target.shape)))
        target = target.argmax(dim=1)  # (N, K) -> (N,)
    if len(target) != len(logits):
        raise ValueError(parameter_error("target", "accuracy", f"{len(logits)} labels, one per row of logits", len(target)))
    return (logits.argmax(dim=1) == target).float().mean()
