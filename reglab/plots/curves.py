"""Curves over training or over a hyperparameter: learning curves, fitted curves, metric curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from matplotlib.axes import Axes

from reglab._validation import parameter_error
from reglab.plots._axes import axes_or_new
from reglab.train.history import History

__all__ = ["plot_learning_curves", "plot_fitted_curves", "plot_metric_curve"]


def plot_learning_curves(history: History, metric: str = "loss", *, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Train and validation ``metric`` per epoch, from a :class:`~reglab.train.History`.

    Args:
        history (History): what :func:`reglab.train.fit` returned.
        metric (str): ``"loss"`` or a metric name given to ``fit``. Default: "loss".
        ax (Axes, optional): where to draw.
        title (str, optional): the plot's title.
    """
    if not isinstance(history, History):
        raise TypeError(parameter_error("history", "plot_learning_curves", "a reglab.train.History", type(history).__name__))
    keys = [f"{split}_{metric}" for split in ("train", "val") if f"{split}_{metric}" in history]
    if not keys:
        raise ValueError(parameter_error("metric", "plot_learning_curves", f"a metric the history holds ({sorted(history.metrics)})", metric))
    ax = axes_or_new(ax)
    for key in keys:
        values = history[key]
        ax.plot(range(1, len(values) + 1), values, label=key.split("_")[0])
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def plot_fitted_curves(
    x: torch.Tensor,
    y: torch.Tensor,
    grid: torch.Tensor,
    curves: Mapping[str, torch.Tensor],
    *,
    truth: torch.Tensor | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Training points, the true function and fitted curves of a 1-D regression.

    Args:
        x, y (Tensor): training points, shape :math:`(N,)` or :math:`(N, 1)`.
        grid (Tensor): where the curves are evaluated, shape :math:`(G,)` or :math:`(G, 1)`.
        curves (mapping of str to Tensor): label to values on ``grid``.
        truth (Tensor, optional): the noise-free function on ``grid``.
    """
    ax = axes_or_new(ax)
    ax.scatter(x.detach().cpu().reshape(-1), y.detach().cpu().reshape(-1), s=14, color="black", label="training data", zorder=3)
    grid_cpu = grid.detach().cpu().reshape(-1)
    if truth is not None:
        ax.plot(grid_cpu, truth.detach().cpu().reshape(-1), "k--", linewidth=1.5, label="true function")
    for label, values in curves.items():
        ax.plot(grid_cpu, values.detach().cpu().reshape(-1), linewidth=2, label=label)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def plot_metric_curve(
    x: Sequence[float],
    series: Mapping[str, Sequence[float]],
    *,
    bands: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
    xlabel: str = "",
    ylabel: str = "",
    logx: bool = False,
    logy: bool = False,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """One or more metrics against a knob (degree, data size, epochs), with optional shaded bands.

    Args:
        x (sequence of float): the knob's values.
        series (mapping of str to sequence): label to one value per ``x``.
        bands (mapping of str to (low, high), optional): label to the lower and
            upper edge of a shaded band per ``x``, such as mean ± std or the
            interquartile range over seeds.
        xlabel, ylabel (str): axis labels.
        logx, logy (bool): logarithmic axes. Default: False.
    """
    ax = axes_or_new(ax)
    xs = list(x)
    for label, values in series.items():
        values = list(values)
        if len(values) != len(xs):
            raise ValueError(parameter_error("series", "plot_metric_curve", f"{len(xs)} values per series", f"{len(values)} for {label!r}"))
        (line,) = ax.plot(xs, values, marker="o", markersize=3, label=label)
        if bands and label in bands:
            low, high = bands[label]
            ax.fill_between(xs, list(low), list(high), color=line.get_color(), alpha=0.2)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return ax
