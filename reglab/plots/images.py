"""Grids of images, one named row per batch (augmentations, adversarial examples)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from reglab._validation import check_tensor, parameter_error

__all__ = ["plot_image_grid"]


def plot_image_grid(
    rows: Mapping[str, torch.Tensor], *, titles: Sequence[str] | None = None, cmap: str = "gray_r"
) -> np.ndarray:
    """One row of images per entry of ``rows``, the entry's name at its left.

    Args:
        rows (mapping of str to Tensor): name to a batch of images in [0, 1],
            shape :math:`(N, C, H, W)` with :math:`C` 1 (grey) or 3 (colour).
            Every row shows as many images as the shortest batch holds.
        titles (sequence of str, optional): a title above each column (class
            names, say), one per image shown in a row. Default: None.
        cmap (str): colour map of grey images. Default: "gray_r".

    Returns:
        The grid of Axes, shape (rows, images).

    Example:
        >>> axes = plot_image_grid({"noise": torch.rand(3, 1, 8, 8)}, titles=["a", "b", "c"])
        >>> axes.shape, axes[0, 2].get_title()
        ((1, 3), 'c')
    """
    owner = "plot_image_grid"
    if not rows:
        raise ValueError(parameter_error("rows", owner, "a non-empty mapping of names to image batches", rows))
    for name, images in rows.items():
        check_tensor(images, "rows", owner, ndim=4)
        if images.shape[1] not in (1, 3):
            raise ValueError(parameter_error("rows", owner, "batches with 1 or 3 channels", f"{name!r}: shape {tuple(images.shape)}"))
    n = min(len(images) for images in rows.values())
    if titles is not None:
        if isinstance(titles, str) or not all(isinstance(title, str) for title in titles):
            raise TypeError(parameter_error("titles", owner, "a sequence of str", titles))
        if len(titles) != n:
            raise ValueError(parameter_error("titles", owner, f"one title per column ({n})", f"{len(titles)} titles"))
    _, axes = plt.subplots(len(rows), n, figsize=(1.1 * n, 1.2 * len(rows)), squeeze=False)
    for r, (name, images) in enumerate(rows.items()):
        for c in range(n):
            image = images[c].detach().cpu().clamp(0, 1)  # (C, H, W)
            shown = image[0] if image.shape[0] == 1 else image.permute(1, 2, 0)  # (H, W) or (H, W, 3)
            axes[r, c].imshow(shown.numpy(), cmap=cmap, vmin=0, vmax=1)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center")
    for c, title in enumerate(titles or []):
        axes[0, c].set_title(title, fontsize="small")
    plt.tight_layout()
    return axes
