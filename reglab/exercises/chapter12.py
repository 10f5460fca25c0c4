"""Checks for chapter 12's exercises."""

from __future__ import annotations

import copy

import torch
from torch import nn

from reglab.exercises._diagnose import forked_rng, known_mistake
from reglab.exercises.checking import Case, run_check
from reglab.train import EMA

__all__ = ["check_ema_update"]


def _student(seed: int, frozen: bool) -> tuple[nn.Module, nn.Module]:
    """A two-layer student and the average to update (a copy, frozen or not, like a teacher)."""
    student = forked_rng(lambda: nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3)), seed)
    average = copy.deepcopy(student).requires_grad_(not frozen)
    return student, average


def _steps(student: nn.Module, steps: int, seed: int):
    """Perturb the student ``steps`` times (like optimizer steps), yielding after each one."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        with torch.no_grad():
            for p in student.parameters():
                p.add_(torch.randn(p.shape, generator=g))
        yield


def _parameters(*modules: nn.Module) -> torch.Tensor:
    """Every parameter of ``modules``, flattened into one vector: (P,)."""
    return torch.cat([p.detach().flatten() for m in modules for p in m.parameters()])


def _simulate(seed: int, steps: int, rule) -> torch.Tensor:
    """The average's parameters then the student's, flattened, after ``steps`` updates with ``rule(a, p) -> new a``."""
    student, average = _student(seed, True)
    for _ in _steps(student, steps, seed):
        with torch.no_grad():
            for a, p in zip(average.parameters(), student.parameters()):
                a.copy_(rule(a, p))
    return _parameters(average, student)


def _mistakes(seed: int, steps: int, decay: float) -> dict[str, torch.Tensor]:
    return {
        "decay is the weight of the OLD average: a ← decay·a + (1 - decay)·p; you swapped the two weights.":
            _simulate(seed, steps, lambda a, p: (1 - decay) * a + decay * p),
        "the average did not change: rebinding the loop variable (a = decay * a + ...) creates a new tensor and "
        "leaves the module alone; update the parameter in place, a.mul_(decay).add_(p, alpha=1 - decay).":
            _simulate(seed, steps, lambda a, p: a),
        "the new parameter gets weight (1 - decay), not 1: a ← decay·a + (1 - decay)·p.":
            _simulate(seed, steps, lambda a, p: decay * a + p),
    }


def check_ema_update(my_ema_update) -> bool:
    """Exercise 12.1: ``my_ema_update(average, model, decay)`` moves ``average`` towards ``model`` in place."""

    def case(name, seed, steps, decay, frozen):
        student, teacher = _student(seed, True)
        reference = EMA(teacher, decay=decay)
        for _ in _steps(student, steps, seed):
            reference.update(student)
        expected = _parameters(reference.module, student)
        mistakes = {h: w for h, w in _mistakes(seed, steps, decay).items() if not torch.allclose(w, expected)}

        def run():
            student, average = _student(seed, frozen)
            for _ in _steps(student, steps, seed):
                my_ema_update(average, student, decay)
            if any(a.grad_fn is not None for a in average.parameters()):
                return _RECORDED, expected
            return _parameters(average, student), expected

        return Case(name, run, diagnose=lambda got: _diagnose(got, expected, mistakes),
                    hint="inside torch.no_grad(), for a, p in zip(average.parameters(), model.parameters()): "
                         "a.mul_(decay).add_(p, alpha=1 - decay), changing the average in place and not the model.")

    cases = [
        case("10 steps, decay 0.9, the average frozen (requires_grad=False)", 0, 10, 0.9, True),
        case("10 steps, decay 0.99, the average trainable", 1, 10, 0.99, False),
        case("decay 0.5, 3 steps", 2, 3, 0.5, False),
        case("decay 0 copies the model", 3, 2, 0.0, True),
    ]
    return run_check("Exercise 12.1", my_ema_update, cases)


_RECORDED = "parameters with a grad_fn: autograd recorded the update"


def _diagnose(got: object, expected: torch.Tensor, mistakes: dict) -> str | None:
    if got is _RECORDED:
        return ("wrap the update in torch.no_grad() (or decorate the function with @torch.no_grad()): an average "
                "is not trained, and recording its update would keep every step's graph alive.")
    if isinstance(got, torch.Tensor) and got.shape == expected.shape:
        half = len(expected) // 2  # the average's parameters, then the model's
        if not torch.allclose(got[half:], expected[half:]):
            return "you changed the model's parameters: only the average moves; the model is read, not written."
    return known_mistake(got, mistakes)
