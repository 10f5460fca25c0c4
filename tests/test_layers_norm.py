"""BatchNorm1d/2d, LayerNorm and spectral_norm_estimate of reglab.layers against torch.

Every check compares with the torch.nn twin (outputs, input and parameter
gradients, running statistics, state_dict), in training and evaluation, to
1e-5 in float64 unless stated.
"""

import inspect

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from reglab.layers import BatchNorm1d, BatchNorm2d, LayerNorm, batch_norm, layer_norm, spectral_norm_estimate

TOL = dict(atol=1e-5, rtol=1e-5)
BN_OPTIONS = st.fixed_dictionaries({
    "momentum": st.sampled_from([0.1, 0.5, 1.0, None]),
    "affine": st.booleans(),
    "track_running_stats": st.booleans(),
    "eps": st.sampled_from([1e-5, 1e-3]),
})


def _pair(ours_cls, torch_cls, device, **kwargs):
    ours = ours_cls(**kwargs).to(device, torch.float64)
    theirs = torch_cls(**kwargs).to(device, torch.float64)
    if ours.weight is not None:  # random affine parameters, the same in both
        with torch.no_grad():
            for p in theirs.parameters():
                p.normal_()
        ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def _compare_steps(ours, theirs, shapes, device, seed):
    g = torch.Generator().manual_seed(seed)
    for mode in ("train", "train", "train", "eval", "train", "eval"):
        ours.train(mode == "train")
        theirs.train(mode == "train")
        for shape in shapes:
            x = (3 * torch.randn(shape, generator=g, dtype=torch.float64) + 2).to(device)
            x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
            y1, y2 = ours(x1), theirs(x2)
            torch.testing.assert_close(y1, y2, **TOL)
            upstream = torch.randn(shape, generator=g, dtype=torch.float64).to(device)
            (y1 * upstream).sum().backward()
            (y2 * upstream).sum().backward()
            torch.testing.assert_close(x1.grad, x2.grad, **TOL)
            for (name, p1), p2 in zip(ours.named_parameters(), theirs.parameters()):
                torch.testing.assert_close(p1.grad, p2.grad, **TOL, msg=name)
            ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
            assert list(ours_state) == list(theirs_state)
            for key in theirs_state:
                torch.testing.assert_close(ours_state[key], theirs_state[key], **TOL, msg=key)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 6), c=st.integers(1, 5), length=st.one_of(st.none(), st.integers(1, 4)),
       options=BN_OPTIONS, seed=st.integers(0, 1000))
def test_batchnorm1d_matches_torch(n, c, length, options, seed):
    ours, theirs = _pair(BatchNorm1d, nn.BatchNorm1d, "cpu", num_features=c, **options)
    shape = (n, c) if length is None else (n, c, length)
    _compare_steps(ours, theirs, [shape], "cpu", seed)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(1, 4), h=st.integers(1, 4), w=st.integers(2, 4),
       options=BN_OPTIONS, seed=st.integers(0, 1000))
def test_batchnorm2d_matches_torch(n, c, h, w, options, seed):
    ours, theirs = _pair(BatchNorm2d, nn.BatchNorm2d, "cpu", num_features=c, **options)
    _compare_steps(ours, theirs, [(n, c, h, w), (n + 1, c, h, w)], "cpu", seed)


@pytest.mark.parametrize("cls, torch_cls, shape", [(BatchNorm1d, nn.BatchNorm1d, (8, 3)),
                                                   (BatchNorm1d, nn.BatchNorm1d, (8, 3, 5)),
                                                   (BatchNorm2d, nn.BatchNorm2d, (4, 3, 5, 5))])
def test_batchnorm_on_device(device, cls, torch_cls, shape):
    ours, theirs = _pair(cls, torch_cls, device, num_features=3, momentum=None)
    _compare_steps(ours, theirs, [shape], device, 0)
    assert ours.running_mean.device.type == device.type


def test_batchnorm_state_dict_loads_both_ways(device):
    ours, theirs = BatchNorm2d(4).to(device), nn.BatchNorm2d(4).to(device)
    theirs.train()(torch.randn(8, 4, 3, 3, device=device) * 5 + 1)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 4, 3, 3, device=device)
    torch.testing.assert_close(ours.eval()(x), theirs.eval()(x), **TOL)
    ours.train()(torch.randn(8, 4, 3, 3, device=device))
    fresh = nn.BatchNorm2d(4).to(device)
    fresh.load_state_dict(ours.state_dict())
    torch.testing.assert_close(fresh.eval()(x), ours.eval()(x), **TOL)
    assert fresh.num_batches_tracked.item() == 2


