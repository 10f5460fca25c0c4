"""Zoneout: a recurrent unit randomly keeps its previous hidden state instead of updating it.

Dropout on a recurrent state erases memory; zoneout instead *freezes* a random
subset of units for one step, so gradient and information flow through time
along the identity path. In evaluation each unit takes the expected update.

Paper:

- Krueger, Maharaj, Kramár, Pezeshki, Ballas, Ke, Goyal, Bengio, Courville,
  Pal. "Zoneout: regularizing RNNs by randomly preserving hidden
  activations." ICLR 2017.
"""

from __future__ import annotations

import torch
from torch import nn

from reglab._validation import check_bool, check_int, check_probability, check_tensor, parameter_error
from reglab.layers._base import _DropoutBase

__all__ = ["zoneout", "ZoneoutGRUCell"]


def zoneout(h_prev: torch.Tensor, h_new: torch.Tensor, p: float = 0.1, training: bool = True) -> torch.Tensor:
    """Mix the previous and the new hidden state unit by unit.

    .. math::
        h_t = d \\odot h_{t-1} + (1 - d) \\odot \\tilde h_t, \\quad d_i \\sim \\mathrm{Bernoulli}(p)
        \\text{ (training)}; \\qquad h_t = p\\, h_{t-1} + (1 - p)\\, \\tilde h_t \\text{ (evaluation)}

    Args:
        h_prev (Tensor): :math:`h_{t-1}`.
        h_new (Tensor): the cell's proposed update :math:`\\tilde h_t`, same shape.
        p (float): probability that a unit keeps its previous value, in [0, 1]. Default: 0.1.
        training (bool): random (True) or expected (False) mixing. Default: True.

    Shape:
        - Inputs: :math:`(N, H)` each. Output: :math:`(N, H)`.

    Example:
        >>> zoneout(torch.zeros(1, 2), torch.ones(1, 2), 0.25, training=False)
        tensor([[0.7500, 0.7500]])
    """
    p = check_probability(p, "p", "zoneout", allow_one=True)
    check_bool(training, "training", "zoneout")
    check_tensor(h_prev, "h_prev", "zoneout", floating=True)
    if h_prev.shape != h_new.shape:
        allowed = f"a tensor of the shape of h_prev, {tuple(h_prev.shape)}"
        raise ValueError(parameter_error("h_new", "zoneout", allowed, f"shape {tuple(h_new.shape)}"))
    if not training:
        return p * h_prev + (1.0 - p) * h_new
    keep_old = torch.empty_like(h_new).bernoulli_(p)  # (N, H): 1 = unit is frozen this step
    return keep_old * h_prev + (1.0 - keep_old) * h_new


class ZoneoutGRUCell(_DropoutBase):
    """A ``nn.GRUCell`` whose hidden units zone out with probability ``p``; see :func:`zoneout`.

    The wrapped cell is ``self.cell``; with ``p = 0`` the module is exactly
    that ``nn.GRUCell``.

    Args:
        input_size (int): features of :math:`x_t`.
        hidden_size (int): units of :math:`h_t`.
        p (float): zoneout probability, in [0, 1). Default: 0.1.

    Shape:
        - x: :math:`(N, \\text{input\\_size})`, h: :math:`(N, \\text{hidden\\_size})`.
        - Output: :math:`(N, \\text{hidden\\_size})`.

    Example:
        >>> cell = ZoneoutGRUCell(3, 5, p=0.2)
        >>> cell(torch.zeros(2, 3)).shape
        torch.Size([2, 5])
    """

    def __init__(self, input_size: int, hidden_size: int, p: float = 0.1) -> None:
        super().__init__(p)
        input_size = check_int(input_size, "input_size", "ZoneoutGRUCell", low=1)
        hidden_size = check_int(hidden_size, "hidden_size", "ZoneoutGRUCell", low=1)
        self.cell = nn.GRUCell(input_size, hidden_size)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        if h is None:
            h = x.new_zeros(x.shape[0], self.cell.hidden_size)  # (N, H)
        return zoneout(h, self.cell(x, h), self.p, self.training)
