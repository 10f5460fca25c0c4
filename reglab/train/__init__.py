"""Training: one loop (``fit``) with hooks for regularizers, ``evaluate``, and ``History``."""

from reglab.train.history import History
from reglab.train.loop import Callback, evaluate, fit

__all__ = ["fit", "evaluate", "History", "Callback"]
