"""What every batch transform shares: argument checks, random draws on the
batch's device, and a readable ``repr``.

Every draw takes an optional ``torch.Generator`` that lives on the batch's
device, so a seeded run is reproducible and nothing is read back to the host.
Beta variates (for mixup and CutMix) come from two Gamma variates; PyTorch has
no Gamma sampler that takes a generator, so ``sample_beta`` draws them with
Marsaglia and Tsang's rejection method, vectorized: a fixed number of
candidates per variate, keeping the first one accepted.

References:
    Marsaglia, G. and Tsang, W. W. "A simple method for generating gamma
    variables." ACM Transactions on Mathematical Software 26(3), 2000.
"""

from __future__ import annotations

import math
from numbers import Integral

import torch

from reglab._validation import check_real, check_tensor, parameter_error

__all__ = ["sample_beta"]

_CANDIDATES = 16  # acceptance is >= 95% per candidate, so all 16 fail with probability < 1e-20


def check_images(x: object, owner: str) -> torch.Tensor:
    """A floating-point batch of images of shape (N, C, H, W)."""
    return check_tensor(x, "x", owner, ndim=4, floating=True)


def check_generator(generator: object, owner: str) -> torch.Generator | None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(parameter_error("generator", owner, "a torch.Generator or None", type(generator).__name__))
    return generator


def check_shape(shape: object, owner: str) -> tuple[int, ...]:
    """A tensor shape: a tuple (or list, or ``torch.Size``) of ints >= 0."""
    allowed = "a tuple of ints >= 0"
    if not isinstance(shape, (tuple, list)) or any(isinstance(s, bool) or not isinstance(s, Integral) for s in shape):
        raise TypeError(parameter_error("shape", owner, allowed, shape))
    if any(s < 0 for s in shape):
        raise ValueError(parameter_error("shape", owner, allowed, shape))
    return tuple(int(s) for s in shape)


def uniform(shape: tuple[int, ...], low: float, high: float, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Draws from U[low, high) on ``like``'s device, in ``like``'s dtype."""
    u = torch.rand(shape, generator=generator, device=like.device, dtype=like.dtype)
    return low + (high - low) * u


def randint(shape: tuple[int, ...], high: torch.Tensor | int, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Integers uniform in {0, ..., high - 1} (``high`` may be a tensor, one bound per draw)."""
    u = torch.rand(shape, generator=generator, device=like.device)
    return (u * high).long()  # floor of U[0, high)


def _sample_gamma(shape: tuple[int, ...], concentration: float, device: torch.device, generator: torch.Generator | None) -> torch.Tensor:
    """Gamma(concentration, 1) variates by Marsaglia-Tsang, for any concentration > 0."""
    a = concentration + 1.0 if concentration < 1.0 else concentration  # boost a < 1 to a + 1
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    z = torch.randn((_CANDIDATES, *shape), generator=generator, device=device)  # (K, *shape)
    u = torch.rand((_CANDIDATES, *shape), generator=generator, device=device)
    v = (1.0 + c * z) ** 3
    accept = (v > 0) & (torch.log(u) < 0.5 * z**2 + d - d * v + d * torch.log(v.clamp_min(1e-30)))
    first = accept.int().argmax(dim=0, keepdim=True)  # (1, *shape): first accepted candidate
    gamma = (d * v).gather(0, first).squeeze(0)  # (*shape,)
    if concentration < 1.0:  # Gamma(a) = Gamma(a + 1) * U^(1/a)
        boost = torch.rand(shape, generator=generator, device=device)
        gamma = gamma * boost ** (1.0 / concentration)
    return gamma


def sample_beta(
    alpha: float, shape: tuple[int, ...], *, device: torch.device | str = "cpu", generator: torch.Generator | None = None
) -> torch.Tensor:
    """Draws from the symmetric Beta(alpha, alpha) distribution, on ``device``.

    .. math::
        \\lambda = \\frac{G_1}{G_1 + G_2}, \\qquad G_1, G_2 \\sim \\mathrm{Gamma}(\\alpha, 1)
        \\text{ independent}

    Args:
        alpha (float): concentration, > 0. Small alpha puts the mass near 0 and 1.
        shape (tuple of int): shape of the output, each size >= 0.
        device: where to draw. Default: ``"cpu"``.
        generator (torch.Generator, optional): on ``device``.

    Shape:
        - Output: ``shape``, float32 in [0, 1].

    Example:
        >>> lam = sample_beta(0.4, (10000,), generator=torch.Generator().manual_seed(0))
        >>> round(lam.mean().item(), 2), bool(((lam >= 0) & (lam <= 1)).all())
        (0.5, True)
    """
    alpha = check_real(alpha, "alpha", "sample_beta", low=0.0, low_open=True)
    shape = check_shape(shape, "sample_beta")
    check_generator(generator, "sample_beta")
    g1 = _sample_gamma(shape, alpha, torch.device(device), generator)
    g2 = _sample_gamma(shape, alpha, torch.device(device), generator)
    return g1 / (g1 + g2).clamp_min(torch.finfo(g1.dtype).tiny)


class BatchTransform:
    """Base of the transform objects: keeps the generator, prints the arguments.

    A subclass sets ``self.generator`` and lists its arguments in ``_fields``;
    ``__call__`` calls the matching function.
    """

    _fields: tuple[str, ...] = ()
    generator: torch.Generator | None = None

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({args})"
