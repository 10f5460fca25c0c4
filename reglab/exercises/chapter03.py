"""Checks for chapter 3's exercises."""

from __future__ import annotations

import torch
from torch import nn

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


def _variant(values, patience, min_delta, *, ties=False, late=False, previous=False, never=False):
    """The rule with one known slip: ties improve, stop one epoch late, compare with the previous epoch, never stop."""
    best_value, best_epoch, last = float("inf"), None, float("inf")
    for epoch, value in enumerate(values, start=1):
        reference = last if previous else best_value
        better = value <= reference - min_delta if ties else value < reference - min_delta
        if better:
            best_epoch = epoch
        if value < best_value - min_delta or (better and not previous):
            best_value = value
        last = value
        if never or best_epoch is None:
            continue
        if epoch - best_epoch > patience if late else epoch - best_epoch >= patience:
            return epoch, best_epoch
    return len(values), best_epoch


# Each known slip as a rule (values, patience, min_delta) -> (stop_epoch, best_epoch), with its hint.
_MISTAKES = {
    "count epochs from 1: the first epoch is epoch 1, not 0.":
        lambda v, p, d: tuple(e - 1 for e in _reference(v, p, d)),
    "a value equal to the best (minus min_delta) is not an improvement: use a strict '<'.":
        lambda v, p, d: _variant(v, p, d, ties=True),
    "you stop one epoch late: stop at the end of the first epoch with epoch - best_epoch >= patience.":
        lambda v, p, d: _variant(v, p, d, late=True),
    "compare each value with the best value so far, not with the previous epoch's value.":
        lambda v, p, d: _variant(v, p, d, previous=True),
    "an improvement must beat the best by more than min_delta: value < best_value - min_delta.":
        lambda v, p, d: _reference(v, p, 0.0),
    "training never stops: return at the end of the first epoch with epoch - best_epoch >= patience.":
        lambda v, p, d: _variant(v, p, d, never=True),
}


def check_stopping_rule(my_stop) -> bool:
    """Exercise 3.1: ``my_stop(values, patience, min_delta=0.0) -> (stop_epoch, best_epoch)``, counted from 1."""
    specs = []  # (values, patience, min_delta) of every case

    def answer(values, patience, min_delta):
        try:
            return tuple(my_stop(list(values), patience, min_delta))
        except Exception:
            return None

    def diagnose(got, values, patience, min_delta):
        """The slip that gives ``got`` here and the learner's answer on EVERY case (one curve can fit several slips)."""
        for hint, rule in _MISTAKES.items():
            if rule(values, patience, min_delta) == got and all(
                    answer(*spec) == rule(*spec) for spec in specs):
                return hint
        return None

    def case(name, values, patience, min_delta=0.0):
        specs.append((values, patience, min_delta))
        expected = _reference(values, patience, min_delta)
        shown = ", ".join(f"{v:.3g}" for v in values)
        return Case(f"{name}: values [{shown}], patience {patience}, min_delta {min_delta}",
                    lambda: (tuple(my_stop(list(values), patience, min_delta)), expected),
                    hint="return (stop_epoch, best_epoch), both counted from 1, as section 3.1's rule decides them.",
                    diagnose=lambda got: diagnose(got, values, patience, min_delta))

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
