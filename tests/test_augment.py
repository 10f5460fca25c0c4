"""reglab.augment's image transforms, each against an independent reference."""

import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

from reglab.augment import (
    AddNoise,
    ColorJitter,
    Cutout,
    RandomCrop,
    RandomFlip,
    adjust_color,
    color_jitter,
    compose,
    cutout,
    gaussian_noise,
    random_crop,
    random_flip,
)


def gen(device, seed=0):
    return torch.Generator(device=device).manual_seed(seed)


def images(device, n=64, c=3, h=8, w=8, seed=0):
    return torch.rand(n, c, h, w, generator=gen(device, seed), device=device) + 0.1  # > 0: zeros mark padding


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 6), c=st.integers(1, 3), h=st.integers(1, 7), w=st.integers(1, 7), padding=st.integers(0, 3))
def test_random_crop_is_one_of_the_shifts_of_the_padded_image(n, c, h, w, padding):
    x = torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(n * h + w)) + 0.1
    out = random_crop(x, padding, generator=torch.Generator().manual_seed(padding))
    assert out.shape == x.shape
    padded = F.pad(x, (padding,) * 4)
    for i in range(n):
        shifts = [padded[i, :, a : a + h, b : b + w] for a in range(2 * padding + 1) for b in range(2 * padding + 1)]
        assert any(torch.equal(out[i], s) for s in shifts)


def test_random_crop_uses_every_shift_and_runs_on_device(device):
    x = images(device, n=2000, c=1, h=5, w=5)
    out = random_crop(x, 1, generator=gen(device))
    assert out.device.type == device.type
    padded = F.pad(x, (1,) * 4)
    windows = torch.stack([padded[:, :, a : a + 5, b : b + 5] for a in range(3) for b in range(3)], dim=1)  # (N, 9, 1, 5, 5)
    match = (windows == out.unsqueeze(1)).flatten(2).all(dim=2)  # (N, 9)
    assert bool(match.any(dim=1).all())
    counts = match.float().argmax(dim=1).bincount(minlength=9)  # which shift each image got
    assert counts.min() > 2000 / 9 * 0.7  # every shift occurs, roughly uniformly


def test_random_flip_gives_the_image_or_its_mirror_and_both_occur(device):
    x = images(device, n=400)
    out = random_flip(x, generator=gen(device))
    same = (out == x).flatten(1).all(dim=1)
    mirrored = (out == torch.flip(x, dims=[3])).flatten(1).all(dim=1)
    assert bool((same | mirrored).all())
    fraction = mirrored.float().mean().item()
    assert 0.4 < fraction < 0.6  # p = 0.5; 400 draws: std 0.025
    assert torch.equal(random_flip(x, p=1.0), TF.horizontal_flip(x))
    assert torch.equal(random_flip(x, p=0.0), x)


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), size=st.integers(1, 9), seed=st.integers(0, 100))
def test_cutout_zeroes_exactly_one_clipped_square(h, w, size, seed):
    size = min(size, h, w)
    x = torch.rand(16, 2, h, w, generator=torch.Generator().manual_seed(seed)) + 0.1
    out = cutout(x, size, generator=torch.Generator().manual_seed(seed))
    zero = out == 0
    assert torch.equal(zero[:, 0], zero[:, 1])  # the same pixels in every channel
    assert torch.equal(out[~zero], x[~zero])  # the rest untouched
    for mask in zero[:, 0]:
        # the reference: some square of side `size` (centre anywhere in the image) clipped to the image
        candidates = []
        for cy in range(h):
            for cx in range(w):
                ref = torch.zeros(h, w, dtype=torch.bool)
                top, left = cy - size // 2, cx - size // 2
                ref[max(top, 0) : max(top + size, 0), max(left, 0) : max(left + size, 0)] = True
                candidates.append(ref)
        assert any(torch.equal(mask, ref) for ref in candidates)


def test_cutout_clips_at_the_border_and_is_uniform(device):
    x = images(device, n=4000, c=1, h=8, w=8)
    erased = (cutout(x, 4, generator=gen(device)) == 0).float()
    areas = erased.sum(dim=(1, 2, 3))
    assert areas.max().item() == 16 and areas.min().item() < 16  # full squares and clipped ones
    # centre uniform over the 8x8 pixels: the expected erased area is (mean clipped side)^2
    side = sum(min(c - 2 + 4, 8) - max(c - 2, 0) for c in range(8)) / 8  # mean clipped extent per axis
    assert abs(areas.mean().item() - side**2) < 0.3


