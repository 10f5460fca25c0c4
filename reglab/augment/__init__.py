"""Data augmentation on whole batches, on their device.

Every transform takes a batch ``(N, C, H, W)`` (:func:`mixup` also any
``(N, *)``, such as points) where it already is (CPU or GPU), draws each image's random parameters in one vectorized call (an
optional ``torch.Generator`` makes it reproducible), and never reads back to
the host. Each function has a class beside it that stores its arguments:

- geometric: :func:`random_crop` / :class:`RandomCrop`, :func:`random_flip` /
  :class:`RandomFlip`, :func:`cutout` / :class:`Cutout`;
- photometric: :func:`color_jitter` / :class:`ColorJitter` (built on
  :func:`adjust_color`), :func:`gaussian_noise` / :class:`AddNoise`;
- :func:`compose`: image transforms chained into a loader's ``(x, y) -> (x, y)``;
- mixing, returning soft targets: :func:`mixup` / :class:`MixUp`,
  :func:`cutmix` / :class:`CutMix`; :func:`sample_beta` draws their λ.
"""

from reglab.augment._base import sample_beta
from reglab.augment.compose import Compose, compose
from reglab.augment.geometric import Cutout, RandomCrop, RandomFlip, cutout, random_crop, random_flip
from reglab.augment.mixing import CutMix, MixUp, cutmix, mixup
from reglab.augment.photometric import AddNoise, ColorJitter, adjust_color, color_jitter, gaussian_noise

__all__ = [
    "random_crop",
    "RandomCrop",
    "random_flip",
    "RandomFlip",
    "cutout",
    "Cutout",
    "adjust_color",
    "color_jitter",
    "ColorJitter",
    "gaussian_noise",
    "AddNoise",
    "compose",
    "Compose",
    "mixup",
    "MixUp",
    "cutmix",
    "CutMix",
    "sample_beta",
]
