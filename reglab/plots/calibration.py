"""Reliability diagrams: accuracy against confidence, bin by bin.

Paper:
    - C. Guo, G. Pleiss, Y. Sun, K. Q. Weinberger. "On Calibration of Modern
      Neural Networks." ICML 2017 (figure 1).
"""

from __future__ import annotations

import torch
from matplotlib.axes import Axes

from reglab.metrics.calibration import expected_calibration_error, reliability_data
from reglab.plots._axes import axes_or_new

__all__ = ["plot_reliability_diagram"]


def plot_reliability_diagram(
    probs: torch.Tensor,
    target: torch.Tensor,
    n_bins: int = 15,
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Bars of accuracy per confidence bin, the gap to the bin's mean confidence hatched, ECE in the legend.

    A perfectly calibrated model's bars reach the diagonal; bars below it mean
    over-confidence, bars above it under-confidence. Empty bins draw no bar.

    Args:
        probs (Tensor): predicted class probabilities, shape :math:`(N, K)`.
        target (Tensor): true class indices, shape :math:`(N,)`.
        n_bins (int): number of equal-width bins. Default: 15.
        ax (Axes, optional): where to draw.
        title (str, optional): the plot's title.

    Returns:
        Axes: the axes drawn on; its first container holds the accuracy bars.
    """
    data = reliability_data(probs, target, n_bins)
    ece = expected_calibration_error(probs, target, n_bins)
    edges, confidence, accuracy, count = (t.detach().cpu().double().numpy() for t in data)  # (M+1,), (M,), (M,), (M,)
    filled = count > 0
    left, width = edges[:-1][filled], (edges[1:] - edges[:-1])[filled]
    ax = axes_or_new(ax, figsize=(4.0, 4.0))
    ax.bar(left, accuracy[filled], width=width, align="edge", color="tab:blue", edgecolor="black", linewidth=0.5,
           label=f"accuracy (ECE = {ece.item():.3f})")
    gap = confidence[filled] - accuracy[filled]  # > 0: over-confident, < 0: under-confident
    ax.bar(left, gap, bottom=accuracy[filled], width=width, align="edge", fill=False, hatch="///",
           edgecolor="tab:red", linewidth=0.5, label="gap to mean confidence")
    ax.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (top probability)")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize="small", loc="best")
    if title:
        ax.set_title(title)
    return ax