def test_adjust_color_matches_torchvision_per_image(device):
    x = images(device, n=6, c=3).clamp(max=1.0)
    b = torch.tensor([0.0, 0.5, 1.0, 1.3, 1.6, 2.0], device=device)
    c = torch.tensor([0.6, 1.4, 0.0, 1.0, 0.8, 1.2], device=device)
    s = torch.tensor([1.5, 0.0, 0.7, 1.0, 1.2, 0.3], device=device)
    out = adjust_color(x, b, c, s)
    for i in range(6):
        ref = TF.adjust_saturation(TF.adjust_contrast(TF.adjust_brightness(x[i], b[i].item()), c[i].item()), s[i].item())
        torch.testing.assert_close(out[i], ref, atol=1e-5, rtol=1e-5)
    grey = x[:, :1]
    for i in range(6):  # one channel: saturation is a no-op, contrast blends towards the mean
        torch.testing.assert_close(adjust_color(grey, None, c)[i], TF.adjust_contrast(grey[i], c[i].item()))


def test_color_jitter_factors_cover_their_range(device):
    x = torch.rand(500, 3, 4, 4, generator=gen(device), device=device) * 0.4 + 0.05  # x * 1.4 stays <= 1: no clipping
    out = color_jitter(x, brightness=0.4, contrast=0, saturation=0, generator=gen(device, 1))
    ratio = out / x  # one brightness factor per image
    factor = ratio.flatten(1)[:, 0]
    torch.testing.assert_close(ratio, factor.reshape(-1, 1, 1, 1).expand_as(ratio))
    assert factor.min().item() >= 0.6 - 1e-6 and factor.max().item() <= 1.4 + 1e-6
    assert factor.min().item() < 0.65 and factor.max().item() > 1.35  # fills [0.6, 1.4]
    assert torch.equal(color_jitter(x, 0, 0, 0), x)


def test_gaussian_noise_has_the_stated_mean_and_std(device):
    x = torch.full((200, 3, 16, 16), 0.5, device=device)
    noise = gaussian_noise(x, 0.2, generator=gen(device)) - x
    assert abs(noise.mean().item()) < 0.002  # 153,600 draws: std of the mean 0.0005
    assert abs(noise.std().item() - 0.2) < 0.002
    assert torch.equal(gaussian_noise(x, 0.0), x)


def test_same_generator_seed_gives_the_same_batch(device):
    x = images(device)
    augment = compose(RandomCrop(2, generator=gen(device, 3)), RandomFlip(generator=gen(device, 3)))
    again = compose(RandomCrop(2, generator=gen(device, 3)), RandomFlip(generator=gen(device, 3)))
    assert torch.equal(augment(x, None)[0], again(x, None)[0])


def test_compose_applies_in_order_and_passes_targets(device):
    x, y = images(device, n=4), torch.arange(4, device=device)
    out, target = compose(lambda t: 2 * t, lambda t: t + 1)(x, y)
    assert torch.equal(out, 2 * x + 1) and target is y  # (x + 1) * 2 would be the wrong order
    out, _ = compose(RandomFlip(p=1.0), AddNoise(0.0), ColorJitter(0, 0, 0))(x, y)
    assert torch.equal(out, TF.horizontal_flip(x))


def test_transform_objects_print_their_arguments():
    assert repr(compose(RandomCrop(4), Cutout(8))) == "Compose(RandomCrop(padding=4), Cutout(size=8))"


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda x: random_crop(x, -1), ValueError, "'padding' parameter of random_crop"),
        (lambda x: random_crop(x, 1.5), TypeError, "'padding' parameter of random_crop"),
        (lambda x: random_crop(x[0], 1), ValueError, "'x' parameter of random_crop must be a tensor with 4"),
        (lambda x: random_flip(x, 1.5), ValueError, "'p' parameter of random_flip"),
        (lambda x: cutout(x, 9), ValueError, "'size' parameter of cutout"),
        (lambda x: cutout(x, 0), ValueError, "'size' parameter of cutout"),
        (lambda x: cutout(x.long(), 2), TypeError, "'x' parameter of cutout"),
        (lambda x: color_jitter(x, brightness=-0.1), ValueError, "'brightness' parameter of color_jitter"),
        (lambda x: adjust_color(x[:, :2], torch.ones(2)), ValueError, "'x' parameter of adjust_color"),
        (lambda x: gaussian_noise(x, -1.0), ValueError, "'std' parameter of gaussian_noise"),
        (lambda x: random_flip(x, generator=0), TypeError, "'generator' parameter of random_flip"),
        (lambda x: compose(3), TypeError, "'transforms' parameter of compose"),
    ],
)
def test_bad_arguments_raise(call, error, match):
    with pytest.raises(error, match=match):
        call(torch.rand(2, 3, 8, 8))


def test_device_loader_applies_the_composed_transform_per_batch(device):
    from reglab.data import DeviceLoader

    x, y = images(device, n=10, c=1, h=4, w=4), torch.arange(10, device=device)
    loader = DeviceLoader(x, y, batch_size=4, shuffle=False, transform=compose(RandomFlip(p=1.0)))
    xb = torch.cat([b for b, _ in loader])
    yb = torch.cat([t for _, t in loader])
    assert torch.equal(xb, TF.horizontal_flip(x)) and torch.equal(yb, y)
