"""Chain image transforms into one batch transform ``(x, y) -> (x, y)`` for a loader."""

from __future__ import annotations

from collections.abc import Callable

import torch

from reglab._validation import parameter_error
from reglab.augment.geometric import Cutout, RandomCrop, RandomFlip, _CropFlipCutout

__all__ = ["compose", "Compose"]

ImageTransform = Callable[[torch.Tensor], torch.Tensor]


class Compose:
    """Apply image transforms in order to the inputs of a batch; the targets pass through.

    Made by :func:`compose`. Calling it with a batch ``(x, y)`` returns
    ``(t_k(...t_1(x)), y)``, the signature ``DeviceLoader(transform=...)`` and
    ``fit(batch_transform=...)`` expect; ``.images(x)`` transforms inputs alone.

    A run of :class:`~reglab.augment.RandomCrop`, :class:`~reglab.augment.RandomFlip`
    and :class:`~reglab.augment.Cutout`, in this order (any two or all three,
    one after the other), runs as one step: on the CPU with numba, one
    compiled loop writes each output pixel once; elsewhere each image is
    copied once (the mirrored ones reversed after the copy) and zeroed by one
    multiply. Either way the random draws are the same, and so is the result
    of applying the transforms one by one.

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
        for transform in _fuse_geometric(self.transforms):
            x = transform(x)
        return x

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images(x), y

    def __repr__(self) -> str:
        return f"Compose({', '.join(map(repr, self.transforms))})"


_FUSABLE = (RandomCrop, RandomFlip, Cutout)  # kinds 0, 1, 2: the order in which a run of them is fused


def _fuse_geometric(transforms: tuple[ImageTransform, ...]) -> list[ImageTransform]:
    """The transforms with each run of crop, flip, cutout (in that order, two or three) merged into one step."""
    steps: list[ImageTransform] = []
    run: dict[int, ImageTransform] = {}  # kind -> transform, of the run being collected
    for transform in transforms:
        kind = next((k for k, cls in enumerate(_FUSABLE) if type(transform) is cls), None)
        if run and (kind is None or kind <= max(run)):  # the run ends before this transform
            steps.append(_merge(run))
            run = {}
        if kind is None:
            steps.append(transform)
        else:
            run[kind] = transform
    if run:
        steps.append(_merge(run))
    return steps


def _merge(run: dict[int, ImageTransform]) -> ImageTransform:
    if len(run) == 1:
        return next(iter(run.values()))
    return _CropFlipCutout(run.get(0), run.get(1), run.get(2))  # type: ignore[arg-type]


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
