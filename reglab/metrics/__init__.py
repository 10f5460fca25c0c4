"""Metrics. Every metric returns a tensor on its inputs' device, so a training
loop can accumulate it without a host round trip per batch."""

from reglab.metrics.bias_variance import bias_variance_decomposition
from reglab.metrics.classification import accuracy

__all__ = ["accuracy", "bias_variance_decomposition"]
