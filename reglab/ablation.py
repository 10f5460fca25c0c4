"""Ablations: train a grid of regularizer configurations over several seeds, tabulate and plot.

An ablation answers "what does each regularizer add, alone and combined?" by
training the same model under every configuration with several seeds and
comparing the mean of a final metric with its spread over seeds. This module
keeps that loop small and restartable:

- a :class:`Config` names one configuration and builds, from a seed, the
  model, its optimizer and the extra :func:`reglab.train.fit` arguments;
- :func:`run_ablation` trains every (configuration, seed) pair, scores every
  model with the *same* loss and metrics on the validation batches, and
  saves the results to a JSON file after each run, so an interrupted ablation
  resumes where it stopped (finished runs are read back, not retrained);
- :class:`AblationResults` tabulates mean and spread per configuration;
- :func:`plot_ablation` draws them as points with error bars.

References:
    Bouthillier et al. (2021), "Accounting for variance in machine learning
    benchmarks", MLSys: why a comparison needs several seeds and its spread.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
from reglab.train import evaluate, fit
from reglab.utils import seed_everything

__all__ = ["Config", "AblationResults", "run_ablation", "plot_ablation"]

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


@dataclass
class AblationResults:
    """The final metrics of every (configuration, seed) run, in configuration order.

    ``runs[(config, seed)]`` is a dict of metric name to value. The spread is
    the sample standard deviation over seeds (``ddof=1``; 0 for one seed).

    Example:
        >>> r = AblationResults(["a"], [0, 1], {("a", 0): {"acc": 0.5}, ("a", 1): {"acc": 0.7}})
        >>> r.table()["a"]["acc"]
        (0.6, 0.1414)
    """

    configs: list[str]
    seeds: list[int]
    runs: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)

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


def run_ablation(
    configs: Sequence[Config],
    seeds: Sequence[int],
    train: Iterable | Callable[[int], Iterable],
    val: Iterable,
    *,
    epochs: int,
    results_path: str | Path | None = None,
    metrics: Mapping[str, Callable] | None = None,
    trainer: Callable = fit,
) -> AblationResults:
    """Train every configuration with every seed; return (and save) the final validation metrics.

    For each (configuration, seed) not already in ``results_path``: seed
    everything with :func:`~reglab.utils.seed_everything`, build the model,
    train it with ``trainer(model, batches, epochs=..., optimizer=...,
    progress=False, **fit_kwargs)``, then score it on ``val`` with plain
    cross-entropy (``val_loss``) and ``metrics`` (``val_<name>``), whatever loss
    it trained with, and record the training time (``seconds``). The results
    file is rewritten after every run.

    Args:
        configs (sequence of Config): the configurations, names unique.
        seeds (sequence of int): the seeds, each >= 0 and unique.
        train (iterable or callable): the training batches, or
            ``train(seed)`` returning them (so that each seed shuffles its own
            way and a resumed run sees the same batches).
        val (iterable): validation batches ``(x, y)``.
        epochs (int): epochs per run, >= 1.
        results_path (str or Path, optional): JSON file to resume from and
            save to; ``None`` keeps everything in memory. Default: None.
        metrics (mapping, optional): name to ``metric(logits, y)``.
            Default: ``{"accuracy": accuracy}``.
        trainer (callable): the training function. Default: :func:`reglab.train.fit`.

    Returns:
        AblationResults: the runs, in the order of ``configs`` and ``seeds``.

    Raises:
        ValueError: if ``results_path`` is not a results file, or was written
            for a different number of epochs or other configurations.
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
    for config in configs:
        for seed in seeds:
            if (config.name, seed) in results.runs:
                continue  # finished before an interruption: keep it
            seed_everything(seed)
            model, optimizer, fit_kwargs = config.build(seed)
            batches = train(seed) if callable(train) else train
            history = trainer(model, batches, epochs=epochs, optimizer=optimizer, progress=False, **fit_kwargs)
            scores = evaluate(model, val, loss_fn=F.cross_entropy, metrics=metrics)
            record = {f"val_{k}": v for k, v in scores.items()}
            record["seconds"] = float(sum(history["seconds"])) if "seconds" in history else math.nan
            results.runs[(config.name, seed)] = record
            if path is not None:
                _save(path, epochs, results)
    return results


def _save(path: Path, epochs: int, results: AblationResults) -> None:
    runs = [{"config": c, "seed": s, "metrics": m} for (c, s), m in results.runs.items()]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"format": FORMAT, "epochs": epochs, "runs": runs}, indent=1))
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
