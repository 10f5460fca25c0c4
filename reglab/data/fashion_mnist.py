"""Fashion-MNIST, read offline from its four idx files.

Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017) holds 70,000 greyscale 28×28
images of Zalando's clothing articles in 10 classes: 60,000 for training
(6,000 per class) and 10,000 for testing (1,000 per class), distributed as
four gzipped idx files. :func:`load_fashion_mnist` looks for them, without
any download, in this order:

1. the ``root`` argument;
2. the folder named by the ``REGLAB_DATA`` environment variable;
3. ``/usr/share/datasets/fashion-mnist/``, where Debian's package
   ``dataset-fashion-mnist`` puts them (``make install`` and ``make test``
   install it where they can);
4. ``~/.cache/reglab``, the course's data folder, where the download goes
   (in Colab, for instance).

In each folder the files may lie in the folder itself, in a ``fashion-mnist/``
subfolder, or in torchvision's ``FashionMNIST/raw/``, gzipped or not. They are
read with NumPy, and nothing is written there. A file that is not a
well-formed idx file of the expected shape raises an error naming it, rather
than giving a wrong array.

The idx format: 4 bytes of magic number (0, 0, a type code, 0x08 for unsigned
bytes, and the number of dimensions), one big-endian int32 per dimension,
then the values in row-major (C) order.

References:
    H. Xiao, K. Rasul, R. Vollgraf. Fashion-MNIST: a Novel Image Dataset for
    Benchmarking Machine Learning Algorithms. arXiv:1708.07747, 2017.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
import struct
import threading
import urllib.request
import zlib
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch

from reglab._validation import check_bool
from reglab.data.datasets import DOWNLOAD_TIMEOUT_S, DatasetUnavailableError, _resolve_root, default_data_dir

__all__ = ["FASHION_MNIST_CLASSES", "fashion_mnist_folder", "load_fashion_mnist", "read_idx"]

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
"""The 10 class names, in label order (the names of the official repository's README)."""

FASHION_MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
"""Where ``apt-get install dataset-fashion-mnist`` puts the four ``.gz`` files."""
LAYOUTS = (".", "fashion-mnist", "FashionMNIST/raw")  # inside each searched folder
DOWNLOAD_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
MD5 = {  # of the .gz files at DOWNLOAD_URL, from the official README
    "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
}
PROBE_TIMEOUT_S = 3.0
"""How long to wait for the download server to answer before calling the machine offline."""


def load_fashion_mnist(
    root: str | Path | None = None, *, train: bool = True, download: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST (Xiao et al., 2017): 28×28 greyscale clothing images, 10 classes.

    .. math::
        x = \\text{pixel} / 255 \\in [0, 1]

    Args:
        root (str or Path, optional): a folder searched first; the other
            places follow (see the module's docstring). Default: None.
        train (bool): the 60,000 training images, or the 10,000 test images.
            Default: True.
        download (bool): when no folder holds the files, download them (30 MB)
            into ``root/fashion-mnist`` or :func:`default_data_dir`'s
            ``fashion-mnist``. Default: True.

    Raises:
        DatasetUnavailableError: no folder holds the files and they could not
            be downloaded (``download=False``, or offline: within seconds), or
            a file is corrupt or truncated (the message names it).

    Shape:
        - x: :math:`(N, 1, 28, 28)`, float32 in [0, 1].
        - y: :math:`(N,)`, int64 in {0, ..., 9}, names in ``FASHION_MNIST_CLASSES``.

    Example:
        Labels index ``FASHION_MNIST_CLASSES``; where the files are (or a network is):

        >>> FASHION_MNIST_CLASSES[9]
        'Ankle boot'
        >>> x, y = load_fashion_mnist(train=True)  # doctest: +SKIP
        >>> tuple(x.shape), x.dtype, FASHION_MNIST_CLASSES[int(y[0])]  # doctest: +SKIP
        ((60000, 1, 28, 28), torch.float32, 'Ankle boot')
    """
    owner = "load_fashion_mnist"
    root = None if root is None else _resolve_root(root, owner)
    check_bool(train, "train", owner)
    check_bool(download, "download", owner)
    folder = fashion_mnist_folder(root)
    if folder is None:
        target = (root if root is not None else default_data_dir()) / "fashion-mnist"
        if not download:
            raise DatasetUnavailableError(f"Fashion-MNIST is not on this machine. {_remedies(root, target)}")
        _download(target, root)
        folder = target
    names = FASHION_MNIST_FILES[:2] if train else FASHION_MNIST_FILES[2:]
    images_path, labels_path = (_file(folder, name) for name in names)
    images, labels = read_idx(images_path), read_idx(labels_path)  # (N, 28, 28) and (N,), uint8
    _check_split(images, labels, images_path, labels_path)
    x = images.astype(np.float32)[:, None]  # (N, 28, 28) -> (N, 1, 28, 28), a writable copy
    x /= 255.0
    return torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))


def fashion_mnist_folder(root: str | Path | None = None) -> Path | None:
    """The first folder, in the search order, that holds all four files; None if none does.

    Example:
        A ``root`` without the files is passed over; where Debian's package is
        installed (and ``REGLAB_DATA`` holds no copy), both are its folder:

        >>> fashion_mnist_folder("/nonexistent") == fashion_mnist_folder()
        True
    """
    for place in _search_places(None if root is None else _resolve_root(root, "fashion_mnist_folder")):
        for layout in LAYOUTS:
            folder = (place / layout) if layout != "." else place
            if all(_file(folder, name) is not None for name in FASHION_MNIST_FILES):
                return folder
    return None


def read_idx(path: str | Path) -> np.ndarray:
    """The array of unsigned bytes in one idx file, gzipped (``.gz``) or not.

    Raises:
        DatasetUnavailableError: the file is not gzip data though named ``.gz``,
            is truncated, has a bad magic number, or holds more or fewer
            bytes than its header's shape needs; the message names the file.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "tiny-idx1-ubyte"
        >>> _ = path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))  # magic, N = 3, values
        >>> read_idx(path)
        array([7, 8, 9], dtype=uint8)
    """
    path = Path(path)
    data = _file_bytes(path)
    if len(data) < 4 or data[:3] != b"\x00\x00\x08" or not 1 <= data[3] <= 4:
        raise _corrupt(path, f"bad magic number {data[:4].hex(' ') or 'none'}; an idx file of unsigned "
                             "bytes starts with 00 00 08 and its number of dimensions")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise _corrupt(path, f"its header is truncated ({len(data)} bytes, {header} needed)")
    shape = struct.unpack(f">{ndim}I", data[4:header])  # big-endian sizes
    if len(data) != header + int(np.prod(shape)):
        raise _corrupt(path, f"size mismatch: the header promises shape {shape}, {header + int(np.prod(shape))} "
                             f"bytes, the file holds {len(data)}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _check_split(images: np.ndarray, labels: np.ndarray, images_path: Path, labels_path: Path) -> None:
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise _corrupt(images_path, f"wrong dimensions {images.shape}; Fashion-MNIST images are (N, 28, 28)")
    if labels.ndim != 1:
        raise _corrupt(labels_path, f"wrong dimensions {labels.shape}; labels are (N,)")
    if len(images) != len(labels):
        raise _corrupt(labels_path, f"{len(labels)} labels for the {len(images)} images of {images_path.name}")
    if len(labels) and labels.max() >= len(FASHION_MNIST_CLASSES):
        raise _corrupt(labels_path, f"label {labels.max()} outside 0..9")


def _search_places(root: Path | None) -> list[Path]:
    """root, $REGLAB_DATA, the Debian folder, the course's data folder: in this order."""
    places = [] if root is None else [root]
    if os.environ.get("REGLAB_DATA"):
        places.append(Path(os.environ["REGLAB_DATA"]).expanduser())
    return places + [DEBIAN_DIR, Path.home() / ".cache" / "reglab"]


def _file(folder: Path, name: str) -> Path | None:
    """``folder/name``, else ``folder/name.gz``, else None; the uncompressed file reads faster."""
    for path in (folder / name, folder / f"{name}.gz"):
        if path.is_file():
            return path
    return None


def _file_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
        return gzip.decompress(data) if path.suffix == ".gz" else data
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        kind = "gzip data" if path.suffix == ".gz" else "a file"
        raise _corrupt(path, f"not readable as {kind} ({error})") from error


def _corrupt(path: Path, what: str) -> DatasetUnavailableError:
    return DatasetUnavailableError(
        f"The Fashion-MNIST file {path} is corrupt, truncated or unreadable: {what}. Replace it "
        f"(apt-get install --reinstall dataset-fashion-mnist, or download it from {DOWNLOAD_URL})."
    )


def _remedies(root: Path | None, target: Path) -> str:
    places = ", ".join(str(place) for place in _search_places(root))
    names = ", ".join(f"{name}.gz" for name in FASHION_MNIST_FILES)
    return (
        f"No folder holds its four files ({names}); searched {places} (each also in its fashion-mnist/ and "
        f"FashionMNIST/raw/ subfolders). Two ways to get them: (1) Debian's package: `sudo apt-get install "
        f"dataset-fashion-mnist` (or `make install` as root) puts them in {DEBIAN_DIR}; (2) the download: "
        f"call load_fashion_mnist(download=True) while online (it saves them in {target}), or fetch them from "
        f"{DOWNLOAD_URL} into a folder and set REGLAB_DATA to it."
    )


def _download(target: Path, root: Path | None) -> None:
    """Fetch the four ``.gz`` files into ``target``, checking each MD5; offline, fail within seconds."""
    if not _reachable(urlparse(DOWNLOAD_URL).hostname, PROBE_TIMEOUT_S):
        raise DatasetUnavailableError(
            f"Fashion-MNIST is not on this machine and {DOWNLOAD_URL} does not answer (offline?). "
            f"{_remedies(root, target)}"
        )
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name, md5 in MD5.items():
            path = target / f"{name}.gz"
            if path.is_file() and _md5(path) == md5:
                continue
            part = path.with_suffix(".gz.part")
            with urllib.request.urlopen(f"{DOWNLOAD_URL}{name}.gz", timeout=DOWNLOAD_TIMEOUT_S) as response:
                part.write_bytes(response.read())
            if _md5(part) != md5:
                part.unlink()
                raise OSError(f"{name}.gz arrived with a wrong MD5 checksum")
            part.replace(path)
    except OSError as error:  # URLError, timeouts and a read-only target are all OSErrors
        raise DatasetUnavailableError(
            f"Fashion-MNIST could not be downloaded ({error}). {_remedies(root, target)}"
        ) from error


def _reachable(host: str, timeout: float) -> bool:
    """Whether ``host`` accepts a connection on port 80 within ``timeout`` seconds, name lookup included."""
    answer: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((host, 80), timeout=timeout).close()
            answer.append(True)
        except OSError:
            answer.append(False)

    thread = threading.Thread(target=probe, daemon=True)  # a stuck DNS lookup ignores socket timeouts
    thread.start()
    thread.join(timeout)
    return bool(answer and answer[0])


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()
