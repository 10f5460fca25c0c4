"""A small CIFAR-style residual network whose blocks take a residual regularizer.

Each block computes :math:`\\mathrm{ReLU}(s(x) + r(f(x)))` where :math:`s` is
the shortcut (the identity, or a 1×1 convolution with batch norm where the
shape changes), :math:`f` the residual branch (conv 3×3, BN, ReLU, conv 3×3,
BN) and :math:`r` the regularizer: nothing, :class:`~reglab.layers.DropPath`
(stochastic depth), :class:`~reglab.layers.ShakeDrop`, or, with two branches
:math:`f_1, f_2`, :class:`~reglab.layers.ShakeShake`. The drop rates of
``drop_path`` and ``shake_drop`` grow linearly over the blocks up to ``p_max``
(:func:`~reglab.layers.drop_path_rates`).

Papers:

- He, Zhang, Ren, Sun. "Deep residual learning for image recognition."
  CVPR 2016 (the network and its CIFAR variant).
- Huang et al. 2016 (stochastic depth), Gastaldi 2017 (Shake-Shake),
  Yamada et al. 2019 (ShakeDrop): see :mod:`reglab.layers.drop_path` and
  :mod:`reglab.layers.shake`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from reglab._validation import check_int, check_probability, parameter_error
from reglab.layers.drop_path import DropPath, drop_path_rates
from reglab.layers.shake import ShakeDrop, ShakeShake

__all__ = ["ResNet", "ResidualBlock", "BLOCK_REGULARIZERS"]

BLOCK_REGULARIZERS = ("none", "drop_path", "shake_shake", "shake_drop")


def _branch(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    """conv 3×3 (stride), BN, ReLU, conv 3×3, BN: the residual function f."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
    )


class ResidualBlock(nn.Module):
    """One residual block, ``ReLU(shortcut(x) + regularizer(branch(x)))``.

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        stride (int): stride of the first convolution (2 halves the image). Default: 1.
        regularizer (str): one of ``"none"``, ``"drop_path"``, ``"shake_shake"``
            (two branches), ``"shake_drop"``. Default: "none".
        p (float): drop rate of ``drop_path`` / ``shake_drop``, in [0, 1). Default: 0.0.

    Attributes:
        branch, branch2 (nn.Sequential): the residual branch(es); ``branch2`` is
            ``None`` unless ``regularizer="shake_shake"``.
        shortcut (nn.Module): ``nn.Identity`` or a 1×1 convolution with BN.
        regularize (nn.Module): ``nn.Identity``, ``DropPath``, ``ShakeShake`` or ``ShakeDrop``.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`. Output: :math:`(N, C_{out}, H/s, W/s)`.

    Example:
        >>> block = ResidualBlock(8, 16, stride=2, regularizer="shake_drop", p=0.25)
        >>> block(torch.zeros(2, 8, 8, 8)).shape, block.regularize
        (torch.Size([2, 16, 4, 4]), ShakeDrop(p=0.25))
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *,
                 regularizer: str = "none", p: float = 0.0) -> None:
        super().__init__()
        if regularizer not in BLOCK_REGULARIZERS:
            raise ValueError(parameter_error("regularizer", "ResidualBlock", f"one of {BLOCK_REGULARIZERS}",
                                             regularizer))
        p = check_probability(p, "p", "ResidualBlock")
        self.regularizer = regularizer
        self.branch = _branch(in_channels, out_channels, stride)
        self.branch2 = _branch(in_channels, out_channels, stride) if regularizer == "shake_shake" else None
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))
        self.regularize: nn.Module = {"none": nn.Identity(), "drop_path": DropPath(p), "shake_shake": ShakeShake(),
                                 "shake_drop": ShakeDrop(p)}[regularizer]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.branch2 is not None:
            residual = self.regularize(self.branch(x), self.branch2(x))  # (N, C_out, H', W')
        else:
            residual = self.regularize(self.branch(x))
        return F.relu(self.shortcut(x) + residual)


class ResNet(nn.Module):
    """A small CIFAR-style ResNet: a 3×3 stem, stages of residual blocks, global pooling, a linear layer.

    Stage :math:`s` has ``width * 2**s`` channels; every stage after the first
    starts with a stride-2 block. With ``blocks=(2, 2)`` and ``width=16`` on
    8×8 digits it has about 43,000 parameters; ``blocks=(3, 3, 3)`` has the
    depth and widths of He et al.'s 20-layer ResNet for CIFAR-10 (which uses
    parameter-free zero-padded identity shortcuts where this one has 1×1
    projections).

    Args:
        in_channels (int): image channels.
        num_classes (int): number of outputs.
        blocks (sequence of int): residual blocks per stage. Default: (2, 2).
        width (int): channels of the stem and the first stage. Default: 16.
        block_regularizer (str): ``"none"``, ``"drop_path"``, ``"shake_shake"``
            or ``"shake_drop"``. Default: "none".
        p_max (float): drop rate of the last block for ``drop_path`` and
            ``shake_drop``, decayed linearly towards the input
            (:func:`~reglab.layers.drop_path_rates`), in [0, 1). Default: 0.0.
        stem_stride (int): stride of the stem convolution, >= 1. With 2 the
            residual stages run on images half as high and wide,
            :math:`\\lceil H/2 \\rceil \\times \\lceil W/2 \\rceil` (a quarter of the
            compute). Default: 1.

    Shape:
        - Input: :math:`(N, C, H, W)`. Output: :math:`(N, \\text{num\\_classes})`.

    Example:
        >>> model = ResNet(1, 10, blocks=(2, 2), width=8, block_regularizer="drop_path", p_max=0.5)
        >>> model(torch.zeros(2, 1, 8, 8)).shape
        torch.Size([2, 10])
        >>> [block.regularize.p for block in model.blocks]
        [0.125, 0.25, 0.375, 0.5]
    """

    def __init__(self, in_channels: int, num_classes: int, *, blocks: tuple[int, ...] = (2, 2), width: int = 16,
                 block_regularizer: str = "none", p_max: float = 0.0, stem_stride: int = 1) -> None:
        super().__init__()
        in_channels = check_int(in_channels, "in_channels", "ResNet", low=1)
        stem_stride = check_int(stem_stride, "stem_stride", "ResNet", low=1)
        num_classes = check_int(num_classes, "num_classes", "ResNet", low=1)
        width = check_int(width, "width", "ResNet", low=1)
        p_max = check_probability(p_max, "p_max", "ResNet")
        if not isinstance(blocks, (tuple, list)) or not blocks:
            raise TypeError(parameter_error("blocks", "ResNet", "a non-empty tuple of ints", blocks))
        blocks = tuple(check_int(b, "blocks", "ResNet", low=1) for b in blocks)
        if block_regularizer not in BLOCK_REGULARIZERS:
            raise ValueError(parameter_error("block_regularizer", "ResNet", f"one of {BLOCK_REGULARIZERS}",
                                             block_regularizer))
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, stride=stem_stride, padding=1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU())  # (N, C, H, W) -> (N, w, H/s, W/s)
        rates = drop_path_rates(sum(blocks), p_max)
        layers, channels = [], width
        for stage, count in enumerate(blocks):
            out_channels = width * 2**stage
            for i in range(count):
                stride = 2 if stage > 0 and i == 0 else 1  # halve H, W at the start of each later stage
                layers.append(ResidualBlock(channels, out_channels, stride, regularizer=block_regularizer,
                                            p=rates[len(layers)]))
                channels = out_channels
        self.blocks = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))  # (N, w * 2**(S-1), H', W') -> (N, classes)
