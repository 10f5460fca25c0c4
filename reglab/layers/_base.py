"""Private base classes shared by the layer families of :mod:`reglab.layers`.

Each family keeps its argument checks and its ``extra_repr`` in one place, as
``torch.nn.modules.dropout._DropoutNd`` does; the public classes add only their
docstring and a one-line ``forward`` over a plain function.
"""

from __future__ import annotations

from torch import nn

from reglab._validation import check_probability

__all__: list[str] = []


class _DropoutBase(nn.Module):
    """A module with one drop probability ``p`` in [0, 1) whose randomness acts only in training mode."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = check_probability(p, "p", type(self).__name__)

    def extra_repr(self) -> str:
        return f"p={self.p}"
