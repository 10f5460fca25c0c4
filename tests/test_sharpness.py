"""reglab.metrics.sharpness against the full Hessian from torch.autograd.functional.hessian."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from reglab.metrics import sharpness


def _problem(device, seed):
    """A small smooth network (tanh) in float64, and a classification batch."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 3)).double().to(device)
    x = torch.randn(16, 3, dtype=torch.float64, device=device)
    y = torch.randint(0, 3, (16,), device=device)
    return model, x, y


def _reference_eigenvalue(model, x, y):
    """The eigenvalue of largest magnitude of the full (P, P) Hessian, by eigvalsh."""
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])  # (P,)

    def loss_of(theta):
        params, start = {}, 0
        for name, shape in zip(names, shapes):
            params[name] = theta[start : start + shape.numel()].reshape(shape)
            start += shape.numel()
        return F.cross_entropy(functional_call(model, params, (x,)), y)

    hessian = torch.autograd.functional.hessian(loss_of, flat)  # (P, P)
    eigenvalues = torch.linalg.eigvalsh(hessian)
    return eigenvalues[eigenvalues.abs().argmax()], eigenvalues


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_full_hessian_eigenvalue(device, seed):
    model, x, y = _problem(device, seed)
    expected, eigenvalues = _reference_eigenvalue(model, x, y)
    assert eigenvalues.numel() == sum(p.numel() for p in model.parameters())
    got = sharpness(model, F.cross_entropy, (x, y), iterations=500)
    assert torch.allclose(got, expected, rtol=1e-3, atol=0)


def test_at_a_minimum_it_is_the_largest_eigenvalue(device):
    model, x, y = _problem(device, 3)
    optimizer = torch.optim.LBFGS(model.parameters(), max_iter=200)

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y) + 1e-2 * sum(p.pow(2).sum() for p in model.parameters())
        loss.backward()
        return loss

    optimizer.step(closure)
    _, eigenvalues = _reference_eigenvalue(model, x, y)
    got = sharpness(model, F.cross_entropy, (x, y), iterations=500)
    assert eigenvalues[-1] > 0
    assert torch.allclose(got, eigenvalues[-1], rtol=1e-3, atol=0)


def test_batches_are_weighted_like_one_batch(device):
    model, x, y = _problem(device, 4)
    whole = sharpness(model, F.cross_entropy, (x, y), iterations=30)
    split = sharpness(model, F.cross_entropy, [(x[:10], y[:10]), (x[10:], y[10:])], iterations=30)
    assert torch.allclose(whole, split, rtol=1e-9)


def test_quadratic_closed_form(device):
    # MSE of a linear model: H = 2 XᵀX / N, whose top eigenvalue eigvalsh gives directly.
    torch.manual_seed(0)
    x = torch.randn(50, 5, dtype=torch.float64, device=device)
    model = nn.Linear(5, 1, bias=False).double().to(device)
    expected = torch.linalg.eigvalsh(2 * x.T @ x / len(x))[-1]
    got = sharpness(model, F.mse_loss, (x, torch.zeros(50, 1, dtype=torch.float64, device=device)), iterations=300)
    assert torch.allclose(got, expected, rtol=1e-6)


def test_leaves_mode_gradients_and_weights_alone(device):
    model, x, y = _problem(device, 5)
    model.train()
    F.cross_entropy(model(x), y).backward()
    grads = [p.grad.clone() for p in model.parameters()]
    weights = [p.detach().clone() for p in model.parameters()]
    value = sharpness(model, F.cross_entropy, (x, y))
    assert model.training
    assert value.device.type == device.type and value.ndim == 0
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), grads))
    assert all(torch.equal(p, w) for p, w in zip(model.parameters(), weights))


def test_frozen_parameters_are_left_out(device):
    model, x, y = _problem(device, 6)
    model[0].requires_grad_(False)
    # The Hessian over the last layer alone: the reference with the first layer fixed.
    head = model[2]
    features = torch.tanh(model[0](x)).detach()
    expected, _ = _reference_eigenvalue(nn.Sequential(head), features, y)
    got = sharpness(model, F.cross_entropy, (x, y), iterations=500)
    assert torch.allclose(got, expected, rtol=1e-3)


def test_bad_arguments():
    model = nn.Linear(2, 2)
    data = (torch.zeros(2, 2), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="'iterations' parameter of sharpness"):
        sharpness(model, F.cross_entropy, data, iterations=0)
    with pytest.raises(TypeError, match="'model' parameter of sharpness"):
        sharpness("model", F.cross_entropy, data)
    with pytest.raises(ValueError, match="'data' parameter of sharpness"):
        sharpness(model, F.cross_entropy, [])
    with pytest.raises(ValueError, match="'model' parameter of sharpness"):
        sharpness(model.requires_grad_(False), F.cross_entropy, data)
