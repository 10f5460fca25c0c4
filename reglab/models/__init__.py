"""The small models the chapters share."""

from reglab.models.cnn import SmallCNN
from reglab.models.lenet import LeNet5
from reglab.models.mlp import MLP
from reglab.models.polynomial import fit_polynomial, polynomial_features
from reglab.models.resnet import ResNet
from reglab.models.rnn import TanhRNN

__all__ = ["MLP", "SmallCNN", "LeNet5", "ResNet", "TanhRNN", "polynomial_features", "fit_polynomial"]
