"""Metrics against scikit-learn and closed forms."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score

from reglab.metrics import accuracy, bias_variance_decomposition


@given(n=st.integers(1, 50), k=st.integers(2, 6), seed=st.integers(0, 1000))
@settings(max_examples=40, deadline=None)
def test_accuracy_matches_scikit_learn(n, k, seed):
    g = torch.Generator().manual_seed(seed)
    logits, target = torch.randn(n, k, generator=g), torch.randint(0, k, (n,), generator=g)
    expected = accuracy_score(target.numpy(), logits.argmax(1).numpy())
    assert accuracy(logits, target).item() == pytest.approx(expected)


def test_accuracy_stays_on_device_and_accepts_soft_targets(device):
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 3.0]], device=device)
    soft = torch.tensor([[0.7, 0.3, 0.0], [0.6, 0.4, 0.0], [0.0, 0.1, 0.9]], device=device)
    result = accuracy(logits, soft)
    assert result.device.type == device.type and result.ndim == 0
    assert result.item() == pytest.approx(2 / 3)


def test_accuracy_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="'logits' parameter of accuracy must be a tensor with 2 dimensions"):
        accuracy(torch.zeros(3), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="3 labels, one per row"):
        accuracy(torch.zeros(3, 2), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"soft targets of shape \(3, 2\)"):
        accuracy(torch.zeros(3, 2), torch.zeros(3, 3))


def test_bias_variance_matches_numpy_and_the_decomposition_identity(device):
    g = torch.Generator().manual_seed(0)
    predictions = torch.randn(30, 11, generator=g, dtype=torch.float64) + 0.5
    truth = torch.randn(11, generator=g, dtype=torch.float64)
    bias_sq, variance = bias_variance_decomposition(predictions.to(device), truth.to(device))
    p, t = predictions.numpy(), truth.numpy()
    assert bias_sq.item() == pytest.approx(np.mean((p.mean(0) - t) ** 2))
    assert variance.item() == pytest.approx(np.mean(p.var(0)))  # population variance (ddof=0) per point
    # Mean squared error against the truth = bias^2 + variance, exactly.
    assert (bias_sq + variance).item() == pytest.approx(np.mean((p - t) ** 2))


def test_bias_variance_of_a_known_estimator():
    # The sample mean of m draws from N(mu, s^2) is unbiased with variance s^2 / m.
    g = torch.Generator().manual_seed(1)
    m, refits, mu, s = 10, 20_000, 2.0, 3.0
    estimates = (mu + s * torch.randn(refits, m, generator=g, dtype=torch.float64)).mean(1, keepdim=True)  # (R, 1)
    bias_sq, variance = bias_variance_decomposition(estimates, torch.tensor([mu], dtype=torch.float64))
    assert variance.item() == pytest.approx(s**2 / m, rel=0.03)
    assert bias_sq.item() < 4 * (s**2 / m) / refits  # zero up to Monte Carlo error


def test_bias_variance_rejects_bad_shapes():
    with pytest.raises(ValueError, match="at least 2 refits"):
        bias_variance_decomposition(torch.zeros(1, 3), torch.zeros(3))
    with pytest.raises(ValueError, match="3 values, one per column"):
        bias_variance_decomposition(torch.zeros(2, 3), torch.zeros(4))
    with pytest.raises(TypeError, match="floating-point"):
        bias_variance_decomposition(torch.zeros(2, 3, dtype=torch.long), torch.zeros(3))
