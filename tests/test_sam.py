"""reglab.sam: the ascent step is rho * g / ||g|| computed by hand, and a SAM step equals
a plain step of the base optimizer with the gradient taken at the perturbed weights."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reglab.sam import SAM, sam_perturbation
from small_problems import tiny_classifier


_setup = tiny_classifier


def test_perturbation_is_rho_times_the_unit_gradient(device):
    g = [torch.tensor([[1.0, 2.0], [2.0, 0.0]], device=device), torch.tensor([4.0], device=device)]
    e = sam_perturbation(g, rho=0.2)
    # ||g|| = sqrt(1 + 4 + 4 + 0 + 16) = 5, by hand
    assert torch.allclose(e[0], 0.2 * g[0] / 5) and torch.allclose(e[1], 0.2 * g[1] / 5)
    flat = torch.cat([t.flatten() for t in e])
    assert torch.allclose(torch.linalg.vector_norm(flat), torch.tensor(0.2, device=device))
    assert all(t.shape == s.shape and t.device == s.device for t, s in zip(e, g))


def test_zero_gradient_gives_zero_perturbation(device):
    (e,) = sam_perturbation([torch.zeros(3, device=device)], rho=0.5)
    assert torch.equal(e, torch.zeros(3, device=device))


@pytest.mark.parametrize("make_optimizer", [
    lambda p: torch.optim.SGD(p, lr=0.3),
    lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-3),
    lambda p: torch.optim.Adam(p, lr=1e-2),
])
def test_step_uses_the_gradient_at_the_perturbed_point(device, make_optimizer):
    model, x, y = _setup(device)
    reference = copy.deepcopy(model)
    rho = 0.1
    sam = SAM(make_optimizer(model.parameters()), rho=rho)
    optimizer = make_optimizer(reference.parameters())

    def closure():
        sam.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss

    for _ in range(3):
        # Reference by hand: e = rho g / ||g|| with autograd's gradient, then the base
        # optimizer on a fresh copy whose .grad is the gradient at theta + e.
        params = list(reference.parameters())
        clean_loss = F.cross_entropy(reference(x), y)
        grads = torch.autograd.grad(clean_loss, params)
        norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
        shifted = copy.deepcopy(reference)
        with torch.no_grad():
            for p, g in zip(shifted.parameters(), grads):
                p.add_(rho * g / norm)
        perturbed_grads = torch.autograd.grad(F.cross_entropy(shifted(x), y), list(shifted.parameters()))
        for p, g in zip(params, perturbed_grads):
            p.grad = g.clone()
        optimizer.step()
        loss = sam.step(closure)
        assert torch.allclose(loss.detach(), clean_loss.detach(), atol=1e-6)  # at theta
        for p, q in zip(model.parameters(), reference.parameters()):
            assert torch.allclose(p, q, atol=1e-6), (p - q).abs().max()


def test_rho_zero_is_the_base_optimizer(device):
    model, x, y = _setup(device)
    reference = copy.deepcopy(model)
    sam = SAM(torch.optim.SGD(model.parameters(), lr=0.5), rho=0.0)
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.5)
    F.cross_entropy(reference(x), y).backward()
    optimizer.step()

    def closure():
        sam.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss

    sam.step(closure)
    for p, q in zip(model.parameters(), reference.parameters()):
        assert torch.allclose(p, q)


def test_restore_is_exact_and_perturb_twice_raises(device):
    model, x, y = _setup(device)
    clean = [p.detach().clone() for p in model.parameters()]
    sam = SAM(torch.optim.SGD(model.parameters(), lr=0.1), rho=1.0)
    F.cross_entropy(model(x), y).backward()
    sam.perturb()
    assert not all(torch.equal(p, c) for p, c in zip(model.parameters(), clean))
    with pytest.raises(RuntimeError, match="twice"):
        sam.perturb()
    sam.restore()
    assert all(torch.equal(p, c) for p, c in zip(model.parameters(), clean))


def test_bad_arguments():
    model = nn.Linear(2, 1)
    with pytest.raises(TypeError, match="'optimizer' parameter of SAM"):
        SAM(model.parameters(), rho=0.05)
    with pytest.raises(ValueError, match="'rho' parameter of SAM"):
        SAM(torch.optim.SGD(model.parameters(), lr=0.1), rho=-0.1)
    with pytest.raises(ValueError, match="'rho' parameter of sam_perturbation"):
        sam_perturbation([torch.ones(2)], rho=-1.0)
    with pytest.raises(TypeError, match="'grads' parameter of sam_perturbation"):
        sam_perturbation([], rho=0.1)
    with pytest.raises(TypeError, match="'closure' parameter of SAM.step"):
        SAM(torch.optim.SGD(model.parameters(), lr=0.1)).step(None)
    with pytest.raises(RuntimeError, match="no gradients"):
        SAM(torch.optim.SGD(model.parameters(), lr=0.1)).perturb()
