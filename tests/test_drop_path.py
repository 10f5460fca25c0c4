"""DropPath and drop_path_rates against timm's DropPath, a closed form and statistical properties.

Statistical tests use N = 100,000 samples: the fraction of dropped samples has
a standard error of at most sqrt(0.25 / N) ~ 0.0016, so a tolerance of 0.01 is
about 6 standard errors. The mean of y = b x / (1 - p) has relative standard
error sqrt(p / ((1 - p) N)); the tests allow 5 of them.
"""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from reglab.layers import DropPath, drop_path, drop_path_rates

N = 100_000
TOL = 0.01


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_fraction_dropped_and_mean_preserved(device, p):
    torch.manual_seed(0)
    x = torch.full((N, 3, 2), 2.0, device=device)
    y = DropPath(p).train()(x)
    per_sample = y.flatten(1)  # (N, 6)
    assert torch.all((per_sample == 0).all(1) | (per_sample == per_sample[:, :1]).all(1))  # whole samples
    dropped = (per_sample[:, 0] == 0).float().mean().item()
    assert abs(dropped - p) < TOL
    kept_values = torch.unique(per_sample[per_sample[:, 0] != 0])
    assert kept_values.numel() == 1 and kept_values.item() == pytest.approx(2.0 / (1 - p))
    assert abs(y.mean().item() / 2.0 - 1.0) < 5 * math.sqrt(p / ((1 - p) * N))
    assert y.device == x.device


def test_eval_and_zero_rate_are_identity(device):
    x = torch.randn(8, 4, 3, 3, device=device)
    assert torch.equal(DropPath(0.5).eval()(x), x)
    assert torch.equal(drop_path(x, 0.0, training=True), x)
    assert not torch.equal(DropPath(0.5).train()(x), x)


def test_matches_timm_exactly_on_cpu_with_same_seed():
    timm_layers = pytest.importorskip("timm.layers")  # the reference; a test-only dependency
    # timm draws the same (N, 1, ..., 1) Bernoulli mask from the same generator state.
    x = torch.randn(64, 8, 4, 4)
    torch.manual_seed(7)
    ours = DropPath(0.3).train()(x)
    torch.manual_seed(7)
    theirs = timm_layers.DropPath(0.3).train()(x)
    torch.testing.assert_close(ours, theirs)


@pytest.mark.parametrize("p", [0.2, 0.6])
def test_same_statistics_as_timm(device, p):
    timm_layers = pytest.importorskip("timm.layers")
    torch.manual_seed(3)
    x = torch.ones(N, 5, device=device)
    ours = DropPath(p).train()(x)
    theirs = timm_layers.DropPath(p).train()(x)
    assert abs((ours[:, 0] == 0).float().mean().item() - (theirs[:, 0] == 0).float().mean().item()) < 2 * TOL
    assert ours.max().item() == pytest.approx(theirs.max().item())  # same scale 1 / (1 - p) for the kept
    assert abs(ours.mean().item() - theirs.mean().item()) < 10 * math.sqrt(p / ((1 - p) * N))


def test_gradient_is_mask_over_keep(device):
    torch.manual_seed(0)
    x = torch.randn(1000, 3, device=device, requires_grad=True)
    y = drop_path(x, 0.25)
    y.sum().backward()
    kept = (y != 0).all(1, keepdim=True).float()  # (N, 1)
    torch.testing.assert_close(x.grad, kept.expand_as(x) / 0.75)


@settings(max_examples=25, deadline=None)
@given(depth=st.integers(1, 60), p_max=st.floats(0.0, 0.99))
def test_drop_path_rates_linear_decay(depth, p_max):
    rates = drop_path_rates(depth, p_max)
    assert len(rates) == depth
    # Huang et al.: survival 1 - (l / L)(1 - p_L) with p_L the last block's survival, i.e. rate (l / L) p_max
    for block, rate in enumerate(rates, start=1):
        survival = 1 - block / depth * (1 - (1 - p_max))
        assert rate == pytest.approx(1 - survival, abs=1e-12)
    assert rates[-1] == pytest.approx(p_max)
    assert all(b >= a for a, b in zip(rates, rates[1:]))


def test_bad_arguments():
    with pytest.raises(ValueError, match="'p' parameter of DropPath"):
        DropPath(1.0)
    with pytest.raises(ValueError, match="'p' parameter of drop_path"):
        drop_path(torch.ones(2), -0.1)
    with pytest.raises(TypeError, match="'x' parameter of drop_path"):
        drop_path([1.0, 2.0], 0.1)
    with pytest.raises(ValueError, match="'depth' parameter of drop_path_rates"):
        drop_path_rates(0, 0.5)
    with pytest.raises(ValueError, match="'p_max' parameter of drop_path_rates"):
        drop_path_rates(4, 1.5)
    with pytest.raises(TypeError, match="'training' parameter of drop_path must be a bool"):
        drop_path(torch.ones(2, 3), 0.5, "False")
    assert repr(DropPath(0.1)) == "DropPath(p=0.1)"