def test_batchnorm_batch_of_one_raises_like_torch():
    x = torch.randn(1, 3)
    with pytest.raises(ValueError, match=r"'x' parameter of batch_norm must be a tensor with more than 1 value "
                                         r"per channel when training .*Got 'shape \(1, 3\)'"):
        BatchNorm1d(3).train()(x)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3).train()(x)
    with pytest.raises(ValueError, match="'x' parameter of batch_norm must be a tensor with more than 1 value"):
        batch_norm(x, None, None)  # no running statistics: the batch is used even in evaluation
    BatchNorm1d(3).eval()(x)  # evaluation with running statistics is fine
    BatchNorm2d(3).train()(torch.randn(1, 3, 2, 2))  # one image still has 4 values per channel


def test_batchnorm_bad_arguments():
    with pytest.raises(ValueError, match="'momentum' parameter of BatchNorm1d"):
        BatchNorm1d(3, momentum=1.5)
    with pytest.raises(ValueError, match="'num_features' parameter of BatchNorm2d"):
        BatchNorm2d(0)
    with pytest.raises(ValueError, match="'eps' parameter"):
        BatchNorm1d(3, eps=0.0)
    with pytest.raises(ValueError, match="'x' parameter of BatchNorm2d"):
        BatchNorm2d(3)(torch.randn(4, 3))
    with pytest.raises(ValueError, match="'x' parameter of BatchNorm1d"):
        BatchNorm1d(3)(torch.randn(4, 3, 2, 2))
    assert repr(BatchNorm2d(3, momentum=None)) == (
        "BatchNorm2d(3, eps=1e-05, momentum=None, affine=True, bias=True, track_running_stats=True)")


@pytest.mark.skipif("bias" not in inspect.signature(nn.BatchNorm1d).parameters,
                    reason="torch.nn.BatchNorm1d has no bias argument before torch 2.14")
def test_batchnorm_without_bias_matches_torch(device):
    ours, theirs = _pair(BatchNorm1d, nn.BatchNorm1d, device, num_features=3, bias=False)
    assert ours.bias is None
    _compare_steps(ours, theirs, [(6, 3)], device, 0)


@settings(max_examples=30, deadline=None)
@given(lead=st.lists(st.integers(1, 4), min_size=0, max_size=2),
       norm=st.lists(st.integers(1, 5), min_size=1, max_size=3),
       affine=st.booleans(), bias=st.booleans(), seed=st.integers(0, 1000))
def test_layernorm_matches_torch(lead, norm, affine, bias, seed):
    kwargs = dict(normalized_shape=norm, elementwise_affine=affine, bias=bias)
    ours, theirs = _pair(LayerNorm, nn.LayerNorm, "cpu", **kwargs)
    _compare_steps(ours, theirs, [(*lead, *norm)], "cpu", seed)


def test_layernorm_on_device_and_batch_independent(device):
    ours, theirs = _pair(LayerNorm, nn.LayerNorm, device, normalized_shape=6)
    _compare_steps(ours, theirs, [(5, 6)], device, 0)
    x = torch.randn(5, 6, device=device, dtype=torch.float64)
    torch.testing.assert_close(ours(x)[:1], ours(x[:1]))  # one sample alone gives the same output
    assert repr(LayerNorm(6, bias=False)) == "LayerNorm((6,), eps=1e-05, elementwise_affine=True, bias=False)"


def test_layernorm_bad_arguments():
    with pytest.raises(ValueError, match="'x' parameter of layer_norm"):
        LayerNorm(4)(torch.randn(2, 5))
    with pytest.raises(ValueError, match="'normalized_shape' parameter of LayerNorm"):
        LayerNorm(0)


@pytest.mark.parametrize("shape", [(5, 5), (30, 10), (10, 30), (16, 8, 3, 3)])
def test_spectral_norm_estimate_matches_linalg(device, shape):
    torch.manual_seed(0)
    weight = torch.randn(shape, device=device, dtype=torch.float64)
    matrix = weight.reshape(shape[0], -1)  # what a conv kernel's estimate bounds
    estimate = spectral_norm_estimate(weight, n_iter=500)
    torch.testing.assert_close(estimate, torch.linalg.matrix_norm(matrix, 2), rtol=1e-4, atol=0)
    assert estimate.device.type == device.type


