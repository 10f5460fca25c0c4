"""One training loop for every chapter, with named hooks for regularizers.

A regularizer enters training at one of six places, and ``fit`` has a named
hook for each, so a chapter adds exactly one argument to turn one on:

==================  =============================================  ==========================
hook                when it runs                                   examples
==================  =============================================  ==========================
``batch_transform`` on each training batch before the forward pass augmentation, mixup, CutMix
``before_forward``  before the forward pass, on the model          weight noise (perturb)
``penalty``         added to the loss before ``backward``          L1, L2, consistency
``after_backward``  after ``backward``, before ``optimizer.step``  clipping, weight noise (restore)
``after_step``      after ``optimizer.step``                       max-norm, weight clipping, EMA
``callbacks``       at the end of each epoch (may stop training)   early stopping
==================  =============================================  ==========================

Each hook argument takes one callable or a list of them. A learning-rate
``scheduler`` from ``torch.optim.lr_scheduler`` is stepped after every
optimizer step or every epoch, and the learning rate of each step is recorded
in ``history.steps["lr"]``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from reglab._validation import check_bool, check_int, parameter_error
from reglab.train.history import History
from reglab.utils import max_steps

__all__ = ["fit", "evaluate", "Callback"]

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Metric = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class Callback(Protocol):
    """What ``fit`` calls at the end of each epoch and of training (both optional)."""

    def on_epoch_end(self, model: nn.Module, history: History) -> bool:
        """Return True to stop training."""
        ...

    def on_train_end(self, model: nn.Module, history: History) -> None: ...


def fit(
    model: nn.Module,
    train: Batches,
    val: Batches | None = None,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    loss_fn: LossFn = F.cross_entropy,
    metrics: Mapping[str, Metric] | None = None,
    penalty: Callable[[nn.Module], torch.Tensor] | Sequence[Callable] | None = None,
    batch_transform: Callable | Sequence[Callable] | None = None,
    before_forward: Callable[[nn.Module], Any] | Sequence[Callable] | None = None,
    after_backward: Callable[[nn.Module], Any] | Sequence[Callable] | None = None,
    after_step: Callable[[nn.Module], Any] | Sequence[Callable] | None = None,
    callbacks: Sequence[Callback] = (),
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    scheduler_interval: str = "epoch",
    progress: bool = True,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``train``; return its :class:`History`.

    Each step minimizes

    .. math::
        \\mathcal{L}(\\theta) = \\frac{1}{B} \\sum_{i \\in \\text{batch}}
        \\ell(f_\\theta(x_i), y_i) + \\sum_j \\Omega_j(\\theta)

    where :math:`\\Omega_j` are the ``penalty`` hooks. The recorded
    ``train_loss`` is the data term alone, averaged over the epoch's samples
    (as the model changes during the epoch), so it compares with ``val_loss``.

    With the environment variable ``REGLAB_MAX_STEPS`` set (only the test
    suite's full-scale smoke run sets it), training stops after that many
    optimizer steps, and each validation after that many batches; see
    :func:`reglab.utils.capped`.

    Batches are moved to the model's device (a no-op for a
    :class:`~reglab.data.DeviceLoader` already there). Metric and loss sums stay
    on the device; the host reads them once per epoch.

    Args:
        model (nn.Module): the model; trained in place.
        train (iterable of (x, y)): training batches, re-iterated every epoch.
        val (iterable of (x, y), optional): validation batches, evaluated after
            each epoch in eval mode.
        epochs (int): maximum number of epochs, at least 1.
        optimizer (torch.optim.Optimizer): over ``model``'s parameters.
        loss_fn (callable): ``loss_fn(output, target)`` with mean reduction.
            Default: ``F.cross_entropy`` (accepts class indices or soft targets).
        metrics (mapping of str to callable, optional): e.g.
            ``{"accuracy": reglab.metrics.accuracy}``; each is logged as
            ``train_<name>`` and ``val_<name>``.
        penalty: ``penalty(model) -> scalar tensor`` added to the loss.
        batch_transform: ``batch_transform(x, y) -> (x, y)`` on training batches.
        before_forward: ``hook(model)`` before each training forward pass.
        after_backward: ``hook(model)`` after ``backward``; a returned scalar
            tensor is recorded per step in ``history.steps[hook.__name__]``.
        after_step: ``hook(model)`` after ``optimizer.step()``.
        callbacks (sequence): objects with ``on_epoch_end(model, history)``
            (returning True stops training) and/or ``on_train_end``.
        scheduler (LRScheduler, optional): a ``torch.optim.lr_scheduler``
            built on ``optimizer``.
        scheduler_interval (str): ``"step"`` to step it after every optimizer
            step (``OneCycleLR``, warm-up), ``"epoch"`` after every epoch
            (``StepLR``, ``CosineAnnealingLR`` counted in epochs). Default: "epoch".
        progress (bool): show a progress bar over epochs. Default: True.

    Returns:
        History: the per-epoch metrics (and per-step hook values).
    """
    owner = "fit"
    if not isinstance(model, nn.Module):
        raise TypeError(parameter_error("model", owner, "an nn.Module", type(model).__name__))
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(parameter_error("optimizer", owner, "a torch.optim.Optimizer", type(optimizer).__name__))
    epochs = check_int(epochs, "epochs", owner, low=1)
    check_bool(progress, "progress", owner)
    metrics = _check_metrics(metrics, owner)
    penalties = _as_hooks(penalty, "penalty")
    transforms = _as_hooks(batch_transform, "batch_transform")
    backward_hooks = _as_hooks(after_backward, "after_backward")
    step_hooks = _as_hooks(after_step, "after_step")
    forward_hooks = _as_hooks(before_forward, "before_forward")
    for callback in callbacks:
        if not (hasattr(callback, "on_epoch_end") or hasattr(callback, "on_train_end")):
            raise TypeError(parameter_error("callbacks", owner, "objects with on_epoch_end or on_train_end", callback))
    if scheduler is not None and not isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler):
        raise TypeError(parameter_error("scheduler", owner, "a torch.optim.lr_scheduler.LRScheduler or None", type(scheduler).__name__))
    if scheduler_interval not in ("step", "epoch"):
        raise ValueError(parameter_error("scheduler_interval", owner, "'step' or 'epoch'", scheduler_interval))

    device = _device_of(model)
    history = History()
    learning_rates: list[float] = []
    step_cap = max_steps()  # set only by the test suite's full-scale smoke run
    bar = tqdm(range(epochs), desc="epochs", disable=not progress, leave=False)
    for _ in bar:
        start = time.perf_counter()
        model.train()
        totals = _Totals(metrics, device)
        for x, y in train:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            for transform in transforms:
                x, y = transform(x, y)
            for hook in forward_hooks:
                hook(model)
            output = model(x)
            loss = loss_fn(output, y)
            objective = loss
            for term in penalties:
                objective = objective + term(model)
            optimizer.zero_grad(set_to_none=True)
            objective.backward()
            for hook in backward_hooks:
                _record_step(history, hook, hook(model))
            learning_rates.append(optimizer.param_groups[0]["lr"])  # a Python float: no device sync
            optimizer.step()
            for hook in step_hooks:
                hook(model)
            if scheduler is not None and scheduler_interval == "step":
                scheduler.step()
            totals.add(loss.detach(), output.detach(), y)
            if step_cap is not None and len(learning_rates) >= step_cap:
                break
        if totals.count == 0:
            raise ValueError(parameter_error("train", owner, "a non-empty iterable of (x, y) batches", "no batch"))
        if scheduler is not None and scheduler_interval == "epoch":
            scheduler.step()
        record = totals.means(prefix="train_")
        if val is not None:
            record.update({f"val_{k}": v for k, v in evaluate(model, val, loss_fn=loss_fn, metrics=metrics).items()})
        record["seconds"] = time.perf_counter() - start
        history.log_epoch(**record)
        bar.set_postfix({k: f"{v:.3g}" for k, v in record.items() if k.endswith("loss")})
        if any(getattr(c, "on_epoch_end", None) and c.on_epoch_end(model, history) for c in callbacks):
            history.stopped_early = True
            break
        if step_cap is not None and len(learning_rates) >= step_cap:
            break
    for callback in callbacks:
        if hasattr(callback, "on_train_end"):
            callback.on_train_end(model, history)
    history.steps = {name: torch.stack(values).tolist() for name, values in history.steps.items()}
    history.steps["lr"] = learning_rates
    return history


