"""Checks for chapter 10's exercises."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from reglab.adversarial import fgsm
from reglab.exercises._diagnose import forked_rng, known_mistake
from reglab.exercises.checking import Case, run_check

__all__ = ["check_fgsm"]

_RESTORE = ("restore the mode the model came in: remember was_training = model.training, switch to model.eval() "
            "for the attack, and call model.train(was_training) at the end.")


def _model(seed: int) -> nn.Module:
    """A small classifier of 8×8 images with batch norm, so that train mode changes the gradient."""
    return forked_rng(lambda: nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(),
                                            nn.Linear(32, 10)), seed)


def _data(seed: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 8, 8, generator=g)  # (N, 1, 8, 8) pixels in [0, 1]
    x[:, :, :2] = x[:, :, :2].round()  # some pixels at the bounds, where the clip matters
    return x, torch.randint(0, 10, (n,), generator=g)


def _input_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor, train_mode: bool) -> torch.Tensor:
    model = copy.deepcopy(model).train(train_mode)
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), y), x)
    return grad


def _mistakes(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float) -> dict[str, torch.Tensor]:
    grad = _input_gradient(model, x, y, train_mode=False)
    return {
        "you stepped DOWN the gradient (x - ε·sign(g)), which lowers the loss; the attack climbs it: x + ε·sign(g).":
            (x - eps * grad.sign()).clamp(0, 1),
        "take the SIGN of the gradient: every pixel moves by exactly ε (the L∞ ball's corner), x + ε·sign(g); "
        "ε·g itself is a tiny step.": (x + eps * grad).clamp(0, 1),
        "clip the result to the valid pixel range: .clamp(0, 1).": x + eps * grad.sign(),
        "compute the gradient in eval mode (model.eval()): in train mode batch norm uses the batch's statistics "
        "(and dropout is on), so the gradient is that of another function.":
            (x + eps * _input_gradient(model, x, y, train_mode=True).sign()).clamp(0, 1),
    }


def _side_effects(my_fgsm, train_mode: bool) -> dict[str, bool]:
    """Call ``my_fgsm`` once and record what it did besides returning the attack."""
    model, (x, y) = _model(10).train(train_mode), _data(11, 16)
    before = x.clone()
    x_adv = my_fgsm(model, x, y, 0.1)
    return {
        "mode": model.training == train_mode,
        "grads": all(p.grad is None for p in model.parameters()),
        "detached": isinstance(x_adv, torch.Tensor) and not x_adv.requires_grad,
        "input": torch.equal(x, before) and not x.requires_grad,
    }


_EFFECT_HINTS = {
    "mode": _RESTORE,
    "grads": "do not call loss.backward(), which writes every parameter's .grad: take the gradient with respect to "
             "the input only, (grad,) = torch.autograd.grad(loss, x_adv).",
    "detached": "return a detached tensor (….detach()): the adversarial input is data, not part of a graph.",
    "input": "leave the caller's x alone: work on a copy, x_adv = x.detach().clone().requires_grad_(True).",
}


def check_fgsm(my_fgsm) -> bool:
    """Exercise 10.1: ``my_fgsm(model, x, y, eps)``, pixels in [0, 1], eval mode, mode restored, detached output."""

    def value_case(name, seed, n, eps, train_mode):
        model, (x, y) = _model(seed).train(train_mode), _data(seed + 1, n)
        expected = fgsm(copy.deepcopy(model), x, y, eps)
        mistakes = {h: w for h, w in _mistakes(model, x, y, eps).items() if not torch.allclose(w, expected)}

        def run():
            return my_fgsm(copy.deepcopy(model), x.clone(), y.clone(), eps), expected

        return Case(name, run, diagnose=lambda got: known_mistake(got, mistakes),
                    hint="x_adv = (x + ε·sign(∇_x loss)).clamp(0, 1), the loss F.cross_entropy(model(x), y) "
                         "computed with the model in eval mode.")

    def effect_case(name, effect, train_mode):
        return Case(name, lambda: (_side_effects(my_fgsm, train_mode)[effect], True), hint=_EFFECT_HINTS[effect])

    cases = [
        value_case("model in train mode, ε = 0.1", 0, 32, 0.1, True),
        value_case("model in eval mode, ε = 0.03", 2, 32, 0.03, False),
        value_case("ε = 0.3, 8 samples", 4, 8, 0.3, True),
        value_case("ε = 0 returns x", 6, 8, 0.0, True),
        effect_case("a model in train mode is back in train mode", "mode", True),
        effect_case("a model in eval mode stays in eval mode", "mode", False),
        effect_case("the parameters' .grad stay None", "grads", True),
        effect_case("the result is detached", "detached", True),
        effect_case("the input x is not modified", "input", True),
    ]
    return run_check("Exercise 10.1", my_fgsm, cases)
