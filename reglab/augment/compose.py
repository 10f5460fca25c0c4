"""Chain image transforms into one batch transform ``(x, y) -> (x, y)`` for a loader."""

from __future__ import annotations

from collections.abc import Callable

import torch

from reglab._validation import parameter_error
from reglab.augment.geometric import RandomCrop, RandomFlip, _CropThenFlip

__all__ = ["compose", "Compose"]

ImageTransform = Callable[[torch.Tensor], torch.Tensor]


class Compose:
    """Apply image transforms in order to the inputs of a batch; the targets pass through.

    Made by :func:`compose`. Calling it with a batch ``(x, y)`` returns
    ``(t_k(...t_1(x)), y)``, the signature ``DeviceLoader(transform=...)`` and
    ``fit(batch_transform=...)`` expect; ``.images(x)`` transforms inputs alone.

    A :class:`~reglab.augment.RandomCrop` directly followed by a
    :class:`~reglab.augment.RandomFlip` runs as one gather instead of two, with
    the same random draws and so the same result as applying them one by one.

    Example:
        >>> from reglab.augment import RandomCrop, RandomFlip, random_crop, random_flip
        >>> x = torch.rand(16, 3, 6, 6, generator=torch.Generator().manual_seed(0))
        >>> fused = compose(RandomCrop(2, generator=torch.Generator().manual_seed(1)),
        ...                 RandomFlip(generator=torch.Generator().manual_seed(2)))
        >>> one_by_one = random_flip(random_crop(x, 2, generator=torch.Generator().manual_seed(1)),
        ...                          generator=torch.Generator().manual_seed(2))
        >>> torch.equal(fused.images(x), one_by_one)
        True
    """

    def __init__(self, transforms: tuple[ImageTransform, ...]) -> None:
        self.transforms = transforms

    def images(self, x: torch.Tensor) -> torch.Tensor:
        for transform in _fuse_crop_flip(self.transforms):
            x = transform(x)
        return x

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images(x), y

    def __repr__(self) -> str:
        return f"Compose({', '.join(map(repr, self.transforms))})"


def _fuse_crop_flip(transforms: tuple[ImageTransform, ...]) -> list[ImageTransform]:
    """The transforms with each ``RandomCrop`` that is directly followed by a ``RandomFlip`` merged with it."""
    steps: list[ImageTransform] = []
    for transform in transforms:
        if type(transform) is RandomFlip and steps and type(steps[-1]) is RandomCrop:
            steps[-1] = _CropThenFlip(steps[-1], transform)
        else:
            steps.append(transform)
    return steps


def compose(*transforms: ImageTransform) -> Compose:
    """Chain image transforms (each ``x -> x``) into one batch transform ``(x, y) -> (x, y)``.

    Mixing transforms (:class:`~reglab.augment.MixUp`, :class:`~reglab.augment.CutMix`)
    change the targets, so they are not composed here: pass them to
    ``fit(batch_transform=...)``, which runs after the loader's transform.

    Args:
        *transforms (callable): e.g. ``RandomCrop(4), RandomFlip(), Cutout(8)``.

    Example:
        >>> from reglab.augment import RandomFlip
        >>> augment = compose(RandomFlip(p=1.0))
        >>> augment(torch.tensor([[[[1.0, 2.0]]]]), torch.tensor([3]))
        (tensor([[[[2., 1.]]]]), tensor([3]))
    """
    for transform in transforms:
        if not callable(transform):
            raise TypeError(parameter_error("transforms", "compose", "callables x -> x", transform))
    return Compose(tuple(transforms))
