"""Tests of reglab.adversarial.trades_loss against the TRADES paper's published training code.

The reference below follows ``trades.py`` of Zhang et al.'s repository (yaodongyu/TRADES):
a start at x + 0.001 N(0, I), signed steps on KL(f(x) || f(x')) summed over the batch, the
projection with torch.min/torch.max and the clamp to [0, 1], the model in eval mode for the
attack, then CE(f(x), y) + beta * KL / batch_size. With the same random start the two agree to
float32 rounding, in value and in the parameters' gradients.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reglab.adversarial import trades_loss


def _reference_trades(model, x_natural, y, step_size, epsilon, perturb_steps, beta, noise):
    """The TRADES repository's trades_loss, with the random start passed in as ``noise``."""
    criterion_kl = nn.KLDivLoss(reduction="sum")
    model.eval()
    batch_size = len(x_natural)
    x_adv = x_natural.detach() + 0.001 * noise
    for _ in range(perturb_steps):
        x_adv.requires_grad_()
        with torch.enable_grad():
            loss_kl = criterion_kl(F.log_softmax(model(x_adv), dim=1), F.softmax(model(x_natural), dim=1))
        grad = torch.autograd.grad(loss_kl, [x_adv])[0]
        x_adv = x_adv.detach() + step_size * torch.sign(grad.detach())
        x_adv = torch.min(torch.max(x_adv, x_natural - epsilon), x_natural + epsilon)
        x_adv = torch.clamp(x_adv, 0.0, 1.0)
    model.train()
    x_adv = x_adv.detach()
    logits = model(x_natural)
    loss_natural = F.cross_entropy(logits, y)
    loss_robust = (1.0 / batch_size) * criterion_kl(F.log_softmax(model(x_adv), dim=1), F.softmax(logits, dim=1))
    return loss_natural + beta * loss_robust


def _model(device):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4)).to(device)


@pytest.mark.parametrize("beta", [0.0, 1.0, 6.0])
def test_trades_loss_matches_the_papers_code(device, beta):
    model = _model(device)
    g = torch.Generator().manual_seed(1)
    x = (0.25 + 0.5 * torch.rand(32, 6, generator=g)).to(device)  # inside [0, 1], away from its edges
    y = torch.randint(0, 4, (32,), generator=g).to(device)
    generator = torch.Generator(device=device).manual_seed(2)
    noise = torch.empty_like(x).normal_(generator=torch.Generator(device=device).manual_seed(2))

    model.train()
    loss = trades_loss(model, x, y, eps=0.1, alpha=0.02, steps=5, beta=beta, generator=generator)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    expected = _reference_trades(model, x, y, 0.02, 0.1, 5, beta, noise)
    expected_grads = torch.autograd.grad(expected, list(model.parameters()))

    torch.testing.assert_close(loss, expected, atol=1e-5, rtol=1e-5)
    for a, b in zip(grads, expected_grads):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert model.training  # the attack's eval mode was undone


def test_trades_loss_is_the_cross_entropy_without_a_budget_or_weight(device):
    model = _model(device)
    x, y = torch.rand(16, 6, device=device), torch.randint(0, 4, (16,), device=device)
    ce = F.cross_entropy(model(x), y)
    torch.testing.assert_close(trades_loss(model, x, y, eps=0.0, alpha=0.01, steps=3, start_std=0.0), ce)
    torch.testing.assert_close(trades_loss(model, x, y, eps=0.1, alpha=0.01, steps=3, beta=0.0), ce)
    # the KL term is non-negative: the loss is at least the cross-entropy
    assert trades_loss(model, x, y, eps=0.1, alpha=0.03, steps=3) >= ce


def test_trades_loss_leaves_parameter_grads_alone_until_backward(device):
    model = _model(device)
    x, y = torch.rand(8, 6, device=device), torch.randint(0, 4, (8,), device=device)
    loss = trades_loss(model, x, y, eps=0.1, alpha=0.03, steps=3)
    assert all(p.grad is None for p in model.parameters())  # the attack touched no .grad
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(eps=-0.1), ValueError, "'eps' parameter of trades_loss"),
        (dict(alpha=0.0), ValueError, "'alpha' parameter of trades_loss"),
        (dict(steps=0), ValueError, "'steps' parameter of trades_loss"),
        (dict(beta=-1.0), ValueError, "'beta' parameter of trades_loss"),
        (dict(start_std=-1.0), ValueError, "'start_std' parameter of trades_loss"),
        (dict(bounds=(1.0, 0.0)), ValueError, "'bounds' parameter of trades_loss"),
        (dict(y=torch.zeros(3, dtype=torch.long)), ValueError, "'y' parameter of trades_loss"),
        (dict(model="a model"), TypeError, "'model' parameter of trades_loss"),
    ],
)
def test_bad_arguments_of_trades_loss(device, kwargs, error, match):
    kwargs = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
    args = dict(model=nn.Linear(2, 2).to(device), x=torch.rand(4, 2, device=device),
                y=torch.zeros(4, dtype=torch.long, device=device), eps=0.1, alpha=0.05, steps=2) | kwargs
    with pytest.raises(error, match=match):
        trades_loss(**args)
