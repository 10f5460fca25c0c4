"""Synthetic data sets against independent references: NumPy, scikit-learn, closed forms."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_moons as sklearn_make_moons

from reglab.data import make_moons, make_polynomial, make_sparse_regression, polynomial_value
from reglab.data.synthetic import DEFAULT_COEFFICIENTS


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


@given(coefficients=st.lists(st.floats(-5, 5), min_size=1, max_size=8), x=st.lists(st.floats(-2, 2), min_size=1, max_size=20))
@settings(max_examples=50, deadline=None)
def test_polynomial_value_matches_numpy_polyval(coefficients, x):
    ours = polynomial_value(torch.tensor(x, dtype=torch.float64), coefficients)
    reference = np.polyval(coefficients[::-1], np.array(x))  # NumPy wants the highest power first
    np.testing.assert_allclose(ours.numpy(), reference, rtol=1e-9, atol=1e-9)


def test_default_function_is_chebyshev_t5():
    x = torch.linspace(-1, 1, 101, dtype=torch.float64)
    np.testing.assert_allclose(polynomial_value(x, DEFAULT_COEFFICIENTS).numpy(), np.cos(5 * np.arccos(x.numpy())), atol=1e-12)


@given(n=st.integers(1, 200), low=st.floats(-10, 0), width=st.floats(0.1, 10))
@settings(max_examples=30, deadline=None)
def test_make_polynomial_shapes_and_range(n, low, width):
    x, y = make_polynomial(n, noise=0.0, x_range=(low, low + width), generator=seeded())
    assert x.shape == y.shape == (n, 1) and x.dtype == torch.float32
    assert bool((x >= low).all() and (x <= low + width).all())


def test_make_polynomial_noise_has_the_requested_standard_deviation():
    x, y = make_polynomial(40_000, noise=0.3, generator=seeded(1))
    residual = y - polynomial_value(x, DEFAULT_COEFFICIENTS)
    assert abs(residual.mean().item()) < 0.01  # standard error 0.3 / 200 = 0.0015
    assert residual.std().item() == pytest.approx(0.3, rel=0.02)


def test_make_polynomial_is_reproducible_with_a_generator():
    a = make_polynomial(10, generator=seeded(3))
    b = make_polynomial(10, generator=seeded(3))
    assert all(torch.equal(u, v) for u, v in zip(a, b))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n_samples=0), ValueError, "'n_samples' parameter of make_polynomial"),
        (dict(n_samples=5, noise=-1.0), ValueError, "'noise' parameter"),
        (dict(n_samples=5, x_range=(1.0, 1.0)), ValueError, "a pair \\(a, b\\) with a < b"),
        (dict(n_samples=2.5), TypeError, "'n_samples' parameter"),
    ],
)
def test_make_polynomial_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_polynomial(**kwargs)


def test_make_moons_lies_on_the_same_half_circles_as_scikit_learn():
    x, y = make_moons(1000, noise=0.0, generator=seeded())
    upper, lower = x[y == 0].double(), x[y == 1].double()
    # Class 0: the unit upper half circle. Class 1: centre (1, 0.5), lower half.
    np.testing.assert_allclose((upper**2).sum(1).numpy(), 1.0, atol=1e-6)
    assert bool((upper[:, 1] >= -1e-6).all())
    np.testing.assert_allclose(((lower - torch.tensor([1.0, 0.5], dtype=torch.float64)) ** 2).sum(1).numpy(), 1.0, atol=1e-6)
    assert bool((lower[:, 1] <= 0.5 + 1e-6).all())
    reference, labels = sklearn_make_moons(n_samples=1000, noise=0.0, shuffle=False)
    np.testing.assert_allclose((reference[labels == 0] ** 2).sum(1), 1.0, atol=1e-9)
    np.testing.assert_allclose(((reference[labels == 1] - [1.0, 0.5]) ** 2).sum(1), 1.0, atol=1e-9)
    # Same shapes, same class means (ours draws t uniformly, scikit-learn evenly spaced).
    for k in (0, 1):
        np.testing.assert_allclose(x[y == k].mean(0).numpy(), reference[labels == k].mean(0), atol=0.05)


def test_make_moons_noise_and_balance():
    x0, y = make_moons(20_001, noise=0.0, generator=seeded(2))
    x1, _ = make_moons(20_001, noise=0.2, generator=seeded(2))
    assert int((y == 0).sum()) == 10_000 and int((y == 1).sum()) == 10_001
    assert y.dtype == torch.long and x1.shape == (20_001, 2)
    # Same generator state: the noise-free points are drawn first, so the difference is the noise.
    assert (x1 - x0).std().item() == pytest.approx(0.2, rel=0.03)


def test_make_moons_rejects_bad_arguments():
    with pytest.raises(ValueError, match="'n_samples' parameter of make_moons must be an int >= 2"):
        make_moons(1)
    with pytest.raises(ValueError, match="'noise' parameter of make_moons"):
        make_moons(10, noise=math.nan)


def test_make_sparse_regression_support_and_least_squares_recovery():
    X, y, w = make_sparse_regression(200, 30, n_informative=4, noise=0.0, generator=seeded())
    assert X.shape == (200, 30) and y.shape == (200,) and w.shape == (30,)
    assert int((w != 0).sum()) == 4
    nonzero = w[w != 0].abs()
    assert bool(((nonzero >= 1) & (nonzero < 3)).all())
    recovered, *_ = np.linalg.lstsq(X.double().numpy(), y.double().numpy(), rcond=None)
    np.testing.assert_allclose(recovered, w.numpy(), atol=1e-4)


def test_make_sparse_regression_noise_level():
    X, y, w = make_sparse_regression(50_000, 5, n_informative=5, noise=0.5, generator=seeded(4))
    assert (y - X @ w).std().item() == pytest.approx(0.5, rel=0.02)


def test_make_sparse_regression_rejects_more_informative_than_features():
    with pytest.raises(ValueError, match=r"'n_informative' parameter of make_sparse_regression must be an int in the range \[0, 3\]"):
        make_sparse_regression(10, 3, n_informative=4)
