"""The tiny tanh RNN and the sine-sequence task of chapter 7, against hand-written references."""

import math

import pytest
import torch

from reglab.data.sequences import make_sine_sequences
from reglab.models.rnn import TanhRNN


def test_tanh_rnn_computes_the_elman_recurrence_by_hand(device):
    torch.manual_seed(0)
    model = TanhRNN(3, 5, 2, spectral_radius=1.3).to(device)
    x = torch.randn(4, 7, 3, device=device)  # (N, T, input)
    rnn = model.rnn
    h = torch.zeros(4, 5, device=device)
    outputs = []
    for t in range(7):
        h = torch.tanh(
            x[:, t] @ rnn.weight_ih_l0.T + rnn.bias_ih_l0 + h @ rnn.weight_hh_l0.T + rnn.bias_hh_l0
        )
        outputs.append(h @ model.readout.weight.T + model.readout.bias)  # (N, output)
    torch.testing.assert_close(model(x), torch.stack(outputs, dim=1))


@pytest.mark.parametrize("radius", [0.5, 1.0, 1.2, 2.0])
def test_recurrent_matrix_starts_scaled_orthogonal(radius):
    torch.manual_seed(1)
    w = TanhRNN(1, 16, 1, spectral_radius=radius).rnn.weight_hh_l0.detach().double()
    # W / radius is orthogonal, so every eigenvalue (and singular value) has modulus radius
    torch.testing.assert_close(
        w @ w.T / radius**2, torch.eye(16, dtype=torch.double), atol=1e-5, rtol=0
    )  # float32 weights
    eigenvalues = torch.linalg.eigvals(w).abs()
    torch.testing.assert_close(
        eigenvalues, torch.full((16,), radius, dtype=torch.double), atol=1e-5, rtol=1e-5
    )


def test_tanh_rnn_rejects_bad_arguments():
    with pytest.raises(ValueError, match="spectral_radius"):
        TanhRNN(1, 4, 1, spectral_radius=0.0)
    with pytest.raises(TypeError, match="hidden_size"):
        TanhRNN(1, 4.0, 1)
    with pytest.raises(ValueError, match="input_size"):
        TanhRNN(0, 4, 1)
    assert "spectral_radius=1.2" in repr(TanhRNN(1, 4, 1, spectral_radius=1.2))


def test_sine_sequences_shift_and_statistics():
    x, y = make_sine_sequences(4000, 40, noise=0.1, generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4000, 40, 1)
    torch.testing.assert_close(x[:, 1:], y[:, :-1])  # the target is the next input
    # mean of two independent unit sines with uniform phase: mean 0, variance 1/4; plus noise
    assert abs(y.mean().item()) < 0.01
    assert y.var().item() == pytest.approx(0.25 + 0.01, rel=0.03)


def test_sine_sequences_without_noise_follow_the_sines_exactly():
    g = torch.Generator().manual_seed(3)
    x, y = make_sine_sequences(2, 30, noise=0.0, generator=g)
    g = torch.Generator().manual_seed(3)
    f = 0.05 + 0.25 * torch.rand(2, 2, 1, generator=g)
    p = 2 * math.pi * torch.rand(2, 2, 1, generator=g)
    t = torch.arange(31.0)
    s = (torch.sin(2 * math.pi * f[:, 0] * t + p[:, 0]) + torch.sin(2 * math.pi * f[:, 1] * t + p[:, 1])) / 2
    torch.testing.assert_close(x[..., 0], s[:, :-1])
    torch.testing.assert_close(y[..., 0], s[:, 1:])
    assert f.min() >= 0.05 and f.max() <= 0.3


def test_sine_sequences_reject_bad_arguments():
    with pytest.raises(ValueError, match="noise"):
        make_sine_sequences(2, 5, noise=-0.1)
    with pytest.raises(ValueError, match="length"):
        make_sine_sequences(2, 0)
    with pytest.raises(TypeError, match="n_samples"):
        make_sine_sequences(2.5, 5)
