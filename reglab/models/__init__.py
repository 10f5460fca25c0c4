"""The small models the chapters share."""

from reglab.models.cnn import SmallCNN
from reglab.models.mlp import MLP
from reglab.models.polynomial import fit_polynomial, polynomial_features

__all__ = ["MLP", "SmallCNN", "polynomial_features", "fit_polynomial"]
