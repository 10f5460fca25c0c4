"""Consistency regularization: the same prediction for two views of an unlabeled input.

Papers:

- Laine & Aila, "Temporal ensembling for semi-supervised learning" (ICLR,
  2017): the Π-model, a squared difference between the softmax outputs of two
  augmented, dropout-noisy passes, with a ramped-up weight.
- Tarvainen & Valpola, "Mean teachers are better role models" (NIPS,
  2017): the target comes from an exponential moving average of the weights
  (:class:`reglab.train.EMA`).
- Miyato, Maeda, Koyama & Ishii, "Virtual adversarial training: a
  regularization method for supervised and semi-supervised learning" (IEEE
  TPAMI, 2018): the KL divergence, with an adversarial instead of a random
  perturbation.

Unlabeled inputs carry no label, but they say where the data are: a
classifier that changes its answer under a small augmentation of such an
input has its decision boundary running through the data. The penalty pushes
the boundary into low-density regions. As in mean teacher, VAT and later
methods, the target branch is treated as a constant (no gradient flows
through it); Laine & Aila's Π-model back-propagates through both branches.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from reglab._validation import check_int, check_real, check_tensor, parameter_error

__all__ = ["consistency_loss", "ConsistencyPenalty"]

_KINDS = ("mse", "kl")


def _check_kind(kind: object, owner: str) -> str:
    if kind not in _KINDS:
        raise ValueError(parameter_error("kind", owner, "'mse' or 'kl'", kind))
    return kind


def consistency_loss(
    model: nn.Module,
    x_unlabeled: torch.Tensor,
    augment: Callable[[torch.Tensor], torch.Tensor],
    *,
    kind: str = "mse",
    teacher: nn.Module | None = None,
) -> torch.Tensor:
    """Disagreement between the model on one augmented view and a target on another.

    With :math:`p = \\mathrm{softmax}(f_\\theta(a(x)))` (the student) and
    :math:`q = \\mathrm{softmax}(g(a'(x)))` for an independent augmentation
    :math:`a'` and :math:`g` the teacher (default: the model itself), held
    constant,

    .. math::
        \\text{mse:}\\ \\frac{1}{NC}\\sum_{i,c} (p_{ic} - q_{ic})^2, \\qquad
        \\text{kl:}\\ \\frac{1}{N}\\sum_i \\sum_c q_{ic} \\log\\frac{q_{ic}}{p_{ic}}

    Args:
        model (nn.Module): the student; its mode decides dropout noise.
        x_unlabeled (Tensor): a batch of inputs without labels.
        augment (callable): ``augment(x) -> x``, random, applied twice.
        kind (str): ``"mse"`` (Π-model, mean teacher) or ``"kl"`` (VAT).
            Default: ``"mse"``.
        teacher (nn.Module, optional): the network giving the target, such as
            an :class:`~reglab.train.EMA` of ``model``. Default: the model.

    Shape:
        - x_unlabeled: :math:`(N, *)`; output: a scalar.

    Example:
        >>> model = nn.Linear(4, 3)
        >>> consistency_loss(model, torch.randn(8, 4), lambda x: x).item()  # no augmentation, no disagreement
        0.0
    """
    owner = "consistency_loss"
    if not isinstance(model, nn.Module):
        raise TypeError(parameter_error("model", owner, "an nn.Module", type(model).__name__))
    check_tensor(x_unlabeled, "x_unlabeled", owner, min_ndim=1, floating=True)
    if not callable(augment):
        raise TypeError(parameter_error("augment", owner, "a callable", augment))
    kind = _check_kind(kind, owner)
    if teacher is not None and not isinstance(teacher, nn.Module):
        raise TypeError(parameter_error("teacher", owner, "an nn.Module or None", type(teacher).__name__))
    student_logits = model(augment(x_unlabeled))  # (N, C)
    with torch.no_grad():
        target_logits = (teacher if teacher is not None else model)(augment(x_unlabeled))  # (N, C), a constant
    if kind == "mse":
        return F.mse_loss(student_logits.softmax(dim=1), target_logits.softmax(dim=1))
    return F.kl_div(student_logits.log_softmax(dim=1), target_logits.log_softmax(dim=1),
                    reduction="batchmean", log_target=True)


class ConsistencyPenalty:
    """A ``fit(..., penalty=...)`` hook: the consistency loss on the next unlabeled batch, ramped up.

    Each call draws the next batch from ``unlabeled`` (starting a new pass
    when one ends) and returns :math:`w(t)` times :func:`consistency_loss`,
    with Laine & Aila's Gaussian ramp-up over the first ``rampup`` steps:

    .. math::
        w(t) = w \\exp\\big(-5 (1 - \\min(t / T, 1))^2\\big)

    Args:
        unlabeled (iterable): batches of unlabeled inputs, such as a
            :class:`~reglab.data.DeviceLoader` (whose ``(x, y)`` batches give
            ``x``; ``y`` is ignored); iterated again after each pass.
        augment (callable): ``augment(x) -> x``.
        weight (float): :math:`w`, >= 0. Default: 1.
        kind (str): ``"mse"`` or ``"kl"``. Default: ``"mse"``.
        teacher (nn.Module, optional): e.g. an :class:`~reglab.train.EMA`,
            updated by the caller (``after_step=ema.update``). Default: the model.
        rampup (int): steps :math:`T` of the ramp-up, >= 0 (0: full weight at
            once). Default: 0.

    Example:
        >>> penalty = ConsistencyPenalty([torch.randn(4, 2)], lambda x: x, weight=10.0)
        >>> penalty(nn.Linear(2, 3)).item()
        0.0
    """

    def __init__(
        self,
        unlabeled: Iterable,
        augment: Callable[[torch.Tensor], torch.Tensor],
        *,
        weight: float = 1.0,
        kind: str = "mse",
        teacher: nn.Module | None = None,
        rampup: int = 0,
    ) -> None:
        owner = "ConsistencyPenalty"
        if not isinstance(unlabeled, Iterable):
            raise TypeError(parameter_error("unlabeled", owner, "an iterable of batches", type(unlabeled).__name__))
        if not callable(augment):
            raise TypeError(parameter_error("augment", owner, "a callable", augment))
        self.unlabeled = unlabeled
        self.augment = augment
        self.weight = check_real(weight, "weight", owner, low=0.0)
        self.kind = _check_kind(kind, owner)
        self.teacher = teacher
        self.rampup = check_int(rampup, "rampup", owner, low=0)
        self.steps = 0
        self._iterator: Iterator | None = None

    def _next_batch(self) -> torch.Tensor:
        for _ in range(2):  # at most one restart: an empty iterable must not loop forever
            if self._iterator is None:
                self._iterator = iter(self.unlabeled)
            try:
                batch = next(self._iterator)
                return batch[0] if isinstance(batch, (tuple, list)) else batch
            except StopIteration:
                self._iterator = None
        raise ValueError(parameter_error("unlabeled", "ConsistencyPenalty", "a non-empty iterable of batches", "no batch"))

    def current_weight(self) -> float:
        """:math:`w(t)` at the current step."""
        if self.rampup == 0:
            return self.weight
        return self.weight * math.exp(-5.0 * (1.0 - min(self.steps / self.rampup, 1.0)) ** 2)

    def __call__(self, model: nn.Module) -> torch.Tensor:
        x = self._next_batch()
        loss = consistency_loss(model, x, self.augment, kind=self.kind, teacher=self.teacher)
        weight = self.current_weight()
        self.steps += 1
        return weight * loss

    def __repr__(self) -> str:
        return (f"ConsistencyPenalty(weight={self.weight}, kind={self.kind!r}, "
                f"teacher={type(self.teacher).__name__ if self.teacher is not None else None}, rampup={self.rampup})")
