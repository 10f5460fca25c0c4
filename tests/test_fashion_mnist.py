"""Fashion-MNIST: tiny files in the real idx format everywhere; the real files where they are installed.

The tiny files are written here with ``struct`` and NumPy from the format's
description (a big-endian header, then the bytes), and the real files are
compared with torchvision's own idx reader, so neither checks the loader
against itself. No test reaches the network: ``isolated`` makes any attempt
fail the test.
"""

import gzip
import hashlib
import io
import socket
import struct
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.datasets.mnist import read_image_file, read_label_file

import reglab.data.fashion_mnist as fm
from reglab.data import FASHION_MNIST_CLASSES, DatasetUnavailableError, fashion_mnist_folder, load_fashion_mnist

NAMES = fm.FASHION_MNIST_FILES  # train images, train labels, test images, test labels


def idx_bytes(array: np.ndarray) -> bytes:
    """The idx format: magic (0, 0, type 0x08 = ubyte, ndim), one big-endian int32 per dim, the data."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}i", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_fashion_mnist(folder: Path, n_train: int = 5, n_test: int = 3, *, gz: bool = True, seed: int = 1):
    """The four files, gzipped as distributed (or not, as torchvision leaves them), of random content."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = dict(zip(NAMES, [
        rng.integers(0, 256, size=(n_train, 28, 28)), rng.integers(0, 10, size=n_train),
        rng.integers(0, 256, size=(n_test, 28, 28)), rng.integers(0, 10, size=n_test),
    ]))
    for name, array in arrays.items():
        data = idx_bytes(array)
        (folder / (f"{name}.gz" if gz else name)).write_bytes(gzip.compress(data) if gz else data)
    return arrays


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No real data and no network: the Debian folder, HOME and REGLAB_DATA point into tmp_path."""
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "debian")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("REGLAB_DATA", raising=False)

    def no_network(*args, **kwargs):
        raise AssertionError("a test tried to reach the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return tmp_path


@pytest.mark.parametrize("gz", [True, False], ids=["gzipped", "plain"])
def test_reads_idx_files_exactly(isolated, gz):
    arrays = write_fashion_mnist(isolated / "data", gz=gz)
    x, y = load_fashion_mnist(isolated / "data", train=True, download=False)
    assert x.shape == (5, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    np.testing.assert_allclose(x[:, 0].numpy(), arrays[NAMES[0]] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y.numpy(), arrays[NAMES[1]])
    x_test, y_test = load_fashion_mnist(isolated / "data", train=False, download=False)
    assert x_test.shape == (3, 1, 28, 28)
    np.testing.assert_allclose(x_test[:, 0].numpy(), arrays[NAMES[2]] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y_test.numpy(), arrays[NAMES[3]])


def test_search_order_root_then_environment_then_debian_then_cache(isolated, monkeypatch):
    # Each place holds a copy of a different size, in one of the accepted layouts.
    write_fashion_mnist(isolated / "root", n_train=2)
    write_fashion_mnist(isolated / "env" / "FashionMNIST" / "raw", n_train=3, gz=False)  # torchvision's layout
    write_fashion_mnist(isolated / "debian", n_train=4)
    write_fashion_mnist(isolated / "home" / ".cache" / "reglab" / "fashion-mnist", n_train=5)  # where downloads go
    monkeypatch.setenv("REGLAB_DATA", str(isolated / "env"))

    def size(root=None):
        return len(load_fashion_mnist(root, download=False)[1])

    assert size(isolated / "root") == 2
    assert size() == 3 and fashion_mnist_folder() == isolated / "env" / "FashionMNIST" / "raw"
    assert size(isolated / "nothing-here") == 3  # a root without the files is passed over
    monkeypatch.delenv("REGLAB_DATA")
    assert size() == 4 and fashion_mnist_folder() == isolated / "debian"
    monkeypatch.setattr(fm, "DEBIAN_DIR", isolated / "no-debian")
    assert size() == 5


def test_a_folder_missing_one_file_is_passed_over(isolated):
    write_fashion_mnist(isolated / "root", n_train=2)
    write_fashion_mnist(isolated / "debian", n_train=4)
    (isolated / "root" / f"{NAMES[3]}.gz").unlink()
    assert len(load_fashion_mnist(isolated / "root", download=False)[1]) == 4


def test_no_files_fail_fast_naming_both_remedies(isolated):
    start = time.perf_counter()
    with pytest.raises(DatasetUnavailableError, match="Fashion-MNIST is not on this machine") as info:
        load_fashion_mnist(download=False)
    assert time.perf_counter() - start < 5
    message = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in message  # remedy 1: Debian's package
    assert "download=True" in message and fm.DOWNLOAD_URL in message  # remedy 2: the download
    assert "REGLAB_DATA" in message and str(isolated / "debian") in message  # and where it looked


def test_offline_download_fails_fast_naming_both_remedies(isolated, monkeypatch):
    monkeypatch.setattr(fm, "_reachable", lambda host, timeout: False)
    start = time.perf_counter()
    with pytest.raises(DatasetUnavailableError, match="does not answer") as info:
        load_fashion_mnist()  # download=True by default
    assert time.perf_counter() - start < 5
    assert "apt-get install dataset-fashion-mnist" in str(info.value) and fm.DOWNLOAD_URL in str(info.value)


def test_reachability_probe_gives_up_on_a_hanging_network(monkeypatch):
    released = threading.Event()

    def hang(*args, **kwargs):  # a silent network: no answer, not even from the name server
        released.wait()
        raise OSError("timed out")

    monkeypatch.setattr(socket, "create_connection", hang)
    start = time.perf_counter()
    assert fm._reachable("fashion-mnist.example", 0.2) is False
    assert time.perf_counter() - start < 2
    released.set()


def test_download_saves_checked_files_in_the_course_folder(isolated, monkeypatch):
    served = {f"{fm.DOWNLOAD_URL}{name}.gz": gzip.compress(idx_bytes(array))
              for name, array in write_fashion_mnist(isolated / "server", n_train=6).items()}
    md5 = {name: hashlib.md5(served[f"{fm.DOWNLOAD_URL}{name}.gz"]).hexdigest() for name in NAMES}
    monkeypatch.setattr(fm, "MD5", md5)
    monkeypatch.setattr(fm, "_reachable", lambda host, timeout: True)
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: io.BytesIO(served[url]))
    x, y = load_fashion_mnist()
    assert len(x) == 6
    target = isolated / "home" / ".cache" / "reglab" / "fashion-mnist"
    assert sorted(path.name for path in target.iterdir()) == sorted(f"{name}.gz" for name in NAMES)


def test_download_with_a_wrong_checksum_is_refused(isolated, monkeypatch):
    monkeypatch.setattr(fm, "_reachable", lambda host, timeout: True)
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: io.BytesIO(b"an error page"))
    with pytest.raises(DatasetUnavailableError, match="could not be downloaded .*wrong MD5"):
        load_fashion_mnist()
    assert not any((isolated / "home" / ".cache" / "reglab" / "fashion-mnist").iterdir())  # nothing half-written


def corrupt(folder: Path, how: str) -> Path:
    """Write a good set, then damage one file as ``how`` says; return the damaged file."""
    arrays = write_fashion_mnist(folder, gz=how != "truncated plain")
    images = folder / f"{NAMES[0]}.gz"
    if how == "truncated gzip":
        images.write_bytes(images.read_bytes()[:-50])
    elif how == "not gzip":
        images.write_bytes(idx_bytes(arrays[NAMES[0]]))  # plain bytes under a .gz name
    elif how == "truncated plain":
        images = folder / NAMES[0]
        images.write_bytes(images.read_bytes()[:-1])
    elif how == "bad magic":
        images.write_bytes(gzip.compress(b"\x00\x00\x0d\x03" + idx_bytes(arrays[NAMES[0]])[4:]))  # 0x0d: float32
    elif how == "wrong dimensions":
        images.write_bytes(gzip.compress(idx_bytes(arrays[NAMES[0]].reshape(5, 784))))
    elif how == "transposed shape":
        images.write_bytes(gzip.compress(idx_bytes(arrays[NAMES[0]].reshape(28, 28, 5))))
    elif how == "extra bytes":
        images.write_bytes(gzip.compress(idx_bytes(arrays[NAMES[0]]) + b"\x00"))
    elif how == "labels mismatch":
        images = folder / f"{NAMES[1]}.gz"
        images.write_bytes(gzip.compress(idx_bytes(arrays[NAMES[1]][:4])))
    elif how == "label out of range":
        images = folder / f"{NAMES[1]}.gz"
        images.write_bytes(gzip.compress(idx_bytes(np.full(5, 10))))
    return images


@pytest.mark.parametrize("how, reason", [
    ("truncated gzip", "not readable as gzip data"),
    ("not gzip", "not readable as gzip data"),
    ("truncated plain", "size mismatch"),
    ("bad magic", "bad magic number 00 00 0d 03"),
    ("wrong dimensions", r"wrong dimensions \(5, 784\)"),
    ("transposed shape", r"wrong dimensions \(28, 28, 5\)"),
    ("extra bytes", "size mismatch"),
    ("labels mismatch", "4 labels for the 5 images"),
    ("label out of range", "label 10 outside 0..9"),
])
def test_corrupt_files_are_reported_by_name(isolated, how, reason):
    damaged = corrupt(isolated / "data", how)
    with pytest.raises(DatasetUnavailableError, match=reason) as info:
        load_fashion_mnist(isolated / "data", download=False)
    assert str(damaged) in str(info.value)


def test_nothing_is_written_into_the_data_folder(isolated):
    write_fashion_mnist(isolated / "debian")
    before = {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in isolated.rglob("*") if path.is_file()}
    for path in [isolated / "debian", *(isolated / "debian").iterdir()]:
        path.chmod(0o555 if path.is_dir() else 0o444)  # as Debian's folder is to a user (root ignores it)
    try:
        load_fashion_mnist(train=True)
        load_fashion_mnist(train=False)
    finally:
        (isolated / "debian").chmod(0o755)
    after = {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in isolated.rglob("*") if path.is_file()}
    assert after == before  # nothing written, in the data folder or anywhere else (no cache, no extraction)


def test_read_idx_reads_any_unsigned_byte_idx_file(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(array)))
    np.testing.assert_array_equal(fm.read_idx(tmp_path / "a.gz"), array)


def test_arguments_are_checked(isolated):
    with pytest.raises(TypeError, match="'root' parameter of load_fashion_mnist must be a str or a path"):
        load_fashion_mnist(42)
    with pytest.raises(TypeError, match="'train' parameter of load_fashion_mnist must be a bool"):
        load_fashion_mnist(train="yes")
    with pytest.raises(TypeError, match="'download' parameter of load_fashion_mnist must be a bool"):
        load_fashion_mnist(download=1)


def test_class_names_follow_the_label_order_of_the_official_release():
    assert FASHION_MNIST_CLASSES == ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                     "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


# --- The real files, where installed (make test installs Debian's dataset-fashion-mnist as root) -----------

REAL = fashion_mnist_folder()
needs_real_files = pytest.mark.skipif(
    REAL is None,
    reason="Fashion-MNIST is not on this machine: run `make test` as root on Debian (it installs "
           "dataset-fashion-mnist), or call load_fashion_mnist(download=True) once while online, or set REGLAB_DATA",
)


@pytest.fixture(scope="module")
def real():
    return {split: load_fashion_mnist(train=split == "train", download=False) for split in ("train", "test")}


@needs_real_files
def test_real_files_have_the_published_shapes_and_class_counts(real):
    (x, y), (x_test, y_test) = real["train"], real["test"]
    assert x.shape == (60_000, 1, 28, 28) and x_test.shape == (10_000, 1, 28, 28)
    assert x.dtype == x_test.dtype == torch.float32 and y.dtype == y_test.dtype == torch.int64
    assert torch.bincount(y, minlength=10).tolist() == [6000] * 10  # 6,000 training images per class
    assert torch.bincount(y_test, minlength=10).tolist() == [1000] * 10
    assert int(y[0]) == 9 and FASHION_MNIST_CLASSES[9] == "Ankle boot"  # the first training label in the files
    for images in (x, x_test):
        assert images.min() == 0.0 and images.max() == 1.0  # in [0, 1], both ends present (pixels 0 and 255)


@needs_real_files
def test_real_files_equal_torchvisions_reader(real, tmp_path):
    for split, (images_name, labels_name) in {"train": NAMES[:2], "test": NAMES[2:]}.items():
        paths = {}
        for name in (images_name, labels_name):
            source = fm._file(REAL, name)
            paths[name] = tmp_path / name  # torchvision's reader wants the uncompressed file
            data = source.read_bytes()
            paths[name].write_bytes(gzip.decompress(data) if source.suffix == ".gz" else data)
        x, y = real[split]
        assert torch.equal((x[:, 0] * 255).round().to(torch.uint8), read_image_file(str(paths[images_name])))
        assert torch.equal(y, read_label_file(str(paths[labels_name])))