@torch.no_grad()
def evaluate(
    model: nn.Module,
    batches: Batches,
    *,
    loss_fn: LossFn = F.cross_entropy,
    metrics: Mapping[str, Metric] | None = None,
) -> dict[str, float]:
    """Mean loss and metrics of ``model`` over ``batches``, in eval mode.

    The model's train/eval mode is restored afterwards. With
    ``REGLAB_MAX_STEPS`` set (the test suite's full-scale smoke run), only
    that many batches are evaluated.

    Returns:
        dict: ``{"loss": ..., "<metric>": ...}``, each averaged over samples.

    Example:
        >>> model = torch.nn.Linear(2, 2)
        >>> out = evaluate(model, [(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long))])
        >>> sorted(out)
        ['loss']
    """
    if not isinstance(model, nn.Module):
        raise TypeError(parameter_error("model", "evaluate", "an nn.Module", type(model).__name__))
    metrics = _check_metrics(metrics, "evaluate")
    device = _device_of(model)
    was_training = model.training
    model.eval()
    try:
        totals = _Totals(metrics, device)
        batch_cap = max_steps()  # the smoke run evaluates a few batches, not a whole split
        for index, (x, y) in enumerate(batches, start=1):
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            output = model(x)
            totals.add(loss_fn(output, y), output, y)
            if batch_cap is not None and index >= batch_cap:
                break
        if totals.count == 0:
            raise ValueError(parameter_error("batches", "evaluate", "a non-empty iterable of (x, y) batches", "no batch"))
        return totals.means()
    finally:
        model.train(was_training)


