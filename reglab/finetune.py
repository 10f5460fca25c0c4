"""Parameter-efficient fine-tuning: train few parameters, keep the pretrained rest.

Papers:

- Houlsby, Giurgiu, Jastrzebski, Morrone, de Laroussilhe, Gesmundo, Attariyan
  & Gelly, "Parameter-efficient transfer learning for NLP" (ICML, 2019):
  adapters, small trainable bottlenecks inside a frozen network.
- Hu, Shen, Wallis, Allen-Zhu, Li, Wang, Wang & Chen, "LoRA: low-rank
  adaptation of large language models" (ICLR, 2022): a trainable low-rank
  update :math:`\\Delta W = B A` beside each frozen weight, merged into it for
  inference.

Fine-tuning few parameters is a regularizer as well as a saving: the model
can only move in a small subspace around the pretrained weights, which limits
how far a handful of labelled examples can pull it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from reglab._validation import check_int, check_real, parameter_error

__all__ = ["freeze_all_but", "count_trainable", "LoRALinear"]


def count_trainable(model: nn.Module) -> int:
    """Number of parameter entries with ``requires_grad``.

    Example:
        >>> count_trainable(nn.Linear(3, 2))  # 3·2 weights + 2 biases
        8
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def freeze_all_but(model: nn.Module, names: str | Iterable[str]) -> list[str]:
    """Freeze every parameter except those whose name starts with one of ``names``.

    A parameter is trainable afterwards exactly when its qualified name (as in
    ``model.named_parameters()``) equals a prefix or starts with
    ``prefix + "."``.

    Args:
        model (nn.Module): changed in place.
        names (str or iterable of str): prefixes such as ``"3"`` or
            ``"head"``; each must match at least one parameter.

    Returns:
        list of str: the names of the parameters left trainable.

    Example:
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> freeze_all_but(model, "2")
        ['2.weight', '2.bias']
    """
    if not isinstance(model, nn.Module):
        raise TypeError(parameter_error("model", "freeze_all_but", "an nn.Module", type(model).__name__))
    prefixes = [names] if isinstance(names, str) else list(names)
    if not prefixes or not all(isinstance(n, str) for n in prefixes):
        raise TypeError(parameter_error("names", "freeze_all_but", "a str or a non-empty iterable of str", names))
    matched = {prefix: False for prefix in prefixes}
    trainable = []
    for name, param in model.named_parameters():
        hits = [prefix for prefix in prefixes if name == prefix or name.startswith(prefix + ".")]
        param.requires_grad_(bool(hits))
        for prefix in hits:
            matched[prefix] = True
        if hits:
            trainable.append(name)
    missing = [prefix for prefix, hit in matched.items() if not hit]
    if missing:
        raise ValueError(parameter_error("names", "freeze_all_but", "prefixes of parameter names of the model", missing))
    return trainable


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank update (LoRA).

    .. math::
        y = x W^\\top + b + \\frac{\\alpha}{r}\\, x A^\\top B^\\top,
        \\qquad A \\in \\mathbb{R}^{r \\times d_{in}},\\ B \\in \\mathbb{R}^{d_{out} \\times r}

    :math:`W` and :math:`b` are the base layer's, frozen. :math:`A` starts
    Kaiming-uniform and :math:`B` at zero, so the wrapped layer starts as the
    base layer exactly. Only :math:`r (d_{in} + d_{out})` entries train.
    :meth:`merge` folds the update into one ``nn.Linear`` for inference.

    Args:
        base (nn.Linear): the pretrained layer; its parameters are frozen.
        rank (int): :math:`r`, in [1, min(d_in, d_out)]. Default: 4.
        alpha (float, optional): scale numerator, > 0. Default: ``rank``
            (scale 1).

    Shape:
        - Input: :math:`(*, d_{in})`; output: :math:`(*, d_{out})`.

    Example:
        >>> layer = LoRALinear(nn.Linear(6, 4), rank=2)
        >>> count_trainable(layer)  # 2 · (6 + 4)
        20
        >>> x = torch.randn(3, 6)
        >>> torch.allclose(layer(x), layer.base(x))  # B = 0 at the start
        True
    """

    def __init__(self, base: nn.Linear, rank: int = 4, alpha: float | None = None) -> None:
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(parameter_error("base", "LoRALinear", "an nn.Linear", type(base).__name__))
        self.rank = check_int(rank, "rank", "LoRALinear", low=1, high=min(base.in_features, base.out_features))
        self.alpha = float(self.rank) if alpha is None else check_real(alpha, "alpha", "LoRALinear", low=0.0, low_open=True)
        self.base = base.requires_grad_(False)
        factory = {"device": base.weight.device, "dtype": base.weight.dtype}
        self.lora_a = nn.Parameter(torch.empty(self.rank, base.in_features, **factory))  # (r, d_in)
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, self.rank, **factory))  # (d_out, r)
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))  # as nn.Linear initializes its weight

    @property
    def scale(self) -> float:
        return self.alpha / self.rank

    def delta_weight(self) -> torch.Tensor:
        """The update :math:`\\frac{\\alpha}{r} B A`, shape :math:`(d_{out}, d_{in})`."""
        return self.scale * (self.lora_b @ self.lora_a)  # (d_out, r) @ (r, d_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low_rank = (x @ self.lora_a.T) @ self.lora_b.T  # (*, d_in) -> (*, r) -> (*, d_out): never forms B A
        return self.base(x) + self.scale * low_rank

    @torch.no_grad()
    def merge(self) -> nn.Linear:
        """A plain ``nn.Linear`` with weight :math:`W + \\frac{\\alpha}{r} B A` and the base bias."""
        base = self.base
        merged = nn.Linear(base.in_features, base.out_features, bias=base.bias is not None,
                           device=base.weight.device, dtype=base.weight.dtype)
        merged.weight.copy_(base.weight + self.delta_weight())
        if base.bias is not None:
            merged.bias.copy_(base.bias)
        return merged

    def extra_repr(self) -> str:
        return f"rank={self.rank}, alpha={self.alpha}"
