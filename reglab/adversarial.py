"""Adversarial examples and adversarial training: FGSM, PGD, robust accuracy.

Papers:

- Szegedy et al., 2014, *Intriguing properties of neural networks*.
- Goodfellow, Shlens and Szegedy, 2015, *Explaining and harnessing adversarial
  examples*: FGSM, and training on a mixed clean and adversarial loss.
- Madry et al., 2018, *Towards deep learning models resistant to adversarial
  attacks*: PGD with a random start; adversarial training as min-max.
- Wong, Rice and Kolter, 2020, *Fast is better than free*: FGSM with a random start.
- Zhang et al., 2019, *Theoretically principled trade-off between robustness and
  accuracy*: the TRADES loss (:func:`trades_loss`).

**Pixel space.** Every attack measures its budget ``eps`` in *pixel* units and
clips to the data's valid range ``bounds`` (default [0, 1]). When the model
takes normalized inputs :math:`x = (p - \\mu) / \\sigma`, pass ``mean`` and
``std``: the attack maps ``x`` back to pixels :math:`p`, perturbs and clips
there, and returns normalized inputs again. Clamping normalized inputs to
[0, 1] instead would both cut off valid pixels and allow perturbations far
larger than ``eps``. ``x`` must lie in the valid range (not checked: that would
read the data back to the host).

**Side effects.** The attacks run the model in eval mode (dropout off, batch
norm on running statistics), restore every submodule's train/eval flag,
differentiate with respect to the input only (no parameter's ``.grad`` is
touched), and return a detached tensor on ``x``'s device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from reglab._validation import check_int, check_probability, check_real, check_tensor, parameter_error

__all__ = ["fgsm", "pgd", "adversarial_step", "robust_accuracy", "trades_loss"]

Attack = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Stats = float | Sequence[float] | torch.Tensor | None
_TINY = 1e-10  # guards the division by a zero gradient norm (as torchattacks does)


def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, *,
         bounds: tuple[float, float] | None = (0.0, 1.0), mean: Stats = None, std: Stats = None,
         loss_fn: LossFn = F.cross_entropy) -> torch.Tensor:
    """Fast gradient sign method: one step of size ``eps`` up the sign of the input gradient.

    .. math::
        p_{\\text{adv}} = \\operatorname{clip}_{[a, b]}\\big(p + \\varepsilon\\,
        \\operatorname{sign}(\\nabla_p \\ell(f(p), y))\\big)

    with :math:`p` the input in pixel units and :math:`[a, b]` = ``bounds``.

    Args:
        model (nn.Module): the classifier; run in eval mode, its mode restored.
        x (Tensor): inputs (normalized if ``mean``/``std`` are given).
        y (Tensor): class indices.
        eps (float): L∞ budget in pixel units, >= 0.
        bounds (tuple of float or None): valid pixel range; None for
            unbounded features. Default: (0.0, 1.0).
        mean, std (float, sequence or Tensor, optional): per-channel
            normalization the model expects, :math:`x = (p - \\mu)/\\sigma`.
        loss_fn (callable): ``loss_fn(logits, y)``. Default: ``F.cross_entropy``.

    Shape:
        - x: :math:`(N, C, *)` or :math:`(N, D)`; y: :math:`(N,)`; output: as ``x``.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> model, x = nn.Linear(3, 2), torch.full((4, 3), 0.5)
        >>> x_adv = fgsm(model, x, torch.tensor([0, 1, 0, 1]), eps=0.1)
        >>> torch.allclose((x_adv - x).abs(), torch.full_like(x, 0.1))
        True
    """
    eps = check_real(eps, "eps", "fgsm", low=0.0)
    return _attack(model, x, y, eps, eps, 1, "linf", False, bounds, mean, std, loss_fn, None, "fgsm")


def pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, alpha: float, steps: int, *,
        norm: str = "linf", random_start: bool = True, bounds: tuple[float, float] | None = (0.0, 1.0),
        mean: Stats = None, std: Stats = None, loss_fn: LossFn = F.cross_entropy,
        generator: torch.Generator | None = None) -> torch.Tensor:
    """Projected gradient descent (ascent on the loss) inside an L∞ or L2 ball.

    .. math::
        p^{t+1} = \\operatorname{clip}_{[a, b]}\\Big(p + \\Pi_{\\lVert\\delta\\rVert \\le \\varepsilon}
        \\big(p^t + \\alpha\\, s(\\nabla_{p^t} \\ell) - p\\big)\\Big)

    where :math:`s(g) = \\operatorname{sign}(g)` for L∞ and
    :math:`g / \\lVert g \\rVert_2` (per sample) for L2, and :math:`\\Pi`
    clips each coordinate to :math:`[-\\varepsilon, \\varepsilon]` (L∞) or
    rescales :math:`\\delta` onto the ball (L2). With ``random_start``,
    :math:`p^0 = p + \\delta_0` with :math:`\\delta_0 \\sim U[-\\varepsilon,
    \\varepsilon]^d` (L∞) or a random direction times a radius
    :math:`U[0, \\varepsilon]` (L2); else :math:`p^0 = p`. With ``steps=1``,
    ``alpha=eps`` and no random start this is :func:`fgsm`; with a random start
    and ``alpha=1.25 * eps`` it is the "fast" FGSM of Wong et al. (2020).

    Args:
        model, x, y, bounds, mean, std, loss_fn: as in :func:`fgsm`.
        eps (float): budget in pixel units, >= 0.
        alpha (float): step size in pixel units, > 0.
        steps (int): number of steps, >= 1.
        norm (str): ``"linf"`` or ``"l2"``. Default: ``"linf"``.
        random_start (bool): start at a random point of the ball. Default: True.
        generator (torch.Generator, optional): for the random start, on
            ``x``'s device. Default: the global generator.

    Shape:
        - x: :math:`(N, *)`; y: :math:`(N,)`; output: as ``x``.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> model, x = nn.Linear(3, 2), torch.rand(4, 3)
        >>> x_adv = pgd(model, x, torch.tensor([0, 1, 0, 1]), eps=0.1, alpha=0.03, steps=10)
        >>> bool((x_adv - x).abs().max() <= 0.1 + 1e-6), bool(x_adv.min() >= 0), bool(x_adv.max() <= 1)
        (True, True, True)
    """
    owner = "pgd"
    eps = check_real(eps, "eps", owner, low=0.0)
    alpha = check_real(alpha, "alpha", owner, low=0.0, low_open=True)
    steps = check_int(steps, "steps", owner, low=1)
    if norm not in ("linf", "l2"):
        raise ValueError(parameter_error("norm", owner, "'linf' or 'l2'", norm))
    if not isinstance(random_start, bool):
        raise TypeError(parameter_error("random_start", owner, "a bool", random_start))
    return _attack(model, x, y, eps, alpha, steps, norm, random_start, bounds, mean, std, loss_fn, generator, owner)


def adversarial_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer,
                     attack: Attack, clean_weight: float = 0.0, *,
                     loss_fn: LossFn = F.cross_entropy) -> torch.Tensor:
    """One optimizer step on adversarial, or mixed clean and adversarial, examples.

    .. math::
        \\mathcal{L} = w\\, \\ell(f(x), y) + (1 - w)\\, \\ell(f(x_{\\text{adv}}), y),
        \\qquad x_{\\text{adv}} = \\text{attack}(f, x, y)

    :math:`w = 0` is Madry et al.'s (2018) training on adversarial examples
    only; :math:`w = 0.5` is Goodfellow et al.'s (2015). The attack runs in eval
    mode; both forward passes of the step run in the model's current mode (call
    ``model.train()`` first). The adversarial input is detached, so no gradient
    flows back through the attack.

    Args:
        model (nn.Module): the model; updated in place.
        x (Tensor): a training batch; y (Tensor): its class indices.
        optimizer (torch.optim.Optimizer): over ``model``'s parameters.
        attack (callable): ``attack(model, x, y) -> x_adv``, e.g.
            ``functools.partial(pgd, eps=0.1, alpha=0.025, steps=7)``.
        clean_weight (float): :math:`w` in [0, 1]. Default: 0.
        loss_fn (callable): ``loss_fn(logits, y)``. Default: ``F.cross_entropy``.

    Returns:
        Tensor: the detached scalar loss :math:`\\mathcal{L}` before the step.

    Example:
        >>> from functools import partial
        >>> _ = torch.manual_seed(0)
        >>> model = nn.Linear(2, 2)
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> loss = adversarial_step(model, torch.rand(8, 2), torch.randint(0, 2, (8,)), opt, partial(fgsm, eps=0.1))
        >>> loss.shape, loss.requires_grad
        (torch.Size([]), False)
    """
    owner = "adversarial_step"
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(parameter_error("optimizer", owner, "a torch.optim.Optimizer", type(optimizer).__name__))
    if not callable(attack):
        raise TypeError(parameter_error("attack", owner, "a callable attack(model, x, y)", attack))
    clean_weight = check_probability(clean_weight, "clean_weight", owner, allow_one=True)
    x_adv = attack(model, x, y).detach()
    loss = loss_fn(model(x_adv), y)
    if clean_weight > 0:
        loss = clean_weight * loss_fn(model(x), y) + (1.0 - clean_weight) * loss
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


def robust_accuracy(model: nn.Module, loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
                    attack: Attack | None) -> float:
    """Accuracy on attacked inputs: the fraction of samples still classified correctly.

    .. math::
        \\text{acc}_{\\text{rob}} = \\frac{1}{n} \\sum_{i} \\mathbb{1}\\big[
        \\arg\\max f(\\text{attack}(x_i)) = y_i\\big]

    Predictions are made in eval mode; the model's modes are restored. Counts
    stay on the device; the host reads one number at the end.

    Args:
        model (nn.Module): the classifier.
        loader (iterable of (x, y)): batches, moved to the model's device.
        attack (callable or None): ``attack(model, x, y) -> x_adv``; None gives
            the clean accuracy.

    Example:
        >>> model = nn.Linear(2, 2)
        >>> robust_accuracy(model, [(torch.rand(5, 2), torch.zeros(5, dtype=torch.long))], None) <= 1.0
        True
    """
    owner = "robust_accuracy"
    if not isinstance(model, nn.Module):
        raise TypeError(parameter_error("model", owner, "an nn.Module", type(model).__name__))
    if attack is not None and not callable(attack):
        raise TypeError(parameter_error("attack", owner, "a callable attack(model, x, y) or None", attack))
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    correct, count = torch.zeros((), device=device), 0
    with _eval_mode(model):
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            x_in = x if attack is None else attack(model, x, y)
            with torch.no_grad():
                correct += (model(x_in).argmax(dim=1) == y).sum()
            count += len(y)
    if count == 0:
        raise ValueError(parameter_error("loader", owner, "a non-empty iterable of (x, y) batches", "no batch"))
    return correct.item() / count


def trades_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, alpha: float, steps: int,
                beta: float = 6.0, *, bounds: tuple[float, float] | None = (0.0, 1.0), start_std: float = 0.001,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """The TRADES loss of Zhang et al. (2019): clean cross-entropy plus beta times a KL to the attacked prediction.

    .. math::
        \\mathcal{L} = \\frac{1}{N}\\sum_i \\Big[\\ell(f(x_i), y_i) + \\beta\\,
        \\mathrm{KL}\\big(\\sigma(f(x_i)) \\,\\Vert\\, \\sigma(f(x'_i))\\big)\\Big],
        \\qquad x'_i \\approx \\arg\\max_{\\lVert x' - x_i \\rVert_\\infty \\le \\varepsilon}
        \\mathrm{KL}\\big(\\sigma(f(x_i)) \\,\\Vert\\, \\sigma(f(x'))\\big)

    with :math:`\\sigma` the softmax. The inner maximum is approximated as in
    the paper's code: from :math:`x + 0.001\\,\\mathcal{N}(0, I)` (the KL's
    gradient is zero at :math:`x' = x`), ``steps`` signed steps of size
    ``alpha`` on the KL with the clean prediction held fixed, each projected on
    the L∞ ball and the valid range. The attack runs in eval mode (modes
    restored) and :math:`x'` is detached; the two forward passes of the loss run
    in the model's current mode, and the gradient flows through both.

    Args:
        model (nn.Module): the classifier; x (Tensor): inputs in pixel units;
            y (Tensor): class indices.
        eps (float): L∞ budget in pixel units, >= 0.
        alpha (float): step size of the inner maximization, > 0.
        steps (int): its number of steps, >= 1.
        beta (float): weight of the KL term, >= 0; 0 gives the clean
            cross-entropy. Default: 6.0 (the paper's choice for CIFAR-10).
        bounds (tuple of float or None): valid pixel range. Default: (0.0, 1.0).
        start_std (float): standard deviation of the random start, >= 0.
            Default: 0.001.
        generator (torch.Generator, optional): for the random start, on ``x``'s device.

    Shape:
        - x: :math:`(N, *)`; y: :math:`(N,)`; output: a scalar.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> model, x, y = nn.Linear(3, 2), torch.rand(4, 3), torch.tensor([0, 1, 0, 1])
        >>> loss = trades_loss(model, x, y, eps=0.1, alpha=0.03, steps=5)
        >>> bool(loss >= F.cross_entropy(model(x), y)), loss.requires_grad
        (True, True)
    """
    owner = "trades_loss"
    if not isinstance(model, nn.Module):
        raise TypeError(parameter_error("model", owner, "an nn.Module", type(model).__name__))
    eps = check_real(eps, "eps", owner, low=0.0)
    alpha = check_real(alpha, "alpha", owner, low=0.0, low_open=True)
    steps = check_int(steps, "steps", owner, low=1)
    beta = check_real(beta, "beta", owner, low=0.0)
    start_std = check_real(start_std, "start_std", owner, low=0.0)
    check_tensor(x, "x", owner, min_ndim=2, floating=True)
    check_tensor(y, "y", owner, ndim=1)
    if len(y) != len(x):
        raise ValueError(parameter_error("y", owner, f"a tensor with as many samples as x ({len(x)})", f"{len(y)} samples"))
    low, high = _check_bounds(bounds, owner)
    pixels = x.detach()
    one, zero = torch.ones((), dtype=x.dtype, device=x.device), torch.zeros((), dtype=x.dtype, device=x.device)

    def clip(p: torch.Tensor) -> torch.Tensor:
        return p if bounds is None else p.clamp(low, high)

    with _eval_mode(model):
        with torch.no_grad():
            clean_probs = F.softmax(model(pixels), dim=1)  # (N, K), held fixed during the attack

        def kl_to_clean(logits: torch.Tensor, _y: torch.Tensor) -> torch.Tensor:
            return F.kl_div(F.log_softmax(logits, dim=1), clean_probs, reduction="sum")

        adv = clip(pixels + start_std * torch.empty_like(pixels).normal_(generator=generator))
        for _ in range(steps):
            adv = adv + alpha * _ascent_direction(model, adv, y, one, zero, kl_to_clean, "linf")
            adv = clip(pixels + _project(adv - pixels, eps, "linf"))
    adv = adv.detach()
    logits = model(x)  # (N, K), in the model's own mode
    natural = F.cross_entropy(logits, y)
    robust = F.kl_div(F.log_softmax(model(adv), dim=1), F.softmax(logits, dim=1), reduction="batchmean")
    return natural + beta * robust


# --- the shared machinery --------------------------------------------------


@contextmanager
def _eval_mode(model: nn.Module):
    """Put every submodule in eval mode; restore each one's own flag on exit."""
    flags = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, flag in flags:
            module.training = flag


def _attack(model, x, y, eps, alpha, steps, norm, random_start, bounds, mean, std, loss_fn, generator, owner):
    if not isinstance(model, nn.Module):
        raise TypeError(parameter_error("model", owner, "an nn.Module", type(model).__name__))
    check_tensor(x, "x", owner, min_ndim=2, floating=True)
    check_tensor(y, "y", owner, ndim=1)
    if len(y) != len(x):
        raise ValueError(parameter_error("y", owner, f"a tensor with as many samples as x ({len(x)})", f"{len(y)} samples"))
    low, high = _check_bounds(bounds, owner)
    scale, shift = _normalization(mean, std, x, owner)
    pixels = x.detach() * scale + shift  # (N, *) model input -> pixel units

    def clip(p: torch.Tensor) -> torch.Tensor:
        return p if bounds is None else p.clamp(low, high)

    adv = pixels.clone()
    if random_start:
        adv = clip(adv + _random_delta(adv, eps, norm, generator))
    with _eval_mode(model):
        for _ in range(steps):
            adv = adv + alpha * _ascent_direction(model, adv, y, scale, shift, loss_fn, norm)
            adv = clip(pixels + _project(adv - pixels, eps, norm))
    return ((adv - shift) / scale).detach()  # pixel units -> model input


def _ascent_direction(model, adv, y, scale, shift, loss_fn, norm) -> torch.Tensor:
    """The steepest-ascent direction of the loss at ``adv`` (pixels) for the norm."""
    with torch.enable_grad():
        adv = adv.detach().requires_grad_(True)
        loss = loss_fn(model((adv - shift) / scale), y)
        (grad,) = torch.autograd.grad(loss, adv)  # the input only: no parameter's .grad changes
    if norm == "linf":
        return grad.sign()
    norms = grad.flatten(1).norm(dim=1) + _TINY  # (N,)
    return grad / norms.view(-1, *[1] * (grad.ndim - 1))  # (N, 1, ..., 1) broadcasts per sample


def _project(delta: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    """The point of the eps-ball nearest to ``delta`` (per sample)."""
    if norm == "linf":
        return delta.clamp(-eps, eps)
    norms = delta.flatten(1).norm(dim=1)  # (N,)
    factor = torch.clamp(eps / norms, max=1.0)  # 1 inside the ball; eps / 0 = inf -> 1
    return delta * factor.view(-1, *[1] * (delta.ndim - 1))


def _random_delta(like: torch.Tensor, eps: float, norm: str, generator) -> torch.Tensor:
    if norm == "linf":
        return torch.empty_like(like).uniform_(-eps, eps, generator=generator)
    direction = torch.empty_like(like).normal_(generator=generator)
    shape = (-1, *[1] * (like.ndim - 1))  # (N, 1, ..., 1)
    norms = direction.flatten(1).norm(dim=1).view(shape)
    radius = torch.zeros_like(norms).uniform_(0, 1, generator=generator)
    return direction * radius / norms * eps


def _check_bounds(bounds, owner: str) -> tuple[float, float]:
    if bounds is None:
        return -float("inf"), float("inf")
    if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
        raise ValueError(parameter_error("bounds", owner, "a pair (low, high) or None", bounds))
    low = check_real(bounds[0], "bounds", owner)
    high = check_real(bounds[1], "bounds", owner)
    if not low < high:
        raise ValueError(parameter_error("bounds", owner, "a pair (low, high) with low < high", bounds))
    return low, high


def _normalization(mean: Stats, std: Stats, x: torch.Tensor, owner: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(scale, shift)`` with pixels = x * scale + shift, shaped to broadcast over channels."""
    if (mean is None) != (std is None):
        raise ValueError(parameter_error("std", owner, "given together with mean (or both None)", std))
    if mean is None:
        return torch.ones((), dtype=x.dtype, device=x.device), torch.zeros((), dtype=x.dtype, device=x.device)
    stats = []
    for name, value in (("mean", mean), ("std", std)):
        value = torch.as_tensor(value, dtype=x.dtype).flatten()  # (1,) or (C,), a few constants
        if value.numel() not in (1, x.shape[1]):
            raise ValueError(parameter_error(name, owner, f"a float or {x.shape[1]} values (one per channel)", value.tolist()))
        if name == "std" and not bool((value > 0).all()):
            raise ValueError(parameter_error(name, owner, "positive values", value.tolist()))
        stats.append(value.view(1, -1, *[1] * (x.ndim - 2)).to(x.device))  # (1, C, 1, ..., 1)
    return stats[1], stats[0]
