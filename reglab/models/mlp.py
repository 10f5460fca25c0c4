"""Multilayer perceptron: the workhorse model of the small experiments."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from reglab._validation import check_int, check_probability, parameter_error

__all__ = ["MLP"]


class MLP(nn.Sequential):
    """Fully connected network: flatten, then (Linear, activation[, Dropout]) per hidden layer, then Linear.

    .. math::
        h_0 = \\mathrm{flatten}(x), \\quad
        h_{l} = \\phi(W_l h_{l-1} + b_l), \\quad
        \\mathrm{logits} = W_{L+1} h_L + b_{L+1}

    Args:
        in_features (int): size of a flattened input, at least 1.
        hidden (sequence of int): width of each hidden layer (may be empty).
        out_features (int): number of outputs (classes), at least 1.
        activation (type of nn.Module): the non-linearity :math:`\\phi`.
            Default: ``nn.ReLU``.
        dropout (float): drop probability after each hidden activation, in
            [0, 1); 0 adds no dropout layer. Default: 0.

    Shape:
        - Input: :math:`(N, *)` with ``in_features`` elements per sample.
        - Output: :math:`(N, \\text{out\\_features})`.

    Example:
        >>> MLP(2, [16, 16], 3)(torch.zeros(5, 2)).shape
        torch.Size([5, 3])
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        out_features: int,
        *,
        activation: type[nn.Module] = nn.ReLU,
        dropout: float = 0.0,
    ) -> None:
        in_features = check_int(in_features, "in_features", "MLP", low=1)
        out_features = check_int(out_features, "out_features", "MLP", low=1)
        if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
            raise TypeError(parameter_error("hidden", "MLP", "a sequence of ints", hidden))
        widths = [check_int(width, "hidden", "MLP", low=1) for width in hidden]
        dropout = check_probability(dropout, "dropout", "MLP")
        layers: list[nn.Module] = [nn.Flatten()]
        for width_in, width_out in zip([in_features, *widths], widths):
            layers += [nn.Linear(width_in, width_out), activation()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear([in_features, *widths][-1], out_features))
        super().__init__(*layers)
