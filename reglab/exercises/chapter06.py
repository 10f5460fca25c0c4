"""Checks for chapter 6's exercises."""

from __future__ import annotations

import torch

from reglab.augment import random_flip
from reglab.exercises._diagnose import known_mistake
from reglab.exercises.checking import Case, run_check

__all__ = ["check_random_flip"]

_WHOLE_BATCH = ("you flip the whole batch together (one coin for all images): draw one coin per image, "
                "torch.rand(N) < p, and mirror only the images whose coin came up.")


def _images(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 2, 4, 5, generator=torch.Generator().manual_seed(seed))  # (N, C, H, W), C and H > 1


def _mirrored(got: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: is it unchanged, is it the left-right mirror? Both (N,) bool."""
    return (got == x).flatten(1).all(dim=1), (got == x.flip(-1)).flatten(1).all(dim=1)


def check_random_flip(my_random_flip) -> bool:
    """Exercise 6.1: ``my_random_flip(x, p, generator)`` mirrors each image of (N, C, H, W) with probability p."""

    def exact(name, p):
        x = _images(64, 60)
        expected = random_flip(x, p)  # at p = 0 and p = 1 the flips do not depend on the coins
        mistakes = {
            "that is an up-down flip; left to right mirrors the LAST dimension (W): x.flip(-1).": x.flip(-2),
            "you reversed the order of the batch (or the channels); mirror each image along its width, x.flip(-1).":
                x.flip(0),
            "you flipped the channels; mirror each image along its width, x.flip(-1).": x.flip(1),
            "an image is flipped when its coin is BELOW p (torch.rand(N) < p): p = 0 never flips, p = 1 always does.":
                x if p == 1.0 else x.flip(-1),
        }
        return Case(name, lambda: (my_random_flip(x.clone(), p, generator=torch.Generator().manual_seed(1)), expected),
                    hint="return a tensor of x's shape in which each image is x[i] or x[i].flip(-1), flipped with "
                         "probability p: p = 0 flips none, p = 1 flips every one.",
                    diagnose=lambda got: known_mistake(got, mistakes))

    def image_or_mirror():
        x = _images(4000, 61)
        got = my_random_flip(x.clone(), 0.3, generator=torch.Generator().manual_seed(2))
        same, mirror = _mirrored(got, x)
        return (same | mirror).double().mean(), torch.tensor(1.0, dtype=torch.float64)

    def rate():
        x = _images(4000, 62)
        same, mirror = _mirrored(my_random_flip(x.clone(), 0.3, generator=torch.Generator().manual_seed(3)), x)
        return mirror.double().mean(), torch.tensor(0.3, dtype=torch.float64)

    def rate_hint(got):
        if isinstance(got, torch.Tensor) and got.item() in (0.0, 1.0):
            return _WHOLE_BATCH
        return "flip each image with probability p: compare torch.rand(N, generator=generator) with p."

    def reproducible():
        x = _images(200, 63)
        first = my_random_flip(x.clone(), 0.5, generator=torch.Generator().manual_seed(4))
        torch.manual_seed(0)  # the global generator moves on; the answer must not follow it
        torch.rand(17)
        return my_random_flip(x.clone(), 0.5, generator=torch.Generator().manual_seed(4)), first

    cases = [
        exact("p = 0 leaves every image", 0.0),
        exact("p = 1 mirrors every image left to right", 1.0),
        Case("p = 0.3 on 4,000 images: the fraction that is the image or its mirror", image_or_mirror,
             hint="you mixed pixels of an image and of its mirror: draw one coin per IMAGE, shape (N,), not per "
                  "pixel or per row, and broadcast it as (N, 1, 1, 1)."),
        Case("p = 0.3 on 4,000 images: the fraction of mirrored images (± 0.03)", rate, diagnose=rate_hint, atol=0.03),
        Case("the same generator seed gives the same flips", reproducible,
             hint="draw the coins with the generator you are given: torch.rand(N, generator=generator)."),
    ]
    return run_check("Exercise 6.1", my_random_flip, cases)
