"""A small convolutional network for 8×8 to 32×32 images."""

from __future__ import annotations

from torch import nn

from reglab._validation import check_int

__all__ = ["SmallCNN"]


class SmallCNN(nn.Sequential):
    """Two conv blocks (conv 3×3, ReLU, max-pool 2×2), global average pooling, a linear classifier.

    Global average pooling makes the network accept any image size of at
    least 4×4, so the same model runs on digits (8×8) and CIFAR-10 (32×32).

    Args:
        in_channels (int): image channels (1 for grey, 3 for colour).
        num_classes (int): number of outputs, at least 1.
        width (int): channels of the first block; the second has twice as
            many. Default: 32.

    Shape:
        - Input: :math:`(N, C, H, W)` with :math:`H, W \\ge 4`.
        - Output: :math:`(N, \\text{num\\_classes})`.

    Example:
        >>> import torch
        >>> SmallCNN(1, 10, width=8)(torch.zeros(2, 1, 8, 8)).shape
        torch.Size([2, 10])
    """

    def __init__(self, in_channels: int, num_classes: int, *, width: int = 32) -> None:
        in_channels = check_int(in_channels, "in_channels", "SmallCNN", low=1)
        num_classes = check_int(num_classes, "num_classes", "SmallCNN", low=1)
        width = check_int(width, "width", "SmallCNN", low=1)
        super().__init__(
            nn.Conv2d(in_channels, width, 3, padding=1),  # (N, C, H, W) -> (N, w, H, W)
            nn.ReLU(),
            nn.MaxPool2d(2),  # -> (N, w, H/2, W/2)
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # -> (N, 2w, H/4, W/4)
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),  # -> (N, 2w)
            nn.Linear(2 * width, num_classes),
        )
