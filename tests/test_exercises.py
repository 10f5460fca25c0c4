"""Each exercise check passes the reference solution and fails plausible wrong answers, with a specific hint."""

import numpy as np
import pytest
import torch

from reglab.exercises import Case, check_ablation_table, check_bias_variance, run_check
from reglab.metrics import bias_variance_decomposition

from exercise_helpers import passes


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


def bias_variance_summed(p, t):  # sums over the points instead of averaging
    m = p.mean(0)
    return (m - t).pow(2).sum(), (p - m).pow(2).mean(0).sum()


def bias_variance_reversed(p, t):  # the two returned in the wrong order
    b, v = bias_variance_decomposition(p, t)
    return v, b


def test_bias_variance_check_accepts_numbers_and_other_forms(capsys):
    def as_floats(p, t):
        b, v = bias_variance_decomposition(p, t)
        return b.item(), v.item()

    def population_var(p, t):
        return (p.mean(0) - t).pow(2).mean(), p.var(0, unbiased=False).mean()

    for answer in (as_floats, population_var):
        assert check_bias_variance(answer)
        assert "✔ Exercise 1.1: correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, hint",
    [
        (bias_variance_ddof1, "divide by R"),
        (bias_variance_mse_as_bias, "squared gap of the MEAN prediction"),
        (bias_variance_swapped, "average over the refits (dim 0)"),
        (bias_variance_summed, "you summed over the M points"),
        (bias_variance_reversed, "in the order (bias², variance)"),
    ],
)
def test_bias_variance_check_fails_wrong_answers_with_a_specific_hint(wrong, hint, capsys):
    assert not passes(check_bias_variance, wrong)
    out = capsys.readouterr().out
    assert "✘ Exercise 1.1" in out and "expected" in out and hint in out
    assert "Traceback" not in out


def test_run_check_reports_exceptions_and_stubs_in_one_line(capsys):
    def crashes():
        raise IndexError("boom")

    def stub():
        raise NotImplementedError

    assert not passes(run_check, "Exercise 9.9", lambda: None, [Case("crash", lambda: (crashes(), 1), hint="look")])
    out = capsys.readouterr().out
    assert "raised IndexError: boom" in out and "Hint: look" in out and "Traceback" not in out
    assert not passes(run_check, "Exercise 9.9", lambda: None, [Case("stub", lambda: (stub(), 1))])
    assert "not implemented yet" in capsys.readouterr().out
    assert not passes(run_check, "Exercise 9.9", 42, [])
    assert "expected a function" in capsys.readouterr().out


def test_run_check_survives_a_failing_diagnosis_and_can_accept_another_answer(capsys):
    def broken(got):
        raise ZeroDivisionError

    assert not passes(run_check, "E", lambda: None, [Case("c", lambda: (2, 1), hint="fallback", diagnose=broken)])
    out = capsys.readouterr().out
    assert "Hint: fallback" in out and "Traceback" not in out
    assert run_check("E", lambda: None, [Case("c", lambda: (2, 1), accept=lambda got: got == 2)])
    assert not passes(run_check, "E", lambda: None, [Case("c", lambda: (torch.ones(3), 1), accept=broken)])
    assert "✘ E" in capsys.readouterr().out


def test_run_check_compares_shapes_and_tolerances():
    same = Case("close", lambda: (torch.tensor([1.0, 2.0 + 1e-8]), torch.tensor([1.0, 2.0])))
    wrong_shape = Case("shape", lambda: (torch.tensor([[1.0, 2.0]]), torch.tensor([1.0, 2.0])))
    assert run_check("E", lambda: None, [same])
    assert not passes(run_check, "E", lambda: None, [wrong_shape])


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


def ablation_table_float32(runs, configs, seeds):  # torch's default dtype: right to about 1e-8
    table = {}
    for config in configs:
        rows = [runs[config, seed] for seed in seeds if (config, seed) in runs]
        table[config] = {}
        for metric in rows[0]:
            v = torch.tensor([r[metric] for r in rows])
            table[config][metric] = (v.mean(), v.std() if len(v) > 1 else torch.tensor(0.0))
    return table


def test_ablation_table_check_passes_a_numpy_solution_and_diagnoses_mistakes(capsys):
    assert check_ablation_table(ablation_table)
    assert check_ablation_table(ablation_table_float32)
    assert capsys.readouterr().out.count("✔ Exercise 13.1: correct") == 2
    assert not passes(check_ablation_table, lambda r, c, s: ablation_table(r, c, s, ddof=0))
    assert "SAMPLE standard deviation" in capsys.readouterr().out
    assert not passes(check_ablation_table, lambda r, c, s: ablation_table(r, c, s, single=float("nan")))
    assert "spread is 0, not NaN" in capsys.readouterr().out


def test_ablation_table_check_names_the_spread_and_layout_mistakes(capsys):
    def spread(statistic):
        def table(runs, configs, seeds):
            out = ablation_table(runs, configs, seeds)
            for config in configs:
                for metric, (mean, _) in out[config].items():
                    v = np.array([runs[config, s][metric] for s in seeds if (config, s) in runs])
                    out[config][metric] = (mean, statistic(v) if len(v) > 1 else 0.0)
            return out
        return table

    for wrong, hint in [(spread(lambda v: v.var(ddof=1)), "not its square, the variance"),
                        (spread(lambda v: v.std(ddof=1) / np.sqrt(len(v))), "not the standard error"),
                        (lambda r, c, s: {(k, m): v for k, row in ablation_table(r, c, s).items() for m, v in row.items()},
                         "return a dict {config: {metric: (mean, spread)}}")]:
        assert not passes(check_ablation_table, wrong)
        out = capsys.readouterr().out
        assert "✘ Exercise 13.1" in out and hint in out and "Traceback" not in out, out


def test_a_failed_check_raises_check_failed_shown_in_one_line(capsys):
    import pickle

    from reglab.exercises import CheckFailed

    with pytest.raises(CheckFailed) as info:
        run_check("Exercise 9.9", lambda: None, [Case("c", lambda: (2, 1), hint="look again")])
    error = info.value
    assert isinstance(error, AssertionError)  # pytest and nbgrader count it as a failed test
    assert error.exercise == "Exercise 9.9" and "Hint: look again" in str(error)
    rendered = error._render_traceback_()  # what IPython shows instead of a traceback
    assert len(rendered) == 1 and "Exercise 9.9 is not solved yet" in rendered[0]
    assert pickle.loads(pickle.dumps(error)).verdict == error.verdict
    out = capsys.readouterr().out
    assert "✘ Exercise 9.9, case 'c'" in out and "Hint: look again" in out  # the verdict itself is printed


def test_warnings_during_a_check_go_to_stdout_not_stderr(capsys):
    import warnings

    def noisy():
        warnings.warn("deprecated call", DeprecationWarning)
        return 1, 1

    assert run_check("E", lambda: None, [Case("c", noisy)])
    captured = capsys.readouterr()
    assert captured.err == ""  # nbgrader scores a test cell with stderr output zero
    assert "✔ E: correct" in captured.out and "DeprecationWarning: deprecated call" in captured.out
