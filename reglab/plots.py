"""The course's figures: learning curves, fitted curves, metric curves, decision boundaries.

Each function draws on a Matplotlib ``Axes`` (a new figure if none is given)
and returns it, so a chapter can put several plots side by side and a test can
inspect what was drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from torch import nn

from reglab._validation import check_int, check_tensor, parameter_error
from reglab.train.history import History

__all__ = [
    "plot_learning_curves",
    "plot_fitted_curves",
    "plot_metric_curve",
    "plot_decision_boundary",
    "plot_image_grid",
    "plot_reliability_diagram",
]


def _axes(ax: Axes | None, figsize: tuple[float, float] = (5.0, 3.5)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    elif not isinstance(ax, Axes):
        raise TypeError(parameter_error("ax", "reglab.plots", "a matplotlib Axes or None", type(ax).__name__))
    return ax


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
    ax = _axes(ax)
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
    ax = _axes(ax)
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
    ax = _axes(ax)
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


@torch.no_grad()
def plot_decision_boundary(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    resolution: int = 200,
    margin: float = 0.5,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """The regions a 2-D classifier assigns to each class, with the data on top.

    The model is evaluated in eval mode on a ``resolution`` × ``resolution``
    grid covering the data plus ``margin``; its train/eval mode is restored.

    Args:
        model (nn.Module): maps :math:`(N, 2)` inputs to :math:`(N, K)` logits.
        x (Tensor): points, shape :math:`(N, 2)`.
        y (Tensor): labels, shape :math:`(N,)`.
    """
    check_tensor(x, "x", "plot_decision_boundary", ndim=2, floating=True)
    if x.shape[1] != 2:
        raise ValueError(parameter_error("x", "plot_decision_boundary", "points of shape (N, 2)", tuple(x.shape)))
    resolution = check_int(resolution, "resolution", "plot_decision_boundary", low=2)
    ax = _axes(ax, figsize=(4.5, 4.0))
    x_cpu, y_cpu = x.detach().cpu(), y.detach().cpu()
    low, high = x_cpu.min(dim=0).values - margin, x_cpu.max(dim=0).values + margin
    u = torch.linspace(low[0].item(), high[0].item(), resolution)
    v = torch.linspace(low[1].item(), high[1].item(), resolution)
    uu, vv = torch.meshgrid(u, v, indexing="xy")  # (R, R) each
    grid = torch.stack([uu.reshape(-1), vv.reshape(-1)], dim=1)  # (R*R, 2)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        labels = model(grid.to(device)).argmax(dim=1).cpu().reshape(resolution, resolution)
    finally:
        model.train(was_training)
    levels = [k - 0.5 for k in range(int(labels.max()) + 2)]  # one band per class
    ax.contourf(uu, vv, labels, alpha=0.25, cmap="coolwarm", levels=levels)
    ax.scatter(x_cpu[:, 0], x_cpu[:, 1], c=y_cpu, s=10, cmap="coolwarm", edgecolors="k", linewidths=0.3)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax


def plot_image_grid(rows: Mapping[str, torch.Tensor], *, cmap: str = "gray_r") -> np.ndarray:
    """One row of images per entry of ``rows``, the entry's name at its left.

    Args:
        rows (mapping of str to Tensor): name to a batch of images in [0, 1],
            shape :math:`(N, C, H, W)` with :math:`C` 1 (grey) or 3 (colour).
            Every row shows as many images as the shortest batch holds.
        cmap (str): colour map of grey images. Default: "gray_r".

    Returns:
        The grid of Axes, shape (rows, images).
    """
    if not rows:
        raise ValueError(parameter_error("rows", "plot_image_grid", "a non-empty mapping of names to image batches", rows))
    for name, images in rows.items():
        check_tensor(images, "rows", "plot_image_grid", ndim=4)
        if images.shape[1] not in (1, 3):
            raise ValueError(parameter_error("rows", "plot_image_grid", "batches with 1 or 3 channels", f"{name!r}: shape {tuple(images.shape)}"))
    n = min(len(images) for images in rows.values())
    _, axes = plt.subplots(len(rows), n, figsize=(1.1 * n, 1.2 * len(rows)), squeeze=False)
    for r, (name, images) in enumerate(rows.items()):
        for c in range(n):
            image = images[c].detach().cpu().clamp(0, 1)  # (C, H, W)
            shown = image[0] if image.shape[0] == 1 else image.permute(1, 2, 0)  # (H, W) or (H, W, 3)
            axes[r, c].imshow(shown.numpy(), cmap=cmap, vmin=0, vmax=1)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center")
    plt.tight_layout()
    return axes

from reglab.calibration_plots import plot_reliability_diagram  # noqa: E402  (it draws with this module's helpers)
