"""The fused crop/flip/cutout kernel gives the same draws and the same images as before (issue 25).

The reference is a frozen copy of the implementation it replaced (one gather
with an index per pixel, then a mask multiply per transform), applied one
transform at a time. "Same draws" is checked on the generators' states: after
the new and the old code, every generator has drawn exactly the same numbers.
Every test runs twice: on the CPU's compiled loop (numba) and on the stock
PyTorch path (``REGLAB_NUMBA=0``), which GPUs and installs without numba run.
"""

import itertools

import pytest
import torch

from reglab.augment import Cutout, RandomCrop, RandomFlip, _compiled, compose, cutout, random_crop, random_flip
from reglab.augment.compose import _fuse_geometric
from reglab.augment.geometric import _CropFlipCutout

# ---- the replaced implementation, frozen (reglab.augment.geometric and _base before issue 25) ----


def randint(shape, high, like, generator):
    return (torch.rand(shape, generator=generator, device=like.device) * high).long()


def uniform(shape, low, high, like, generator):
    return low + (high - low) * torch.rand(shape, generator=generator, device=like.device, dtype=like.dtype)


def _old_gather_rows_cols(x, rows, cols):
    n, c, h, w = x.shape
    row_ok = ((rows >= 0) & (rows < h)).to(x.dtype)
    col_ok = ((cols >= 0) & (cols < w)).to(x.dtype)
    source = rows.clamp(0, h - 1)[:, :, None] * w + cols.clamp(0, w - 1)[:, None, :]
    out = x.reshape(n, c, h * w).gather(2, source.view(n, 1, h * w).expand(n, c, h * w))
    return out.view(n, c, h, w).mul_(row_ok[:, None, :, None] * col_ok[:, None, None, :])


def old_random_crop(x, padding, generator=None):
    if padding == 0:
        return x.clone()
    n, _, h, w = x.shape
    dy = randint((n, 1), 2 * padding + 1, x, generator) - padding
    dx = randint((n, 1), 2 * padding + 1, x, generator) - padding
    rows = dy + torch.arange(h, device=x.device)
    cols = dx + torch.arange(w, device=x.device)
    return _old_gather_rows_cols(x, rows, cols)


def old_random_flip(x, p=0.5, generator=None):
    n, c, h, w = x.shape
    flip = uniform((n, 1), 0.0, 1.0, x, generator) < p
    j = torch.arange(w, device=x.device)
    cols = torch.where(flip, w - 1 - j, j)
    return x.gather(3, cols[:, None, None, :].expand(n, c, h, w))


def old_cutout(x, size, generator=None):
    n, _, h, w = x.shape
    top = randint((n, 1), h, x, generator) - size // 2
    left = randint((n, 1), w, x, generator) - size // 2
    rows = torch.arange(h, device=x.device)
    cols = torch.arange(w, device=x.device)
    in_rows = ((rows >= top) & (rows < top + size)).to(x.dtype)
    in_cols = ((cols >= left) & (cols < left + size)).to(x.dtype)
    one = torch.ones((), device=x.device, dtype=x.dtype)
    return x * torch.addcmul(one, in_rows[:, None, :, None], in_cols[:, None, None, :], value=-1.0)


# ---- helpers ----


@pytest.fixture(autouse=True, params=["compiled", "stock"])
def kernel_path(request, monkeypatch):
    """Which CPU path the test runs on: numba's compiled loop, or the stock PyTorch operations."""
    if request.param == "stock":
        monkeypatch.setenv("REGLAB_NUMBA", "0")
    elif not _compiled.usable(torch.zeros(1, 1, 1, 1)):
        pytest.skip("numba is not installed (pip install numba): the compiled loop is not tested")
    return request.param


def gen(device, seed):
    return torch.Generator(device=device).manual_seed(seed)


def batch(device, n, c, h, w, seed, dtype=torch.float32):
    x = torch.rand(n, c, h, w, generator=gen(device, 10_000 + seed), device=device) - 0.3  # negative values too
    return x.to(dtype)


def same_state(a, b):
    return torch.equal(a.get_state(), b.get_state())


SHAPES = [(0, 3, 8, 8), (1, 1, 1, 1), (1, 3, 5, 7), (2, 2, 4, 4), (3, 1, 6, 5), (7, 3, 8, 8), (16, 3, 32, 32), (5, 2, 3, 9)]
PADDINGS = [0, 1, 2, 4, 9]  # 9: larger than some images, so the general path is taken


# ---- each function against its old self ----


