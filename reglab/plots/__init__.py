"""The course's figures, one kind per module.

Each function draws on a Matplotlib ``Axes`` (a new figure if none is given)
and returns it, so a chapter can put several plots side by side and a test can
inspect what was drawn. ``plot_image_grid`` draws a whole figure and returns
its grid of Axes.

- ``reglab.plots.curves``: ``plot_learning_curves``, ``plot_fitted_curves``, ``plot_metric_curve``
- ``reglab.plots.boundary``: ``plot_decision_boundary``
- ``reglab.plots.images``: ``plot_image_grid``
- ``reglab.plots.calibration``: ``plot_reliability_diagram``
"""

from reglab.plots.boundary import plot_decision_boundary
from reglab.plots.calibration import plot_reliability_diagram
from reglab.plots.curves import plot_fitted_curves, plot_learning_curves, plot_metric_curve
from reglab.plots.images import plot_image_grid

__all__ = [
    "plot_learning_curves",
    "plot_fitted_curves",
    "plot_metric_curve",
    "plot_decision_boundary",
    "plot_image_grid",
    "plot_reliability_diagram",
]
