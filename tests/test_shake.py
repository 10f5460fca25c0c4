"""Shake-Shake and ShakeDrop: forward mixes, gradients that use beta (not alpha), and eval expectations.

Hand-computed references: for y = shake_scale(x, alpha, beta) and L = sum(w * y),
dL/dx = beta * w, whereas plain autograd through alpha * x would give
alpha * w. The per-sample coefficients of the random layers are read back
from a forward pass with unit inputs (alpha) and from the gradient of
sum(y) (beta). Statistical tests use N = 100,000 samples: a U(a, b) mean
has standard error (b - a) / sqrt(12 N) <= 0.0019 and a correlation
1 / sqrt(N) ~ 0.003; tolerances are 0.01 to 0.02 (5 or more standard errors).
"""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from reglab.layers import ShakeDrop, ShakeShake, shake_drop, shake_scale, shake_shake

N = 100_000


def test_shake_hand_computed_gradient(device):
    x = torch.tensor([[1.0, -2.0], [3.0, 0.5]], device=device, requires_grad=True)
    alpha = torch.tensor([[0.2], [-0.7]], device=device)
    beta = torch.tensor([[0.9], [0.4]], device=device)
    w = torch.tensor([[1.0, 2.0], [-1.0, 3.0]], device=device)
    y = shake_scale(x, alpha, beta)
    (w * y).sum().backward()
    expected_y = torch.tensor([[0.2, -0.4], [-2.1, -0.35]], device=device)
    expected_grad = torch.tensor([[0.9, 1.8], [-0.4, 1.2]], device=device)  # beta * w, by hand
    torch.testing.assert_close(y, expected_y)
    torch.testing.assert_close(x.grad, expected_grad)
    assert not torch.allclose(x.grad, alpha * w)  # what autograd through alpha would give


def _coefficients(layer_fn, n, device):
    """Read back per-sample forward (alpha) and backward (beta) coefficients of y = c(x) * x."""
    x = torch.ones(n, 2, 3, device=device, requires_grad=True)
    y = layer_fn(x)
    y.sum().backward()
    forward = y.detach()[:, 0, 0]  # (N,): the forward coefficient, since x = 1
    backward = x.grad[:, 0, 0] / 1.0  # (N,): d sum(y) / dx = the backward coefficient
    # one coefficient per sample: constant over the other dimensions
    assert torch.all(y.detach() == forward.view(-1, 1, 1))
    assert torch.all(x.grad == backward.view(-1, 1, 1))
    return forward, backward


def _corr(a, b):
    return torch.corrcoef(torch.stack([a, b]))[0, 1].item()


def test_shake_shake_forward_mix_is_convex_per_sample(device):
    torch.manual_seed(0)
    x1 = torch.randn(500, 4, 3, 3, device=device)
    x2 = torch.randn(500, 4, 3, 3, device=device)
    torch.manual_seed(1)
    y = ShakeShake().train()(x1, x2)
    torch.manual_seed(1)
    alpha = shake_shake(torch.ones(500, 1, 1, 1, device=device), torch.zeros(500, 1, 1, 1, device=device))
    torch.testing.assert_close(y, alpha * x1 + (1 - alpha) * x2)  # same draws: y = a x1 + (1 - a) x2


def test_shake_shake_alpha_and_beta_independent_uniform(device):
    torch.manual_seed(0)
    x1 = torch.ones(N, 2, device=device, requires_grad=True)
    x2 = torch.zeros(N, 2, device=device, requires_grad=True)
    y = shake_shake(x1, x2)  # = alpha, since x1 = 1 and x2 = 0
    y.sum().backward()
    alpha, beta = y.detach()[:, 0], x1.grad[:, 0]
    torch.testing.assert_close(x2.grad[:, 0], 1 - beta)  # the second branch gets 1 - beta
    for c in (alpha, beta):
        assert c.min().item() >= 0 and c.max().item() <= 1
        assert abs(c.mean().item() - 0.5) < 0.01
        assert abs(c.var().item() - 1 / 12) < 0.01
    assert abs(_corr(alpha, beta)) < 0.02  # beta is an independent draw, not alpha
    assert (alpha - beta).abs().mean().item() > 0.3  # E|U - V| = 1/3 for independent uniforms


def test_shake_shake_eval_is_the_mean(device):
    x1, x2 = torch.randn(8, 3, device=device), torch.randn(8, 3, device=device)
    out = ShakeShake().eval()(x1, x2)
    torch.testing.assert_close(out, (x1 + x2) / 2)
    assert not torch.allclose(out, torch.zeros_like(out))  # not zero, as one source's shake_function is


@pytest.mark.parametrize("p", [0.0, 0.3, 0.7])
def test_shake_drop_coefficients(device, p):
    torch.manual_seed(0)
    forward, backward = _coefficients(lambda x: ShakeDrop(p).train()(x), N, device)
    kept = forward == 1.0  # b = 1 (alpha = 1 exactly has probability 0)
    assert abs(kept.float().mean().item() - (1 - p)) < 0.01
    assert torch.all(backward[kept] == 1.0)  # b = 1: forward and backward coefficient both 1
    if p > 0:
        alpha, beta = forward[~kept], backward[~kept]  # b = 0: alpha ~ U(-1, 1), beta ~ U(0, 1)
        assert alpha.min().item() >= -1 and alpha.max().item() <= 1 and alpha.min().item() < -0.99
        assert beta.min().item() >= 0 and beta.max().item() <= 1
        assert abs(alpha.mean().item()) < 0.02 and abs(beta.mean().item() - 0.5) < 0.02
        assert abs(alpha.var().item() - 1 / 3) < 0.02 and abs(beta.var().item() - 1 / 12) < 0.01
        assert abs(_corr(alpha, beta)) < 0.03
    # the training mean of the forward coefficient is the eval factor E[b + alpha - b alpha] = 1 - p
    assert abs(forward.mean().item() - (1 - p)) < 0.01


@settings(max_examples=20, deadline=None)
@given(p=st.floats(0.0, 0.99))
def test_shake_drop_eval_is_expectation(p):
    x = torch.randn(6, 4)
    torch.testing.assert_close(ShakeDrop(p).eval()(x), (1 - p) * x)
    torch.testing.assert_close(shake_drop(x, p, training=False), (1 - p) * x)


def test_shake_drop_eval_on_device(device):
    x = torch.randn(6, 4, device=device)
    torch.testing.assert_close(ShakeDrop(0.4).eval()(x), 0.6 * x)


def test_bad_arguments():
    with pytest.raises(ValueError, match="'p' parameter of ShakeDrop"):
        ShakeDrop(1.0)
    with pytest.raises(ValueError, match="'p' parameter of shake_drop"):
        shake_drop(torch.ones(2, 2), -0.5)
    with pytest.raises(ValueError, match="'x2' parameter of shake_shake"):
        shake_shake(torch.ones(2, 3), torch.ones(2, 4))
    with pytest.raises(TypeError, match="'alpha' parameter of shake_scale"):
        shake_scale(torch.ones(2), 0.5, torch.ones(2))
    with pytest.raises(TypeError, match="'training' parameter of shake_shake must be a bool"):
        shake_shake(torch.ones(2, 3), torch.ones(2, 3), "False")
    with pytest.raises(TypeError, match="'training' parameter of shake_drop must be a bool"):
        shake_drop(torch.ones(2, 3), 0.5, 0)
    assert repr(ShakeDrop(0.25)) == "ShakeDrop(p=0.25)"
