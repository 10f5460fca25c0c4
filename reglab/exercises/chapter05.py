"""Checks for chapter 5's exercises."""

from __future__ import annotations

import torch

from reglab.exercises._diagnose import close, known_mistake
from reglab.exercises.checking import Case, run_check
from reglab.layers import batch_norm

__all__ = ["check_batch_norm_train"]


def _variant(x, mean0, var0, gamma, beta, momentum, eps, *, biased_running=False, unbiased_normalize=False,
             swapped_momentum=False, eps_outside=False):
    """Batch norm's training step with one known slip."""
    n = x.shape[0]
    mean, var = x.mean(0), x.var(0, unbiased=False)  # (C,)
    spread = x.var(0) if unbiased_normalize else var
    scale = spread.sqrt() + eps if eps_outside else (spread + eps).sqrt()
    y = gamma * (x - mean) / scale + beta
    m = 1 - momentum if swapped_momentum else momentum
    new_var = var if biased_running else var * n / (n - 1)
    return y, (1 - m) * mean0 + m * mean, (1 - m) * var0 + m * new_var


def check_batch_norm_train(my_batch_norm_train) -> bool:
    """Exercise 5.1: ``my_batch_norm_train(x, running_mean, running_var, gamma, beta, momentum, eps)``.

    Returns ``(y, new_running_mean, new_running_var)`` for ``x`` of shape (N, C).
    """

    def case(name, n, c, momentum, eps, seed):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(n, c, generator=g, dtype=torch.float64) * 2 + 1
        gamma, beta = torch.randn(c, generator=g, dtype=torch.float64), torch.randn(c, generator=g, dtype=torch.float64)
        mean0 = torch.randn(c, generator=g, dtype=torch.float64)
        var0 = torch.rand(c, generator=g, dtype=torch.float64) + 0.5
        new_mean, new_var = mean0.clone(), var0.clone()
        y = batch_norm(x, new_mean, new_var, gamma, beta, training=True, momentum=momentum, eps=eps)
        expected = (y, new_mean, new_var)
        args = (x, mean0, var0, gamma, beta, momentum, eps)
        mistakes = {
            "normalize with the BIASED batch variance (divide by N); only the running variance uses N - 1.":
                _variant(*args, unbiased_normalize=True),
            "the running variance is updated with the UNBIASED batch variance, var * N / (N - 1), as PyTorch does.":
                _variant(*args, biased_running=True),
            "momentum is the weight of the NEW batch statistic: (1 - momentum) * running + momentum * batch.":
                _variant(*args, swapped_momentum=True),
            "eps goes inside the square root: (x - mean) / sqrt(var + eps).": _variant(*args, eps_outside=True),
        }

        def run():
            got = my_batch_norm_train(x.clone(), mean0.clone(), var0.clone(), gamma, beta, momentum, eps)
            return (tuple(got) if isinstance(got, (tuple, list)) else got), expected

        def diagnose(got):
            hint = known_mistake(got, mistakes)
            if hint or not isinstance(got, tuple) or len(got) != 3:
                return hint
            wrong = [name for name, g, e in zip(("the output y", "the new running mean", "the new running variance"),
                                                got, expected) if not close(g, e)]
            return f"{' and '.join(wrong)} differ{'s' if len(wrong) == 1 else ''} from reglab's." if wrong else None

        return Case(f"{name}: x of shape ({n}, {c}), momentum {momentum}, eps {eps}", run,
                    hint="return (y, new_running_mean, new_running_var), each a tensor, as in section 5.1.",
                    diagnose=diagnose)

    def untouched():
        x = torch.randn(6, 3, generator=torch.Generator().manual_seed(50))
        mean0, var0 = torch.zeros(3), torch.ones(3)
        my_batch_norm_train(x, mean0, var0, torch.ones(3), torch.zeros(3), 0.1, 1e-5)
        return (mean0, var0), (torch.zeros(3), torch.ones(3))

    cases = [
        case("the notebook's batch", 6, 3, 0.1, 1e-5, 51),
        case("a large eps and momentum", 8, 4, 0.5, 0.5, 52),
        case("two samples", 2, 5, 0.1, 1e-5, 53),
        case("100 samples", 100, 7, 0.3, 1e-3, 54),
        Case("running_mean and running_var are not modified", untouched,
             hint="do not update running_mean / running_var in place: compute and return the new ones."),
    ]
    return run_check("Exercise 5.1", my_batch_norm_train, cases)