def assert_matches_the_replaced_implementation(device, shape, new, old):
    """``new(x, generator)`` and ``old(x, generator)`` give equal images and leave their generators equal."""
    for seed in range(4):
        x = batch(device, *shape, seed)
        new_gen, old_gen = gen(device, seed), gen(device, seed)
        assert torch.equal(new(x, new_gen), old(x, old_gen)) and same_state(new_gen, old_gen), (shape, seed)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("padding", PADDINGS)
def test_random_crop_matches_the_replaced_implementation(device, shape, padding):
    assert_matches_the_replaced_implementation(device, shape, lambda x, g: random_crop(x, padding, generator=g),
                                               lambda x, g: old_random_crop(x, padding, g))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 1.0])
def test_random_flip_matches_the_replaced_implementation(device, shape, p):
    assert_matches_the_replaced_implementation(device, shape, lambda x, g: random_flip(x, p, generator=g),
                                               lambda x, g: old_random_flip(x, p, g))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("size", [1, 2, 3, 8])
def test_cutout_matches_the_replaced_implementation(device, shape, size):
    size = min(size, *shape[2:])
    assert_matches_the_replaced_implementation(device, shape, lambda x, g: cutout(x, size, generator=g),
                                               lambda x, g: old_cutout(x, size, g))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_other_float_types_match(dtype):
    x = batch("cpu", 9, 3, 10, 10, 0, dtype)
    for seed in range(3):
        assert torch.equal(random_crop(x, 3, generator=gen("cpu", seed)), old_random_crop(x, 3, gen("cpu", seed)))
        fused = compose(RandomCrop(3, generator=gen("cpu", seed)), RandomFlip(generator=gen("cpu", seed + 1)),
                        Cutout(4, generator=gen("cpu", seed + 2))).images(x)
        one_by_one = old_cutout(old_random_flip(old_random_crop(x, 3, gen("cpu", seed)), 0.5, gen("cpu", seed + 1)),
                                4, gen("cpu", seed + 2))
        assert fused.dtype == dtype and torch.equal(fused, one_by_one)


def test_inputs_that_are_not_contiguous_match_and_are_left_alone():
    base = batch("cpu", 12, 3, 9, 9, 0)
    for x in (base[::2], base.contiguous(memory_format=torch.channels_last), base[:, :, 1:, 1:], base.transpose(2, 3)):
        before = x.clone()
        for seed in range(3):
            assert torch.equal(random_crop(x, 2, generator=gen("cpu", seed)), old_random_crop(x, 2, gen("cpu", seed)))
            fused = compose(RandomCrop(2, generator=gen("cpu", seed)), RandomFlip(generator=gen("cpu", seed)),
                            Cutout(3, generator=gen("cpu", seed))).images(x)
            assert fused.is_contiguous()
        assert torch.equal(x, before)  # the input is never written


# ---- the fused pipeline against the transforms applied one by one ----

def kinds_and_references(padding):
    new = {"crop": lambda g: RandomCrop(padding, generator=g), "flip": lambda g: RandomFlip(0.5, generator=g),
           "cutout": lambda g: Cutout(8, generator=g)}
    old = {"crop": lambda x, g: old_random_crop(x, padding, g), "flip": lambda x, g: old_random_flip(x, 0.5, g),
           "cutout": lambda x, g: old_cutout(x, 8, g)}
    return new, old


@pytest.mark.parametrize("order", [p for r in (1, 2, 3) for p in itertools.permutations(("crop", "flip", "cutout"), r)])
@pytest.mark.parametrize("shared_generator", [False, True])
def test_compose_gives_the_one_by_one_result_in_any_order(device, order, shared_generator):
    for padding, seed, shape in itertools.product([0, 1, 4], range(2), [(1, 3, 8, 8), (2, 1, 8, 9), (40, 3, 32, 32)]):
        new, old = kinds_and_references(padding)
        x = batch(device, *shape, seed)
        if shared_generator:  # one generator for all: the draws must also come in the same order
            new_gens = [gen(device, seed)] * len(order)
            old_gens = [gen(device, seed)] * len(order)
        else:
            new_gens = [gen(device, seed + k) for k in range(len(order))]
            old_gens = [gen(device, seed + k) for k in range(len(order))]
        fused = compose(*(new[kind](g) for kind, g in zip(order, new_gens))).images(x)
        one_by_one = x
        for kind, g in zip(order, old_gens):
            one_by_one = old[kind](one_by_one, g)
        assert torch.equal(fused, one_by_one), (order, padding, shape, seed)
        assert all(same_state(a, b) for a, b in zip(new_gens, old_gens))


