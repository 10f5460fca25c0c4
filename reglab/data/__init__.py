"""Data: synthetic sets with a known truth, real image sets, and a loader on the device."""

from reglab.data.datasets import (
    DatasetUnavailableError,
    default_data_dir,
    load_cifar10,
    load_digits,
)
from reglab.data.fashion_mnist import FASHION_MNIST_CLASSES, fashion_mnist_folder, load_fashion_mnist
from reglab.data.loader import DeviceLoader
from reglab.data.synthetic import make_moons, make_polynomial, make_sparse_regression, polynomial_value

__all__ = [
    "make_polynomial",
    "polynomial_value",
    "make_moons",
    "make_sparse_regression",
    "load_digits",
    "load_cifar10",
    "load_fashion_mnist",
    "fashion_mnist_folder",
    "FASHION_MNIST_CLASSES",
    "default_data_dir",
    "DatasetUnavailableError",
    "DeviceLoader",
]
