"""The small models the chapters share."""

from reglab.models.cnn import SmallCNN
from reglab.models.lenet import LeNet5
from reglab.models.mlp import MLP
from reglab.models.polynomial import fit_polynomial, polynomial_features
from reglab.models.resnet import ResNet

__all__ = ["MLP", "SmallCNN", "LeNet5", "ResNet", "polynomial_features", "fit_polynomial"]
