"""Paired comparisons over seeds: the paired t-test, and Holm's correction for many comparisons.

Two configurations trained with the same seeds are compared seed by seed: the
difference of a pair cancels much of the seed-to-seed noise (the same
initialization, the same batch order). :func:`paired_test` turns the paired
values into a :class:`Comparison` (the mean difference, its standard error,
the t statistic and its p-value), and :func:`holm` corrects the p-values of a
family of comparisons so that the chance of any false verdict among them is at
most ``alpha``. :meth:`reglab.ablation.AblationResults.compare` uses both.

References:
    Holm (1979), "A simple sequentially rejective multiple test procedure",
    Scandinavian Journal of Statistics: the correction for many comparisons.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reglab._validation import check_real, parameter_error

__all__ = ["Comparison", "paired_test", "holm"]


@dataclass(frozen=True)
class Comparison:
    """A paired comparison of ``config`` with ``baseline`` on ``metric``, over the seeds both ran.

    With :math:`d_s = m_s(\\text{config}) - m_s(\\text{baseline})` for each of
    the :math:`n` seeds,

    .. math::
        \\bar d = \\frac{1}{n}\\sum_s d_s, \\qquad
        \\mathrm{se} = \\frac{\\mathrm{sd}(d)}{\\sqrt n}, \\qquad
        t = \\frac{\\bar d}{\\mathrm{se}},

    ``p`` is the two-sided p-value of :math:`t` under Student's t with
    :math:`n - 1` degrees of freedom, ``p_holm`` the p-value after Holm's
    correction over the comparisons made together, and ``verdict`` is
    ``"higher"`` or ``"lower"`` when ``p_holm < alpha``, else ``"within noise"``.
    """

    config: str
    baseline: str
    metric: str
    n: int
    diff: float
    se: float
    t: float
    p: float
    p_holm: float
    verdict: str


def paired_test(values, baseline_values, *, config: str = "config", baseline: str = "baseline",
                metric: str = "metric") -> Comparison:
    r"""The paired t-test of ``values`` against ``baseline_values``, paired by position (one pair per seed).

    With :math:`d_s` = ``values[s] - baseline_values[s]`` over the :math:`n`
    pairs: :math:`\bar d`, :math:`\mathrm{se} = \mathrm{sd}(d)/\sqrt n`
    (sample sd, ``ddof=1``), :math:`t = \bar d / \mathrm{se}` and its
    two-sided p-value under Student's t with :math:`n - 1` degrees of freedom.
    A difference with no spread at all has :math:`t = \pm\infty` (p = 0), or
    0 (p = 1) when it is 0. Not yet corrected: ``p_holm`` is ``p`` and the
    verdict is ``"within noise"`` until :func:`holm` decides.

    Args:
        values (sequence of float): shape ``(n,)``, the configuration's metric per seed.
        baseline_values (sequence of float): shape ``(n,)``, the baseline's, same seeds in the same order.
        config, baseline, metric (str): names carried into the result.

    Raises:
        ValueError: if the two have different lengths or fewer than 2 pairs.

    Example:
        >>> c = paired_test([0.60, 0.71, 0.79], [0.50, 0.60, 0.70])
        >>> round(c.diff, 3), round(c.se, 4), round(c.t, 1), c.n
        (0.1, 0.0058, 17.3, 3)
    """
    from scipy import stats

    a = np.asarray(values, dtype=np.float64).reshape(-1)
    b = np.asarray(baseline_values, dtype=np.float64).reshape(-1)
    if len(a) != len(b):
        raise ValueError(parameter_error("baseline_values", "paired_test", f"{len(a)} values, one per pair",
                                         len(b)))
    if len(a) < 2:
        raise ValueError(parameter_error("values", "paired_test", "at least 2 pairs", len(a)))
    d = a - b  # (n,)
    n, diff = len(d), float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(n))
    t = diff / se if se > 0 else (math.copysign(math.inf, diff) if diff != 0 else 0.0)
    p = float(2 * stats.t.sf(abs(t), df=n - 1))
    return Comparison(config, baseline, metric, n, diff, se, t, p, p, "within noise")


def holm(comparisons: Sequence[Comparison], alpha: float = 0.05) -> list[Comparison]:
    """Holm's step-down correction of the comparisons' p-values, as one family; verdicts at ``alpha``.

    With the :math:`m` p-values sorted, :math:`p_{(1)} \\le \\dots \\le p_{(m)}`,

    .. math::
        \\tilde p_{(i)} = \\max_{j \\le i} \\min\\bigl(1, (m - j + 1)\\, p_{(j)}\\bigr),

    and a comparison is "higher" or "lower" (the sign of its difference) when
    :math:`\\tilde p < \\alpha`: the chance of any false verdict in the family is
    then at most ``alpha``, whatever the dependence between the tests.

    Args:
        comparisons (sequence of Comparison): e.g. pooled from several
            ``AblationResults.compare`` calls to make them one family.
        alpha (float): the family-wise error rate, in (0, 1). Default: 0.05.

    Returns:
        list of Comparison: the same comparisons, in the same order, with
        ``p_holm`` and ``verdict`` set.
    """
    alpha = check_real(alpha, "alpha", "holm", low=0.0, high=1.0, low_open=True, high_open=True)
    comparisons = list(comparisons)
    m = len(comparisons)
    order = sorted(range(m), key=lambda i: comparisons[i].p)
    adjusted, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * comparisons[i].p))
        adjusted[i] = running
    out = []
    for c, p_holm in zip(comparisons, adjusted):
        verdict = "within noise" if not p_holm < alpha else ("higher" if c.diff > 0 else "lower")
        out.append(Comparison(c.config, c.baseline, c.metric, c.n, c.diff, c.se, c.t, c.p, p_holm, verdict))
    return out
