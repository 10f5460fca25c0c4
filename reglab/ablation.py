"""Ablations: train a grid of regularizer configurations over several seeds, compare, tabulate and plot.

An ablation answers "what does each regularizer add, alone and combined?" by
training the same model under every configuration with several seeds and
comparing the configurations seed by seed. This module keeps that loop small,
restartable and parallel:

- a :class:`Config` names one configuration and builds, from a seed, the
  model, its optimizer and the extra :func:`reglab.train.fit` arguments;
- :func:`run_ablation` trains every (configuration, seed) pair, here or on
  any ``concurrent.futures.Executor`` (a process pool, a Dask cluster), scores
  every model with the *same* loss and metrics on the validation (and test)
  batches, and saves the results to a JSON file after each run, so an
  interrupted ablation resumes where it stopped; a run that fails is retried,
  then reported by its configuration and seed;
- :class:`AblationResults` tabulates mean and spread per configuration, and
  ``AblationResults.compare`` tests paired differences with Holm's
  correction (the statistics are :mod:`reglab.stats`);
- :func:`seed_averaged_objective` turns the runner into an Optuna objective
  whose value is a mean over seeds;
- :func:`plot_ablation` draws the table as points with error bars.

References:
    Bouthillier et al. (2021), "Accounting for variance in machine learning
    benchmarks", MLSys: why a comparison needs several seeds and its spread.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from torch import nn

from reglab._validation import check_int, parameter_error
from reglab.metrics import accuracy
from reglab.parallel import run_tasks
from reglab.stats import Comparison, holm, paired_test
from reglab.train import evaluate, fit
from reglab.utils import seed_everything

# Comparison and holm live in reglab.stats (documented there) and are imported here for compatibility
__all__ = ["Config", "AblationResults", "AblationError", "run_ablation", "seed_averaged_objective",
           "plot_ablation"]

FORMAT = "reglab.ablation/1"  # written into every results file, checked on reading

Built = tuple[nn.Module, torch.optim.Optimizer, dict[str, Any]]


@dataclass(frozen=True)
class Config:
    """One configuration of an ablation: a name and ``build(seed) -> (model, optimizer, fit_kwargs)``.

    ``fit_kwargs`` are passed on to :func:`reglab.train.fit` (``loss_fn``,
    ``batch_transform``, ``penalty``, ``scheduler``, ...); ``{}`` for none.

    Example:
        >>> Config("none", lambda seed: (nn.Linear(2, 2), None, {})).name
        'none'
    """

    name: str
    build: Callable[[int], Built]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(parameter_error("name", "Config", "a non-empty str", self.name))
        if not callable(self.build):
            raise TypeError(parameter_error("build", "Config", "a callable build(seed)", self.build))


class AblationError(RuntimeError):
    """Runs of an ablation failed every attempt; ``results`` holds the runs that finished and the failures."""

    def __init__(self, results: AblationResults) -> None:
        self.results = results
        lines = [f"  ({config!r}, seed {seed}): {error}" for (config, seed), error in results.failures.items()]
        super().__init__(f"{len(lines)} run(s) failed every attempt (the finished runs are kept; run the "
                         "ablation again to retry only these):\n" + "\n".join(lines))


@dataclass
class AblationResults:
    """The final metrics of every (configuration, seed) run, in configuration order.

    ``runs[(config, seed)]`` is a dict of metric name to value. The spread is
    the sample standard deviation over seeds (``ddof=1``; 0 for one seed).
    ``failures[(config, seed)]`` names the error of each run that failed every
    attempt.

    Example:
        >>> r = AblationResults(["a"], [0, 1], {("a", 0): {"acc": 0.5}, ("a", 1): {"acc": 0.7}})
        >>> r.table()["a"]["acc"]
        (0.6, 0.1414)
    """

    configs: list[str]
    seeds: list[int]
    runs: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)
    failures: dict[tuple[str, int], str] = field(default_factory=dict)

    @property
    def metrics(self) -> list[str]:
        """The metric names recorded in every run."""
        names = [set(run) for run in self.runs.values()]
        return sorted(set.intersection(*names)) if names else []

    def values(self, config: str, metric: str) -> np.ndarray:
        """The values of ``metric`` for ``config``, one per seed that has run, shape ``(S,)``."""
        if config not in self.configs:
            raise ValueError(parameter_error("config", "AblationResults", f"one of {self.configs}", config))
        if metric not in self.metrics:
            raise ValueError(parameter_error("metric", "AblationResults", f"one of {self.metrics}", metric))
        return np.array([self.runs[(config, s)][metric] for s in self.seeds if (config, s) in self.runs])

    def table(self, digits: int = 4) -> dict[str, dict[str, tuple[float, float]]]:
        """``{config: {metric: (mean, std)}}``, rounded to ``digits`` decimals."""
        digits = check_int(digits, "digits", "AblationResults.table", low=0)
        table = {}
        for config in self.configs:
            row = {}
            for metric in self.metrics:
                v = self.values(config, metric)
                std = float(v.std(ddof=1)) if len(v) > 1 else 0.0
                row[metric] = (round(float(v.mean()), digits), round(std, digits))
            table[config] = row
        return table

    def summary(self, metrics: Sequence[str] | None = None, digits: int = 3) -> str:
        """A text table: one line per configuration, ``mean ± std`` per metric."""
        metrics = list(metrics) if metrics is not None else self.metrics
        table = self.table(digits)
        width = max(len("config"), *(len(c) for c in self.configs))
        cells = {c: [f"{table[c][m][0]:.{digits}f} ± {table[c][m][1]:.{digits}f}" for m in metrics] for c in self.configs}
        widths = [max(len(m), *(len(cells[c][j]) for c in self.configs)) for j, m in enumerate(metrics)]
        lines = ["  ".join([f"{'config':{width}s}", *(f"{m:>{w}s}" for m, w in zip(metrics, widths))])]
        for c in self.configs:
            lines.append("  ".join([f"{c:{width}s}", *(f"{s:>{w}s}" for s, w in zip(cells[c], widths))]))
        return "\n".join(lines)

    def compare(
        self, metric: str, baseline: str | None = None, configs: Sequence[str] | None = None, *, alpha: float = 0.05
    ) -> list[Comparison]:
        """Paired t-tests of each of ``configs`` against ``baseline``, Holm-corrected together.

        Seeds pair the runs: seed ``s`` of both configurations starts from the
        same initialization and batch order, so the difference of a pair
        cancels much of the seed-to-seed noise. The comparisons made in one
        call are one family for :func:`reglab.stats.holm`.

        Args:
            metric (str): a recorded metric, e.g. ``"test_accuracy"``.
            baseline (str, optional): Default: the first configuration.
            configs (sequence of str, optional): Default: all the others.
            alpha (float): the family-wise error rate, in (0, 1). Default: 0.05.

        Example:
            >>> runs = {("a", s): {"acc": v} for s, v in enumerate([0.50, 0.60, 0.70])}
            >>> runs |= {("b", s): {"acc": v} for s, v in enumerate([0.60, 0.71, 0.79])}
            >>> c, = AblationResults(["a", "b"], [0, 1, 2], runs).compare("acc")
            >>> round(c.diff, 3), round(c.se, 4), c.verdict
            (0.1, 0.0058, 'higher')
        """
        owner = "AblationResults.compare"
        baseline = self.configs[0] if baseline is None else baseline
        configs = [c for c in self.configs if c != baseline] if configs is None else list(configs)
        if baseline not in self.configs:
            raise ValueError(parameter_error("baseline", owner, f"one of {self.configs}", baseline))
        for name in configs:
            if name not in self.configs:
                raise ValueError(parameter_error("configs", owner, f"names among {self.configs}", name))
        return holm([self._paired(c, baseline, metric) for c in configs], alpha=alpha)

    def _paired(self, config: str, baseline: str, metric: str) -> Comparison:
        self.values(config, metric)  # checks both names
        seeds = [s for s in self.seeds if (config, s) in self.runs and (baseline, s) in self.runs]
        if len(seeds) < 2:
            raise ValueError(f"comparing {config!r} with {baseline!r} needs at least 2 seeds that both ran; "
                             f"got {len(seeds)}.")
        return paired_test([self.runs[(config, s)][metric] for s in seeds],
                           [self.runs[(baseline, s)][metric] for s in seeds], config=config, baseline=baseline,
                           metric=metric)


def run_ablation(
    configs: Sequence[Config],
    seeds: Sequence[int],
    train: Iterable | Callable[[int], Iterable],
    val: Iterable | Callable[[int], Iterable],
    *,
    epochs: int,
    test: Iterable | Callable[[int], Iterable] | None = None,
    results_path: str | Path | None = None,
    metrics: Mapping[str, Callable] | None = None,
    trainer: Callable = fit,
    executor: Executor | None = None,
    retries: int = 1,
) -> AblationResults:
    """Train every configuration with every seed; return (and save) the final validation (and test) metrics.

    For each (configuration, seed) not already in ``results_path``: seed
    everything with :func:`~reglab.utils.seed_everything`, build the model,
    train it with ``trainer(model, batches, epochs=..., optimizer=...,
    progress=False, **fit_kwargs)``, then score it on ``val`` (and ``test``)
    with plain cross-entropy (``val_loss``) and ``metrics`` (``val_<name>``),
    whatever loss it trained with, and record the training time
    (``seconds``).

    The runs go one after the other here, or all at once to ``executor``;
    the results are the same either way (each run depends only on its seed).
    Only this process, the driver, writes the results file: after every
    finished run. A run that raises, or whose worker dies, is retried
    ``retries`` times; if it still fails, the other runs go on, and an
    :class:`AblationError` then names every failed (configuration, seed).

    Args:
        configs (sequence of Config): the configurations, names unique.
        seeds (sequence of int): the seeds, each >= 0 and unique.
        train (iterable or callable): the training batches, or
            ``train(seed)`` returning them where the run runs (so that each
            seed shuffles its own way, a resumed run sees the same batches,
            and a worker can read its data from a file instead of receiving
            it).
        val (iterable or callable): validation batches ``(x, y)``, or
            ``val(seed)`` returning them.
        epochs (int): epochs per run, >= 1.
        test (iterable or callable, optional): test batches, scored as
            ``test_loss`` and ``test_<name>``. Default: None.
        results_path (str or Path, optional): JSON file to resume from and
            save to; ``None`` keeps everything in memory. Default: None.
        metrics (mapping, optional): name to ``metric(logits, y)``.
            Default: ``{"accuracy": accuracy}``.
        trainer (callable): the training function. Default: :func:`reglab.train.fit`.
        executor (Executor, optional): where the runs go, e.g.
            ``ProcessPoolExecutor(2)`` or Dask's ``Client.get_executor()``;
            everything it runs must be picklable (cloudpickle, which comes
            with Dask, sends notebook functions too). Default: None, here.
        retries (int): extra attempts for a failed run, >= 0. Default: 1.

    Returns:
        AblationResults: the runs, in the order of ``configs`` and ``seeds``.

    Raises:
        ValueError: if ``results_path`` is not a results file, or was written
            for a different number of epochs or other configurations.
        AblationError: if runs failed every attempt (the others are saved).
    """
    owner = "run_ablation"
    configs = list(configs)
    if not configs or not all(isinstance(c, Config) for c in configs):
        raise TypeError(parameter_error("configs", owner, "a non-empty sequence of Config", configs))
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise ValueError(parameter_error("configs", owner, "configurations with unique names", names))
    seeds = [check_int(s, "seeds", owner, low=0) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(parameter_error("seeds", owner, "a non-empty sequence of unique ints", seeds))
    epochs = check_int(epochs, "epochs", owner, low=1)
    metrics = dict(metrics) if metrics is not None else {"accuracy": accuracy}
    path = Path(results_path) if results_path is not None else None
    results = AblationResults(names, seeds, _load(path, epochs, names) if path is not None else {})
    pending = {(c.name, s): (c.build, s, train, val, test, epochs, metrics, trainer)
               for c in configs for s in seeds if (c.name, s) not in results.runs}  # finished runs are kept

    def record(key: tuple[str, int], scores: dict[str, float]) -> None:
        results.runs[key] = scores
        results.failures.pop(key, None)
        if path is not None:
            _save(path, epochs, results)

    _, failures = run_tasks(_run_one, pending, executor=executor, retries=retries, on_result=record)
    order = [(c, s) for c in names for s in seeds]
    results.runs = {k: results.runs[k] for k in [*order, *results.runs] if k in results.runs}  # grid order first
    results.failures = {key: f"{type(error).__name__}: {error}" for key, error in failures.items()}
    if failures:
        if path is not None:
            _save(path, epochs, results)
        raise AblationError(results) from next(iter(failures.values()))
    return results


def _run_one(build: Callable[[int], Built], seed: int, train, val, test, epochs: int,
             metrics: dict[str, Callable], trainer: Callable) -> dict[str, float]:
    """One run, wherever it runs: seed, build, train, score."""
    seed_everything(seed)
    model, optimizer, fit_kwargs = build(seed)
    batches = train(seed) if callable(train) else train
    history = trainer(model, batches, epochs=epochs, optimizer=optimizer, progress=False, **fit_kwargs)
    record = {}
    for split, data in (("val", val), ("test", test)):
        if data is not None:
            scores = evaluate(model, data(seed) if callable(data) else data, loss_fn=F.cross_entropy, metrics=metrics)
            record |= {f"{split}_{k}": v for k, v in scores.items()}
    record["seconds"] = float(sum(history["seconds"])) if "seconds" in history else math.nan
    return record


def seed_averaged_objective(
    suggest: Callable[[Any], Config],
    seeds: Sequence[int],
    train: Iterable | Callable[[int], Iterable],
    val: Iterable | Callable[[int], Iterable],
    *,
    epochs: int,
    metric: str = "val_accuracy",
    metrics: Mapping[str, Callable] | None = None,
    trainer: Callable = fit,
) -> Callable[[Any], float]:
    """An Optuna objective whose value is the mean of ``metric`` over ``seeds``.

    ``objective(trial)`` builds a :class:`Config` with ``suggest(trial)``,
    trains it with every seed (:func:`run_ablation`, one run after the other)
    and returns

    .. math::
        v(\\text{trial}) = \\frac{1}{S} \\sum_{s=1}^{S} m_s,

    storing the per-seed values in ``trial.user_attrs["values"]``, so the
    ranking noise between trials can be read from the study afterwards. One
    seed cannot rank trials whose differences are smaller than the
    seed-to-seed spread; a mean over :math:`S` seeds shrinks that spread by
    :math:`\\sqrt S`.

    Args:
        suggest (callable): ``suggest(trial) -> Config``, calling
            ``trial.suggest_float`` and friends.
        seeds (sequence of int): the seeds every trial is trained with.
        train (iterable or callable): as for :func:`run_ablation`.
        val (iterable or callable): as for :func:`run_ablation`.
        epochs (int): epochs per run, >= 1.
        metric (str): the recorded metric to average. Default: ``"val_accuracy"``.
        metrics (mapping, optional): as for :func:`run_ablation`.
        trainer (callable): the training function. Default: :func:`reglab.train.fit`.
    """
    if not callable(suggest):
        raise TypeError(parameter_error("suggest", "seed_averaged_objective", "a callable suggest(trial)", suggest))
    seeds = list(seeds)
    epochs = check_int(epochs, "epochs", "seed_averaged_objective", low=1)
    return partial(_objective, suggest, seeds, train, val, epochs, metric, metrics, trainer)


def _objective(suggest, seeds, train, val, epochs, metric, metrics, trainer, trial) -> float:
    config = suggest(trial)
    results = run_ablation([config], seeds, train, val, epochs=epochs, metrics=metrics, trainer=trainer, retries=0)
    values = [float(v) for v in results.values(config.name, metric)]
    trial.set_user_attr("values", values)
    return float(np.mean(values))


def _save(path: Path, epochs: int, results: AblationResults) -> None:
    runs = [{"config": c, "seed": s, "metrics": m} for (c, s), m in results.runs.items()]
    failures = [{"config": c, "seed": s, "error": e} for (c, s), e in results.failures.items()]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"format": FORMAT, "epochs": epochs, "runs": runs, "failures": failures}, indent=1))
    os.replace(tmp, path)  # atomic: an interruption leaves the old file or the new one, never half of one


def _load(path: Path, epochs: int, names: list[str]) -> dict[tuple[str, int], dict[str, float]]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        if data["format"] != FORMAT:
            raise KeyError("format")
        runs = {(r["config"], int(r["seed"])): {k: float(v) for k, v in r["metrics"].items()} for r in data["runs"]}
        saved_epochs = data["epochs"]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"{path} is not an ablation results file ({FORMAT}): {error!r}. "
                         "Delete it or choose another results_path.") from error
    if saved_epochs != epochs:
        raise ValueError(f"{path} holds runs of {saved_epochs} epochs, not {epochs}: "
                         "delete it or choose another results_path.")
    unknown = sorted({c for c, _ in runs} - set(names))
    if unknown:
        raise ValueError(f"{path} holds runs of configurations {unknown} that are not in this ablation "
                         f"({names}): delete it or choose another results_path.")
    return runs


def plot_ablation(results: AblationResults, metric: str, ax: Axes | None = None, *, title: str | None = None) -> Axes:
    """Mean ± std of ``metric`` per configuration, one row each, with the seeds as dots.

    The first configuration is the baseline: a dotted vertical line marks its mean.

    Args:
        results (AblationResults): what :func:`run_ablation` returned.
        metric (str): a recorded metric, e.g. ``"val_accuracy"``.
        ax (Axes, optional): where to draw; a new figure if None.
        title (str, optional): the plot's title.
    """
    if not isinstance(results, AblationResults):
        raise TypeError(parameter_error("results", "plot_ablation", "an AblationResults", type(results).__name__))
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 0.4 * len(results.configs) + 1.2))
    elif not isinstance(ax, Axes):
        raise TypeError(parameter_error("ax", "plot_ablation", "a matplotlib Axes or None", type(ax).__name__))
    table = results.table(digits=12)
    rows = np.arange(len(results.configs))[::-1]  # first configuration at the top
    means = np.array([table[c][metric][0] for c in results.configs])  # (configs,)
    stds = np.array([table[c][metric][1] for c in results.configs])
    for row, config in zip(rows, results.configs):
        v = results.values(config, metric)
        ax.scatter(v, np.full(len(v), row), s=12, color="gray", alpha=0.6, zorder=1)
    ax.errorbar(means, rows, xerr=stds, fmt="o", capsize=4, color="C0", zorder=2, label="mean ± std over seeds")
    ax.axvline(means[0], color="C3", linestyle=":", label=f"{results.configs[0]} (mean)")
    ax.set_yticks(rows, results.configs)
    ax.set_xlabel(metric)
    ax.set_ylabel("configuration")
    ax.legend(loc="best", fontsize="small")
    if title:
        ax.set_title(title)
    return ax