class _Totals:
    """Sample-weighted sums of the loss and metrics, kept on the device."""

    def __init__(self, metrics: Mapping[str, Metric], device: torch.device) -> None:
        self.metrics = metrics
        self.sums = {name: torch.zeros((), device=device) for name in ["loss", *metrics]}
        self.count = 0

    def add(self, loss: torch.Tensor, output: torch.Tensor, target: torch.Tensor) -> None:
        n = len(output)
        self.sums["loss"] += loss * n
        for name, metric in self.metrics.items():
            self.sums[name] += metric(output, target) * n
        self.count += n

    def means(self, prefix: str = "") -> dict[str, float]:
        values = (torch.stack(list(self.sums.values())) / self.count).tolist()  # one host read
        return {f"{prefix}{name}": value for name, value in zip(self.sums, values)}


def _device_of(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def _as_hooks(hooks: Callable | Sequence[Callable] | None, name: str) -> list[Callable]:
    if hooks is None:
        return []
    hooks = [hooks] if callable(hooks) else list(hooks)
    for hook in hooks:
        if not callable(hook):
            raise TypeError(parameter_error(name, "fit", "a callable, a list of callables or None", hook))
    return hooks


def _check_metrics(metrics: Mapping[str, Metric] | None, owner: str) -> dict[str, Metric]:
    if metrics is None:
        return {}
    if not isinstance(metrics, Mapping) or not all(isinstance(k, str) and callable(v) for k, v in metrics.items()):
        raise TypeError(parameter_error("metrics", owner, "a mapping of names to callables", metrics))
    if "loss" in metrics:
        raise ValueError(parameter_error("metrics", owner, "names other than 'loss' (always recorded)", list(metrics)))
    return dict(metrics)


def _record_step(history: History, hook: Callable, value: Any) -> None:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        name = getattr(hook, "__name__", type(hook).__name__)
        history.steps.setdefault(name, []).append(value.detach().reshape(()).float())
