"""reglab: the small, tested PyTorch package behind the Regularization Lab course.

Modules (one idea each):

- :mod:`reglab.data`: synthetic and real data sets, and a loader on the device
- :mod:`reglab.train`: one training loop with hooks for regularizers
- :mod:`reglab.models`: the small models the chapters share
- :mod:`reglab.metrics`: accuracy, bias–variance decomposition
- :mod:`reglab.plots`: the course's figures
- :mod:`reglab.utils`: seeding and device choice
"""

from reglab import data, metrics, models, plots, train, utils

__version__ = "0.1.0"

__all__ = ["data", "metrics", "models", "plots", "train", "utils", "__version__"]
