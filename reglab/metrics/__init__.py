"""Metrics. Every metric returns a tensor on its inputs' device, so a training
loop can accumulate it without a host round trip per batch."""

from reglab.metrics.bias_variance import bias_variance_decomposition
from reglab.metrics.calibration import (
    ReliabilityData,
    brier_score,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    reliability_data,
)
from reglab.metrics.classification import accuracy
from reglab.metrics.sharpness import sharpness

__all__ = [
    "ReliabilityData",
    "accuracy",
    "bias_variance_decomposition",
    "brier_score",
    "expected_calibration_error",
    "fit_temperature",
    "negative_log_likelihood",
    "reliability_data",
    "sharpness",
]
