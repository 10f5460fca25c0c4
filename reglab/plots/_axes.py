"""Every plot draws on the Axes it is given, or on a new figure's."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from reglab._validation import parameter_error


def axes_or_new(ax: Axes | None, figsize: tuple[float, float] = (5.0, 3.5)) -> Axes:
    """``ax`` itself, or the Axes of a new ``figsize`` figure when ``ax`` is None."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    elif not isinstance(ax, Axes):
        raise TypeError(parameter_error("ax", "reglab.plots", "a matplotlib Axes or None", type(ax).__name__))
    return ax
