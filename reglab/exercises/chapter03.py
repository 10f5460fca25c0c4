"""Checks for chapter 3's exercises."""

from __future__ import annotations

import torch
from torch import nn

from reglab.exercises._diagnose import known_mistake
from reglab.exercises.checking import Case, run_check
from reglab.train import EarlyStopping, History

__all__ = ["check_stopping_rule"]


def _reference(values: list[float], patience: int, min_delta: float) -> tuple[int, int]:
    """(stop_epoch, best_epoch), from 1, as ``EarlyStopping`` decides them."""
    stopper, history = EarlyStopping(patience=patience, min_delta=min_delta, restore_best=False), History()
    for value in values:
        history.log_epoch(val_loss=value)
        if stopper.on_epoch_end(nn.Identity(), history):
            break
    return history.epochs, stopper.best_epoch + 1


def _variant(values, patience, min_delta, *, ties=False, late=False, previous=False):
    """The rule with one known slip: ties improve, stop one epoch late, or compare with the previous epoch."""
    best_value, best_epoch, last = float("inf"), None, float("inf")
    for epoch, value in enumerate(values, start=1):
        reference = last if previous else best_value
        better = value <= reference - min_delta if ties else value < reference - min_delta
        if better:
            best_epoch = epoch
        if value < best_value - min_delta or (better and not previous):
            best_value = value
        last = value
        if best_epoch is not None and (epoch - best_epoch > patience if late else epoch - best_epoch >= patience):
            return epoch, best_epoch
    return len(values), best_epoch


def check_stopping_rule(my_stop) -> bool:
    """Exercise 3.1: ``my_stop(values, patience, min_delta=0.0) -> (stop_epoch, best_epoch)``, counted from 1."""

    def case(name, values, patience, min_delta=0.0):
        expected = _reference(values, patience, min_delta)
        mistakes = {
            "count epochs from 1: the first epoch is epoch 1, not 0.": (expected[0] - 1, expected[1] - 1),
            "a value equal to the best (minus min_delta) is not an improvement: use a strict '<'.":
                _variant(values, patience, min_delta, ties=True),
            "you stop one epoch late: stop at the end of the first epoch with epoch - best_epoch >= patience.":
                _variant(values, patience, min_delta, late=True),
            "compare each value with the best value so far, not with the previous epoch's value.":
                _variant(values, patience, min_delta, previous=True),
        }
        if min_delta > 0:
            mistakes["an improvement must beat the best by more than min_delta: value < best_value - min_delta."] = (
                _reference(values, patience, 0.0))
        shown = ", ".join(f"{v:.3g}" for v in values)
        return Case(f"{name}: values [{shown}], patience {patience}, min_delta {min_delta}",
                    lambda: (tuple(my_stop(list(values), patience, min_delta)), expected),
                    hint="return (stop_epoch, best_epoch), both counted from 1, as section 3.1's rule decides them.",
                    diagnose=lambda got: known_mistake(got, {h: w for h, w in mistakes.items() if w != expected}))

    g = torch.Generator().manual_seed(31)
    cases = [
        case("the docstring example", [1.0, 0.5, 0.6, 0.7, 0.4], 2),
        case("never stops", [5.0, 4.0, 3.0, 2.0, 1.0], 2),
        case("ties with the best", [1.0, 0.5, 0.5, 0.5, 0.5, 0.2], 2),
        case("a dip that is not the best", [1.0, 0.4, 0.8, 0.6, 0.7, 0.65, 0.3], 3),
        case("improvements smaller than min_delta", [1.0, 0.95, 0.9, 0.85, 0.5, 0.45], 2, 0.1),
    ]
    for trial in range(40):
        curve = (torch.rand(12, generator=g) + torch.linspace(1, 0, 12) ** 2).tolist()
        cases.append(case(f"random curve {trial + 1}", [round(v, 3) for v in curve], trial % 4 + 1,
                          [0.0, 0.01, 0.1][trial % 3]))
    return run_check("Exercise 3.1", my_stop, cases)
