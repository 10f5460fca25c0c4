"""Mixing augmentations that return soft targets: mixup and CutMix.

Both pair every image with a partner from the same batch (a random
permutation) and mix the two targets in the proportion the images were mixed.
Each image draws its own :math:`\\lambda \\sim \\mathrm{Beta}(\\alpha, \\alpha)`
(the papers draw one per batch; per image is the same distribution per
sample, with less variance per batch). Train on the soft targets with
:func:`reglab.losses.soft_cross_entropy` or ``F.cross_entropy``, which accepts
class probabilities.

Papers:
    - Zhang, Cisse, Dauphin and Lopez-Paz, "mixup: Beyond Empirical Risk
      Minimization", ICLR 2018.
    - Yun, Han, Oh, Chun, Choe and Yoo, "CutMix: Regularization Strategy to
      Train Strong Classifiers with Localizable Features", ICCV 2019.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reglab._validation import check_int, check_real, check_tensor, parameter_error
from reglab.augment._base import BatchTransform, check_generator, check_images, randint, sample_beta

__all__ = ["mixup", "MixUp", "cutmix", "CutMix"]


def _targets(y: torch.Tensor, n: int, num_classes: int, owner: str) -> torch.Tensor:
    """Class indices (N,) or probabilities (N, K) -> float probabilities (N, K)."""
    check_tensor(y, "y", owner, ndim=(1, 2))
    if len(y) != n:
        raise ValueError(parameter_error("y", owner, f"one target per image ({n})", f"{len(y)} targets"))
    if y.ndim == 2:
        allowed = f"float probabilities of shape ({n}, {num_classes})"
        if not y.is_floating_point():
            raise TypeError(parameter_error("y", owner, allowed, f"dtype {y.dtype}"))
        if y.shape[1] != num_classes:
            raise ValueError(parameter_error("y", owner, allowed, f"shape {tuple(y.shape)}"))
        return y
    check_tensor(y, "y", owner, floating=False)
    # On the CPU the range check is free; on an accelerator one_hot's scatter asserts on the device instead.
    if y.device.type == "cpu" and n > 0 and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(parameter_error("y", owner, f"class indices in the range [0, {num_classes - 1}]",
                                         f"labels from {int(y.min())} to {int(y.max())}"))
    return F.one_hot(y.long(), num_classes).float()  # (N, K)


def _check(alpha: float, num_classes: int, generator: object, owner: str) -> tuple[float, int]:
    alpha = check_real(alpha, "alpha", owner, low=0.0, low_open=True)
    num_classes = check_int(num_classes, "num_classes", owner, low=1)
    check_generator(generator, owner)
    return alpha, num_classes


def mixup(
    x: torch.Tensor, y: torch.Tensor, alpha: float, num_classes: int, *, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Blend each input and its target with a random partner's.

    .. math::
        \\tilde x_i = \\lambda_i x_i + (1 - \\lambda_i) x_{\\pi(i)}, \\qquad
        \\tilde y_i = \\lambda_i e_{y_i} + (1 - \\lambda_i) e_{y_{\\pi(i)}}, \\qquad
        \\lambda_i \\sim \\mathrm{Beta}(\\alpha, \\alpha)

    with :math:`\\pi` a random permutation of the batch and :math:`e_k` the
    one-hot vector of class :math:`k`.

    Args:
        x (Tensor): float inputs of any shape (images, or points as in ``make_moons``).
        y (Tensor): class indices, or class probabilities.
        alpha (float): :math:`\\alpha > 0`; small values keep most samples
            close to one of the pair (the paper uses 0.1 to 0.4 on ImageNet, 1 on CIFAR-10).
        num_classes (int): number of classes :math:`K`.
        generator (torch.Generator, optional): on ``x``'s device.

    Shape:
        - x: :math:`(N, *)`; y: :math:`(N,)` int or :math:`(N, K)` float.
        - Output: :math:`(N, *)` and soft targets :math:`(N, K)` whose rows sum to 1.

    Example:
        >>> x, y = torch.eye(4), torch.tensor([0, 1, 2, 3])
        >>> xm, ym = mixup(x, y, 0.4, 4, generator=torch.Generator().manual_seed(0))
        >>> torch.allclose(xm, ym), torch.allclose(ym.sum(dim=1), torch.ones(4))
        (True, True)
    """
    owner = "mixup"
    check_tensor(x, "x", owner, min_ndim=2, floating=True)
    alpha, num_classes = _check(alpha, num_classes, generator, owner)
    soft = _targets(y, len(x), num_classes, owner)  # (N, K)
    n = len(x)
    lam = sample_beta(alpha, (n,), device=x.device, generator=generator).to(x.dtype)  # (N,)
    partner = torch.randperm(n, generator=generator, device=x.device)  # (N,)
    lam_x = lam.reshape(n, *([1] * (x.ndim - 1)))  # (N, 1, ..., 1) broadcasts over the sample
    mixed = x.index_select(0, partner).lerp_(x, lam_x)  # x[partner] + lam * (x - x[partner])
    lam_y = lam.unsqueeze(1).to(soft.dtype)  # (N, 1)
    return mixed, lam_y * soft + (1.0 - lam_y) * soft[partner]


