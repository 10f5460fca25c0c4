"""Checks for chapter 13's exercises."""

from __future__ import annotations

import numpy as np
import torch

from reglab.ablation import AblationResults
from reglab.exercises._diagnose import known_mistake
from reglab.exercises.checking import Case, run_check

__all__ = ["check_ablation_table"]

_LAYOUT = ("return a dict {config: {metric: (mean, spread)}} with an entry for every configuration and every metric, "
           "each a pair of numbers.")


def _as_tensor(table, configs, metrics) -> torch.Tensor | None:
    """``{config: {metric: (mean, spread)}}`` as a (configs, metrics, 2) tensor in a fixed order; None if it is not one."""
    try:
        return torch.tensor([[[float(v) for v in table[c][m]] for m in metrics] for c in configs], dtype=torch.float64)
    except Exception:  # a missing key, a pair that is not two numbers, ...
        return None


def check_ablation_table(my_table) -> bool:
    """Exercise 13.1: ``my_table(runs, configs, seeds) -> {config: {metric: (mean, spread)}}``."""

    def case(name, results: AblationResults) -> Case:
        configs, metrics = results.configs, results.metrics
        expected = _as_tensor(results.table(digits=12), configs, metrics)
        values = {(c, m): np.asarray(results.values(c, m)) for c in configs for m in metrics}

        def spread_of(statistic):
            return torch.tensor([[[values[c, m].mean(), statistic(values[c, m]) if len(values[c, m]) > 1 else 0.0]
                                  for m in metrics] for c in configs], dtype=torch.float64)

        mistakes = {
            "the spread is the SAMPLE standard deviation: divide by n - 1, not n (np.std(ddof=1)).":
                spread_of(lambda v: v.std(ddof=0)),
            "the spread is the standard deviation itself (np.std(ddof=1)), not its square, the variance.":
                spread_of(lambda v: v.var(ddof=1)),
            "the spread is the standard deviation over the seeds (np.std(ddof=1)), not the standard error of the "
            "mean (std / sqrt(n)).": spread_of(lambda v: v.std(ddof=1) / np.sqrt(len(v))),
        }

        def run():
            got = my_table(results.runs, results.configs, results.seeds)
            converted = _as_tensor(got, configs, metrics)
            return (got if converted is None else converted), expected

        def diagnose(got):
            if not isinstance(got, torch.Tensor):
                return _LAYOUT
            if torch.isnan(got).any():
                return "with a single seed the spread is 0, not NaN: the sample std of one value is undefined."
            return known_mistake(got, mistakes)

        return Case(name, run, hint="for each configuration use only the seeds that have run: the mean of their values "
                                    "and their sample standard deviation (0 with one seed).",
                    diagnose=diagnose)

    two_by_three = AblationResults(
        ["none", "dropout"], [0, 1, 2],
        {("none", 0): {"acc": 0.90, "loss": 0.30}, ("none", 1): {"acc": 0.94, "loss": 0.25},
         ("none", 2): {"acc": 0.92, "loss": 0.28}, ("dropout", 0): {"acc": 0.95, "loss": 0.20},
         ("dropout", 2): {"acc": 0.93, "loss": 0.22}},  # seed 1 of "dropout" has not run yet
    )
    one_seed = AblationResults(["a"], [0], {("a", 0): {"acc": 0.5}})
    cases = [case("two configurations, three seeds, one run missing", two_by_three), case("one seed", one_seed)]
    return run_check("Exercise 13.1", my_table, cases)
