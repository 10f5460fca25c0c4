"""Sharpness-aware minimization: take the gradient at the worst nearby point.

Paper:

- Foret, Kleiner, Mobahi, Neyshabur, "Sharpness-aware minimization for
  efficiently improving generalization" (ICLR, 2021).

SAM minimizes the loss at the worst point of a ball of radius :math:`\\rho`
around the weights, :math:`\\max_{\\lVert\\varepsilon\\rVert_2 \\le \\rho}
L(\\theta + \\varepsilon)`. To first order the maximizer is the normalized
gradient, so one SAM step is two forward/backward passes on the same batch:

.. math::
    g = \\nabla_\\theta L(\\theta), \\qquad
    \\hat\\varepsilon = \\rho \\, \\frac{g}{\\lVert g \\rVert_2}, \\qquad
    \\theta \\leftarrow \\mathrm{step}\\big(\\theta, \\nabla_\\theta L(\\theta + \\hat\\varepsilon)\\big)

where :math:`\\lVert g \\rVert_2` is the norm over *all* trainable
parameters together and ``step`` is any base optimizer (SGD, momentum, Adam).
Unlike weight noise (:class:`reglab.train.WeightNoise`), whose random
perturbation penalizes :math:`\\operatorname{tr} H` on average, SAM's
perturbation points uphill, the direction in which the loss rises fastest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from reglab._validation import check_real, parameter_error

__all__ = ["SAM", "sam_perturbation"]


@torch.no_grad()
def sam_perturbation(grads: Sequence[torch.Tensor], rho: float) -> list[torch.Tensor]:
    """SAM's ascent step :math:`\\hat\\varepsilon = \\rho\\, g / \\lVert g \\rVert_2`, one tensor per gradient.

    .. math::
        \\hat\\varepsilon_j = \\rho \\, \\frac{g_j}{\\sqrt{\\sum_k \\lVert g_k \\rVert_2^2}}

    The norm runs over all tensors together (one ball for the whole model, not
    one per layer). A zero gradient gives a zero perturbation.

    Args:
        grads (sequence of Tensor): the gradients :math:`g_j`, any shapes, on
            one device.
        rho (float): the radius :math:`\\rho \\ge 0` of the ball.

    Returns:
        list of Tensor: :math:`\\hat\\varepsilon_j`, each the shape of :math:`g_j`.

    Example:
        >>> e = sam_perturbation([torch.tensor([3.0]), torch.tensor([0.0, 4.0])], rho=0.5)
        >>> [t.tolist() for t in e]  # 0.5 * (3, 0, 4) / 5
        [[0.30000001192092896], [0.0, 0.4000000059604645]]
    """
    owner = "sam_perturbation"
    rho = check_real(rho, "rho", owner, low=0.0)
    grads = list(grads)
    if not grads or not all(isinstance(g, torch.Tensor) for g in grads):
        raise TypeError(parameter_error("grads", owner, "a non-empty sequence of tensors", grads))
    norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads))  # (), over all tensors
    scale = rho / norm.clamp_min(1e-12)  # zero gradient: 0 / 1e-12 = 0
    return [(g.double() * scale).to(g.dtype) for g in grads]


class SAM:
    """Sharpness-aware minimization around a base optimizer.

    ``step(closure)`` runs ``closure`` (zero the gradients, forward, backward,
    return the loss) at :math:`\\theta`, moves the weights to
    :math:`\\theta + \\hat\\varepsilon` (:func:`sam_perturbation`), runs
    ``closure`` again there, puts the clean weights back exactly (from a copy)
    and lets the base optimizer step with the second gradient:

    .. math::
        \\theta \\leftarrow \\mathrm{step}\\big(\\theta,
        \\nabla_\\theta L(\\theta + \\rho\\, g / \\lVert g \\rVert_2)\\big)

    Each step costs two forward and two backward passes. The same two halves
    are available as ``perturb()`` and ``restore()`` for a loop written by hand.

    Args:
        optimizer (torch.optim.Optimizer): the base optimizer; SAM perturbs
            the parameters of its groups that have a gradient.
        rho (float): the radius :math:`\\rho \\ge 0`; 0 gives the base
            optimizer's step. Default: 0.05 (the paper's value for CIFAR).

    Example:
        >>> model = torch.nn.Linear(2, 1)
        >>> sam = SAM(torch.optim.SGD(model.parameters(), lr=0.1), rho=0.05)
        >>> def closure():
        ...     sam.optimizer.zero_grad()
        ...     loss = model(torch.ones(4, 2)).pow(2).mean()
        ...     loss.backward()
        ...     return loss
        >>> loss = sam.step(closure)  # the loss at the clean weights
        >>> sam
        SAM(SGD, rho=0.05)
    """

    def __init__(self, optimizer: torch.optim.Optimizer, rho: float = 0.05) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(parameter_error("optimizer", "SAM", "a torch.optim.Optimizer", type(optimizer).__name__))
        self.optimizer = optimizer
        self.rho = check_real(rho, "rho", "SAM", low=0.0)
        self._saved: list[tuple[torch.Tensor, torch.Tensor]] = []  # (parameter, its clean copy)

    def _params(self) -> list[torch.Tensor]:
        return [p for group in self.optimizer.param_groups for p in group["params"] if p.grad is not None]

    @torch.no_grad()
    def perturb(self) -> None:
        """Save the clean weights and move them by :math:`\\hat\\varepsilon`, from the current gradients."""
        if self._saved:
            raise RuntimeError("SAM.perturb was called twice without restore: the perturbations would add up.")
        params = self._params()
        if not params:
            raise RuntimeError("SAM.perturb found no gradients: call backward() first.")
        for p, e in zip(params, sam_perturbation([p.grad for p in params], self.rho)):
            self._saved.append((p, p.detach().clone()))
            p.add_(e)

    @torch.no_grad()
    def restore(self) -> None:
        """Copy the clean weights back, keeping the gradients taken at the perturbed point."""
        for p, clean in self._saved:
            p.copy_(clean)
        self._saved = []

    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
        """One SAM step; returns the loss ``closure`` gave at the clean weights."""
        if not callable(closure):
            raise TypeError(parameter_error("closure", "SAM.step", "a callable that zeroes the gradients, "
                                            "computes the loss, calls backward and returns it", closure))
        with torch.enable_grad():
            loss = closure()
        self.perturb()
        try:
            with torch.enable_grad():
                closure()
        finally:
            self.restore()
        self.optimizer.step()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        """The base optimizer's ``zero_grad``."""
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def __repr__(self) -> str:
        return f"SAM({type(self.optimizer).__name__}, rho={self.rho})"