def cutmix(
    x: torch.Tensor, y: torch.Tensor, alpha: float, num_classes: int, *, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Paste a random box from a partner image into each image; mix the targets by area.

    Each image draws :math:`\\lambda_i \\sim \\mathrm{Beta}(\\alpha, \\alpha)`
    and a box of about :math:`\\sqrt{1 - \\lambda_i}\\,H \\times
    \\sqrt{1 - \\lambda_i}\\,W` pixels centred uniformly in the image, clipped
    at the border. The target weight is then corrected to the box's true area
    :math:`A_i`, so it equals the fraction of pixels each image contributes:

    .. math::
        \\tilde x_i = M_i \\odot x_{\\pi(i)} + (1 - M_i) \\odot x_i, \\qquad
        \\tilde y_i = \\lambda'_i e_{y_i} + (1 - \\lambda'_i) e_{y_{\\pi(i)}}, \\qquad
        \\lambda'_i = 1 - \\frac{A_i}{HW}

    Args:
        x (Tensor): float images.
        y (Tensor): class indices, or class probabilities.
        alpha (float): :math:`\\alpha > 0` (the paper uses 1, a uniform :math:`\\lambda`).
        num_classes (int): number of classes :math:`K`.
        generator (torch.Generator, optional): on ``x``'s device.

    Shape:
        - x: :math:`(N, C, H, W)`; y: :math:`(N,)` int or :math:`(N, K)` float.
        - Output: :math:`(N, C, H, W)` and soft targets :math:`(N, K)` whose rows sum to 1.

    Example:
        >>> x, y = torch.rand(8, 3, 16, 16), torch.arange(8)
        >>> xm, ym = cutmix(x, y, 1.0, 8, generator=torch.Generator().manual_seed(0))
        >>> own = (xm == x).all(dim=1).float().mean(dim=(1, 2))  # fraction of pixels kept
        >>> torch.allclose(own, ym[torch.arange(8), y])
        True
    """
    owner = "cutmix"
    check_images(x, owner)
    alpha, num_classes = _check(alpha, num_classes, generator, owner)
    soft = _targets(y, len(x), num_classes, owner)  # (N, K)
    n, _, h, w = x.shape
    lam = sample_beta(alpha, (n, 1), device=x.device, generator=generator)  # (N, 1)
    half = (1.0 - lam).sqrt() / 2  # (N, 1) half side of the box, as a fraction of the image
    cy, cx = randint((n, 1), h, x, generator), randint((n, 1), w, x, generator)  # (N, 1) box centres
    top, bottom = (cy - (half * h).long()).clamp(0, h), (cy + (half * h).long()).clamp(0, h)  # (N, 1) each
    left, right = (cx - (half * w).long()).clamp(0, w), (cx + (half * w).long()).clamp(0, w)
    rows, cols = torch.arange(h, device=x.device), torch.arange(w, device=x.device)
    in_rows = ((rows >= top) & (rows < bottom)).to(x.dtype)  # (N, H)
    in_cols = ((cols >= left) & (cols < right)).to(x.dtype)  # (N, W)
    one = torch.ones((), device=x.device, dtype=x.dtype)
    outside = torch.addcmul(one, in_rows[:, None, :, None], in_cols[:, None, None, :], value=-1.0)  # (N, 1, H, W): 1 - box
    partner = torch.randperm(n, generator=generator, device=x.device)  # (N,)
    mixed = x.index_select(0, partner).lerp_(x, outside)  # partner inside the box, own pixels outside
    kept = 1.0 - ((bottom - top) * (right - left)).to(soft.dtype) / (h * w)  # (N, 1) area-corrected lambda
    return mixed, kept * soft + (1.0 - kept) * soft[partner]


class MixUp(BatchTransform):
    """:func:`mixup` as a batch transform ``(x, y) -> (x, soft_y)``, e.g. for ``fit(batch_transform=...)``."""

    _fields = ("alpha", "num_classes")

    def __init__(self, alpha: float, num_classes: int, *, generator: torch.Generator | None = None) -> None:
        self.alpha, self.num_classes = _check(alpha, num_classes, generator, "MixUp")
        self.generator = generator

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return mixup(x, y, self.alpha, self.num_classes, generator=self.generator)


class CutMix(BatchTransform):
    """:func:`cutmix` as a batch transform ``(x, y) -> (x, soft_y)``, e.g. for ``fit(batch_transform=...)``."""

    _fields = ("alpha", "num_classes")

    def __init__(self, alpha: float, num_classes: int, *, generator: torch.Generator | None = None) -> None:
        self.alpha, self.num_classes = _check(alpha, num_classes, generator, "CutMix")
        self.generator = generator

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return cutmix(x, y, self.alpha, self.num_classes, generator=self.generator)
