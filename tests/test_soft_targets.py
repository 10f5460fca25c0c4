"""soft_cross_entropy against F.cross_entropy."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from reglab.losses import soft_cross_entropy


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 16), k=st.integers(1, 12), seed=st.integers(0, 1000))
def test_equals_cross_entropy_with_probability_targets(n, k, seed):
    g = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(n, k, generator=g)
    target = torch.softmax(torch.randn(n, k, generator=g), dim=1)
    for reduction in ("mean", "sum", "none"):
        torch.testing.assert_close(
            soft_cross_entropy(logits, target, reduction=reduction), F.cross_entropy(logits, target, reduction=reduction)
        )


def test_one_hot_targets_give_the_hard_label_loss_and_gradient(device):
    g = torch.Generator(device=device).manual_seed(0)
    logits = torch.randn(32, 10, generator=g, device=device, requires_grad=True)
    labels = torch.randint(0, 10, (32,), generator=g, device=device)
    ours = soft_cross_entropy(logits, F.one_hot(labels, 10).float())
    reference = F.cross_entropy(logits, labels)
    torch.testing.assert_close(ours, reference)
    (grad_ours,) = torch.autograd.grad(ours, logits)
    (grad_ref,) = torch.autograd.grad(reference, logits)
    torch.testing.assert_close(grad_ours, grad_ref)


def test_blended_target_gives_blended_loss(device):
    logits = torch.randn(8, 5, device=device)
    a, b = torch.randint(0, 5, (8,), device=device), torch.randint(0, 5, (8,), device=device)
    lam = 0.3
    target = lam * F.one_hot(a, 5).float() + (1 - lam) * F.one_hot(b, 5).float()
    expected = lam * F.cross_entropy(logits, a) + (1 - lam) * F.cross_entropy(logits, b)
    torch.testing.assert_close(soft_cross_entropy(logits, target), expected)


@pytest.mark.parametrize(
    "logits, target, kwargs, error, match",
    [
        (torch.zeros(2, 3), torch.zeros(2, 4), {}, ValueError, "'target' parameter"),
        (torch.zeros(2, 3), torch.tensor([0, 1]), {}, ValueError, "'target' parameter"),
        (torch.zeros(3), torch.zeros(3), {}, ValueError, "'logits' parameter"),
        (torch.zeros(2, 3), torch.zeros(2, 3), {"reduction": "avg"}, ValueError, "'reduction' parameter"),
    ],
)
def test_bad_arguments_raise(logits, target, kwargs, error, match):
    with pytest.raises(error, match=match):
        soft_cross_entropy(logits, target, **kwargs)
