"""Real image data sets as tensors: digits (offline), CIFAR-10.

``load_digits`` reads the 1,797 8×8 digit images that ship with scikit-learn,
so it works anywhere. ``load_cifar10`` uses torchvision's own loader: online,
``download=True`` fetches the files once; offline, or when the files are
missing, it raises ``DatasetUnavailableError`` at once, saying where to put
the files, instead of hanging on the network. Fashion-MNIST, which Debian
packages, has its own module, :mod:`reglab.data.fashion_mnist`.

Every loader returns the whole split as two tensors, ready for
:class:`reglab.data.DeviceLoader`: images as floats in [0, 1] of shape
(N, C, H, W) and labels as int64 of shape (N,).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.error import URLError

import numpy as np
import torch

from reglab._validation import check_bool, parameter_error

__all__ = [
    "DatasetUnavailableError",
    "default_data_dir",
    "load_digits",
    "load_cifar10",
]

DOWNLOAD_TIMEOUT_S = 20.0
"""How long a download may wait on an unresponsive network before giving up."""

CIFAR10_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]


class DatasetUnavailableError(RuntimeError):
    """A data set's files are not on disk and could not be downloaded, or are corrupt."""


def default_data_dir() -> Path:
    """Where data sets live: ``$REGLAB_DATA`` if set, else ``~/.cache/reglab``."""
    return Path(os.environ.get("REGLAB_DATA", Path.home() / ".cache" / "reglab"))


def load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's handwritten digits: 1,797 images of 8×8 pixels, 10 classes.

    Pixel values (0 to 16 in the original) are divided by 16.

    Shape:
        - x: :math:`(1797, 1, 8, 8)`, float32 in [0, 1].
        - y: :math:`(1797,)`, int64 in {0, ..., 9}.

    Example:
        >>> x, y = load_digits()
        >>> tuple(x.shape), int(y.max())
        ((1797, 1, 8, 8), 9)
    """
    from sklearn.datasets import load_digits as sklearn_load_digits

    digits = sklearn_load_digits()
    x = torch.as_tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0  # (N, 1, 8, 8)
    y = torch.as_tensor(digits.target, dtype=torch.long)
    return x, y


def load_cifar10(
    root: str | Path | None = None, *, train: bool = True, download: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10 (Krizhevsky, 2009): 32×32 colour images, 10 classes.

    Args:
        root (str or Path, optional): folder holding ``cifar-10-batches-py/``.
            Default: :func:`default_data_dir`.
        train (bool): the 50,000 training images, or the 10,000 test images.
            Default: True.
        download (bool): fetch the archive (163 MB) if the files are missing.
            Default: True.

    Raises:
        DatasetUnavailableError: the files are missing and could not be
            downloaded (``download=False``, or no network).

    Shape:
        - x: :math:`(N, 3, 32, 32)`, float32 in [0, 1].
        - y: :math:`(N,)`, int64 in {0, ..., 9}.
    """
    from torchvision.datasets import CIFAR10

    root = _resolve_root(root, "load_cifar10")
    check_bool(train, "train", "load_cifar10")
    check_bool(download, "download", "load_cifar10")
    folder = root / "cifar-10-batches-py"
    _ensure_files(folder, CIFAR10_FILES, download, lambda: CIFAR10(root, download=True), "CIFAR-10",
                  "the archive cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, extracted")
    dataset = _torchvision_or_unavailable(lambda: CIFAR10(root, train=train, download=False), "CIFAR-10", folder)
    x = torch.from_numpy(np.ascontiguousarray(dataset.data)).permute(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
    return x.float() / 255.0, torch.as_tensor(dataset.targets, dtype=torch.long)


def _resolve_root(root: str | Path | None, owner: str) -> Path:
    if root is None:
        return default_data_dir()
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(parameter_error("root", owner, "a str or a path", root))
    return Path(root).expanduser()


def _missing(folder: Path, names: list[str]) -> list[str]:
    return [name for name in names if not (folder / name).is_file()]


def _ensure_files(folder: Path, names: list[str], download: bool, fetch, dataset: str, source: str) -> None:
    """Download the files if asked and missing; otherwise fail at once, clearly."""
    if not _missing(folder, names):
        return
    if download:
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # a dead network fails in seconds, not minutes
        try:
            fetch()
        except (URLError, OSError, RuntimeError) as error:
            raise DatasetUnavailableError(
                f"{dataset} could not be downloaded ({error}). Without a network, put {source} "
                f"into {folder} (files {', '.join(names)}), then call the loader again."
            ) from error
        finally:
            socket.setdefaulttimeout(previous)
    missing = _missing(folder, names)
    if missing:
        raise DatasetUnavailableError(
            f"{dataset} is not on disk: {folder} lacks {', '.join(missing)}. Call the loader with "
            f"download=True while online, or put {source} into {folder}."
        )


def _torchvision_or_unavailable(make, dataset: str, folder: Path):
    try:
        return make()
    except RuntimeError as error:  # torchvision's "Dataset not found or corrupted"
        raise DatasetUnavailableError(f"{dataset} files in {folder} are unreadable or corrupted ({error}).") from error
