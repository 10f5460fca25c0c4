"""Synthetic sequences for the recurrent-network experiments, drawn from an explicit generator."""

from __future__ import annotations

import math

import torch

from reglab._validation import check_int, check_real

__all__ = ["make_sine_sequences"]


def make_sine_sequences(
    n_samples: int,
    length: int,
    *,
    noise: float = 0.1,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy sums of two sines, and the task of predicting each next value.

    Each sequence is

    .. math::
        s_t = \\tfrac12 \\big(\\sin(2\\pi f_1 t + \\varphi_1) + \\sin(2\\pi f_2 t + \\varphi_2)\\big)
        + \\sigma \\varepsilon_t, \\qquad t = 0, \\dots, T,

    with frequencies :math:`f_k \\sim U(0.05, 0.3)` (cycles per step), phases
    :math:`\\varphi_k \\sim U(0, 2\\pi)` and :math:`\\varepsilon_t \\sim N(0, 1)`, all
    independent. The input is :math:`(s_0, \\dots, s_{T-1})`, the target
    :math:`(s_1, \\dots, s_T)`: a model must infer the frequencies and phases
    from the past to predict the next value. The noise sets the floor of the
    mean squared error, :math:`\\sigma^2`; predicting 0 gives about
    :math:`1/4 + \\sigma^2`.

    Args:
        n_samples (int): number of sequences, at least 1.
        length (int): :math:`T`, steps per sequence, at least 1.
        noise (float): :math:`\\sigma \\ge 0`. Default: 0.1.
        generator (torch.Generator, optional): source of randomness.

    Shape:
        - Returns ``x`` and ``y``, each :math:`(N, T, 1)`, with ``y[:, t] == x[:, t + 1]``.

    Example:
        >>> x, y = make_sine_sequences(3, 50, generator=torch.Generator().manual_seed(0))
        >>> x.shape, bool(torch.equal(x[:, 1:], y[:, :-1]))
        (torch.Size([3, 50, 1]), True)
    """
    owner = "make_sine_sequences"
    n_samples = check_int(n_samples, "n_samples", owner, low=1)
    length = check_int(length, "length", owner, low=1)
    noise = check_real(noise, "noise", owner, low=0.0)
    t = torch.arange(length + 1, dtype=torch.float32)  # (T+1,)
    frequency = 0.05 + 0.25 * torch.rand(n_samples, 2, 1, generator=generator)  # (N, 2, 1)
    phase = 2 * math.pi * torch.rand(n_samples, 2, 1, generator=generator)  # (N, 2, 1)
    clean = torch.sin(2 * math.pi * frequency * t + phase).mean(dim=1)  # (N, T+1)
    s = clean + noise * torch.randn(n_samples, length + 1, generator=generator)  # (N, T+1)
    return s[:, :-1, None], s[:, 1:, None]  # (N, T, 1) each
