"""reglab.clipping against torch.nn.utils, and the fit hook."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from reglab.clipping import ClipGradNorm, clip_grad_norm_, clip_grad_value_, grad_norm
from reglab.data import DeviceLoader
from reglab.train import fit

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _model_with_grads(device, widths, seed, scale, freeze_first_bias=True):
    """A random MLP with gradients of a chosen scale; one parameter is frozen (no gradient)."""
    torch.manual_seed(seed)
    layers = [nn.Linear(a, b) for a, b in zip(widths, widths[1:])]
    model = nn.Sequential(*layers).to(device)
    if freeze_first_bias:
        model[0].bias.requires_grad_(False)
    x = torch.randn(8, widths[0], device=device)
    (scale * model(x).pow(2).mean()).backward()
    return model


@SETTINGS
@given(
    widths=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    seed=st.integers(0, 10_000),
    scale=st.sampled_from([1e-3, 1.0, 1e3]),
    norm_type=st.sampled_from([1, 2.0, math.inf]),
    max_norm=st.floats(1e-3, 10.0),
)
def test_clip_grad_norm_matches_torch(device, widths, seed, scale, norm_type, max_norm):
    ours = _model_with_grads(device, widths, seed, scale)
    theirs = _model_with_grads(device, widths, seed, scale)  # an identical twin (deepcopy drops .grad)
    assert ours[0].bias.grad is None and theirs[-1].weight.grad is not None
    expected_norm = torch.nn.utils.clip_grad_norm_(theirs.parameters(), max_norm, norm_type)
    measured = grad_norm(ours, norm_type)
    total = clip_grad_norm_(ours.parameters(), max_norm, norm_type)  # a generator, as in torch
    torch.testing.assert_close(measured, expected_norm)
    torch.testing.assert_close(total, expected_norm)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        if b.grad is None:
            assert a.grad is None
        else:
            torch.testing.assert_close(a.grad, b.grad)


@SETTINGS
@given(seed=st.integers(0, 10_000), clip_value=st.floats(1e-3, 2.0), scale=st.sampled_from([1e-2, 1.0, 1e2]))
def test_clip_grad_value_matches_torch(device, seed, clip_value, scale):
    ours = _model_with_grads(device, [4, 5, 3], seed, scale)
    theirs = _model_with_grads(device, [4, 5, 3], seed, scale)
    torch.nn.utils.clip_grad_value_(theirs.parameters(), clip_value)
    clip_grad_value_(ours, clip_value)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        if b.grad is not None:
            torch.testing.assert_close(a.grad, b.grad)


def test_grad_norm_closed_forms(device):
    w = torch.zeros(2, 2, device=device, requires_grad=True)
    v = torch.zeros(1, device=device, requires_grad=True)
    w.grad = torch.tensor([[1.0, -2.0], [2.0, 0.0]], device=device)
    v.grad = torch.tensor([-4.0], device=device)
    assert grad_norm([w, v]).item() == pytest.approx(5.0)          # sqrt(1 + 4 + 4 + 16)
    assert grad_norm([w, v], 1).item() == pytest.approx(9.0)
    assert grad_norm([w, v], math.inf).item() == pytest.approx(4.0)
    assert grad_norm(torch.zeros(3, device=device, requires_grad=True)).item() == 0.0  # no gradient at all


def test_norm_clipping_keeps_the_direction_and_value_clipping_does_not(device):
    w = torch.zeros(3, device=device, requires_grad=True)
    g = torch.tensor([4.0, 0.5, -0.2], device=device)
    w.grad = g.clone()
    clip_grad_norm_(w, 1.0)
    assert F.cosine_similarity(w.grad, g, dim=0).item() == pytest.approx(1.0, abs=1e-6)
    assert w.grad.norm().item() == pytest.approx(1.0, abs=1e-5)
    w.grad = g.clone()
    clip_grad_value_(w, 1.0)
    assert F.cosine_similarity(w.grad, g, dim=0).item() < 0.95  # clamping one entry turned the vector


def test_nonfinite_gradients(device):
    w = torch.zeros(2, device=device, requires_grad=True)
    w.grad = torch.tensor([float("nan"), 1.0], device=device)
    with pytest.raises(RuntimeError, match="error_if_nonfinite"):
        clip_grad_norm_(w, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError):
        torch.nn.utils.clip_grad_norm_([w], 1.0, error_if_nonfinite=True)  # the reference behaves the same
    assert torch.isnan(clip_grad_norm_(w, 1.0))  # without the option: no error, as in torch


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda w: clip_grad_norm_(w, 0.0), ValueError, "'max_norm' parameter of clip_grad_norm_"),
        (lambda w: clip_grad_norm_(w, 1.0, 3), ValueError, "'norm_type' parameter of clip_grad_norm_"),
        (lambda w: grad_norm(w, "fro"), TypeError, "'norm_type' parameter of grad_norm"),
        (lambda w: grad_norm(w, True), TypeError, "'norm_type' parameter of grad_norm"),
        (lambda w: grad_norm(w, 0.5), ValueError, "'norm_type' parameter of grad_norm must be 1, 2 or math.inf"),
        (lambda w: ClipGradNorm(1.0, norm_type=None), TypeError, "'norm_type' parameter of ClipGradNorm"),
        (lambda w: clip_grad_value_(w, -1.0), ValueError, "'clip_value' parameter of clip_grad_value_"),
        (lambda w: clip_grad_norm_(3.0, 1.0), TypeError, "'params' parameter of clip_grad_norm_"),
        (lambda w: ClipGradNorm(-1.0), ValueError, "'max_norm' parameter of ClipGradNorm"),
    ],
)
def test_bad_arguments(call, error, match):
    w = torch.zeros(2, requires_grad=True)
    w.grad = torch.ones(2)
    with pytest.raises(error, match=match):
        call(w)


def test_hook_in_fit_records_the_pre_clip_norm_and_trains_like_torch(device):
    g = torch.Generator().manual_seed(0)
    x, y = 10 * torch.randn(64, 3, generator=g), torch.randn(64, 1, generator=g)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1)).to(device)
    reference = copy.deepcopy(model)
    history = fit(model, DeviceLoader(x, y, 16, shuffle=False, device=device), epochs=2, loss_fn=F.mse_loss,
                  optimizer=torch.optim.SGD(model.parameters(), lr=0.01), after_backward=ClipGradNorm(0.5),
                  progress=False)
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.01)
    norms = []
    for _ in range(2):
        for xb, yb in DeviceLoader(x, y, 16, shuffle=False, device=device):
            optimizer.zero_grad()
            F.mse_loss(reference(xb), yb).backward()
            norms.append(torch.nn.utils.clip_grad_norm_(reference.parameters(), 0.5).item())
            optimizer.step()
    assert history.steps["grad_norm"] == pytest.approx(norms, rel=1e-5)
    assert max(norms) > 0.5  # clipping was active
    for a, b in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b)


def test_measure_only_hook_does_not_change_gradients(device):
    model = _model_with_grads(device, [3, 4, 2], 0, 100.0)
    before = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    norm = ClipGradNorm(None)(model)
    after = [p.grad for p in model.parameters() if p.grad is not None]
    assert all(torch.equal(a, b) for a, b in zip(before, after))
    # the total 2-norm of all gradient entries (torch.nn.utils.get_total_norm, which torch < 2.6 lacks)
    torch.testing.assert_close(norm, torch.cat([g.flatten() for g in before]).norm())
