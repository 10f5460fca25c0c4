"""A tiny tanh recurrent network, the setting where gradient clipping was introduced.

Papers:

- Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural networks"
  (ICML, 2013): exploding gradients in RNNs, and clipping the gradient's norm.
- Saxe, McClelland & Ganguli, "Exact solutions to the nonlinear dynamics of learning in
  deep linear neural networks" (ICLR, 2014): (scaled) orthogonal initialization.
"""

from __future__ import annotations

import torch
from torch import nn

from reglab._validation import check_int, check_real

__all__ = ["TanhRNN"]


class TanhRNN(nn.Module):
    """One-layer Elman RNN with a tanh non-linearity and a linear read-out at every step.

    .. math::
        h_t = \\tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}), \\quad h_0 = 0,
        \\qquad \\hat y_t = W_{o} h_t + b_o

    :math:`W_{hh}` starts as ``spectral_radius`` times a random orthogonal
    matrix, so every eigenvalue of it has modulus ``spectral_radius``: above 1
    the linearized dynamics expand, and backpropagation through time can
    multiply the gradient by a large factor per step (exploding gradients).
    The other weights keep PyTorch's default initialization.

    Args:
        input_size (int): features per time step, at least 1.
        hidden_size (int): units of the hidden state, at least 1.
        output_size (int): outputs per time step, at least 1.
        spectral_radius (float): :math:`\\rho(W_{hh})` at initialization, > 0.
            Default: 1.

    Shape:
        - Input: :math:`(N, T, \\text{input\\_size})` (batch first).
        - Output: :math:`(N, T, \\text{output\\_size})`, one prediction per step.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> model = TanhRNN(1, 8, 1, spectral_radius=1.2)
        >>> model(torch.zeros(4, 50, 1)).shape
        torch.Size([4, 50, 1])
        >>> round(torch.linalg.eigvals(model.rnn.weight_hh_l0).abs().max().item(), 4)
        1.2
    """

    def __init__(
        self, input_size: int, hidden_size: int, output_size: int, *, spectral_radius: float = 1.0
    ) -> None:
        owner = "TanhRNN"
        input_size = check_int(input_size, "input_size", owner, low=1)
        hidden_size = check_int(hidden_size, "hidden_size", owner, low=1)
        output_size = check_int(output_size, "output_size", owner, low=1)
        self.spectral_radius = check_real(spectral_radius, "spectral_radius", owner, low=0.0, low_open=True)
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size, nonlinearity="tanh", batch_first=True)
        with torch.no_grad():
            nn.init.orthogonal_(self.rnn.weight_hh_l0, gain=self.spectral_radius)
        self.readout = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.rnn(x)  # (N, T, hidden_size)
        return self.readout(hidden)  # (N, T, output_size)

    def extra_repr(self) -> str:
        return f"spectral_radius={self.spectral_radius:g}"
