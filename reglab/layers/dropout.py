"""Inverted dropout and its structured variants: element-wise, whole channels, whole tokens, locked over time.

All four draw a Bernoulli keep-mask :math:`m \\sim \\mathrm{Bernoulli}(1 - p)`,
multiply by it and divide by :math:`1 - p` during training, so that
:math:`\\mathbb{E}[y] = x` and evaluation is the identity (the "inverted"
convention: the scaling sits in training, nothing changes at test time). They
differ only in the *shape* of the mask, that is, in which elements share one
coin flip.

Papers:

- Srivastava, Hinton, Krizhevsky, Sutskever, Salakhutdinov. "Dropout: a simple
  way to prevent neural networks from overfitting." JMLR 15, 2014.
- Tompson, Goroshin, Jain, LeCun, Bregler. "Efficient object localization
  using convolutional networks." CVPR 2015 (spatial dropout).
- Gal, Ghahramani. "A theoretically grounded application of dropout in
  recurrent neural networks." NIPS 2016 (one mask per sequence; embedding
  dropout).
- Merity, Keskar, Socher. "Regularizing and optimizing LSTM language models."
  ICLR 2018 (``LockedDropout``).
"""

from __future__ import annotations

import torch

from reglab._validation import check_bool, check_probability, check_tensor
from reglab.layers._base import _apply_mask, _DropoutBase

__all__ = [
    "dropout",
    "Dropout",
    "spatial_dropout",
    "SpatialDropout",
    "embedding_dropout",
    "EmbeddingDropout",
    "locked_dropout",
    "LockedDropout",
]


def dropout(x: torch.Tensor, p: float = 0.5, training: bool = True) -> torch.Tensor:
    """Inverted dropout: zero each element with probability ``p``, scale the rest by 1/(1-p).

    .. math::
        y_i = \\frac{m_i}{1 - p} x_i, \\quad m_i \\sim \\mathrm{Bernoulli}(1 - p)
        \\text{ (training)}, \\qquad y = x \\text{ (evaluation)}

    Args:
        x (Tensor): input of any shape.
        p (float): drop probability, in [0, 1). Default: 0.5.
        training (bool): apply the mask (True) or return ``x`` (False). Default: True.

    Shape:
        - Input: :math:`(*)`. Output: same shape.

    Example:
        >>> x = torch.ones(2, 3)
        >>> torch.equal(dropout(x, 0.5, training=False), x)
        True
        >>> sorted(set(dropout(torch.ones(1000), 0.5).tolist()))
        [0.0, 2.0]
    """
    p = check_probability(p, "p", "dropout")
    check_bool(training, "training", "dropout")
    check_tensor(x, "x", "dropout")
    if not training or p == 0.0:
        return x
    return _apply_mask(x, tuple(x.shape), p)  # one coin per element


def spatial_dropout(x: torch.Tensor, p: float = 0.5, training: bool = True) -> torch.Tensor:
    """Spatial dropout: zero whole channels (feature maps) of each sample, like ``nn.Dropout2d``.

    Neighbouring pixels of a feature map are strongly correlated, so dropping
    single pixels removes little information; dropping the whole map does.

    .. math::
        y_{n,c,\\dots} = \\frac{m_{n,c}}{1 - p} x_{n,c,\\dots}, \\quad
        m_{n,c} \\sim \\mathrm{Bernoulli}(1 - p)

    Args:
        x (Tensor): input with a batch and a channel dimension, at least 3-D.
        p (float): probability of dropping a channel, in [0, 1). Default: 0.5.
        training (bool): apply the mask or return ``x``. Default: True.

    Shape:
        - Input: :math:`(N, C, *)` with at least one dimension in :math:`*`.
        - Output: same shape. The mask has shape :math:`(N, C, 1, \\dots, 1)`.

    Example:
        >>> y = spatial_dropout(torch.ones(2, 8, 4, 4), 0.5)
        >>> bool(((y == 0).flatten(2).all(dim=2) | (y == 2).flatten(2).all(dim=2)).all())
        True
    """
    p = check_probability(p, "p", "spatial_dropout")
    check_bool(training, "training", "spatial_dropout")
    check_tensor(x, "x", "spatial_dropout", min_ndim=3)
    if not training or p == 0.0:
        return x
    mask_shape = (*x.shape[:2], *([1] * (x.ndim - 2)))  # (N, C, 1, ..., 1)
    return _apply_mask(x, mask_shape, p)


