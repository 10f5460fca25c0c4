"""Each exercise check passes the reference solution and fails plausible wrong answers, with a specific hint."""

import numpy as np
import pytest
import torch

from reglab.exercises import Case, check_ablation_table, check_bias_variance, run_check
from reglab.metrics import bias_variance_decomposition


def bias_variance_ddof1(p, t):  # the unbiased sample variance, a common slip
    m = p.mean(0)
    return (m - t).pow(2).mean(), p.var(0).mean()


def bias_variance_mse_as_bias(p, t):  # the MSE of the refits reported as bias²
    m = p.mean(0)
    return (p - t).pow(2).mean(), (p - m).pow(2).mean()


def bias_variance_swapped(p, t):  # averaging over the wrong dimension
    m = p.mean(1, keepdim=True)
    return (m.squeeze(1).mean() - t).pow(2).mean(), (p - m).pow(2).mean()


def test_bias_variance_check_passes_the_reference(capsys):
    assert check_bias_variance(bias_variance_decomposition)
    assert "✔ Exercise 1.1: correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (bias_variance_ddof1, "divide by R"),
        (bias_variance_mse_as_bias, "squared gap of the MEAN prediction"),
        (bias_variance_swapped, "average over the refits (dim 0)"),
    ],
)
def test_bias_variance_check_fails_wrong_answers_with_a_specific_hint(wrong, hint, capsys):
    assert not check_bias_variance(wrong)
    out = capsys.readouterr().out
    assert "✘ Exercise 1.1" in out and "expected" in out and hint in out
    assert "Traceback" not in out


def test_run_check_reports_exceptions_and_stubs_in_one_line(capsys):
    def crashes():
        raise IndexError("boom")

    def stub():
        raise NotImplementedError

    assert not run_check("Exercise 9.9", lambda: None, [Case("crash", lambda: (crashes(), 1), hint="look")])
    out = capsys.readouterr().out
    assert "raised IndexError: boom" in out and "Hint: look" in out and "Traceback" not in out
    assert not run_check("Exercise 9.9", lambda: None, [Case("stub", lambda: (stub(), 1))])
    assert "not implemented yet" in capsys.readouterr().out
    assert not run_check("Exercise 9.9", 42, [])
    assert "expected a function" in capsys.readouterr().out


def test_run_check_compares_shapes_and_tolerances():
    same = Case("close", lambda: (torch.tensor([1.0, 2.0 + 1e-8]), torch.tensor([1.0, 2.0])))
    wrong_shape = Case("shape", lambda: (torch.tensor([[1.0, 2.0]]), torch.tensor([1.0, 2.0])))
    assert run_check("E", lambda: None, [same])
    assert not run_check("E", lambda: None, [wrong_shape])


def ablation_table(runs, configs, seeds, ddof=1, single=0.0):
    table = {}
    for config in configs:
        rows = [runs[config, seed] for seed in seeds if (config, seed) in runs]
        table[config] = {
            metric: (float(np.mean([r[metric] for r in rows])),
                     float(np.std([r[metric] for r in rows], ddof=ddof)) if len(rows) > 1 else single)
            for metric in rows[0]
        }
    return table


def test_ablation_table_check_passes_a_numpy_solution_and_diagnoses_mistakes(capsys):
    assert check_ablation_table(ablation_table)
    assert not check_ablation_table(lambda r, c, s: ablation_table(r, c, s, ddof=0))
    assert "SAMPLE standard deviation" in capsys.readouterr().out
    assert not check_ablation_table(lambda r, c, s: ablation_table(r, c, s, single=float("nan")))
    assert "spread is 0, not NaN" in capsys.readouterr().out
