"""The compiled crop/flip/cutout loop (reglab.augment._compiled, numba) against the stock PyTorch path.

tests/test_augment_kernels.py runs every transform test on both paths. Here:
the loop's Python source is what numba compiles (the same loop, interpreted,
gives the same pixels), random shapes and parameters give the same images on
both paths, the CPU takes the compiled path exactly where it should, and
without numba everything still works.
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from reglab.augment import Cutout, RandomCrop, RandomFlip, _compiled, _kernels, compose, random_crop

numba = pytest.importorskip("numba", reason="numba is not installed (pip install numba): the compiled loop is not tested")


def stock(x, *args):
    """shift_flip_erase on the stock PyTorch path."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REGLAB_NUMBA", "0")
        return _kernels.shift_flip_erase(x, *args)


def draws(n, h, w, padding, size, seed):
    g = torch.Generator().manual_seed(seed)
    dy = torch.randint(-padding, padding + 1, (n, 1), generator=g)
    dx = torch.randint(-padding, padding + 1, (n, 1), generator=g)
    mirror = torch.rand(n, 1, generator=g) < 0.5
    top = torch.randint(0, h, (n, 1), generator=g) - size // 2
    left = torch.randint(0, w, (n, 1), generator=g) - size // 2
    return dy, dx, mirror, (top, left, size)


def test_the_loop_numba_compiles_is_the_python_source():
    x = torch.randn(4, 2, 5, 6)
    dy, dx, mirror, (top, left, size) = draws(4, 5, 6, 3, 3, seed=0)
    interpreted = np.empty_like(x.numpy())
    _compiled.crop_flip_erase_loop(x.numpy(), interpreted, dy.view(-1).numpy(), dx.view(-1).numpy(),
                                   mirror.view(-1).numpy(), top.view(-1).numpy(), left.view(-1).numpy(), size)
    compiled = _compiled.crop_flip_erase(x, dy, dx, mirror, (top, left, size))
    assert torch.equal(torch.from_numpy(interpreted), compiled)
    assert torch.equal(compiled, stock(x, 3, dy, dx, mirror, (top, left, size)))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 6), c=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9),
       padding=st.integers(0, 12), size=st.integers(0, 9), seed=st.integers(0, 2**31 - 1),
       parts=st.sampled_from(["crop", "flip", "cutout", "crop+flip", "crop+cutout", "flip+cutout", "all"]),
       dtype=st.sampled_from([torch.float32, torch.float64, torch.float16, torch.bfloat16]))
def test_random_batches_give_the_same_images_on_both_paths(n, c, h, w, padding, size, seed, parts, dtype):
    x = torch.randn(n, c, h, w, generator=torch.Generator().manual_seed(seed)).to(dtype)
    size = min(max(size, 1), h, w)
    dy, dx, mirror, square = draws(n, h, w, padding, size, seed)
    crop, flip, cut = "crop" in parts or parts == "all", "flip" in parts or parts == "all", "cutout" in parts or parts == "all"
    args = (padding if crop else 0, dy if crop else None, dx if crop else None,
            mirror if flip else None, square if cut else None)
    compiled = _compiled.crop_flip_erase(x, *args[1:])
    assert compiled.dtype == dtype and compiled.is_contiguous()
    assert torch.equal(compiled, stock(x, *args))


def test_the_cpu_takes_the_compiled_path_unless_told_otherwise(monkeypatch):
    calls = []
    real = _compiled.crop_flip_erase
    monkeypatch.setattr(_compiled, "crop_flip_erase", lambda *args: calls.append(1) or real(*args))
    augment = compose(RandomCrop(4), RandomFlip(), Cutout(8))
    x = torch.rand(8, 3, 32, 32)
    augment.images(x)
    assert len(calls) == 1  # crop, flip and cutout in one compiled call
    with torch.enable_grad():  # autograd needs the stock path: the loop is not differentiable
        augment.images(x.clone().requires_grad_())
    monkeypatch.setenv("REGLAB_NUMBA", "0")
    augment.images(x)
    assert len(calls) == 1


def test_zeroed_pixels_are_exact_zeros_whatever_their_source():
    x = torch.full((3, 1, 4, 4), float("nan"))
    square = (torch.zeros(3, 1, dtype=torch.long), torch.zeros(3, 1, dtype=torch.long), 2)
    out = _compiled.crop_flip_erase(x, None, None, None, square)
    assert torch.equal(out[:, :, :2, :2], torch.zeros(3, 1, 2, 2)) and out[:, :, 2:].isnan().all()
    assert stock(x, 0, None, None, None, square).isnan().all()  # the stock path multiplies NaN by 0


def test_without_numba_the_stock_path_gives_the_same_images(monkeypatch):
    x = torch.rand(6, 3, 10, 10)
    with_numba = random_crop(x, 3, generator=torch.Generator().manual_seed(0))
    monkeypatch.setattr(_compiled, "_compiled", None)  # forget the compiled loop ...
    monkeypatch.setitem(__import__("sys").modules, "numba", None)  # ... and make `import numba` fail
    assert not _compiled.usable(x)
    assert torch.equal(random_crop(x, 3, generator=torch.Generator().manual_seed(0)), with_numba)


def test_the_input_is_left_alone_and_may_be_strided():
    base = torch.rand(6, 3, 9, 9)
    x = base.transpose(2, 3)
    before = x.clone()
    dy, dx, mirror, square = draws(6, 9, 9, 2, 3, seed=1)
    out = _compiled.crop_flip_erase(x, dy, dx, mirror, square)
    assert torch.equal(x, before) and torch.equal(out, stock(x, 2, dy, dx, mirror, square))
