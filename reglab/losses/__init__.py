"""Losses: cross-entropy with soft targets, label smoothing, distillation."""
