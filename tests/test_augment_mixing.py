"""mixup, CutMix and their Beta sampler, against closed forms, scipy and torchvision."""

import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.transforms import v2

from reglab.augment import CutMix, MixUp, cutmix, mixup, sample_beta


def gen(device, seed=0):
    return torch.Generator(device=device).manual_seed(seed)


def distinct_batch(device, n, shape, seed=0):
    """Continuous random inputs and n distinct labels, so a soft target names its partner."""
    g = gen(device, seed)
    x = torch.rand(n, *shape, generator=g, device=device)
    y = torch.randperm(n, generator=g, device=device)
    return x, y


def implied_pairs(soft, y):
    """(lambda_i, partner_i) read off soft targets: weight of the own class, and the other class's owner."""
    n = len(y)
    own = soft[torch.arange(n), y]  # (N,)
    others = soft.clone()
    others[torch.arange(n), y] = -1.0
    other_class = others.argmax(dim=1)  # (N,)
    owner_of = torch.empty_like(y)
    owner_of[y] = torch.arange(n, device=y.device)  # class -> index of the image with that label
    partner = torch.where(others.max(dim=1).values > 0, owner_of[other_class], torch.arange(n, device=y.device))
    return own, partner


@pytest.mark.parametrize("alpha", [0.2, 1.0, 2.0])
def test_sample_beta_follows_the_beta_distribution(alpha):
    lam = sample_beta(alpha, (4000,), generator=torch.Generator().manual_seed(1))
    assert 0.0 <= lam.min().item() and lam.max().item() <= 1.0
    p_value = scipy.stats.kstest(lam.double().numpy(), scipy.stats.beta(alpha, alpha).cdf).pvalue
    assert p_value > 1e-3


@settings(max_examples=15, deadline=None)
@given(n=st.integers(2, 12), d=st.integers(1, 5), alpha=st.sampled_from([0.2, 1.0, 4.0]), seed=st.integers(0, 50))
def test_mixup_is_the_blend_the_soft_targets_imply(n, d, alpha, seed):
    x, y = distinct_batch("cpu", n, (d,), seed)
    mixed, soft = mixup(x, y, alpha, n, generator=torch.Generator().manual_seed(seed))
    assert mixed.shape == x.shape and soft.shape == (n, n)
    torch.testing.assert_close(soft.sum(dim=1), torch.ones(n))
    lam, partner = implied_pairs(soft, y)
    named = lam < 1  # (a weight of exactly 1 in float32 leaves the partner unnamed, and irrelevant)
    assert len(set(partner[named].tolist())) == int(named.sum())  # distinct partners: a permutation
    expected = lam[:, None] * x + (1 - lam[:, None]) * x[partner]
    torch.testing.assert_close(mixed, expected)


def test_mixup_on_images_and_device(device):
    x, y = distinct_batch(device, 64, (3, 5, 5))
    mixed, soft = mixup(x, y, 0.4, 64, generator=gen(device))
    assert mixed.device.type == device.type and soft.device.type == device.type
    lam, partner = implied_pairs(soft, y)
    torch.testing.assert_close(mixed, lam.view(-1, 1, 1, 1) * x + (1 - lam.view(-1, 1, 1, 1)) * x[partner])


def test_mixup_weights_follow_beta():
    lams = []
    for seed in range(20):
        x, y = distinct_batch("cpu", 100, (2,), seed)
        _, soft = mixup(x, y, 0.4, 100, generator=torch.Generator().manual_seed(seed))
        lam, partner = implied_pairs(soft, y)
        lams.append(lam[partner != torch.arange(100)])
    p_value = scipy.stats.kstest(torch.cat(lams).double().numpy(), scipy.stats.beta(0.4, 0.4).cdf).pvalue
    assert p_value > 1e-3


@settings(max_examples=15, deadline=None)
@given(n=st.integers(2, 10), h=st.integers(1, 12), w=st.integers(1, 12), seed=st.integers(0, 50))
def test_cutmix_targets_are_the_pixel_fractions(n, h, w, seed):
    x, y = distinct_batch("cpu", n, (2, h, w), seed)
    mixed, soft = cutmix(x, y, 1.0, n, generator=torch.Generator().manual_seed(seed))
    torch.testing.assert_close(soft.sum(dim=1), torch.ones(n))
    lam, partner = implied_pairs(soft, y)
    from_self = (mixed == x).all(dim=1)  # (N, H, W): pixel kept
    from_partner = (mixed == x[partner]).all(dim=1)
    assert bool((from_self | from_partner).all())
    torch.testing.assert_close(from_self.float().mean(dim=(1, 2)), lam)  # the area-corrected lambda
    for i in range(n):  # the pasted region is one rectangle
        rows, cols = torch.nonzero(~from_self[i], as_tuple=True)
        if len(rows):
            assert len(rows) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)


