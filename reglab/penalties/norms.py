"""Parameter-norm penalties (L1, L2, elastic net) and the weight-decay parameter groups.

Papers:

- Hoerl & Kennard, "Ridge regression" (Technometrics, 1970): the L2 penalty.
- Tibshirani, "Regression shrinkage and selection via the lasso" (JRSS B, 1996): the L1 penalty.
- Zou & Hastie, "Regularization and variable selection via the elastic net" (JRSS B, 2005).
- Krogh & Hertz, "A simple weight decay can improve generalization" (NIPS, 1992).
- Loshchilov & Hutter, "Decoupled weight decay regularization" (ICLR, 2019): AdamW.

**Convention.** :func:`l2_penalty` is :math:`\\sum_i \\theta_i^2`, with **no**
factor 1/2. ``torch.optim.SGD(weight_decay=λ)`` adds :math:`\\lambda\\theta` to
the gradient, which is the gradient of :math:`\\tfrac{\\lambda}{2}\\sum_i \\theta_i^2`,
so it equals a penalty ``(λ / 2) * l2_penalty(params)``.

Each penalty returns a scalar tensor that keeps the autograd graph, for
``fit(..., penalty=...)``.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from reglab._validation import parameter_error
from reglab.penalties._common import Params, _strength, _tensors

__all__ = ["l1_penalty", "l2_penalty", "elastic_net_penalty", "decay_param_groups"]

# Layers whose parameters (a scale and a shift per feature) get no weight decay.
_NORM_LAYERS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)
if hasattr(nn, "RMSNorm"):  # torch >= 2.4
    _NORM_LAYERS += (nn.RMSNorm,)


def _total(terms: list[torch.Tensor]) -> torch.Tensor:
    if not terms:
        return torch.zeros(())
    return torch.stack(terms).sum()  # (P,) -> (): one sum, on the parameters' device


def l1_penalty(params: Params, strength: float = 1.0) -> torch.Tensor:
    """The L1 penalty :math:`\\lambda \\sum_i |\\theta_i|` (lasso), differentiable almost everywhere.

    .. math::
        \\Omega(\\theta) = \\lambda \\lVert \\theta \\rVert_1, \\qquad
        \\frac{\\partial \\Omega}{\\partial \\theta_i} = \\lambda\\, \\mathrm{sign}(\\theta_i)

    (autograd gives 0 at :math:`\\theta_i = 0`, one of the subgradients). Plain
    gradient descent on it oscillates around zero instead of reaching it; for
    exact zeros use the proximal step :func:`soft_threshold_`.

    Args:
        params (Tensor, nn.Module or iterable of Tensor): what to penalize; a
            module means all its parameters (see :func:`decay_param_groups` to
            leave out biases and norm layers).
        strength (float): :math:`\\lambda \\ge 0`. Default: 1.

    Shape:
        - Output: :math:`()`, on the parameters' device, with a gradient.

    Example:
        >>> l1_penalty(torch.tensor([1.0, -2.0, 0.5]), strength=0.1)
        tensor(0.3500)
    """
    strength = _strength(strength, "strength", "l1_penalty")
    return strength * _total([p.abs().sum() for p in _tensors(params, "l1_penalty")])


def l2_penalty(params: Params, strength: float = 1.0) -> torch.Tensor:
    """The squared L2 penalty :math:`\\lambda \\sum_i \\theta_i^2`, **without** a factor 1/2.

    .. math::
        \\Omega(\\theta) = \\lambda \\lVert \\theta \\rVert_2^2, \\qquad
        \\frac{\\partial \\Omega}{\\partial \\theta_i} = 2 \\lambda \\theta_i

    ``SGD(weight_decay=wd)`` is the same as adding ``l2_penalty(params, wd / 2)``.
    Note the square: ``torch.norm(p, 2)`` (the unsquared norm) is a different
    penalty, whose gradient :math:`\\theta / \\lVert\\theta\\rVert` does not
    shrink in proportion to the weights.

    Args:
        params (Tensor, nn.Module or iterable of Tensor): what to penalize.
        strength (float): :math:`\\lambda \\ge 0`. Default: 1.

    Shape:
        - Output: :math:`()`, on the parameters' device, with a gradient.

    Example:
        >>> l2_penalty(torch.tensor([1.0, -2.0]), strength=0.5)
        tensor(2.5000)
    """
    strength = _strength(strength, "strength", "l2_penalty")
    return strength * _total([p.pow(2).sum() for p in _tensors(params, "l2_penalty")])


def elastic_net_penalty(params: Params, l1_strength: float, l2_strength: float) -> torch.Tensor:
    """The elastic-net penalty :math:`\\lambda_1 \\lVert\\theta\\rVert_1 + \\lambda_2 \\lVert\\theta\\rVert_2^2`.

    .. math::
        \\Omega(\\theta) = \\lambda_1 \\sum_i |\\theta_i| + \\lambda_2 \\sum_i \\theta_i^2

    scikit-learn's ``ElasticNet(alpha=a, l1_ratio=r)`` minimizes
    :math:`\\frac{1}{2n}\\lVert y - Xw\\rVert^2` plus this penalty with
    :math:`\\lambda_1 = a r` and :math:`\\lambda_2 = a (1 - r) / 2`.

    Args:
        params (Tensor, nn.Module or iterable of Tensor): what to penalize.
        l1_strength (float): :math:`\\lambda_1 \\ge 0`.
        l2_strength (float): :math:`\\lambda_2 \\ge 0`.

    Shape:
        - Output: :math:`()`, with a gradient.

    Example:
        >>> elastic_net_penalty(torch.tensor([1.0, -2.0]), l1_strength=1.0, l2_strength=0.5)
        tensor(5.5000)
    """
    l1_strength = _strength(l1_strength, "l1_strength", "elastic_net_penalty")
    l2_strength = _strength(l2_strength, "l2_strength", "elastic_net_penalty")
    tensors = _tensors(params, "elastic_net_penalty")
    return l1_penalty(tensors, l1_strength) + l2_penalty(tensors, l2_strength)


def _is_norm_layer(module: nn.Module) -> bool:
    # torch's norm layers, and from-scratch ones named like them (reglab.layers.BatchNorm1d, LayerNorm)
    return isinstance(module, _NORM_LAYERS) or re.search(r"Norm(\d+d)?$", type(module).__name__) is not None


def decay_param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two optimizer parameter groups: weights that get ``weight_decay`` and the rest that get none.

    A parameter is **decayed** when it has at least two dimensions (the
    weight matrix of a linear layer or an embedding, a convolution kernel) and
    does not belong to a normalization layer. Biases, every parameter of a
    batch/layer/group/RMS norm, and other vectors and scalars are **not**
    decayed: shrinking a bias towards zero does not limit the model's
    capacity, it only moves the function, and a norm layer's per-channel gain
    and offset are, by the usual practice, treated the same way.
    A parameter shared by two modules appears once.

    Args:
        model (nn.Module): the model.
        weight_decay (float): decay of the first group, >= 0.

    Returns:
        list of dict: ``[{"params": decayed, "weight_decay": weight_decay},
        {"params": not_decayed, "weight_decay": 0.0}]``, for any
        ``torch.optim`` optimizer.

    Example:
        >>> model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2))
        >>> groups = decay_param_groups(model, 0.01)
        >>> [len(g["params"]) for g in groups], groups[0]["weight_decay"]
        ([2, 4], 0.01)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(parameter_error("model", "decay_param_groups", "an nn.Module", type(model).__name__))
    weight_decay = _strength(weight_decay, "weight_decay", "decay_param_groups")
    in_norm_layer = {id(p) for m in model.modules() if _is_norm_layer(m) for p in m.parameters(recurse=False)}
    decay, no_decay = [], []
    for name, p in model.named_parameters():  # each shared parameter once
        is_weight = p.ndim >= 2 and not name.endswith("bias") and id(p) not in in_norm_layer
        (decay if is_weight else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
