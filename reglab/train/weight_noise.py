"""Weight noise: train on the gradient at randomly perturbed weights.

Papers:

- Graves, "Practical variational inference for neural networks" (NIPS,
  2011): Gaussian noise on the weights, resampled for every batch.
- An, "The effects of adding noise during backpropagation training on a
  generalization performance" (Neural Computation, 1996): to second order,
  weight noise adds :math:`\\tfrac{\\sigma^2}{2}\\operatorname{tr} H` to the loss,
  a penalty on curvature.

One step with weight noise of standard deviation :math:`\\sigma` is

.. math::
    \\varepsilon \\sim \\mathcal{N}(0, \\sigma^2 I), \\qquad
    g = \\nabla_\\theta \\mathcal{L}(\\theta + \\varepsilon), \\qquad
    \\theta \\leftarrow \\mathrm{step}(\\theta, g)

so the forward and backward passes see :math:`\\theta + \\varepsilon`, but the
optimizer updates the clean weights :math:`\\theta`. In :func:`reglab.train.fit`
this is two hooks: ``before_forward=noise.perturb`` adds the noise and
``after_backward=noise.restore`` puts the clean weights back (exactly, from a
copy) before ``optimizer.step()``.
"""

from __future__ import annotations

import torch
from torch import nn

from reglab._validation import check_int, check_real, parameter_error

__all__ = ["WeightNoise"]


class WeightNoise:
    """Gaussian noise added to the trainable weights for one forward/backward pass, then removed.

    .. math::
        \\theta \\to \\theta + \\varepsilon, \\ \\varepsilon \\sim \\mathcal{N}(0, \\sigma^2 I)
        \\ \\text{(perturb)}, \\qquad \\theta + \\varepsilon \\to \\theta \\ \\text{(restore)}

    Args:
        std (float): the noise's standard deviation :math:`\\sigma`, >= 0
            (0 turns it off). Default: 0.01.
        include_bias (bool): perturb 1-dimensional parameters (biases, norm
            scales) too. Default: False.
        seed (int): seed of the noise generator, created on the parameters'
            device at the first ``perturb``. Default: 0.

    Example:
        >>> model = nn.Linear(3, 2)
        >>> clean = model.weight.detach().clone()
        >>> noise = WeightNoise(std=0.1)
        >>> noise.perturb(model)
        >>> bool(torch.equal(model.weight, clean))
        False
        >>> noise.restore(model)
        >>> bool(torch.equal(model.weight, clean))
        True
    """

    def __init__(self, std: float = 0.01, *, include_bias: bool = False, seed: int = 0) -> None:
        self.std = check_real(std, "std", "WeightNoise", low=0.0)
        if not isinstance(include_bias, bool):
            raise TypeError(parameter_error("include_bias", "WeightNoise", "a bool", include_bias))
        self.include_bias = include_bias
        self.seed = check_int(seed, "seed", "WeightNoise", low=0)
        self.generator: torch.Generator | None = None
        self._saved: list[tuple[torch.Tensor, torch.Tensor]] = []  # (parameter, its clean copy)

    def _targets(self, model: nn.Module) -> list[torch.Tensor]:
        return [p for p in model.parameters() if p.requires_grad and (self.include_bias or p.ndim > 1)]

    @torch.no_grad()
    def perturb(self, model: nn.Module) -> None:
        """Save the clean weights and add fresh noise to them (``before_forward`` hook)."""
        if self._saved:
            raise RuntimeError("WeightNoise.perturb was called twice without restore: the noise would accumulate.")
        params = self._targets(model)
        if not params:
            return
        if self.generator is None:
            self.generator = torch.Generator(device=params[0].device).manual_seed(self.seed)
        for p in params:
            self._saved.append((p, p.detach().clone()))
            p.add_(torch.randn(p.shape, generator=self.generator, device=p.device, dtype=p.dtype), alpha=self.std)

    @torch.no_grad()
    def restore(self, model: nn.Module) -> None:
        """Copy the clean weights back, keeping the gradients (``after_backward`` hook)."""
        for p, clean in self._saved:
            p.copy_(clean)
        self._saved = []

    def __repr__(self) -> str:
        return f"WeightNoise(std={self.std}, include_bias={self.include_bias}, seed={self.seed})"