def test_cutmix_on_device_matches_torchvision_area_distribution(device):
    # torchvision's v2.CutMix draws one box per batch; over many batches its kept fraction has the
    # same distribution as ours per image (same box rule, clipping and area correction).
    ours, theirs = [], []
    x, y = distinct_batch(device, 200, (1, 32, 32))
    _, soft = cutmix(x, y, 1.0, 200, generator=gen(device))
    ours = implied_pairs(soft, y)[0].cpu()
    torch.manual_seed(0)
    reference = v2.CutMix(alpha=1.0, num_classes=2)
    xs, ys = torch.rand(2, 1, 32, 32), torch.tensor([0, 1])
    for _ in range(600):
        _, target = reference(xs, ys)
        theirs.append(target[0, 0])
    theirs = torch.stack(theirs)
    assert scipy.stats.ks_2samp(ours.double().numpy(), theirs.double().numpy()).pvalue > 1e-3


def test_soft_input_targets_are_mixed_too():
    x = torch.rand(6, 3, 4, 4)
    soft_in = torch.softmax(torch.randn(6, 5), dim=1)
    for transform in (MixUp(1.0, 5, generator=torch.Generator().manual_seed(0)), CutMix(1.0, 5, generator=torch.Generator().manual_seed(0))):
        _, soft = transform(x, soft_in)
        torch.testing.assert_close(soft.sum(dim=1), torch.ones(6))


def test_same_seed_same_mix(device):
    x, y = distinct_batch(device, 16, (3, 8, 8))
    a = cutmix(x, y, 1.0, 16, generator=gen(device, 5))
    b = cutmix(x, y, 1.0, 16, generator=gen(device, 5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert repr(MixUp(0.2, 10)) == "MixUp(alpha=0.2, num_classes=10)"


@pytest.mark.parametrize("fn", [mixup, cutmix])
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(alpha=0.0), ValueError, "'alpha' parameter of {}"),
        (dict(alpha=-1.0), ValueError, "'alpha' parameter of {}"),
        (dict(num_classes=0), ValueError, "'num_classes' parameter of {}"),
        (dict(y=torch.tensor([0, 1, 2, 3])), ValueError, "'y' parameter of {} must be class indices in the range \\[0, 2\\]"),
        (dict(y=torch.tensor([0, -1, 2, 1])), ValueError, "'y' parameter of {}"),
        (dict(y=torch.tensor([0, 1])), ValueError, "'y' parameter of {} must be one target per image"),
        (dict(y=torch.rand(4, 2)), ValueError, r"'y' parameter of {} must be float probabilities of shape \(4, 3\)"),
        (dict(y=torch.ones(4, 3, dtype=torch.long)), TypeError, r"'y' parameter of {} must be float probabilities.*dtype torch.int64"),
        (dict(x=torch.rand(4)), ValueError, "'x' parameter of {}"),
        (dict(generator=1), TypeError, "'generator' parameter of {}"),
    ],
)
def test_bad_arguments_raise(fn, kwargs, error, match):
    args = dict(x=torch.rand(4, 1, 4, 4), y=torch.tensor([0, 1, 2, 1]), alpha=1.0, num_classes=3)
    args.update(kwargs)
    generator = args.pop("generator", None)
    with pytest.raises(error, match=match.format(fn.__name__)):
        fn(args["x"], args["y"], args["alpha"], args["num_classes"], generator=generator)


def test_cutmix_needs_images():
    with pytest.raises(ValueError, match="'x' parameter of cutmix must be a tensor with 4 dimensions"):
        cutmix(torch.rand(4, 2), torch.tensor([0, 1, 0, 1]), 1.0, 2)


def test_sample_beta_on_device(device):
    lam = sample_beta(2.0, (20000,), device=device, generator=gen(device))
    assert lam.device.type == device.type
    assert abs(lam.mean().item() - 0.5) < 0.01  # Beta(2, 2): mean 1/2, std 0.22; 20,000 draws: 0.0016
    assert abs(lam.var().item() - 0.05) < 0.003  # variance a^2 / ((2a)^2 (2a + 1)) = 1/20


@pytest.mark.parametrize(
    "shape, error",
    [(5, TypeError), ((2.0,), TypeError), ((True,), TypeError), ("5", TypeError), ((4, -1), ValueError)],
)
def test_sample_beta_checks_shape(shape, error):
    with pytest.raises(error, match="'shape' parameter of sample_beta must be a tuple of ints >= 0"):
        sample_beta(1.0, shape)


def test_sample_beta_accepts_lists_sizes_and_empty_shapes():
    assert sample_beta(1.0, [2, 3]).shape == (2, 3)
    assert sample_beta(1.0, torch.Size([4])).shape == (4,)
    assert sample_beta(1.0, (0,)).shape == (0,)
