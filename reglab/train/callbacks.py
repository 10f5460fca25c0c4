"""Callbacks for :func:`reglab.train.fit`: early stopping.

Papers:

- Prechelt, "Early stopping — but when?" (Neural Networks: Tricks of the Trade, 1998):
  stopping criteria and their cost.
- Bishop, "Regularization and complexity control in feed-forward networks" (ICANN, 1995),
  and Goodfellow, Bengio & Courville, *Deep Learning* (2016), section 7.8: early
  stopping as an L2 penalty on a quadratic loss.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from reglab._validation import check_bool, check_int, check_real, parameter_error
from reglab.train.history import History

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """Stop training when a monitored metric has not improved for ``patience`` epochs; restore the best weights.

    An epoch *improves* when its value beats the best so far by more than
    ``min_delta``:

    .. math::
        v_t < v_{\\text{best}} - \\delta \\ \\ (\\text{mode} = \\text{min}), \\qquad
        v_t > v_{\\text{best}} + \\delta \\ \\ (\\text{mode} = \\text{max})

    Training stops at the end of the first epoch that is ``patience`` epochs
    after the last improvement. With ``restore_best=True`` a copy of the
    model's ``state_dict`` (parameters and buffers, such as batch norm's
    running statistics) is taken at each improvement, on the model's own
    device, and loaded back when training ends, whether it stopped early or
    ran out of epochs. ``history.stop_reason`` is set to a sentence saying why
    training ended. A NaN value never counts as an improvement.

    Args:
        monitor (str): a key of the :class:`~reglab.train.History`, such as
            ``"val_loss"`` or ``"val_accuracy"``. Default: ``"val_loss"``.
        mode (str): ``"min"`` (lower is better) or ``"max"``. Default: ``"min"``.
        patience (int): epochs without improvement before stopping, >= 1.
            Default: 10.
        min_delta (float): an improvement must beat the best value by more
            than this, >= 0. Default: 0.
        restore_best (bool): load the best epoch's weights at the end of
            training. Default: True.

    Attributes:
        best_epoch (int or None): index (from 0) of the best epoch so far.
        best_value (float): the monitored value at ``best_epoch``.
        stopped_epoch (int or None): index of the epoch after which training
            stopped, None if it ran all its epochs.

    Example:
        >>> stopper = EarlyStopping(patience=2)
        >>> history, model = History(), nn.Linear(1, 1)
        >>> for value in [1.0, 0.5, 0.6, 0.7, 0.4]:
        ...     history.log_epoch(val_loss=value)
        ...     if stopper.on_epoch_end(model, history):
        ...         break
        >>> history.epochs, stopper.best_epoch, stopper.stopped_epoch
        (4, 1, 3)
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        *,
        mode: str = "min",
        patience: int = 10,
        min_delta: float = 0.0,
        restore_best: bool = True,
    ) -> None:
        owner = "EarlyStopping"
        if not isinstance(monitor, str):
            raise TypeError(parameter_error("monitor", owner, "a str naming a History key", monitor))
        if mode not in ("min", "max"):
            raise ValueError(parameter_error("mode", owner, "'min' or 'max'", mode))
        self.monitor = monitor
        self.mode = mode
        self.patience = check_int(patience, "patience", owner, low=1)
        self.min_delta = check_real(min_delta, "min_delta", owner, low=0.0)
        self.restore_best = check_bool(restore_best, "restore_best", owner)
        self._reset()

    def _reset(self) -> None:
        self.best_epoch: int | None = None
        self.best_value = math.inf if self.mode == "min" else -math.inf
        self.stopped_epoch: int | None = None
        self._best_state: dict[str, torch.Tensor] | None = None

    def _improves(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best_value - self.min_delta
        return value > self.best_value + self.min_delta

    def on_epoch_end(self, model: nn.Module, history: History) -> bool:
        """Record the epoch's value; snapshot the weights if it improved; return True to stop."""
        values = history[self.monitor]
        epoch = len(values) - 1
        if epoch == 0:  # a new run: forget the last one
            self._reset()
        if self._improves(values[-1]):
            self.best_epoch, self.best_value = epoch, values[-1]
            if self.restore_best:  # a copy on the model's device: no host round trip
                self._best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if self.best_epoch is not None and epoch - self.best_epoch >= self.patience:
            self.stopped_epoch = epoch
            return True
        if self.best_epoch is None and epoch + 1 >= self.patience:  # never a finite value
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, model: nn.Module, history: History) -> None:
        """Load the best epoch's weights back (if ``restore_best``) and set ``history.stop_reason``."""
        if self.stopped_epoch is not None:
            reason = (
                f"stopped after epoch {self.stopped_epoch + 1}: {self.monitor} did not improve"
                f" by more than {self.min_delta:g} for {self.patience} epochs"
            )
        else:
            reason = "ran all its epochs"
        if self.best_epoch is None:
            reason += f"; {self.monitor} was never finite, so no weights were restored"
        else:
            reason += f"; best {self.monitor} = {self.best_value:.4g} at epoch {self.best_epoch + 1}"
            if self.restore_best and self._best_state is not None:
                model.load_state_dict(self._best_state)
                reason += ", whose weights were restored"
        history.stop_reason = reason

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(monitor={self.monitor!r}, mode={self.mode!r}, patience={self.patience}, "
            f"min_delta={self.min_delta:g}, restore_best={self.restore_best})"
        )
