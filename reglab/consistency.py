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
- Lee, "Pseudo-label: the simple and efficient semi-supervised learning
  method for deep neural networks" (ICML workshop, 2013): the model's own
  most probable class as a hard target.
- Sohn, Berthelot, Li, Zhang, Carlini, Cubuk, Kurakin, Zhang & Raffel,
  "FixMatch: simplifying semi-supervised learning with consistency and
  confidence" (NeurIPS, 2020): the pseudo-label of a weakly augmented view,
  kept only above a confidence threshold, is the target for a strongly
  augmented view.

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

__all__ = ["consistency_loss", "ConsistencyPenalty", "pseudo_label_loss", "PseudoLabelPenalty"]

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


def _next_unlabeled(penalty, owner: str):
    """The next batch of ``penalty.unlabeled``, restarting it when it runs out (``penalty._iterator`` holds the place)."""
    for _ in range(2):  # at most one restart: an empty iterable must not loop forever
        if penalty._iterator is None:
            penalty._iterator = iter(penalty.unlabeled)
        try:
            return next(penalty._iterator)
        except StopIteration:
            penalty._iterator = None
    raise ValueError(parameter_error("unlabeled", owner, "a non-empty iterable of batches", "no batch"))


def _ramped(weight: float, steps: int, rampup: int) -> float:
    """``weight`` ramped up over ``rampup`` steps: :math:`w \\exp(-5 (1 - \\min(t / T, 1))^2)`, ``weight`` if T = 0."""
    if rampup == 0:
        return weight
    return weight * math.exp(-5.0 * (1.0 - min(steps / rampup, 1.0)) ** 2)


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
        batch = _next_unlabeled(self, "ConsistencyPenalty")
        return batch[0] if isinstance(batch, (tuple, list)) else batch

    def current_weight(self) -> float:
        """:math:`w(t)` at the current step."""
        return _ramped(self.weight, self.steps, self.rampup)

    def __call__(self, model: nn.Module) -> torch.Tensor:
        x = self._next_batch()
        loss = consistency_loss(model, x, self.augment, kind=self.kind, teacher=self.teacher)
        weight = self.current_weight()
        self.steps += 1
        return weight * loss

    def __repr__(self) -> str:
        return (f"ConsistencyPenalty(weight={self.weight}, kind={self.kind!r}, "
                f"teacher={type(self.teacher).__name__ if self.teacher is not None else None}, rampup={self.rampup})")


def pseudo_label_loss(
    logits_strong: torch.Tensor,
    logits_weak: torch.Tensor,
    threshold: float = 0.95,
) -> torch.Tensor:
    """FixMatch's confidence-masked pseudo-label loss, from the logits of two views.

    With :math:`q_i = \\mathrm{softmax}(z^{w}_i)` from the weakly augmented
    view (held constant) and :math:`\\hat y_i = \\arg\\max_c q_{ic}`,

    .. math::
        \\frac{1}{N}\\sum_{i=1}^{N} \\mathbb 1\\big[\\max_c q_{ic} \\ge \\tau\\big]\\,
        \\mathrm{CE}\\big(z^{s}_i, \\hat y_i\\big)

    The mean runs over *all* :math:`N` unlabeled inputs, confident or not, as
    in FixMatch: while few predictions pass the threshold the term is small.
    No gradient flows through ``logits_weak``.

    Args:
        logits_strong (Tensor): the model's logits on the strongly augmented views.
        logits_weak (Tensor): logits on the weakly augmented views of the same inputs.
        threshold (float): :math:`\\tau`, in [0, 1]. Default: 0.95 (FixMatch's).

    Shape:
        - logits_strong, logits_weak: :math:`(N, C)`; output: a scalar.

    Example:
        >>> weak = torch.tensor([[4.0, 0.0], [0.0, 0.1]])  # confident (0.98), unsure (0.52)
        >>> round(pseudo_label_loss(torch.zeros(2, 2), weak, 0.95).item(), 4)  # (log 2 + 0) / 2
        0.3466
    """
    owner = "pseudo_label_loss"
    check_tensor(logits_strong, "logits_strong", owner, ndim=2, floating=True)
    check_tensor(logits_weak, "logits_weak", owner, ndim=2, floating=True)
    if logits_strong.shape != logits_weak.shape:
        raise ValueError(parameter_error("logits_weak", owner, f"a tensor of the shape of logits_strong "
                                         f"{tuple(logits_strong.shape)}", f"shape {tuple(logits_weak.shape)}"))
    threshold = check_real(threshold, "threshold", owner, low=0.0, high=1.0)
    confidence, targets = logits_weak.detach().softmax(dim=1).max(dim=1)  # (N,), (N,)
    mask = (confidence >= threshold).to(logits_strong.dtype)  # (N,)
    return (F.cross_entropy(logits_strong, targets, reduction="none") * mask).mean()


