"""Real loaders, tested offline on tiny files written in the real on-disk formats.

Fashion-MNIST has its own files: tests/test_fashion_mnist.py and tests/test_fashion_mnist_paper.py.
"""

import pickle
import time
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torchvision.datasets.cifar
from sklearn.datasets import load_digits as sklearn_load_digits

from reglab.data import DatasetUnavailableError, load_cifar10, load_digits, load_fashion_mnist
from reglab.data.datasets import CIFAR10_FILES, default_data_dir


def test_load_digits_equals_scikit_learn_scaled():
    x, y = load_digits()
    reference = sklearn_load_digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == torch.float32 and y.dtype == torch.long
    np.testing.assert_allclose(x[:, 0].numpy(), reference.images / 16.0, rtol=1e-6)
    np.testing.assert_array_equal(y.numpy(), reference.target)
    assert 0.0 <= x.min().item() and x.max().item() == 1.0


# --- CIFAR-10: the python version is a folder of pickled dicts, one per batch ---------------


def write_cifar10(root: Path, per_batch: int = 3) -> dict[str, tuple[np.ndarray, list[int]]]:
    """Write cifar-10-batches-py/ as the real archive does: dicts pickled by Python 2 (str keys)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    written = {}
    for name in CIFAR10_FILES[:-1]:
        data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)  # rows: R(1024) G(1024) B(1024)
        labels = rng.integers(0, 10, size=per_batch).tolist()
        with open(folder / name, "wb") as f:
            pickle.dump({"data": data, "labels": labels, "batch_label": name}, f, protocol=2)
        written[name] = (data, labels)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)], "num_vis": 3072}, f, protocol=2)
    return written


@pytest.fixture
def cifar_files_need_no_checksum(monkeypatch):
    # The tiny files cannot match the real archive's MD5 sums; everything else is torchvision's own code.
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda path, md5=None: Path(path).is_file())


def test_load_cifar10_reads_the_real_format(tmp_path, cifar_files_need_no_checksum):
    written = write_cifar10(tmp_path)
    x, y = load_cifar10(tmp_path, train=True, download=False)
    assert x.shape == (15, 3, 32, 32) and x.dtype == torch.float32 and y.dtype == torch.long
    data = np.concatenate([written[f"data_batch_{i}"][0] for i in range(1, 6)])
    labels = sum((written[f"data_batch_{i}"][1] for i in range(1, 6)), [])
    # Pixel (c, h, w) of image i is byte c*1024 + h*32 + w of its row.
    expected = data.reshape(15, 3, 32, 32) / 255.0
    np.testing.assert_allclose(x.numpy(), expected, rtol=1e-6)
    np.testing.assert_array_equal(y.numpy(), labels)
    x_test, y_test = load_cifar10(tmp_path, train=False, download=False)
    np.testing.assert_allclose(x_test.numpy(), written["test_batch"][0].reshape(3, 3, 32, 32) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y_test.numpy(), written["test_batch"][1])


def test_load_cifar10_missing_files_fail_fast_and_say_where(tmp_path):
    start = time.perf_counter()
    with pytest.raises(DatasetUnavailableError, match="cifar-10-batches-py") as info:
        load_cifar10(tmp_path, download=False)
    assert time.perf_counter() - start < 5
    assert "data_batch_1" in str(info.value) and "download=True" in str(info.value)


def test_load_cifar10_network_failure_becomes_dataset_unavailable(tmp_path, monkeypatch):
    def offline(self):
        raise URLError("no network")

    monkeypatch.setattr(torchvision.datasets.CIFAR10, "download", offline)
    start = time.perf_counter()
    with pytest.raises(DatasetUnavailableError, match="could not be downloaded"):
        load_cifar10(tmp_path, download=True)
    assert time.perf_counter() - start < 5


def test_load_cifar10_corrupted_files_are_reported(tmp_path):
    write_cifar10(tmp_path)  # real checksums are checked here: the tiny files fail them
    with pytest.raises(DatasetUnavailableError, match="unreadable or corrupted"):
        load_cifar10(tmp_path, download=False)


def test_loaders_check_their_arguments(tmp_path):
    with pytest.raises(TypeError, match="'download' parameter of load_cifar10 must be a bool"):
        load_cifar10(tmp_path, download="yes")
    with pytest.raises(TypeError, match="'root' parameter of load_fashion_mnist"):
        load_fashion_mnist(42)
    with pytest.raises(TypeError, match="'train' parameter of load_fashion_mnist"):
        load_fashion_mnist(tmp_path, train=1)


def test_default_data_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("REGLAB_DATA", str(tmp_path))
    assert default_data_dir() == tmp_path
    monkeypatch.delenv("REGLAB_DATA")
    assert default_data_dir() == Path.home() / ".cache" / "reglab"
