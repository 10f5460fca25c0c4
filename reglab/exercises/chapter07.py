"""Checks for chapter 7's exercises."""

from __future__ import annotations

import torch

from reglab.clipping import clip_grad_norm_
from reglab.exercises._diagnose import known_mistake
from reglab.exercises.checking import Case, run_check

__all__ = ["check_clip_grad_norm"]


def _params(shapes: list[tuple[int, ...]], scale: float, seed: int, without_grad: int | None = None) -> list[torch.Tensor]:
    """Leaf tensors whose ``.grad`` is set (except the one at index ``without_grad``)."""
    g = torch.Generator().manual_seed(seed)
    params = []
    for i, shape in enumerate(shapes):
        p = torch.zeros(shape, requires_grad=True)
        if i != without_grad:
            p.grad = torch.randn(shape, generator=g) * scale
        params.append(p)
    return params


def _as_norm(returned: object) -> object:
    """The returned norm as a 0-d tensor (a Python float is accepted too)."""
    if isinstance(returned, torch.Tensor):
        return returned.detach()
    return torch.tensor(float(returned)) if isinstance(returned, (int, float)) else returned


def _variant(grads: list[torch.Tensor], c: float, mode: str) -> tuple[torch.Tensor, ...]:
    """(norm returned, clipped gradients...) for one known slip."""
    norms = torch.stack([g.norm() for g in grads])  # (P,) per-tensor norms
    total = norms.pow(2).sum().sqrt()
    if mode == "value":
        return (total, *(g.clamp(-c, c) for g in grads))
    if mode == "per_tensor":
        return (total, *(g * min(1.0, c / (n.item() + 1e-6)) for g, n in zip(grads, norms)))
    if mode == "sum_of_norms":
        total = norms.sum()
    scale = c / (total.item() + 1e-6) if mode == "always" else min(1.0, c / (total.item() + 1e-6))
    clipped = tuple(g * scale for g in grads)
    if mode == "after":
        return (torch.stack([g.norm() for g in clipped]).pow(2).sum().sqrt(), *clipped)
    return (total, *clipped)


_MISTAKES = {
    "value": "that is clipping by VALUE (each entry clamped to [-c, c]), which turns the gradient; clip by norm "
             "multiplies every gradient by one factor, min(1, c / (||g|| + 1e-6)).",
    "per_tensor": "you clipped each tensor by its own norm; the norm is the TOTAL over all parameters, "
                  "sqrt(sum of every squared gradient entry), and one factor scales them all.",
    "sum_of_norms": "the total norm is sqrt(sum over tensors of ||g_i||²), not the sum of the per-tensor norms.",
    "always": "only shrink: the factor is min(1, c / (||g|| + 1e-6)), so gradients already within the threshold are unchanged.",
    "after": "return the total norm BEFORE clipping (what the gradient was), not after.",
}


def check_clip_grad_norm(my_clip_grad_norm_) -> bool:
    """Exercise 7.1: ``my_clip_grad_norm_(params, max_norm)`` rescales the gradients in place, returns the norm before."""

    def case(name, shapes, scale, c, seed, without_grad=None):
        reference = _params(shapes, scale, seed, without_grad)
        grads = [p.grad.clone() for p in reference if p.grad is not None]
        norm = clip_grad_norm_(reference, c)
        expected = (norm, *(p.grad for p in reference if p.grad is not None))
        mistakes = {hint: _variant(grads, c, mode) for mode, hint in _MISTAKES.items()}

        def run():
            params = _params(shapes, scale, seed, without_grad)
            returned = _as_norm(my_clip_grad_norm_(params, c))
            return (returned, *(p.grad for p in params if p.grad is not None)), expected

        return Case(f"{name} (max_norm {c})", run, diagnose=lambda got: known_mistake(got, mistakes),
                    hint="skip parameters whose .grad is None, rescale the others in place (g.mul_(factor)), "
                         "and return the total norm before clipping.")

    cases = [
        _single(my_clip_grad_norm_),
        case("three tensors with large gradients", [(7, 5), (7,), (2, 7)], 3.0, 0.5, 71),
        case("gradients already within the threshold", [(7, 5), (7,), (2, 7)], 0.01, 5.0, 72),
        case("a parameter without a gradient", [(4, 3), (4,), (5,)], 2.0, 1.0, 73, without_grad=1),
        case("one tensor with a few large entries", [(50,)], 0.3, 2.0, 74),
    ]
    return run_check("Exercise 7.1", my_clip_grad_norm_, cases)


def _single(my_clip_grad_norm_) -> Case:
    def run():
        w = torch.zeros(2, requires_grad=True)
        w.grad = torch.tensor([3.0, -4.0])
        return (_as_norm(my_clip_grad_norm_([w], 1.0)), w.grad), (torch.tensor(5.0), torch.tensor([0.6, -0.8]))

    grads = [torch.tensor([3.0, -4.0])]
    mistakes = {hint: _variant(grads, 1.0, mode) for mode, hint in _MISTAKES.items()}
    return Case("one gradient [3, -4] (max_norm 1.0)", run, diagnose=lambda got: known_mistake(got, mistakes),
                hint="the norm of [3, -4] is 5: return 5 and rescale the gradient in place to [0.6, -0.8].")
