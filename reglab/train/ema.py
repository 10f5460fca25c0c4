"""An exponential moving average of a model's weights: the mean teacher.

Papers:

- Polyak & Juditsky, "Acceleration of stochastic approximation by averaging"
  (SIAM Journal on Control and Optimization, 1992): averaging the iterates of
  SGD.
- Tarvainen & Valpola, "Mean teachers are better role models" (NIPS, 2017):
  the moving average as the teacher of consistency regularization, with the
  decay ramped up as :math:`\\alpha_t = \\min(1 - 1/(t + 1), \\alpha)`.

After each optimizer step (``fit(..., after_step=ema.update)``) the averaged
copy moves a fraction :math:`1 - \\alpha` of the way towards the model:

.. math::
    \\bar\\theta_t = \\alpha \\bar\\theta_{t-1} + (1 - \\alpha)\\, \\theta_t
    = \\alpha^t \\bar\\theta_0 + (1 - \\alpha) \\sum_{s=1}^{t} \\alpha^{t-s} \\theta_s
"""

from __future__ import annotations

import copy
import itertools

import torch
from torch import nn

from reglab._validation import check_bool, check_probability, parameter_error

__all__ = ["EMA"]


def _layout(module: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    """The name and shape of every parameter, then of every buffer, in the order ``update`` pairs them."""
    tensors = itertools.chain(module.named_parameters(), module.named_buffers())
    return [(name, tuple(t.shape)) for name, t in tensors]


def _check_same_layout(model: object, average: nn.Module, owner: str) -> None:
    """Refuse a ``model`` whose parameters or buffers differ in name or shape from ``average``'s."""
    if not isinstance(model, nn.Module):
        raise TypeError(parameter_error("model", owner, "an nn.Module", type(model).__name__))
    expected, got = _layout(average), _layout(model)
    if got == expected:
        return
    first_e, first_g = next((e, g) for e, g in itertools.zip_longest(expected, got) if e != g)  # None past the end

    def describe(entry: tuple[str, tuple[int, ...]] | None) -> str:
        return "no further tensor" if entry is None else f"{entry[0]} of shape {entry[1]}"

    allowed = f"a model with the parameter and buffer names and shapes of the EMA's copy, here {describe(first_e)}"
    raise ValueError(parameter_error("model", owner, allowed, describe(first_g)))


class EMA(nn.Module):
    """A frozen copy of ``model`` whose weights track their exponential moving average.

    .. math::
        \\bar\\theta \\leftarrow \\alpha_t \\bar\\theta + (1 - \\alpha_t)\\, \\theta, \\qquad
        \\alpha_t = \\begin{cases} \\min\\big(1 - \\tfrac{1}{t + 1}, \\alpha\\big) & \\text{warmup} \\\\
        \\alpha & \\text{otherwise} \\end{cases}

    where :math:`t` counts earlier updates. With ``warmup`` the first updates
    average the snapshots equally (the first one copies the model), so the
    average does not remember the random initialization for long. Buffers
    (batch norm's running statistics) are copied, not averaged. Calling the
    module calls the averaged copy.

    Args:
        model (nn.Module): the model to track; copied at construction.
        decay (float): :math:`\\alpha`, in [0, 1). Default: 0.99.
        warmup (bool): ramp the decay up as in the mean teacher. Default: False.

    Shape:
        - Input and output: those of ``model``.

    Example:
        >>> student = nn.Linear(1, 1, bias=False)
        >>> _ = student.weight.data.fill_(0.0)
        >>> teacher = EMA(student, decay=0.9)
        >>> _ = student.weight.data.fill_(1.0)
        >>> teacher.update(student)
        >>> round(teacher.module.weight.item(), 4)  # 0.9 * 0 + 0.1 * 1
        0.1
    """

    def __init__(self, model: nn.Module, decay: float = 0.99, *, warmup: bool = False) -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(parameter_error("model", "EMA", "an nn.Module", type(model).__name__))
        self.decay = check_probability(decay, "decay", "EMA")
        self.warmup = check_bool(warmup, "warmup", "EMA")
        self.module = copy.deepcopy(model)
        self.module.requires_grad_(False)
        device = next(model.parameters(), torch.empty(0)).device
        self.register_buffer("num_updates", torch.zeros((), dtype=torch.long, device=device))

    def _decay(self) -> torch.Tensor | float:
        if not self.warmup:
            return self.decay
        ramp = 1.0 - 1.0 / (self.num_updates + 1.0)  # 0, 1/2, 2/3, ...: a tensor, no host read
        return torch.clamp(ramp, max=self.decay)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average one step towards ``model`` (an ``after_step`` hook).

        ``model`` must have the averaged copy's parameters and buffers: the same names and shapes.
        """
        _check_same_layout(model, self.module, "EMA.update")
        decay = self._decay()
        for average, current in zip(self.module.parameters(), model.parameters()):
            average.mul_(decay).add_((1.0 - decay) * current.detach())
        for average, current in zip(self.module.buffers(), model.buffers()):
            average.copy_(current)
        self.num_updates += 1

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def extra_repr(self) -> str:
        return f"decay={self.decay}, warmup={self.warmup}"
