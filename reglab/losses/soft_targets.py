"""Cross-entropy against soft targets (class probabilities), as mixup and CutMix produce.

Papers:
    - Zhang, Cisse, Dauphin and Lopez-Paz, "mixup: Beyond Empirical Risk
      Minimization", ICLR 2018.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reglab._validation import check_tensor, parameter_error

__all__ = ["soft_cross_entropy"]

_REDUCTIONS = ("mean", "sum", "none")


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy between target distributions and the softmax of the logits.

    .. math::
        \\ell_i = -\\sum_{k=1}^{K} q_{ik} \\log \\operatorname{softmax}(z_i)_k

    With one-hot :math:`q_i` this is the usual cross-entropy. The same value
    as ``F.cross_entropy(logits, target)`` with probability targets; written
    out because it is the whole idea (and a soft target that is a blend of two
    one-hot vectors gives the blend of the two losses).

    Args:
        logits (Tensor): unnormalized scores :math:`z`.
        target (Tensor): class probabilities :math:`q` (rows summing to 1; not
            checked, to avoid a host read).
        reduction (str): ``"mean"`` over samples, ``"sum"`` or ``"none"``. Default: ``"mean"``.

    Shape:
        - logits, target: :math:`(N, K)`.
        - Output: :math:`()`, or :math:`(N,)` with ``reduction="none"``.

    Example:
        >>> logits = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
        >>> soft_cross_entropy(logits, torch.tensor([[0.5, 0.5], [1.0, 0.0]]), reduction="none")
        tensor([1.1269, 0.6931])
    """
    owner = "soft_cross_entropy"
    check_tensor(logits, "logits", owner, ndim=2, floating=True)
    check_tensor(target, "target", owner, ndim=2, floating=True)
    if target.shape != logits.shape:
        raise ValueError(parameter_error("target", owner, f"probabilities of the logits' shape {tuple(logits.shape)}", tuple(target.shape)))
    if reduction not in _REDUCTIONS:
        raise ValueError(parameter_error("reduction", owner, "one of 'mean', 'sum', 'none'", reduction))
    loss = -(target * F.log_softmax(logits, dim=1)).sum(dim=1)  # (N,)
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss
