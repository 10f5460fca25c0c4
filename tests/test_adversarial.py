"""Tests of reglab.adversarial against independent references.

- FGSM on a linear softmax model: the closed form eps * sign(W^T (softmax(Wx + b) - onehot(y))).
- PGD: every output in the eps-ball (L∞ and L2) and the valid range (hypothesis), and
  its loss at least FGSM's on average.
- torchattacks 3.5.1 (FGSM, PGD, PGDL2, with and without normalization): the same float
  operations in the same order, so the outputs agree to float32 rounding (atol 1e-5).
- Side effects: train/eval flags of every submodule, every parameter's .grad, batch-norm
  running statistics, detached outputs on the input's device.
- adversarial_step: one SGD step by hand on the weighted clean + adversarial loss.
"""

import copy
from functools import partial

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from reglab.adversarial import adversarial_step, fgsm, pgd, robust_accuracy
from reglab.data import load_digits

ATOL = 1e-5  # float32 rounding; the reference runs the same operations in the same order
MEAN, STD = (0.3,), (0.4,)


@pytest.fixture(scope="module")
def digits_model_state():
    """A small MLP trained for 150 Adam steps on the digits (about 95% training accuracy)."""
    torch.manual_seed(0)
    x, y = load_digits()
    model = _mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model.state_dict()


def _mlp(dropout: float = 0.0) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Dropout(dropout), nn.Linear(64, 10))


@pytest.fixture
def digits(device, digits_model_state):
    model = _mlp()
    model.load_state_dict(digits_model_state)
    x, y = load_digits()
    return model.to(device).eval(), x[:256].to(device), y[:256].to(device)


