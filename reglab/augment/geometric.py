"""Geometric batch transforms: random crop (pad and translate), horizontal flip, cutout.

Each function takes a whole batch ``(N, C, H, W)`` on its device and draws
every image's parameters in one vectorized call, with no loop over images and
no read back to the host. Each has a thin class beside it (``RandomCrop`` for
``random_crop``, ...) that stores the arguments, for :func:`compose`.

Papers:
    - Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep
      Convolutional Neural Networks", NIPS 2012 (crops and flips).
    - DeVries and Taylor, "Improved Regularization of Convolutional Neural
      Networks with Cutout", arXiv:1708.04552, 2017.
"""

from __future__ import annotations

import torch

from reglab._validation import check_int, check_probability, parameter_error
from reglab.augment._base import BatchTransform, check_generator, check_images, randint, uniform

__all__ = ["random_crop", "RandomCrop", "random_flip", "RandomFlip", "cutout", "Cutout"]


def random_crop(x: torch.Tensor, padding: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Pad every image with zeros and cut out a window of the original size at a random offset.

    Equivalently, translate each image by :math:`(\\delta_y, \\delta_x)`, each
    uniform in :math:`\\{-p, \\dots, p\\}`, filling the uncovered border with 0:

    .. math::
        \\tilde x_{c,i,j} = x_{c,\\, i + \\delta_y,\\, j + \\delta_x}
        \\quad (0 \\text{ outside the image})

    Args:
        x (Tensor): float images.
        padding (int): :math:`p \\ge 0`, the largest shift in pixels.
        generator (torch.Generator, optional): on ``x``'s device.

    Shape:
        - x: :math:`(N, C, H, W)`; output: the same.

    Example:
        >>> x = torch.arange(9.0).reshape(1, 1, 3, 3)
        >>> y = random_crop(x, 1, generator=torch.Generator().manual_seed(0))
        >>> y.shape, bool(torch.isin(y[y > 0], x).all())
        (torch.Size([1, 1, 3, 3]), True)
    """
    owner = "random_crop"
    check_images(x, owner)
    padding = check_int(padding, "padding", owner, low=0)
    check_generator(generator, owner)
    if padding == 0:
        return x.clone()
    n, _, h, w = x.shape
    # Gather from the unpadded image at clamped positions, then zero what fell in the padding:
    # the same result as padding and cropping, without writing the padded copy.
    dy = randint((n, 1), 2 * padding + 1, x, generator) - padding  # (N, 1) shift in {-p, ..., p}
    dx = randint((n, 1), 2 * padding + 1, x, generator) - padding  # (N, 1)
    rows = dy + torch.arange(h, device=x.device)  # (N, H) source row of each output row
    cols = dx + torch.arange(w, device=x.device)  # (N, W) source column of each output column
    return _gather_rows_cols(x, rows, cols)


def _gather_rows_cols(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """``out[n, c, i, j] = x[n, c, rows[n, i], cols[n, j]]``, and 0 where a source index falls outside the image.

    One gather over the flattened image; shapes: x (N, C, H, W), rows (N, H), cols (N, W).
    """
    n, c, h, w = x.shape
    row_ok = ((rows >= 0) & (rows < h)).to(x.dtype)  # (N, H)
    col_ok = ((cols >= 0) & (cols < w)).to(x.dtype)  # (N, W)
    source = rows.clamp(0, h - 1)[:, :, None] * w + cols.clamp(0, w - 1)[:, None, :]  # (N, H, W) flat index
    out = x.reshape(n, c, h * w).gather(2, source.view(n, 1, h * w).expand(n, c, h * w))  # (N, C, H*W)
    return out.view(n, c, h, w).mul_(row_ok[:, None, :, None] * col_ok[:, None, None, :])  # (N, 1, H, W) mask over C


def random_flip(x: torch.Tensor, p: float = 0.5, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror each image left to right with probability ``p``, independently.

    Args:
        x (Tensor): float images.
        p (float): probability of a flip, in [0, 1]. Default: 0.5.
        generator (torch.Generator, optional): on ``x``'s device.

    Shape:
        - x: :math:`(N, C, H, W)`; output: the same.

    Example:
        >>> x = torch.tensor([[[[1.0, 2.0]]]])
        >>> random_flip(x, p=1.0)
        tensor([[[[2., 1.]]]])
    """
    owner = "random_flip"
    check_images(x, owner)
    p = check_probability(p, "p", owner, allow_one=True)
    check_generator(generator, owner)
    n, c, h, w = x.shape
    flip = uniform((n, 1), 0.0, 1.0, x, generator) < p  # (N, 1)
    j = torch.arange(w, device=x.device)  # (W,)
    cols = torch.where(flip, w - 1 - j, j)  # (N, W): source column of each output column
    return x.gather(3, cols[:, None, None, :].expand(n, c, h, w))  # one pass over the batch


def cutout(x: torch.Tensor, size: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Set one ``size`` × ``size`` square per image to 0, centred anywhere in the image.

    As in DeVries and Taylor (2017) the centre is uniform over all pixels, so
    the square may stick out of the image and is then clipped: near a border
    fewer than size² pixels are erased. The image keeps its size and
    content elsewhere; cutout masks, it does not crop.

    .. math::
        \\tilde x_{c,i,j} = x_{c,i,j}\\, \\mathbb 1\\left[(i, j) \\notin
        [c_y - \\lfloor s/2 \\rfloor, c_y - \\lfloor s/2 \\rfloor + s) \\times
        [c_x - \\lfloor s/2 \\rfloor, c_x - \\lfloor s/2 \\rfloor + s)\\right]

    Args:
        x (Tensor): float images.
        size (int): side :math:`s` of the square, in [1, min(H, W)].
        generator (torch.Generator, optional): on ``x``'s device.

    Shape:
        - x: :math:`(N, C, H, W)`; output: the same.

    Example:
        >>> y = cutout(torch.ones(4, 3, 8, 8), 4, generator=torch.Generator().manual_seed(0))
        >>> bool((y.sum(dim=(1, 2, 3)) < 3 * 64).all())
        True
    """
    owner = "cutout"
    check_images(x, owner)
    n, _, h, w = x.shape
    size = check_int(size, "size", owner, low=1)
    if size > min(h, w):
        raise ValueError(parameter_error("size", owner, f"an int in the range [1, {min(h, w)}] (the image is {h}×{w})", size))
    check_generator(generator, owner)
    top = randint((n, 1), h, x, generator) - size // 2  # (N, 1) first row of the square (may be < 0)
    left = randint((n, 1), w, x, generator) - size // 2  # (N, 1)
    rows = torch.arange(h, device=x.device)  # (H,)
    cols = torch.arange(w, device=x.device)  # (W,)
    in_rows = ((rows >= top) & (rows < top + size)).to(x.dtype)  # (N, H)
    in_cols = ((cols >= left) & (cols < left + size)).to(x.dtype)  # (N, W)
    one = torch.ones((), device=x.device, dtype=x.dtype)
    keep = torch.addcmul(one, in_rows[:, None, :, None], in_cols[:, None, None, :], value=-1.0)  # (N, 1, H, W): 1 - square
    return x * keep


class RandomCrop(BatchTransform):
    """:func:`random_crop` as an object: ``RandomCrop(4)(x)``."""

    _fields = ("padding",)

    def __init__(self, padding: int, *, generator: torch.Generator | None = None) -> None:
        self.padding = check_int(padding, "padding", "RandomCrop", low=0)
        self.generator = check_generator(generator, "RandomCrop")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return random_crop(x, self.padding, generator=self.generator)


class RandomFlip(BatchTransform):
    """:func:`random_flip` as an object: ``RandomFlip()(x)``."""

    _fields = ("p",)

    def __init__(self, p: float = 0.5, *, generator: torch.Generator | None = None) -> None:
        self.p = check_probability(p, "p", "RandomFlip", allow_one=True)
        self.generator = check_generator(generator, "RandomFlip")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return random_flip(x, self.p, generator=self.generator)


class _CropThenFlip:
    """``flip(crop(x))`` for a :class:`RandomCrop` and a :class:`RandomFlip`, in one gather instead of two.

    :func:`random_crop`'s gather, with the flip folded into its column index:
    output column j of a mirrored image reads the cropped column W - 1 - j.
    Each transform draws from its own generator, in the same order as when
    they run one after the other, so the result is the same, bit for bit.
    :class:`~reglab.augment.Compose` uses it for a crop directly followed by a
    flip; it reads the two objects' arguments at every call.
    """

    def __init__(self, crop: RandomCrop, flip: RandomFlip) -> None:
        self.crop, self.flip = crop, flip

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "random_crop")
        n, _, h, w = x.shape
        padding = self.crop.padding
        dy = dx = torch.zeros((n, 1), dtype=torch.long, device=x.device)  # random_crop draws nothing for p = 0
        if padding > 0:
            dy = randint((n, 1), 2 * padding + 1, x, self.crop.generator) - padding  # (N, 1) shift in {-p, ..., p}
            dx = randint((n, 1), 2 * padding + 1, x, self.crop.generator) - padding  # (N, 1)
        mirror = uniform((n, 1), 0.0, 1.0, x, self.flip.generator) < self.flip.p  # (N, 1), as random_flip draws it
        j = torch.arange(w, device=x.device)  # (W,)
        rows = dy + torch.arange(h, device=x.device)  # (N, H) source row of each output row
        cols = dx + torch.where(mirror, w - 1 - j, j)  # (N, W): a mirrored image reads its columns right to left
        return _gather_rows_cols(x, rows, cols)

    def __repr__(self) -> str:
        return f"_CropThenFlip({self.crop!r}, {self.flip!r})"


class Cutout(BatchTransform):
    """:func:`cutout` as an object: ``Cutout(8)(x)``."""

    _fields = ("size",)

    def __init__(self, size: int, *, generator: torch.Generator | None = None) -> None:
        self.size = check_int(size, "size", "Cutout", low=1)
        self.generator = check_generator(generator, "Cutout")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return cutout(x, self.size, generator=self.generator)