def embedding_dropout(x: torch.Tensor, p: float = 0.5, training: bool = True) -> torch.Tensor:
    """Embedding dropout: zero whole token vectors (all ``D`` features of a position at once).

    .. math::
        y_{\\dots,t,:} = \\frac{m_{\\dots,t}}{1 - p} x_{\\dots,t,:}, \\quad
        m_{\\dots,t} \\sim \\mathrm{Bernoulli}(1 - p)

    This drops token *occurrences*. Gal and Ghahramani (2016) drop word *types*
    (rows of the embedding matrix, so every occurrence of a word in a
    sequence vanishes together); the mask shape is the only difference.

    Args:
        x (Tensor): embedded tokens, at least 2-D, features last.
        p (float): probability of dropping a token, in [0, 1). Default: 0.5.
        training (bool): apply the mask or return ``x``. Default: True.

    Shape:
        - Input: :math:`(*, D)`, e.g. :math:`(N, T, D)`.
        - Output: same shape. The mask has shape :math:`(*, 1)`.

    Example:
        >>> y = embedding_dropout(torch.ones(4, 10, 16), 0.5)
        >>> bool(((y == 0).all(dim=-1) | (y == 2).all(dim=-1)).all())
        True
    """
    p = check_probability(p, "p", "embedding_dropout")
    check_bool(training, "training", "embedding_dropout")
    check_tensor(x, "x", "embedding_dropout", min_ndim=2)
    if not training or p == 0.0:
        return x
    return _apply_mask(x, (*x.shape[:-1], 1), p)  # (*, 1): one coin per token


def locked_dropout(x: torch.Tensor, p: float = 0.5, training: bool = True, batch_first: bool = False) -> torch.Tensor:
    """Locked (variational) dropout: one mask per sequence, the same at every time step.

    .. math::
        y_{t,n,d} = \\frac{m_{n,d}}{1 - p} x_{t,n,d}, \\quad m_{n,d} \\sim \\mathrm{Bernoulli}(1 - p)

    A fresh mask at every step (plain dropout on a sequence) lets the network
    average the noise away over time; one mask per sequence removes the same
    features for the whole sequence.

    Args:
        x (Tensor): a batch of sequences, 3-D.
        p (float): drop probability, in [0, 1). Default: 0.5.
        training (bool): apply the mask or return ``x``. Default: True.
        batch_first (bool): ``x`` is :math:`(N, T, D)` if True, else
            :math:`(T, N, D)` (the ``nn.LSTM`` default). Default: False.

    Shape:
        - Input: :math:`(T, N, D)`, or :math:`(N, T, D)` if ``batch_first``.
        - Output: same shape. The mask is :math:`(1, N, D)`, or :math:`(N, 1, D)`.

    Example:
        >>> y = locked_dropout(torch.ones(5, 2, 3), 0.5)  # (T, N, D)
        >>> bool((y == y[0]).all())  # every time step has the mask of step 0
        True
    """
    p = check_probability(p, "p", "locked_dropout")
    check_bool(training, "training", "locked_dropout")
    check_bool(batch_first, "batch_first", "locked_dropout")
    check_tensor(x, "x", "locked_dropout", ndim=3)
    if not training or p == 0.0:
        return x
    n, d = (x.shape[0], x.shape[2]) if batch_first else (x.shape[1], x.shape[2])
    mask_shape = (n, 1, d) if batch_first else (1, n, d)  # size 1 on the time axis
    return _apply_mask(x, mask_shape, p)


class Dropout(_DropoutBase):
    """Inverted dropout as a module; see :func:`dropout`. Same distribution as ``torch.nn.Dropout``.

    Args:
        p (float): drop probability, in [0, 1). Default: 0.5.

    Shape:
        - Input: :math:`(*)`. Output: same shape.

    Example:
        >>> layer = Dropout(0.2).eval()
        >>> layer
        Dropout(p=0.2)
        >>> torch.equal(layer(torch.ones(3)), torch.ones(3))
        True
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)


class SpatialDropout(_DropoutBase):
    """Drop whole channels; see :func:`spatial_dropout`. Same distribution as ``torch.nn.Dropout2d``.

    Args:
        p (float): probability of dropping a channel, in [0, 1). Default: 0.5.

    Shape:
        - Input: :math:`(N, C, *)`. Output: same shape.

    Example:
        >>> SpatialDropout(0.1)
        SpatialDropout(p=0.1)
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return spatial_dropout(x, self.p, self.training)


class EmbeddingDropout(_DropoutBase):
    """Drop whole token vectors; see :func:`embedding_dropout`.

    Args:
        p (float): probability of dropping a token, in [0, 1). Default: 0.5.

    Shape:
        - Input: :math:`(*, D)`. Output: same shape.

    Example:
        >>> EmbeddingDropout(0.1)(torch.ones(2, 5, 4)).shape
        torch.Size([2, 5, 4])
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return embedding_dropout(x, self.p, self.training)


class LockedDropout(_DropoutBase):
    """One dropout mask per sequence, shared over time; see :func:`locked_dropout`.

    Args:
        p (float): drop probability, in [0, 1). Default: 0.5.
        batch_first (bool): input is :math:`(N, T, D)` if True, else :math:`(T, N, D)`. Default: False.

    Shape:
        - Input: :math:`(T, N, D)` or :math:`(N, T, D)`. Output: same shape.

    Example:
        >>> LockedDropout(0.3, batch_first=True)
        LockedDropout(p=0.3, batch_first=True)
    """

    def __init__(self, p: float = 0.5, batch_first: bool = False) -> None:
        super().__init__(p)
        self.batch_first = check_bool(batch_first, "batch_first", "LockedDropout")

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, batch_first={self.batch_first}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return locked_dropout(x, self.p, self.training, self.batch_first)