def test_a_run_of_crop_flip_cutout_is_fused_into_one_step():
    crop, flip, cut = RandomCrop(4), RandomFlip(), Cutout(8)

    def kinds(*transforms):
        return [type(t).__name__ for t in _fuse_geometric(transforms)]

    assert kinds(crop, flip, cut) == ["_CropFlipCutout"]
    assert kinds(crop, cut) == ["_CropFlipCutout"] and kinds(flip, cut) == ["_CropFlipCutout"]
    assert kinds(flip, crop) == ["RandomFlip", "RandomCrop"]  # another order: not fused
    assert kinds(crop, cut, flip) == ["_CropFlipCutout", "RandomFlip"]
    assert kinds(crop, flip, flip, cut) == ["_CropFlipCutout", "_CropFlipCutout"]
    double = lambda t: 2 * t  # noqa: E731
    assert kinds(crop, double, flip) == ["RandomCrop", "function", "RandomFlip"]
    assert repr(_CropFlipCutout(crop, None, cut)) == "_CropFlipCutout(RandomCrop(padding=4), Cutout(size=8))"


def test_fused_steps_raise_what_the_functions_raise():
    x = torch.rand(2, 3, 8, 8)
    with pytest.raises(ValueError, match="'size' parameter of cutout"):
        compose(RandomCrop(2), Cutout(9)).images(x)
    with pytest.raises(ValueError, match="'x' parameter of random_crop must be a tensor with 4"):
        compose(RandomCrop(2), RandomFlip()).images(x[0])
    with pytest.raises(TypeError, match="'x' parameter of random_flip"):
        compose(RandomFlip(), Cutout(2)).images(x.long())


# ---- the memory the kernel reads: no index with one entry per pixel ----


def test_the_batch_moves_in_block_copies_with_small_indices(monkeypatch, kernel_path):
    if kernel_path == "compiled":
        pytest.skip("the compiled loop builds no index at all")
    calls = []  # (operation, entries of its index)
    real = {name: getattr(torch.Tensor, name) for name in ("index_select", "index_copy_")}

    def recording(name):
        def method(self, dim, index, *args, **kwargs):
            calls.append((name, index.numel()))
            return real[name](self, dim, index, *args, **kwargs)

        return method

    for name in real:
        monkeypatch.setattr(torch.Tensor, name, recording(name))
    monkeypatch.setattr(torch, "gather", lambda *args, **kwargs: pytest.fail("the fast path gathers pixel by pixel"))
    n, c, h, w = 500, 3, 32, 32
    x = torch.rand(n, c, h, w)
    compose(RandomCrop(4), RandomFlip(), Cutout(8)).images(x)
    entries = [k for _, k in calls]
    assert ("index_select", n) in calls  # the shift: one block start per image
    assert max(entries) <= 8 * n  # the largest: the mask's eight interval bounds per image
    assert sum(entries) <= 12 * n  # all together under 50 KB of int64, against 4 MB for one index entry per pixel


def test_gradients_flow_as_before():
    x = batch("cpu", 6, 3, 8, 8, 0).requires_grad_()
    weights = torch.rand(6, 3, 8, 8, generator=gen("cpu", 99))
    fused = compose(RandomCrop(2, generator=gen("cpu", 1)), RandomFlip(generator=gen("cpu", 2)),
                    Cutout(3, generator=gen("cpu", 3))).images(x)
    (grad_new,) = torch.autograd.grad((fused * weights).sum(), x)
    one_by_one = old_cutout(old_random_flip(old_random_crop(x, 2, gen("cpu", 1)), 0.5, gen("cpu", 2)), 3, gen("cpu", 3))
    (grad_old,) = torch.autograd.grad((one_by_one * weights).sum(), x)
    assert torch.equal(fused, one_by_one) and torch.equal(grad_new, grad_old)
    with torch.no_grad():  # the fast path, without autograd
        assert torch.equal(random_crop(x, 2, generator=gen("cpu", 1)), old_random_crop(x.detach(), 2, gen("cpu", 1)))


@pytest.mark.parametrize("dtype, shape", [(torch.float16, (5, 1, 1, 3)), (torch.float16, (6, 1, 3, 3)),
                                          (torch.float32, (7, 1, 1, 3)), (torch.float64, (4, 3, 2, 5))])
def test_mirrored_images_are_copied_back_exactly_whatever_their_size_in_bytes(dtype, shape):
    x = batch("cpu", *shape, 0, dtype)  # 6, 18, 12 and 240 bytes per image: 2-, 2-, 4- and 16-byte words
    for seed in range(3):
        new_gen, old_gen = gen("cpu", seed), gen("cpu", seed)
        assert torch.equal(random_flip(x, generator=new_gen), old_random_flip(x, 0.5, old_gen))
