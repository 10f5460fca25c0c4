"""Distillation loss against ``F.kl_div`` × T², ``F.cross_entropy`` and Hinton et al.'s high-temperature limit."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reglab.losses import DistillationLoss, distillation_loss


def _logits(n, k, seed, device, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    student = scale * torch.randn(n, k, generator=g, dtype=torch.float64)
    teacher = scale * torch.randn(n, k, generator=g, dtype=torch.float64)
    target = torch.randint(0, k, (n,), generator=g)
    return student.to(device), teacher.to(device), target.to(device)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n=st.integers(1, 16),
    k=st.integers(2, 10),
    temperature=st.floats(0.5, 20.0),
    alpha=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_matches_kl_div_times_t_squared_plus_cross_entropy(device, n, k, temperature, alpha, seed):
    student, teacher, target = _logits(n, k, seed, device)
    kl = F.kl_div(F.log_softmax(student / temperature, dim=1), F.softmax(teacher / temperature, dim=1), reduction="batchmean")
    reference = alpha * temperature**2 * kl + (1 - alpha) * F.cross_entropy(student, target)
    ours = distillation_loss(student, teacher, target, temperature, alpha)
    torch.testing.assert_close(ours, reference, atol=1e-9, rtol=1e-7)


def test_alpha_one_needs_no_target_and_teacher_gets_no_gradient(device):
    student, teacher, _ = _logits(8, 5, 0, device)
    student.requires_grad_()
    teacher.requires_grad_()
    loss = DistillationLoss(temperature=2.0, alpha=1.0)(student, teacher)
    kl = F.kl_div(F.log_softmax(student / 2, dim=1), F.softmax(teacher.detach() / 2, dim=1), reduction="batchmean")
    torch.testing.assert_close(loss, 4 * kl)
    loss.backward()
    assert teacher.grad is None
    assert student.grad is not None and student.grad.abs().sum() > 0


def _soft_gradient(student, teacher, temperature):
    student = student.detach().clone().requires_grad_()
    distillation_loss(student, teacher, temperature=temperature, alpha=1.0).backward()
    return student.grad


def test_gradient_scale_stays_of_the_same_order_as_t_changes(device):
    student, teacher, _ = _logits(64, 10, 1, device)
    norms = torch.stack([_soft_gradient(student, teacher, t).norm() for t in (2.0, 4.0, 8.0, 16.0, 32.0)])
    assert norms.max() / norms.min() < 2.0  # with the T² factor
    # without it the same gradients would span a factor (32 / 2)² = 256 times larger
    unscaled = norms / torch.tensor([2.0, 4.0, 8.0, 16.0, 32.0], device=device, dtype=norms.dtype) ** 2
    assert unscaled.max() / unscaled.min() > 100


def test_high_temperature_limit_is_logit_matching(device):
    # Hinton et al. (2015), section 2.1: for T >> |z|, T² ∂KL/∂s_k -> (s_k - t_k) / (N K) with zero-mean logits.
    student, teacher, _ = _logits(16, 10, 2, device)
    student, teacher = student - student.mean(1, keepdim=True), teacher - teacher.mean(1, keepdim=True)
    expected = (student - teacher) / (16 * 10)
    torch.testing.assert_close(_soft_gradient(student, teacher, 1000.0), expected, atol=1e-4, rtol=1e-2)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(temperature=0.0), ValueError, "'temperature' parameter of distillation_loss"),
        (dict(alpha=1.5), ValueError, "'alpha' parameter"),
        (dict(target=None, alpha=0.5), ValueError, "'target' parameter"),
        (dict(teacher_logits=torch.zeros(3, 4)), ValueError, "'teacher_logits' parameter"),
        (dict(student_logits=torch.zeros(3, 2, dtype=torch.long)), TypeError, "'student_logits' parameter"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    args = dict(student_logits=torch.zeros(3, 2), teacher_logits=torch.zeros(3, 2), target=torch.zeros(3, dtype=torch.long)) | kwargs
    with pytest.raises(error, match=match):
        distillation_loss(**args)
    with pytest.raises(ValueError, match="'temperature' parameter of DistillationLoss"):
        DistillationLoss(temperature=-1.0)
