"""LeNet-5 (LeCun et al., 1998) with its original shapes, in today's PyTorch.

Paper:
    - Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. "Gradient-Based Learning
      Applied to Document Recognition." Proceedings of the IEEE, 1998.
"""

from __future__ import annotations

import torch
from torch import nn

from reglab._validation import check_int, check_tensor, parameter_error

__all__ = ["LeNet5"]


class LeNet5(nn.Module):
    """LeNet-5's layers and feature-map sizes: valid 5×5 convolutions on 32×32 images.

    .. code-block:: text

        input (1, 32, 32) -C1 conv 5×5-> (6, 28, 28) -S2 avg-pool 2-> (6, 14, 14)
          -C3 conv 5×5-> (16, 10, 10) -S4 avg-pool 2-> (16, 5, 5)
          -C5-> 120 -F6-> 84 -output-> num_classes

    Units are tanh, as the paper's scaled hyperbolic tangent. Three
    simplifications are today's usual ones: C3 connects every map of S2 (the
    paper connects each of C3's maps to a subset, 1,516 weights instead of
    2,416), pooling has no trainable coefficients, and the output is a linear
    layer instead of the paper's RBF units. With 10 classes the network has
    61,706 parameters. MNIST's 28×28 digits are padded by 2 pixels on each
    side first, as the paper did: ``torch.nn.functional.pad(x, (2, 2, 2, 2))``.

    Args:
        num_classes (int): number of outputs, at least 1. Default: 10.
        in_channels (int): image channels. Default: 1.

    Shape:
        - Input: :math:`(N, C, 32, 32)`. Output: :math:`(N, \\text{num\\_classes})`.

    Example:
        >>> import torch
        >>> LeNet5()(torch.zeros(2, 1, 32, 32)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 10, *, in_channels: int = 1) -> None:
        super().__init__()
        self.num_classes = check_int(num_classes, "num_classes", "LeNet5", low=1)
        self.in_channels = check_int(in_channels, "in_channels", "LeNet5", low=1)
        self.features = nn.Sequential(
            nn.Conv2d(self.in_channels, 6, 5),  # C1: (N, C, 32, 32) -> (N, 6, 28, 28)
            nn.Tanh(),
            nn.AvgPool2d(2),  # S2: -> (N, 6, 14, 14)
            nn.Conv2d(6, 16, 5),  # C3: -> (N, 16, 10, 10)
            nn.Tanh(),
            nn.AvgPool2d(2),  # S4: -> (N, 16, 5, 5)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),  # -> (N, 400)
            nn.Linear(16 * 5 * 5, 120),  # C5 (a 5×5 convolution over a 5×5 map is a linear layer)
            nn.Tanh(),
            nn.Linear(120, 84),  # F6
            nn.Tanh(),
            nn.Linear(84, self.num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", "LeNet5", ndim=4, floating=True)
        if tuple(x.shape[1:]) != (self.in_channels, 32, 32):
            allowed = f"images of shape (N, {self.in_channels}, 32, 32) (pad 28×28 digits by 2 on each side)"
            raise ValueError(parameter_error("x", "LeNet5", allowed, tuple(x.shape)))
        return self.classifier(self.features(x))
