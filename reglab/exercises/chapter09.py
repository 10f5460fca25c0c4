"""Checks for chapter 9's exercises."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reglab.exercises._diagnose import known_mistake
from reglab.exercises.checking import Case, run_check
from reglab.losses import label_smoothing_cross_entropy

__all__ = ["check_label_smoothing"]


def _soft_loss(logits: torch.Tensor, q: torch.Tensor, reduce: str = "mean") -> torch.Tensor:
    loss = -(q * F.log_softmax(logits, dim=1)).sum(dim=1)  # (N,)
    return loss.mean() if reduce == "mean" else loss.sum()


def _mistakes(logits: torch.Tensor, target: torch.Tensor, eps: float) -> dict[str, torch.Tensor]:
    k = logits.shape[1]
    one_hot = F.one_hot(target, k).to(logits.dtype)  # (N, K)
    smooth = (1 - eps) * one_hot + eps / k
    log_p = F.log_softmax(logits, dim=1)
    return {
        "the ε is spread over all K classes, the true one included: q = (1 - ε)·one_hot + ε/K. Spreading ε/(K - 1) "
        "over the other classes only is a different target (and the cross-entropy against it is not the split of "
        "section 9.1).": _soft_loss(logits, (1 - eps) * one_hot + eps / (k - 1) * (1 - one_hot)) if k > 1 else None,
        "the true class also receives its share ε/K: your target sums to 1 - ε/K, not 1.":
            _soft_loss(logits, (1 - eps) * one_hot + eps / k * (1 - one_hot)),
        "use mean reduction: divide the summed loss by the batch size N.": _soft_loss(logits, smooth, "sum"),
        "the cross-entropy against the uniform distribution AVERAGES -log p over the K classes (weight 1/K each); "
        "you summed it.": ((1 - eps) * -(one_hot * log_p).sum(1) + eps * -log_p.sum(1)).mean(),
        "ε is the smoothing mass: (1 - ε) times the usual cross-entropy plus ε times the uniform one, not the reverse.":
            ((eps * -(one_hot * log_p).sum(1)) + (1 - eps) * -log_p.mean(1)).mean(),
    }


def check_label_smoothing(my_label_smoothing_cross_entropy) -> bool:
    """Exercise 9.1: ``my_label_smoothing_cross_entropy(logits (N, K), target (N,), epsilon)``, mean reduction."""

    def case(name, logits, target, eps):
        expected = label_smoothing_cross_entropy(logits, target, eps)
        mistakes = {h: w for h, w in _mistakes(logits, target, eps).items()
                    if w is not None and not torch.allclose(w, expected, atol=1e-5)}

        def diagnose(got):
            if isinstance(got, (int, float)) and abs(got - expected.item()) <= 1e-5 + 1e-5 * abs(expected.item()):
                return ("return the loss as a tensor, not a Python number (no .item()): backward() needs it in "
                        "the autograd graph.")
            if isinstance(got, torch.Tensor) and got.numel() == 1 and got.ndim > 0:
                return f"return a 0-dimensional tensor (shape ()), as .mean() gives, not one of shape {tuple(got.shape)}."
            if isinstance(got, torch.Tensor) and not bool(torch.isfinite(got).all()):
                return ("your loss is not finite for large logits: take F.log_softmax(logits, dim=1) instead of "
                        "log(softmax(...)), which underflows to log(0).")
            if isinstance(got, torch.Tensor) and got.ndim == 1 and len(got) == len(target):
                return "return one number, the mean over the batch, not one loss per sample."
            return known_mistake(got, mistakes)

        def run():
            return my_label_smoothing_cross_entropy(logits.clone(), target.clone(), eps), expected

        return Case(f"{name}, ε = {eps}", run, diagnose=diagnose, atol=1e-5,
                    hint="return ((1 - ε)·nll + ε·uniform).mean() with nll = -log_softmax(logits)[y] and "
                         "uniform = -log_softmax(logits).mean(dim=1), as in section 9.1.")

    g = torch.Generator().manual_seed(90)
    z, y = torch.randn(32, 7, generator=g), torch.randint(0, 7, (32,), generator=g)
    cases = [case("32 samples, 7 classes", z, y, eps) for eps in (0.1, 0.0, 0.5, 1.0)]
    cases.append(case("2 classes", torch.randn(20, 2, generator=g), torch.randint(0, 2, (20,), generator=g), 0.2))
    cases.append(case("large logits (scale 100)", 100 * torch.randn(16, 5, generator=g),
                      torch.randint(0, 5, (16,), generator=g), 0.1))
    return run_check("Exercise 9.1", my_label_smoothing_cross_entropy, cases)
