"""reglab.penalties against closed forms, torch.optim, torch.renorm and scikit-learn."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import ElasticNet, Lasso, Ridge
from torch import nn

from reglab.data import make_sparse_regression
from reglab.penalties import (
    clip_weights_,
    decay_param_groups,
    elastic_net_penalty,
    l1_penalty,
    l2_penalty,
    max_norm_,
    soft_threshold_,
)

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
shapes = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)


def _dtype(device):
    return torch.float32 if device.type == "mps" else torch.float64


def _random_params(device, seed=0, shapes=((3, 4), (4,), (2, 3, 2))):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=g).to(device).requires_grad_() for s in shapes]


# --- penalty values and gradients: closed forms ---------------------------------------------


@SETTINGS
@given(shape=shapes, strength=st.floats(0.0, 10.0), seed=st.integers(0, 1000))
def test_l1_value_and_gradient_are_the_closed_form(device, shape, strength, seed):
    w = torch.randn(shape, generator=torch.Generator().manual_seed(seed)).to(device).requires_grad_()
    value = l1_penalty(w, strength)
    value.backward()
    expected = strength * np.abs(w.detach().cpu().numpy()).sum()
    assert value.device.type == device.type
    assert np.isclose(value.item(), expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(w.grad.cpu(), strength * torch.sign(w.detach().cpu()))


@SETTINGS
@given(shape=shapes, strength=st.floats(0.0, 10.0), seed=st.integers(0, 1000))
def test_l2_value_is_the_sum_of_squares_without_a_half_and_gradient_is_2_theta(device, shape, strength, seed):
    w = torch.randn(shape, generator=torch.Generator().manual_seed(seed)).to(device).requires_grad_()
    value = l2_penalty(w, strength)
    value.backward()
    expected = strength * (w.detach().cpu().numpy() ** 2).sum()
    assert np.isclose(value.item(), expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(w.grad.cpu(), 2 * strength * w.detach().cpu())


def test_penalties_sum_over_a_list_and_over_a_module(device):
    params = _random_params(device)
    expected_l1 = sum(np.abs(p.detach().cpu().numpy()).sum() for p in params)
    expected_l2 = sum((p.detach().cpu().numpy() ** 2).sum() for p in params)
    assert np.isclose(l1_penalty(params).item(), expected_l1, rtol=1e-6)
    assert np.isclose(l2_penalty(params).item(), expected_l2, rtol=1e-6)
    assert np.isclose(elastic_net_penalty(params, 0.3, 0.7).item(), 0.3 * expected_l1 + 0.7 * expected_l2, rtol=1e-6)
    model = nn.Linear(3, 2).to(device)
    manual = model.weight.abs().sum() + model.bias.abs().sum()
    torch.testing.assert_close(l1_penalty(model), manual)


def test_a_penalty_on_param_data_has_no_gradient_but_ours_has(device):
    w = torch.randn(5, device=device, requires_grad=True)
    assert not l2_penalty(w.data).requires_grad  # the sources' mistake: .data cuts the graph
    assert l2_penalty(w).requires_grad


@pytest.mark.parametrize("penalty", [l1_penalty, l2_penalty])
@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_penalties_reject_negative_or_non_finite_strength(penalty, bad):
    with pytest.raises(ValueError, match="'strength' parameter of " + penalty.__name__):
        penalty(torch.ones(2), bad)


def test_elastic_net_and_steps_reject_bad_arguments():
    with pytest.raises(ValueError, match="'l2_strength' parameter of elastic_net_penalty"):
        elastic_net_penalty(torch.ones(2), 0.1, -1.0)
    with pytest.raises(ValueError, match="'threshold' parameter of soft_threshold_"):
        soft_threshold_(torch.ones(2), float("nan"))
    with pytest.raises(ValueError, match="'max_norm' parameter of max_norm_"):
        max_norm_(torch.ones(2, 2), 0.0)
    with pytest.raises(ValueError, match="'params' parameter of max_norm_"):
        max_norm_(torch.ones(2), 1.0)
    with pytest.raises(ValueError, match="'clip_value' parameter of clip_weights_"):
        clip_weights_(torch.ones(2), -1.0)
    with pytest.raises(TypeError, match="'params' parameter of l1_penalty"):
        l1_penalty(3.0)
    with pytest.raises(ValueError, match="'weight_decay' parameter of decay_param_groups"):
        decay_param_groups(nn.Linear(2, 2), -1e-4)


# --- weight decay in torch.optim: coupled (SGD, Adam) and decoupled (AdamW) --------------------


def _regression_problem(device, dtype):
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(64, 5, generator=g, dtype=torch.float64), torch.randn(64, generator=g, dtype=torch.float64)
    w0 = torch.randn(5, generator=g, dtype=torch.float64)
    return X.to(device, dtype), y.to(device, dtype), w0.to(device, dtype)


def _train(w0, X, y, make_optimizer, penalty=None, before_step=None, steps=50):
    w = w0.clone().requires_grad_()
    optimizer = make_optimizer([w])
    for _ in range(steps):
        loss = F.mse_loss(X @ w, y)
        if penalty is not None:
            loss = loss + penalty(w)
        optimizer.zero_grad()
        loss.backward()
        if before_step is not None:
            before_step(w)
        optimizer.step()
    return w.detach()


def test_sgd_weight_decay_equals_half_lambda_times_l2_penalty(device):
    X, y, w0 = _regression_problem(device, _dtype(device))
    lam = 0.3
    builtin = _train(w0, X, y, lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=lam))
    ours = _train(w0, X, y, lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9), penalty=lambda w: l2_penalty(w, lam / 2))
    wrong = _train(w0, X, y, lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9), penalty=lambda w: l2_penalty(w, lam))
    torch.testing.assert_close(ours, builtin)
    assert (wrong - builtin).abs().max() > 1e-3  # the factor 2 matters


def test_adam_weight_decay_is_coupled_l2_and_differs_from_adamw(device):
    X, y, w0 = _regression_problem(device, _dtype(device))
    lam, lr = 0.1, 0.01
    adam_wd = _train(w0, X, y, lambda p: torch.optim.Adam(p, lr=lr, weight_decay=lam))
    adam_l2 = _train(w0, X, y, lambda p: torch.optim.Adam(p, lr=lr), penalty=lambda w: l2_penalty(w, lam / 2))
    adamw = _train(w0, X, y, lambda p: torch.optim.AdamW(p, lr=lr, weight_decay=lam))

    def decoupled(w):  # AdamW's definition: shrink by (1 - lr * lam), then an Adam step on the loss alone
        w.data.mul_(1 - lr * lam)

    adam_then_decay = _train(w0, X, y, lambda p: torch.optim.Adam(p, lr=lr), before_step=decoupled)
    torch.testing.assert_close(adam_l2, adam_wd)  # Adam's weight_decay is an L2 penalty in the gradient
    torch.testing.assert_close(adam_then_decay, adamw)
    gap = (adam_wd - adamw).norm() / adamw.norm()
    assert 0.01 < gap.item() < 0.5, gap  # on this problem after 50 steps: 5.6% apart (relative L2 distance)


# --- proximal gradient (ISTA), ridge and elastic net against scikit-learn ---------------------


def _sparse_problem(device, dtype, n=200, d=30):
    X, y, w_true = make_sparse_regression(n, d, n_informative=5, noise=0.1, generator=torch.Generator().manual_seed(1))
    return X.to(device, dtype), y.to(device, dtype), w_true


def _ista(X, y, l1=0.0, l2=0.0, steps=3000):
    """Proximal gradient on (1/2n)||y - Xw||^2 + l2 * ||w||^2 + l1 * ||w||_1, with the 1/L step."""
    n = len(y)
    lipschitz = torch.linalg.eigvalsh(X.T @ X / n).max() + 2 * l2
    lr = (1.0 / lipschitz).item()
    w = torch.zeros(X.shape[1], device=X.device, dtype=X.dtype, requires_grad=True)
    for _ in range(steps):
        smooth = 0.5 * (X @ w - y).pow(2).mean() + l2_penalty(w, l2)
        (grad,) = torch.autograd.grad(smooth, w)
        with torch.no_grad():
            w -= lr * grad
        soft_threshold_(w, lr * l1)
    return w.detach()


def test_ista_with_soft_threshold_reaches_sklearn_lasso_and_the_true_support(device):
    dtype = _dtype(device)
    X, y, w_true = _sparse_problem(device, dtype)
    alpha = 0.1
    ours = _ista(X, y, l1=alpha).cpu().double().numpy()
    reference = Lasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(X.cpu().numpy(), y.cpu().numpy())
    tol = 1e-4 if dtype == torch.float64 else 1e-3
    np.testing.assert_allclose(ours, reference.coef_, atol=tol)
    assert np.array_equal(ours != 0, w_true.numpy() != 0)  # exact zeros exactly off the support


def test_soft_threshold_is_the_closed_form_and_torch_softshrink(device):
    w = torch.randn(4, 7, generator=torch.Generator().manual_seed(3)).to(device)
    expected = torch.sign(w) * torch.clamp(w.abs() - 0.4, min=0)
    reference = F.softshrink(w, 0.4)
    soft_threshold_(w, 0.4)
    torch.testing.assert_close(w, expected)
    torch.testing.assert_close(w, reference)


def test_ridge_by_gradient_descent_matches_closed_form_and_sklearn_ridge(device):
    dtype = _dtype(device)
    X, y, _ = _sparse_problem(device, dtype, n=50, d=10)
    alpha = 5.0  # sklearn's Ridge: ||y - Xw||^2 + alpha * ||w||^2
    w = torch.zeros(10, device=device, dtype=dtype, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=1e-3)
    for _ in range(3000):
        loss = (X @ w - y).pow(2).sum() + l2_penalty(w, alpha)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    Xd, yd = X.cpu().double(), y.cpu().double()
    closed_form = torch.linalg.solve(Xd.T @ Xd + alpha * torch.eye(10, dtype=torch.float64), Xd.T @ yd)
    reference = Ridge(alpha=alpha, fit_intercept=False, solver="cholesky").fit(Xd.numpy(), yd.numpy())
    tol = 1e-8 if dtype == torch.float64 else 1e-4
    np.testing.assert_allclose(w.detach().cpu().double().numpy(), closed_form.numpy(), atol=tol)
    np.testing.assert_allclose(reference.coef_, closed_form.numpy(), atol=1e-10)


def test_elastic_net_by_ista_matches_sklearn_elastic_net(device):
    dtype = _dtype(device)
    X, y, _ = _sparse_problem(device, dtype)
    alpha, l1_ratio = 0.2, 0.6
    l1, l2 = alpha * l1_ratio, alpha * (1 - l1_ratio) / 2  # sklearn's scaling, in elastic_net_penalty's terms
    ours = _ista(X, y, l1=l1, l2=l2)
    reference = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=False, tol=1e-12, max_iter=100_000)
    reference.fit(X.cpu().numpy(), y.cpu().numpy())
    tol = 1e-4 if dtype == torch.float64 else 1e-3
    np.testing.assert_allclose(ours.cpu().double().numpy(), reference.coef_, atol=tol)
    # the same objective, written with elastic_net_penalty, is lowest at the shared solution
    coef = torch.as_tensor(reference.coef_, device=device, dtype=dtype)

    def objective(w):
        return 0.5 * (X @ w - y).pow(2).mean() + elastic_net_penalty(w, l1, l2)

    nudges = 1e-3 * torch.randn(20, len(coef), generator=torch.Generator().manual_seed(0)).to(device, dtype)
    assert all(objective(coef) <= objective(coef + nudge) for nudge in nudges)


# --- constraints: max-norm and weight clipping ------------------------------------------------


@pytest.mark.parametrize("shape, dim", [((6, 4), 0), ((5, 3, 3, 3), 0), ((6, 4), 1)])
def test_max_norm_matches_torch_renorm(device, shape, dim):
    w = torch.randn(shape, generator=torch.Generator().manual_seed(0)).to(device)
    norms = w.movedim(dim, 0).flatten(1).norm(dim=1)  # (units,)
    limit = ((norms.min() + norms.max()) / 2).item()  # some units inside the ball, some outside
    expected = torch.renorm(w, p=2, dim=dim, maxnorm=limit)
    before = w.clone()
    max_norm_(w, limit, dim=dim)
    torch.testing.assert_close(w, expected)
    inside = (norms <= limit).cpu()
    assert 0 < inside.sum() < len(inside)
    assert torch.equal(w.movedim(dim, 0)[inside], before.movedim(dim, 0)[inside])  # untouched inside the ball


def test_max_norm_on_a_module_leaves_biases_alone(device):
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).to(device)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(10)
    biases = [model[0].bias.clone(), model[2].bias.clone()]
    max_norm_(model, 0.5)
    assert (model[0].weight.norm(dim=1) <= 0.5 + 1e-5).all()
    assert torch.equal(model[0].bias, biases[0]) and torch.equal(model[2].bias, biases[1])


def test_clip_weights_matches_numpy_clip(device):
    params = _random_params(device)
    expected = [np.clip(p.detach().cpu().numpy(), -0.5, 0.5) for p in params]
    clip_weights_(params, 0.5)
    for p, e in zip(params, expected):
        np.testing.assert_array_equal(p.detach().cpu().numpy(), e)


# --- decay_param_groups ------------------------------------------------------------------------


class _Mixed(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.conv = nn.Conv2d(1, 3, 3)
        self.bn = nn.BatchNorm2d(3)
        self.ln = nn.LayerNorm((3, 2))  # a 2-D norm weight: excluded by its layer, not its shape
        self.fc = nn.Linear(6, 2)
        self.head = nn.Linear(2, 10, bias=False)
        self.tied = self.head  # a shared module: its weight must appear once


def test_decay_param_groups_decays_exactly_weight_matrices_and_kernels(device):
    model = _Mixed().to(device)
    decay, no_decay = decay_param_groups(model, 5e-4)
    name = {id(p): n for n, p in model.named_parameters()}
    assert sorted(name[id(p)] for p in decay["params"]) == ["conv.weight", "embed.weight", "fc.weight", "head.weight"]
    assert sorted(name[id(p)] for p in no_decay["params"]) == ["bn.bias", "bn.weight", "conv.bias", "fc.bias", "ln.bias", "ln.weight"]
    assert decay["weight_decay"] == 5e-4 and no_decay["weight_decay"] == 0.0
    optimizer = torch.optim.AdamW([decay, no_decay], lr=1e-3)  # accepted by torch.optim, no duplicates
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(list(model.parameters()))


def test_decay_param_groups_matches_per_parameter_weight_decay(device):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1)).to(device)
    clone = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1)).to(device)
    clone.load_state_dict(model.state_dict())
    x = torch.randn(8, 3, device=device)
    opt = torch.optim.SGD(decay_param_groups(model, 0.1), lr=0.1)
    opt_ref = torch.optim.SGD(clone.parameters(), lr=0.1)
    for net, optimizer, penalty in [(model, opt, None), (clone, opt_ref, [clone[0].weight, clone[2].weight])]:
        loss = net(x).pow(2).mean()
        if penalty is not None:
            loss = loss + l2_penalty(penalty, 0.05)  # (0.1 / 2) on the two weight matrices only
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for a, b in zip(model.parameters(), clone.parameters()):
        torch.testing.assert_close(a, b)


class MyLayerNorm(nn.Module):  # a from-scratch norm layer, recognized by its name
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(2, 3))


class NormalizedProjection(nn.Linear):  # "Norm" inside the name but not a norm layer: decayed
    pass


def test_decay_param_groups_recognizes_norm_layers_by_class_name():
    model = nn.Sequential(MyLayerNorm(), NormalizedProjection(3, 3))
    decay, no_decay = decay_param_groups(model, 0.1)
    assert [p.shape for p in decay["params"]] == [torch.Size([3, 3])]
    assert {tuple(p.shape) for p in no_decay["params"]} == {(2, 3), (3,)}
