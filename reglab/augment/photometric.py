"""Photometric batch transforms: colour jitter (brightness, contrast, saturation) and Gaussian noise.

Images are floats in [0, 1]. The colour adjustments follow torchvision's
definitions exactly (``torchvision.transforms.v2.functional.adjust_brightness``,
``adjust_contrast``, ``adjust_saturation``), with one factor per image drawn in
a single vectorized call. Adding Gaussian noise to the inputs is, for small
noise and the squared error, equivalent to a Tikhonov penalty on the input
gradient of the model's output, :math:`\\sigma^2 \\lVert \\nabla_x f(x) \\rVert^2`
(Bishop, 1995).

Papers:
    - Krizhevsky, Sutskever and Hinton, NIPS 2012 (colour perturbations).
    - Bishop, "Training with Noise is Equivalent to Tikhonov Regularization",
      Neural Computation 7(1), 1995.
"""

from __future__ import annotations

import torch

from reglab._validation import check_real, parameter_error
from reglab.augment._base import BatchTransform, check_generator, check_images, uniform

__all__ = ["adjust_color", "color_jitter", "ColorJitter", "gaussian_noise", "AddNoise"]

_LUMA = (0.2989, 0.587, 0.114)  # ITU-R 601 weights, as torchvision's rgb_to_grayscale


def _grayscale(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 1, H, W) luma; a 1-channel image is its own grey."""
    if x.shape[1] == 1:
        return x
    r, g, b = x.unbind(dim=1)  # each (N, H, W)
    return (_LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b).unsqueeze(1)  # (N, 1, H, W)


def _blend(x: torch.Tensor, other: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    factor = factor.reshape(-1, 1, 1, 1)  # (N,) -> (N, 1, 1, 1)
    return (factor * x + (1.0 - factor) * other).clamp(0.0, 1.0)


def adjust_color(
    x: torch.Tensor,
    brightness: torch.Tensor | None = None,
    contrast: torch.Tensor | None = None,
    saturation: torch.Tensor | None = None,
) -> torch.Tensor:
    """Scale each image's brightness, contrast and saturation by its own factor, in that order.

    With :math:`g(x)` the grey image and :math:`\\bar g` its mean, each step
    blends towards a reference and clips to [0, 1]:

    .. math::
        x \\leftarrow \\operatorname{clip}(b\\,x), \\quad
        x \\leftarrow \\operatorname{clip}(c\\,x + (1 - c)\\,\\bar g(x)), \\quad
        x \\leftarrow \\operatorname{clip}(s\\,x + (1 - s)\\,g(x))

    A factor of 1 leaves the image unchanged; 0 gives black, flat grey, grey.

    Args:
        x (Tensor): images in [0, 1] with 1 or 3 channels.
        brightness, contrast, saturation (Tensor, optional): factors
            :math:`\\ge 0`, one per image; None skips that step.

    Shape:
        - x: :math:`(N, C, H, W)` with :math:`C \\in \\{1, 3\\}`; factors :math:`(N,)`.

    Example:
        >>> adjust_color(torch.full((1, 1, 1, 2), 0.5), brightness=torch.tensor([1.5]))
        tensor([[[[0.7500, 0.7500]]]])
    """
    owner = "adjust_color"
    check_images(x, owner)
    if x.shape[1] not in (1, 3):
        raise ValueError(parameter_error("x", owner, "images with 1 or 3 channels", f"shape {tuple(x.shape)}"))
    if brightness is not None:
        x = _blend(x, torch.zeros((), device=x.device, dtype=x.dtype), brightness)
    if contrast is not None:
        mean = _grayscale(x).mean(dim=(1, 2, 3), keepdim=True)  # (N, 1, 1, 1)
        x = _blend(x, mean, contrast)
    if saturation is not None and x.shape[1] == 3:
        x = _blend(x, _grayscale(x), saturation)  # grey (N, 1, H, W) broadcasts over channels
    return x


def color_jitter(
    x: torch.Tensor,
    brightness: float = 0.4,
    contrast: float = 0.4,
    saturation: float = 0.4,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Random brightness, contrast and saturation, each factor uniform in :math:`[\\max(0, 1 - a), 1 + a]`.

    Unlike torchvision's ``ColorJitter``, the order of the three steps is fixed
    (brightness, contrast, saturation); hue is not jittered.

    Args:
        x (Tensor): images in [0, 1] with 1 or 3 channels.
        brightness, contrast, saturation (float): strengths :math:`a \\ge 0`;
            0 turns a step off. Default: 0.4 each.
        generator (torch.Generator, optional): on ``x``'s device.

    Shape:
        - x: :math:`(N, C, H, W)`; output: the same.

    Example:
        >>> x = torch.rand(8, 3, 4, 4, generator=torch.Generator().manual_seed(0))
        >>> y = color_jitter(x, generator=torch.Generator().manual_seed(1))
        >>> y.shape, bool(((y >= 0) & (y <= 1)).all())
        (torch.Size([8, 3, 4, 4]), True)
    """
    owner = "color_jitter"
    check_images(x, owner)
    strengths = [check_real(a, name, owner, low=0.0) for a, name in
                 ((brightness, "brightness"), (contrast, "contrast"), (saturation, "saturation"))]
    check_generator(generator, owner)
    factors = [uniform((len(x),), max(0.0, 1.0 - a), 1.0 + a, x, generator) if a > 0 else None for a in strengths]
    return adjust_color(x, *factors)


def gaussian_noise(x: torch.Tensor, std: float, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add independent noise :math:`\\varepsilon \\sim \\mathcal N(0, \\sigma^2)` to every pixel.

    .. math::
        \\tilde x = x + \\varepsilon

    The result is not clipped, so its mean stays :math:`x` (Bishop's analysis
    assumes zero-mean noise).

    Args:
        x (Tensor): float images.
        std (float): :math:`\\sigma \\ge 0`.
        generator (torch.Generator, optional): on ``x``'s device.

    Shape:
        - x: :math:`(N, C, H, W)`; output: the same.

    Example:
        >>> y = gaussian_noise(torch.zeros(100, 1, 10, 10), 0.5, generator=torch.Generator().manual_seed(0))
        >>> round(y.std().item(), 1)
        0.5
    """
    owner = "gaussian_noise"
    check_images(x, owner)
    std = check_real(std, "std", owner, low=0.0)
    check_generator(generator, owner)
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x + std * noise


class ColorJitter(BatchTransform):
    """:func:`color_jitter` as an object: ``ColorJitter(0.4, 0.4, 0.4)(x)``."""

    _fields = ("brightness", "contrast", "saturation")

    def __init__(self, brightness: float = 0.4, contrast: float = 0.4, saturation: float = 0.4, *,
                 generator: torch.Generator | None = None) -> None:
        self.brightness = check_real(brightness, "brightness", "ColorJitter", low=0.0)
        self.contrast = check_real(contrast, "contrast", "ColorJitter", low=0.0)
        self.saturation = check_real(saturation, "saturation", "ColorJitter", low=0.0)
        self.generator = check_generator(generator, "ColorJitter")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return color_jitter(x, self.brightness, self.contrast, self.saturation, generator=self.generator)


class AddNoise(BatchTransform):
    """:func:`gaussian_noise` as an object: ``AddNoise(0.1)(x)``."""

    _fields = ("std",)

    def __init__(self, std: float, *, generator: torch.Generator | None = None) -> None:
        self.std = check_real(std, "std", "AddNoise", low=0.0)
        self.generator = check_generator(generator, "AddNoise")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return gaussian_noise(x, self.std, generator=self.generator)