class _Normalized(nn.Module):
    """The model seen through a normalization: takes pixels, normalizes, classifies."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixels):
        return self.model((pixels - MEAN[0]) / STD[0])


# --- closed form --------------------------------------------------------------


@pytest.mark.parametrize("bounds", [None, (0.0, 1.0)])
def test_fgsm_equals_closed_form_on_linear_softmax(device, bounds):
    g = torch.Generator().manual_seed(0)
    weight, bias = torch.randn(3, 5, generator=g, dtype=torch.float64), torch.randn(3, generator=g, dtype=torch.float64)
    x = torch.rand(40, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (40,), generator=g)
    model = nn.Linear(5, 3).double()
    with torch.no_grad():
        model.weight.copy_(weight)
        model.bias.copy_(bias)
    # d/dx of the mean cross-entropy: (softmax(Wx + b) - onehot(y)) W / N, per row
    grad = (torch.softmax(x @ weight.T + bias, dim=1) - F.one_hot(y, 3).double()) @ weight / len(x)
    expected = x + 0.1 * grad.sign()
    if bounds is not None:
        expected = expected.clamp(*bounds)
    out = fgsm(model.to(device), x.to(device), y.to(device), eps=0.1, bounds=bounds)
    torch.testing.assert_close(out.cpu(), expected, rtol=0, atol=1e-12)
    if bounds is not None:
        assert (out == 0).any() or (out == 1).any()  # some coordinates were clipped, and that was checked too


# --- properties ---------------------------------------------------------------


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(eps=st.floats(0.0, 0.5), ratio=st.floats(0.05, 2.0), steps=st.integers(1, 5),
       norm=st.sampled_from(["linf", "l2"]), random_start=st.booleans(), normalized=st.booleans())
def test_pgd_stays_in_the_ball_and_the_valid_range(digits, eps, ratio, steps, norm, random_start, normalized):
    model, x, y = digits
    alpha = max(ratio * eps, 1e-3)
    if normalized:  # the model takes normalized inputs; the budget is still in pixels
        out = pgd(model, (x - MEAN[0]) / STD[0], y, eps, alpha, steps, norm=norm, random_start=random_start,
                  mean=MEAN, std=STD)
        out = out * STD[0] + MEAN[0]
    else:
        out = pgd(model, x, y, eps, alpha, steps, norm=norm, random_start=random_start)
    delta = (out - x).flatten(1)  # (N, 64)
    size = delta.abs().amax(dim=1) if norm == "linf" else delta.norm(dim=1)
    assert bool((size <= eps + 1e-5).all())
    assert bool((out >= -1e-6).all()) and bool((out <= 1 + 1e-6).all())


def test_pgd_loss_at_least_fgsm_loss_on_average(digits):
    model, x, y = digits
    eps = 0.1
    fgsm_loss = F.cross_entropy(model(fgsm(model, x, y, eps)), y)
    torch.manual_seed(0)
    pgd_loss = F.cross_entropy(model(pgd(model, x, y, eps, alpha=eps / 4, steps=20)), y)
    clean_loss = F.cross_entropy(model(x), y)
    assert clean_loss < fgsm_loss <= pgd_loss


# --- torchattacks -------------------------------------------------------------


@pytest.mark.parametrize("normalized", [False, True])
@pytest.mark.parametrize("name", ["fgsm", "pgd", "pgd_random_start", "pgd_l2"])
def test_attacks_agree_with_torchattacks(digits, name, normalized):
    torchattacks = pytest.importorskip("torchattacks")  # test-only reference: torchattacks==3.5.1
    model, x, y = digits
    eps, alpha, steps = 0.1, 0.02, 7
    reference_model = _Normalized(model) if normalized else model
    if name == "fgsm":
        reference = torchattacks.FGSM(reference_model, eps=eps)
        ours = partial(fgsm, eps=eps)
    elif name == "pgd_l2":
        eps, alpha = 1.0, 0.2
        reference = torchattacks.PGDL2(reference_model, eps=eps, alpha=alpha, steps=steps, random_start=False)
        ours = partial(pgd, eps=eps, alpha=alpha, steps=steps, norm="l2", random_start=False)
    else:
        random_start = name == "pgd_random_start"
        reference = torchattacks.PGD(reference_model, eps=eps, alpha=alpha, steps=steps, random_start=random_start)
        ours = partial(pgd, eps=eps, alpha=alpha, steps=steps, random_start=random_start)
    torch.manual_seed(1)  # both draw their random start from the global generator, in the same way
    expected = reference(x, y)
    torch.manual_seed(1)
    if normalized:
        out = ours(model, (x - MEAN[0]) / STD[0], y, mean=MEAN, std=STD) * STD[0] + MEAN[0]
    else:
        out = ours(model, x, y)
    assert not torch.equal(expected, x)
    torch.testing.assert_close(out, expected, rtol=0, atol=ATOL)


# --- side effects -------------------------------------------------------------


ATTACKS = {
    "fgsm": partial(fgsm, eps=0.1),
    "pgd": partial(pgd, eps=0.1, alpha=0.03, steps=3),
    "pgd_l2": partial(pgd, eps=0.5, alpha=0.2, steps=3, norm="l2"),
}


@pytest.mark.parametrize("mode", ["train", "eval", "mixed"])
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attacks_leave_mode_grads_and_statistics_alone(device, name, mode):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(32, 10)).to(device)
    model.train(mode != "eval")
    if mode == "mixed":
        model[2].eval()  # a frozen batch norm inside a training model
    flags = [m.training for m in model.modules()]
    params = list(model.parameters())
    for p in params[::2]:  # half the parameters hold a gradient, half have none
        p.grad = torch.randn_like(p)
    grads = [None if p.grad is None else p.grad.clone() for p in params]
    buffers = [b.clone() for b in model.buffers()]
    x, y = torch.rand(16, 1, 8, 8, device=device), torch.randint(0, 10, (16,), device=device)

    out = ATTACKS[name](model, x, y)
    with torch.no_grad():  # the attacks enable gradients themselves
        out_no_grad = ATTACKS[name](model, x, y)
    robust_accuracy(model, [(x, y)], ATTACKS[name])

    assert [m.training for m in model.modules()] == flags
    for p, g in zip(params, grads):
        assert (p.grad is None) if g is None else torch.equal(p.grad, g)
    assert all(torch.equal(a, b) for a, b in zip(model.buffers(), buffers))
    assert not out.requires_grad and out.grad_fn is None
    assert out.device == x.device and out.shape == x.shape
    assert not torch.equal(out, x) and not torch.equal(out_no_grad, x)
    if name == "fgsm":  # deterministic: the same result with gradients globally off
        torch.testing.assert_close(out_no_grad, out)


# --- training step and robust accuracy ----------------------------------------


@pytest.mark.parametrize("clean_weight", [0.0, 0.5, 1.0])
def test_adversarial_step_is_one_sgd_step_on_the_weighted_loss(device, clean_weight):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).to(device)
    reference = copy.deepcopy(model)
    x, y = torch.rand(10, 4, device=device), torch.randint(0, 3, (10,), device=device)
    leaf = torch.rand(10, 4, device=device, requires_grad=True)
    x_adv = leaf * 2  # an "attack" output still attached to a graph

    loss = adversarial_step(model, x, y, torch.optim.SGD(model.parameters(), lr=0.5), lambda m, a, b: x_adv,
                            clean_weight=clean_weight)

    expected_loss = (clean_weight * F.cross_entropy(reference(x), y)
                     + (1 - clean_weight) * F.cross_entropy(reference(x_adv.detach()), y))
    grads = torch.autograd.grad(expected_loss, list(reference.parameters()))
    torch.testing.assert_close(loss, expected_loss.detach())
    for p, p0, g in zip(model.parameters(), reference.parameters(), grads):
        torch.testing.assert_close(p, p0 - 0.5 * g)
    assert leaf.grad is None  # no gradient flowed back through the attack


def test_robust_accuracy_matches_a_count_by_hand(digits):
    model, x, y = digits
    batches = [(x[:100], y[:100]), (x[100:], y[100:])]
    clean = (model(x).argmax(dim=1) == y).float().mean().item()
    attacked = (model(fgsm(model, x, y, 0.1)).argmax(dim=1) == y).float().mean().item()
    assert robust_accuracy(model, batches, None) == pytest.approx(clean)
    # FGSM is per-sample in eval mode, so attacking in two batches changes nothing but the loss scale
    assert robust_accuracy(model, batches, partial(fgsm, eps=0.1)) == pytest.approx(attacked)
    assert attacked < clean - 0.2


# --- bad arguments ------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(eps=-0.1), "'eps' parameter of pgd"),
        (dict(alpha=0.0), "'alpha' parameter of pgd"),
        (dict(steps=0), "'steps' parameter of pgd"),
        (dict(norm="l1"), "'norm' parameter of pgd"),
        (dict(bounds=(1.0, 0.0)), "'bounds' parameter of pgd"),
        (dict(bounds=(0.0,)), "'bounds' parameter of pgd"),
        (dict(mean=0.5), "'std' parameter of pgd"),
        (dict(mean=0.5, std=0.0), "'std' parameter of pgd"),
        (dict(mean=[0.5, 0.5, 0.5], std=[0.2, 0.2, 0.2]), "'mean' parameter of pgd"),
        (dict(y=torch.zeros(3, dtype=torch.long)), "'y' parameter of pgd"),
        (dict(y=torch.zeros(4, 1, dtype=torch.long)), "'y' parameter of pgd"),
        (dict(x=torch.rand(4)), "'x' parameter of pgd"),
    ],
)
def test_bad_arguments_raise_value_error(device, kwargs, match):
    kwargs = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
    args = dict(model=nn.Linear(2, 2).to(device), x=torch.rand(4, 2, device=device),
                y=torch.zeros(4, dtype=torch.long, device=device), eps=0.1, alpha=0.05, steps=2) | kwargs
    with pytest.raises(ValueError, match=match):
        pgd(**args)


def test_bad_arguments_of_fgsm_step_and_accuracy(device):
    model = nn.Linear(2, 2).to(device)
    x, y = torch.rand(4, 2, device=device), torch.zeros(4, dtype=torch.long, device=device)
    with pytest.raises(ValueError, match="'eps' parameter of fgsm"):
        fgsm(model, x, y, eps=-1.0)
    with pytest.raises(TypeError, match="'x' parameter of fgsm"):
        fgsm(model, x.long(), y, eps=0.1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="'clean_weight' parameter of adversarial_step"):
        adversarial_step(model, x, y, optimizer, partial(fgsm, eps=0.1), clean_weight=1.5)
    with pytest.raises(TypeError, match="'attack' parameter of adversarial_step"):
        adversarial_step(model, x, y, optimizer, "fgsm")
    with pytest.raises(ValueError, match="'loader' parameter of robust_accuracy"):
        robust_accuracy(model, [], None)