def test_spectral_norm_estimate_matches_torch_parametrization():
    torch.manual_seed(0)
    layer = nn.utils.parametrizations.spectral_norm(nn.Linear(20, 10))
    layer.train()
    for _ in range(50):  # each call in training runs one power-iteration step
        layer(torch.randn(1, 20))
    original = layer.parametrizations.weight.original
    torch.testing.assert_close(torch.linalg.matrix_norm(layer.weight.detach(), 2), torch.tensor(1.0), rtol=1e-3, atol=0)
    torch.testing.assert_close(spectral_norm_estimate(original.detach()), torch.linalg.matrix_norm(original.detach(), 2),
                               rtol=1e-4, atol=0)


def test_spectral_norm_estimate_error_shrinks_like_the_fourth_power_of_the_singular_value_ratio():
    """Three more iterations divide the error by (σ₂/σ₁)^12, the rate the docstring states."""
    ratio = 0.8
    generator = torch.Generator().manual_seed(0)
    left, _ = torch.linalg.qr(torch.randn(6, 6, generator=generator, dtype=torch.float64))
    right, _ = torch.linalg.qr(torch.randn(6, 6, generator=generator, dtype=torch.float64))
    weight = left @ torch.diag(torch.tensor([1.0, ratio, 0.5, 0.4, 0.2, 0.1], dtype=torch.float64)) @ right.T

    def error(n_iter):
        torch.manual_seed(1)  # the same starting vector for both runs
        return (1.0 - spectral_norm_estimate(weight, n_iter=n_iter)).item()

    observed = error(9) / error(6)
    assert 0.5 * ratio**12 < observed < 2.0 * ratio**12, (observed, ratio**12)


def test_spectral_norm_estimate_bad_arguments():
    with pytest.raises(ValueError, match="'weight' parameter"):
        spectral_norm_estimate(torch.ones(3))
    with pytest.raises(ValueError, match="'n_iter' parameter"):
        spectral_norm_estimate(torch.ones(3, 3), n_iter=0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(training="yes"), TypeError, "'training' parameter of batch_norm must be a bool"),
        (dict(training=1), TypeError, "'training' parameter of batch_norm must be a bool"),
        (dict(momentum=1.5), ValueError, r"'momentum' parameter of batch_norm must be a finite float in the range \[0, 1\]"),
        (dict(momentum=-0.1), ValueError, "'momentum' parameter of batch_norm"),
        (dict(momentum="0.1"), TypeError, "'momentum' parameter of batch_norm"),
        (dict(momentum=torch.tensor([0.1, 0.1, 0.1])), ValueError, "'momentum' parameter of batch_norm must be a tensor with 0 dimensions"),
        (dict(momentum=torch.tensor(1)), TypeError, "'momentum' parameter of batch_norm must be a floating-point tensor"),
        (dict(eps=-1e-5), ValueError, "'eps' parameter of batch_norm must be a finite float >= 0"),
        (dict(eps=float("inf")), ValueError, "'eps' parameter of batch_norm"),
        (dict(eps=None), TypeError, "'eps' parameter of batch_norm"),
    ],
)
def test_batch_norm_function_bad_arguments(kwargs, error, match):
    mean, var = torch.zeros(3), torch.ones(3)
    with pytest.raises(error, match=match):
        batch_norm(torch.randn(4, 3), mean, var, **({"training": True} | kwargs))
    torch.testing.assert_close((mean, var), (torch.zeros(3), torch.ones(3)))  # nothing updated before the error


def test_batch_norm_function_accepts_a_scalar_tensor_momentum_and_zero_eps():
    mean, var = torch.zeros(1), torch.ones(1)
    y = batch_norm(torch.tensor([[1.0], [3.0]]), mean, var, training=True, momentum=torch.tensor(0.5), eps=0.0)
    torch.testing.assert_close(y, torch.tensor([[-1.0], [1.0]]))
    torch.testing.assert_close((mean, var), (torch.tensor([1.0]), torch.tensor([1.5])))


def test_layer_norm_function_eps():
    with pytest.raises(ValueError, match="'eps' parameter of layer_norm must be a finite float >= 0"):
        layer_norm(torch.randn(2, 4), (4,), eps=-1.0)
    with pytest.raises(TypeError, match="'eps' parameter of layer_norm"):
        layer_norm(torch.randn(2, 4), (4,), eps="1e-5")
    torch.testing.assert_close(layer_norm(torch.tensor([[1.0, 3.0]]), (2,), eps=0.0), torch.tensor([[-1.0, 1.0]]))
