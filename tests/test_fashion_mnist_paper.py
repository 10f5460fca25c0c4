"""The real Fashion-MNIST reproduces a row of the paper's benchmark: a loader bug cannot pass.

Xiao, Rasul and Vollgraf (2017, arXiv:1708.07747), Table 3, "Benchmark on
Fashion-MNIST (Fashion) and MNIST", row KNeighborsClassifier
``weights=distance n_neighbors=5 p=2``: test accuracy 0.852 on Fashion. Their
runner (``benchmark/runner.py`` of the official repository, shipped in
``/usr/share/doc/dataset-fashion-mnist/``) standardizes the pixels with a
``StandardScaler`` fitted on the training set, trains on all 60,000 training
images and scores on the test set; ``benchmark/baselines.json`` holds only
the parameter grids, not the accuracies. We do the same with scikit-learn,
except that we score a fixed random subset of 3,000 test images to stay
within about 10 s on one core. The p=2 (Euclidean) row is chosen because its
distances are a matrix product; p=1 needs 60,000 × 3,000 × 784 absolute
differences outside BLAS.

Why the tolerance holds. On the whole test set this test's procedure gives
0.8535 (measured; the paper's 0.852 is rounded and averages 5 shuffles of the
training data, which k-NN ignores). A random subset of n = 3,000 of the
N = 10,000 test images estimates that accuracy with standard error
sqrt(p (1 - p) / n · (N - n) / (N - 1)) = 0.0054 at p = 0.852; the training
set is the whole one, so it adds nothing. The test allows 0.018: three
standard errors (0.016) plus the paper's rounding and the 0.0015 between its
figure and ours. The subset used scores 0.854 (measured).

What it catches: labels misaligned with their images by one position score
0.11; swapped splits (training on the 10,000 test images) score 0.825 and
also fail the sizes; a k-NN on flattened pixels cannot see a transposition
or flip applied to every image alike, so the orientation of two classes is
checked against the images of the paper's Table 2 (trousers stand upright,
sneakers lie sideways, footwear sits in the lower half).
"""

import time

import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from reglab.data import FASHION_MNIST_CLASSES, fashion_mnist_folder, load_fashion_mnist

PAPER_ACCURACY = 0.852  # Table 3, KNeighborsClassifier weights=distance n_neighbors=5 p=2, column "Fashion"
TOLERANCE = 0.018
N_TEST = 3000

pytestmark = pytest.mark.skipif(
    fashion_mnist_folder() is None,
    reason="Fashion-MNIST is not on this machine: run `make test` as root on Debian (it installs "
           "dataset-fashion-mnist), or call load_fashion_mnist(download=True) once while online, or set REGLAB_DATA",
)


@pytest.fixture(scope="module")
def splits():
    return load_fashion_mnist(train=True, download=False), load_fashion_mnist(train=False, download=False)


def test_knn_reproduces_the_papers_accuracy(splits):
    start = time.process_time()
    (x, y), (x_test, y_test) = splits
    assert len(x) == 60_000 and len(x_test) == 10_000  # swapped splits fail here already
    subset = np.random.default_rng(0).permutation(len(x_test))[:N_TEST]
    scaler = StandardScaler().fit(x.flatten(1).numpy())  # as the paper's runner: fitted on the training set
    knn = KNeighborsClassifier(n_neighbors=5, weights="distance", p=2)
    knn.fit(scaler.transform(x.flatten(1).numpy()), y.numpy())
    accuracy = knn.score(scaler.transform(x_test[subset].flatten(1).numpy()), y_test[subset].numpy())
    assert abs(accuracy - PAPER_ACCURACY) <= TOLERANCE, f"k-NN accuracy {accuracy:.4f}, the paper's {PAPER_ACCURACY}"
    print(f"k-NN accuracy on {N_TEST} test images: {accuracy:.4f} (paper: {PAPER_ACCURACY}); "
          f"{time.process_time() - start:.1f} s of CPU")


def test_images_are_upright_as_in_the_papers_table_2(splits):
    x, y = splits[0]

    def extent(name: str) -> tuple[int, int, float]:
        """Height and width of the box where the class's mean image exceeds 0.2; its share of ink in the top half."""
        mean = x[y == FASHION_MNIST_CLASSES.index(name), 0].mean(0)  # (28, 28)
        rows, cols = (mean > 0.2).any(1).nonzero(), (mean > 0.2).any(0).nonzero()
        top = float(mean[:14].sum() / mean.sum())
        return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1), top

    height, width, _ = extent("Trouser")
    assert height - width >= 10, f"trousers {height} high and {width} wide: images transposed?"
    height, width, top = extent("Sneaker")
    assert width - height >= 10, f"sneakers {height} high and {width} wide: images transposed?"
    assert top < 0.45, f"{top:.0%} of a sneaker's ink in the top half: images upside down?"
    assert torch.equal(y[:3], torch.tensor([9, 0, 0]))  # labels in the file's order, not shifted
