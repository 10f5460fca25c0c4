"""reglab.train.WeightNoise: the step equals a plain SGD step taken with the gradient at the perturbed point."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reglab.train import WeightNoise, fit
from small_problems import tiny_classifier


_setup = tiny_classifier


@pytest.mark.parametrize("include_bias", [False, True])
def test_step_uses_the_gradient_at_the_perturbed_point(device, include_bias):
    model, x, y = _setup(device)
    clean = copy.deepcopy(model)
    std, lr = 0.1, 0.5
    history = fit(model, [(x, y)], epochs=1, optimizer=torch.optim.SGD(model.parameters(), lr=lr),
                  before_forward=(noise := WeightNoise(std, include_bias=include_bias, seed=3)).perturb,
                  after_backward=noise.restore, progress=False)
    assert history.epochs == 1
    # The reference: draw the same noise with the same seeded generator, in the same order.
    generator = torch.Generator(device=device).manual_seed(3)
    perturbed = copy.deepcopy(clean)
    with torch.no_grad():
        for p in perturbed.parameters():
            if include_bias or p.ndim > 1:
                p.add_(std * torch.randn(p.shape, generator=generator, device=device))
    loss = F.cross_entropy(perturbed(x), y)
    grads = torch.autograd.grad(loss, list(perturbed.parameters()))
    for p, p0, g in zip(model.parameters(), clean.parameters(), grads):
        torch.testing.assert_close(p, p0 - lr * g)  # clean weights minus lr times the perturbed gradient


def test_nothing_is_left_perturbed(device):
    model, x, y = _setup(device)
    before = [p.detach().clone() for p in model.parameters()]
    noise = WeightNoise(0.5, include_bias=True)
    noise.perturb(model)
    assert not any(torch.equal(p, b) for p, b in zip(model.parameters(), before))
    F.cross_entropy(model(x), y).backward()
    noise.restore(model)
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before))  # bit for bit
    assert all(p.grad is not None for p in model.parameters())  # the gradients are kept for the step


def test_noise_has_the_requested_std(device):
    model = nn.Linear(200, 300).to(device)
    before = model.weight.detach().clone()
    noise = WeightNoise(0.05)
    noise.perturb(model)
    delta = model.weight.detach() - before  # 60,000 draws: std within 1%
    noise.restore(model)
    assert abs(delta.std().item() - 0.05) < 0.0005 and abs(delta.mean().item()) < 0.001


def test_biases_are_left_alone_by_default(device):
    model = nn.Linear(4, 3).to(device)
    bias = model.bias.detach().clone()
    noise = WeightNoise(1.0)
    noise.perturb(model)
    assert torch.equal(model.bias, bias)
    noise.restore(model)


def test_zero_std_trains_like_no_noise(device):
    model, x, y = _setup(device, 1)
    twin = copy.deepcopy(model)
    noise = WeightNoise(0.0)
    fit(model, [(x, y)], epochs=3, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        before_forward=noise.perturb, after_backward=noise.restore, progress=False)
    fit(twin, [(x, y)], epochs=3, optimizer=torch.optim.SGD(twin.parameters(), lr=0.1), progress=False)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), twin.parameters()))


def test_perturb_twice_raises_and_bad_arguments():
    model = nn.Linear(2, 2)
    noise = WeightNoise(0.1)
    noise.perturb(model)
    with pytest.raises(RuntimeError, match="without restore"):
        noise.perturb(model)
    with pytest.raises(ValueError, match="'std' parameter of WeightNoise"):
        WeightNoise(-1.0)
    with pytest.raises(TypeError, match="'include_bias' parameter of WeightNoise"):
        WeightNoise(0.1, include_bias=1)
