"""Label smoothing against PyTorch's ``F.cross_entropy(..., label_smoothing=ε)``."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reglab.losses import LabelSmoothingCrossEntropy, label_smoothing_cross_entropy, smooth_labels


def _batch(shape, num_classes, seed, device, ignore_fraction=0.0):
    g = torch.Generator().manual_seed(seed)
    logits = (3 * torch.randn(shape[0], num_classes, *shape[1:], generator=g, dtype=torch.float64)).to(device)
    target = torch.randint(0, num_classes, shape, generator=g)
    if ignore_fraction > 0:
        target[torch.rand(shape, generator=g) < ignore_fraction] = -100
        target.view(-1)[0] = 0  # at least one sample counts
    return logits, target.to(device)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    num_classes=st.integers(1, 7),
    epsilon=st.floats(0.0, 1.0),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    ignore=st.sampled_from([0.0, 0.3]),
    seed=st.integers(0, 2**16),
)
def test_matches_torch_cross_entropy(device, shape, num_classes, epsilon, reduction, ignore, seed):
    logits, target = _batch(shape, num_classes, seed, device, ignore)
    ours = label_smoothing_cross_entropy(logits, target, epsilon, reduction=reduction)
    reference = F.cross_entropy(logits, target, label_smoothing=epsilon, reduction=reduction)
    torch.testing.assert_close(ours, reference, atol=1e-6, rtol=1e-6)


def test_matches_torch_float32_and_gradient(device):
    logits, target = _batch((64,), 10, 0, device, ignore_fraction=0.2)
    logits = logits.float().requires_grad_()
    reference_logits = logits.detach().clone().requires_grad_()
    ours = label_smoothing_cross_entropy(logits, target, 0.1)
    reference = F.cross_entropy(reference_logits, target, label_smoothing=0.1)
    torch.testing.assert_close(ours, reference, atol=1e-6, rtol=1e-6)
    ours.backward()
    reference.backward()
    torch.testing.assert_close(logits.grad, reference_logits.grad, atol=1e-6, rtol=1e-5)


def test_custom_ignore_index_and_module(device):
    logits, target = _batch((8, 3), 5, 1, device)
    target[0, 0] = 4
    module = LabelSmoothingCrossEntropy(0.2, reduction="sum", ignore_index=4)
    reference = F.cross_entropy(logits, target, label_smoothing=0.2, reduction="sum", ignore_index=4)
    torch.testing.assert_close(module(logits, target), reference, atol=1e-6, rtol=1e-6)
    assert repr(module) == "LabelSmoothingCrossEntropy(epsilon=0.2, reduction='sum')"


def test_smooth_labels_closed_form(device):
    q = smooth_labels(torch.tensor([2, 0], device=device), 4, 0.2)
    expected = torch.tensor([[0.05, 0.05, 0.85, 0.05], [0.85, 0.05, 0.05, 0.05]], device=device)
    torch.testing.assert_close(q, expected)
    torch.testing.assert_close(q.sum(dim=1), torch.ones(2, device=device))


def test_k_minus_one_convention_differs_from_torch(device):
    # The ε/(K-1) variant puts 1 - ε on the true class; PyTorch puts 1 - ε + ε/K there.
    logits, target = _batch((32,), 10, 2, device)
    log_p = F.log_softmax(logits, dim=1)
    q_other = torch.full_like(log_p, 0.1 / 9).scatter_(1, target.unsqueeze(1), 0.9)
    other = -(q_other * log_p).sum(dim=1).mean()
    reference = F.cross_entropy(logits, target, label_smoothing=0.1)
    assert (other - reference).abs() > 1e-3


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(epsilon=1.5), ValueError, "'epsilon' parameter of label_smoothing_cross_entropy"),
        (dict(epsilon=-0.1), ValueError, "'epsilon' parameter"),
        (dict(reduction="avg"), ValueError, "'reduction' parameter"),
        (dict(target=torch.zeros(3)), TypeError, "'target' parameter"),
        (dict(target=torch.zeros(4, dtype=torch.long)), ValueError, "'target' parameter"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    args = dict(logits=torch.zeros(3, 2), target=torch.zeros(3, dtype=torch.long), epsilon=0.1) | kwargs
    with pytest.raises(error, match=match):
        label_smoothing_cross_entropy(args.pop("logits"), args.pop("target"), **args)
    with pytest.raises(ValueError, match="'epsilon' parameter of LabelSmoothingCrossEntropy"):
        LabelSmoothingCrossEntropy(2.0)


@pytest.mark.parametrize("dtype", [torch.int32, torch.uint8])
def test_targets_must_be_int64_class_indices(dtype):
    # F.one_hot and F.cross_entropy need int64; a narrower dtype gets a TypeError naming the target.
    target = torch.tensor([0, 1, 2], dtype=dtype)
    with pytest.raises(TypeError, match="'target' parameter of smooth_labels must be an int64 tensor"):
        smooth_labels(target, 3)
    with pytest.raises(TypeError, match="'target' parameter of label_smoothing_cross_entropy must be an int64 tensor"):
        label_smoothing_cross_entropy(torch.zeros(3, 3), target)
    with pytest.raises(TypeError, match="'target' parameter of label_smoothing_cross_entropy must be an int64 tensor"):
        LabelSmoothingCrossEntropy(0.1)(torch.zeros(3, 3), target)
