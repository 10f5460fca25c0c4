"""Training: one loop (``fit``) with hooks for regularizers, ``evaluate``, and ``History``."""

from reglab.train.history import History
from reglab.train.callbacks import EarlyStopping
from reglab.train.loop import Callback, evaluate, fit
from reglab.train.ema import EMA
from reglab.train.weight_noise import WeightNoise

__all__ = ["fit", "evaluate", "History", "Callback", "EarlyStopping", "EMA", "WeightNoise"]
