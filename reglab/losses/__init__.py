"""Losses: cross-entropy with soft targets, label smoothing, distillation."""

from reglab.losses.distillation import DistillationLoss, distillation_loss
from reglab.losses.label_smoothing import LabelSmoothingCrossEntropy, label_smoothing_cross_entropy, smooth_labels
from reglab.losses.soft_targets import soft_cross_entropy

__all__ = [
    "DistillationLoss",
    "LabelSmoothingCrossEntropy",
    "distillation_loss",
    "label_smoothing_cross_entropy",
    "smooth_labels",
    "soft_cross_entropy",
]
