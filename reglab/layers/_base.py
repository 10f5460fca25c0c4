"""Private base classes shared by the layer families of :mod:`reglab.layers`.

Each family keeps its argument checks and its ``extra_repr`` in one place, as
``torch.nn.modules.dropout._DropoutNd`` does; the public classes add only their
docstring and a one-line ``forward`` over a plain function. The dropout family
also shares the one line that draws and applies its scaled keep-mask.
"""

from __future__ import annotations

import torch
from torch import nn

from reglab._validation import check_probability

__all__: list[str] = []


def _apply_mask(x: torch.Tensor, mask_shape: tuple[int, ...], p: float) -> torch.Tensor:
    """Multiply ``x`` by a keep-mask of ``mask_shape`` (broadcast to ``x``) scaled by 1/(1-p)."""
    keep = 1.0 - p
    mask = torch.empty(mask_shape, dtype=x.dtype, device=x.device).bernoulli_(keep)
    return x * mask / keep  # mask broadcasts over its size-1 dimensions


class _DropoutBase(nn.Module):
    """A module with one drop probability ``p`` in [0, 1) whose randomness acts only in training mode."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = check_probability(p, "p", type(self).__name__)

    def extra_repr(self) -> str:
        return f"p={self.p}"
