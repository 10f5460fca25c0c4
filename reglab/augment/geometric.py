"""Geometric batch transforms: random crop (pad and translate), horizontal flip, cutout.

Each function takes a whole batch ``(N, C, H, W)`` on its device and draws
every image's parameters in one vectorized call, with no loop over images and
no read back to the host. Each has a thin class beside it (``RandomCrop`` for
``random_crop``, ...) that stores the arguments, for :func:`compose`. The
pixels move in :func:`~reglab.augment._kernels.shift_flip_erase`, one kernel
for the three transforms and any run of them, which :func:`compose` uses to
apply crop, flip and cutout in one step: on the CPU with numba installed, one
compiled loop that writes each pixel once; elsewhere stock PyTorch operations.

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
from reglab.augment._kernels import shift_flip_erase

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
    dy, dx = _draw_shift(x, padding, generator)  # (N, 1) each, uniform in {-p, ..., p}: one draw per direction
    return shift_flip_erase(x, padding, dy, dx, None, None)  # translate each image, zero the uncovered border


def _draw_shift(x: torch.Tensor, padding: int, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Each image's shift (dy, dx), each (N, 1) uniform in {-p, ..., p}: rows first, then columns."""
    n = x.shape[0]
    dy = randint((n, 1), 2 * padding + 1, x, generator) - padding  # (N, 1)
    dx = randint((n, 1), 2 * padding + 1, x, generator) - padding  # (N, 1)
    return dy, dx


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
    mirror = uniform((len(x), 1), 0.0, 1.0, x, generator) < p  # (N, 1): which images are mirrored
    return shift_flip_erase(x, 0, None, None, mirror, None)  # a copy, the mirrored images' rows reversed


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
    size = _check_size(size, x, owner)
    check_generator(generator, owner)
    return shift_flip_erase(x, 0, None, None, None, _draw_square(x, size, generator))  # a copy with one square zeroed


def _check_size(size: object, x: torch.Tensor, owner: str) -> int:
    h, w = x.shape[2:]
    size = check_int(size, "size", owner, low=1)
    if size > min(h, w):
        raise ValueError(parameter_error("size", owner, f"an int in the range [1, {min(h, w)}] (the image is {h}×{w})", size))
    return size


def _draw_square(x: torch.Tensor, size: int, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Each image's square: first row and column, (N, 1) each, from a centre uniform over the pixels."""
    n, _, h, w = x.shape
    top = randint((n, 1), h, x, generator) - size // 2  # (N, 1) first row of the square (may be < 0)
    left = randint((n, 1), w, x, generator) - size // 2  # (N, 1)
    return top, left, size


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


class _CropFlipCutout:
    """A run of :class:`RandomCrop`, :class:`RandomFlip`, :class:`Cutout` (in this order, any two or three) in one step.

    Each transform draws from its own generator, in the order in which they
    run one after the other, so the result is the same as theirs; the pixels
    move in one call of :func:`~reglab.augment._kernels.shift_flip_erase`
    instead of one per transform. :class:`~reglab.augment.Compose` makes it; it reads the
    objects' arguments at every call.
    """

    def __init__(self, crop: RandomCrop | None, flip: RandomFlip | None, cutout: Cutout | None) -> None:
        self.crop, self.flip, self.cutout = crop, flip, cutout

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        first = "random_crop" if self.crop is not None else "random_flip" if self.flip is not None else "cutout"
        check_images(x, first)
        padding, dy, dx, mirror, square = 0, None, None, None, None
        if self.crop is not None:
            padding = check_int(self.crop.padding, "padding", "random_crop", low=0)
            if padding > 0:  # random_crop draws nothing for p = 0
                dy, dx = _draw_shift(x, padding, self.crop.generator)
        if self.flip is not None:
            p = check_probability(self.flip.p, "p", "random_flip", allow_one=True)
            mirror = uniform((len(x), 1), 0.0, 1.0, x, self.flip.generator) < p  # (N, 1), as random_flip draws it
        if self.cutout is not None:
            square = _draw_square(x, _check_size(self.cutout.size, x, "cutout"), self.cutout.generator)
        return shift_flip_erase(x, padding, dy, dx, mirror, square)

    def __repr__(self) -> str:
        parts = [t for t in (self.crop, self.flip, self.cutout) if t is not None]
        return f"_CropFlipCutout({', '.join(map(repr, parts))})"


class Cutout(BatchTransform):
    """:func:`cutout` as an object: ``Cutout(8)(x)``."""

    _fields = ("size",)

    def __init__(self, size: int, *, generator: torch.Generator | None = None) -> None:
        self.size = check_int(size, "size", "Cutout", low=1)
        self.generator = check_generator(generator, "Cutout")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return cutout(x, self.size, generator=self.generator)