class PseudoLabelPenalty:
    """A ``fit(..., penalty=...)`` hook: FixMatch's pseudo-label loss on the next unlabeled batch.

    Each call draws the next batch from ``unlabeled``, computes the logits of
    ``weak(x)`` without gradient (with ``teacher`` if given, else the model)
    and of ``strong(x)`` with the model, and returns :math:`\\lambda(t)` times
    :func:`pseudo_label_loss`, with the Gaussian ramp-up of
    :class:`ConsistencyPenalty` over the first ``rampup`` steps.

    It also records, per call, the fraction of the batch above the threshold
    and, when the batches carry labels (``(x, y)`` pairs), the accuracy of
    the pseudo-labels that passed. Those labels are used for nothing else: they
    are there to watch the method, as FixMatch's paper does. The records stay
    on the device until :meth:`log` reads them.

    Args:
        unlabeled (iterable): batches ``x`` or ``(x, y)``, such as a
            :class:`~reglab.data.DeviceLoader`; iterated again after each pass.
        weak (callable): ``weak(x) -> x``, the weak augmentation.
        strong (callable): ``strong(x) -> x``, the strong augmentation.
        weight (float): :math:`\\lambda`, >= 0. Default: 1 (FixMatch's).
        threshold (float): :math:`\\tau`, in [0, 1]. Default: 0.95.
        teacher (nn.Module, optional): gives the pseudo-labels. Default: the model.
        rampup (int): steps of the ramp-up, >= 0. Default: 0 (as FixMatch).

    Example:
        >>> penalty = PseudoLabelPenalty([torch.randn(4, 2)], lambda x: x, lambda x: x, threshold=1.0)
        >>> penalty(nn.Linear(2, 3)).item()  # no prediction is that confident
        0.0
    """

    def __init__(
        self,
        unlabeled: Iterable,
        weak: Callable[[torch.Tensor], torch.Tensor],
        strong: Callable[[torch.Tensor], torch.Tensor],
        *,
        weight: float = 1.0,
        threshold: float = 0.95,
        teacher: nn.Module | None = None,
        rampup: int = 0,
    ) -> None:
        owner = "PseudoLabelPenalty"
        if not isinstance(unlabeled, Iterable):
            raise TypeError(parameter_error("unlabeled", owner, "an iterable of batches", type(unlabeled).__name__))
        for name, value in (("weak", weak), ("strong", strong)):
            if not callable(value):
                raise TypeError(parameter_error(name, owner, "a callable", value))
        if teacher is not None and not isinstance(teacher, nn.Module):
            raise TypeError(parameter_error("teacher", owner, "an nn.Module or None", type(teacher).__name__))
        self.unlabeled = unlabeled
        self.weak, self.strong = weak, strong
        self.weight = check_real(weight, "weight", owner, low=0.0)
        self.threshold = check_real(threshold, "threshold", owner, low=0.0, high=1.0)
        self.teacher = teacher
        self.rampup = check_int(rampup, "rampup", owner, low=0)
        self.steps = 0
        self._iterator: Iterator | None = None
        self._mask_rates: list[torch.Tensor] = []
        self._correct: list[torch.Tensor] = []  # (2,) per call: right pseudo-labels, pseudo-labels

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        batch = _next_unlabeled(self, "PseudoLabelPenalty")
        if isinstance(batch, (tuple, list)):
            return batch[0], (batch[1] if len(batch) > 1 else None)
        return batch, None

    def current_weight(self) -> float:
        """:math:`\\lambda(t)` at the current step."""
        return _ramped(self.weight, self.steps, self.rampup)

    def __call__(self, model: nn.Module) -> torch.Tensor:
        x, y = self._next_batch()
        with torch.no_grad():
            logits_weak = (self.teacher if self.teacher is not None else model)(self.weak(x))  # (N, C)
            confidence, guess = logits_weak.softmax(dim=1).max(dim=1)  # (N,), (N,)
            passed = confidence >= self.threshold  # (N,)
            self._mask_rates.append(passed.float().mean())
            if y is not None:
                self._correct.append(torch.stack([(passed & (guess == y)).sum(), passed.sum()]))  # (2,)
        loss = pseudo_label_loss(model(self.strong(x)), logits_weak, self.threshold)
        weight = self.current_weight()
        self.steps += 1
        return weight * loss

    def log(self) -> dict[str, list[float]]:
        """Per call: ``"mask_rate"`` (fraction above the threshold) and, with labels,
        ``"pseudo_accuracy"`` (right among those above it; NaN where none was)."""
        out: dict[str, list[float]] = {"mask_rate": torch.stack(self._mask_rates).tolist() if self._mask_rates else []}
        if self._correct:
            counts = torch.stack(self._correct).double()  # (steps, 2)
            out["pseudo_accuracy"] = (counts[:, 0] / counts[:, 1]).tolist()  # 0/0 -> NaN
        return out

    def __repr__(self) -> str:
        return (f"PseudoLabelPenalty(weight={self.weight}, threshold={self.threshold}, "
                f"teacher={type(self.teacher).__name__ if self.teacher is not None else None}, rampup={self.rampup})")
