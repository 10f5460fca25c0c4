"""The decision regions of a classifier of 2-D points."""

from __future__ import annotations

import torch
from matplotlib.axes import Axes
from torch import nn

from reglab._validation import check_int, check_real, check_tensor, parameter_error
from reglab.plots._axes import axes_or_new

__all__ = ["plot_decision_boundary"]


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
        resolution (int): grid points per axis, at least 2. Default: 200.
        margin (float): how far the grid extends beyond the data, >= 0. Default: 0.5.
        ax (Axes, optional): where to draw.
        title (str, optional): the plot's title.
    """
    check_tensor(x, "x", "plot_decision_boundary", ndim=2, floating=True)
    if x.shape[1] != 2:
        raise ValueError(parameter_error("x", "plot_decision_boundary", "points of shape (N, 2)", tuple(x.shape)))
    resolution = check_int(resolution, "resolution", "plot_decision_boundary", low=2)
    margin = check_real(margin, "margin", "plot_decision_boundary", low=0.0)
    ax = axes_or_new(ax, figsize=(4.5, 4.0))
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
