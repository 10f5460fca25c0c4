"""Calibration metrics against hand-computed values, scikit-learn and statistical properties."""

import inspect

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import brier_score_loss, log_loss

from reglab.plots import plot_reliability_diagram
from reglab.metrics import (
    accuracy,
    brier_score,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    reliability_data,
)


def test_ece_hand_computed(device):
    # 4 bins of width 0.25. Confidences 0.3, 0.45 -> bin 2; 0.7 -> bin 3; 0.8, 0.95 -> bin 4.
    probs = torch.tensor(
        [[0.3, 0.25, 0.25, 0.2], [0.45, 0.2, 0.2, 0.15], [0.7, 0.1, 0.1, 0.1], [0.1, 0.8, 0.05, 0.05], [0.95, 0.05, 0.0, 0.0]],
        device=device,
    )
    target = torch.tensor([0, 1, 0, 1, 2], device=device)
    # bin 2: conf (0.3 + 0.45) / 2 = 0.375, acc 1/2; bin 3: conf 0.7, acc 1; bin 4: conf 0.875, acc 1/2
    expected = (2 * abs(0.5 - 0.375) + 1 * abs(1 - 0.7) + 2 * abs(0.5 - 0.875)) / 5
    torch.testing.assert_close(expected_calibration_error(probs, target, n_bins=4), torch.tensor(expected, device=device))
    data = reliability_data(probs, target, n_bins=4)
    torch.testing.assert_close(data.count, torch.tensor([0.0, 2.0, 1.0, 2.0], device=device))
    torch.testing.assert_close(data.accuracy, torch.tensor([0.0, 0.5, 1.0, 0.5], device=device))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 50), k=st.integers(2, 6), seed=st.integers(0, 2**16))
def test_one_bin_ece_is_confidence_minus_accuracy(device, n, k, seed):
    g = torch.Generator().manual_seed(seed)
    probs = torch.softmax(3 * torch.randn(n, k, generator=g, dtype=torch.float64), dim=1).to(device)
    target = torch.randint(0, k, (n,), generator=g).to(device)
    expected = (probs.max(dim=1).values.mean() - accuracy(probs, target)).abs()
    torch.testing.assert_close(expected_calibration_error(probs, target, n_bins=1), expected)
    assert 0 <= expected_calibration_error(probs, target, n_bins=10) <= 1


def _calibrated(n, k, seed, device):
    """A predictor that is right with probability exactly its confidence."""
    g = torch.Generator().manual_seed(seed)
    probs = torch.softmax(2 * torch.randn(n, k, generator=g, dtype=torch.float64), dim=1)
    target = torch.multinomial(probs, 1, generator=g).squeeze(1)  # y ~ Categorical(p)
    return probs.to(device), target.to(device)


def test_perfectly_calibrated_predictor_ece_vanishes(device):
    eces = [expected_calibration_error(*_calibrated(n, 5, 0, device), n_bins=10) for n in (500, 5_000, 200_000)]
    assert eces[-1] < 0.005
    assert eces[0] > eces[-1] and eces[1] > eces[-1]
    over = _calibrated(200_000, 5, 0, device)
    sharpened = torch.softmax(3 * over[0].log(), dim=1)  # same labels, over-confident probabilities
    assert expected_calibration_error(sharpened, over[1], n_bins=10) > 0.05


def test_nll_and_brier_match_sklearn_binary_and_multiclass(device):
    g = torch.Generator().manual_seed(3)
    for k in (2, 4):
        probs = torch.softmax(2 * torch.randn(200, k, generator=g, dtype=torch.float64), dim=1)
        target = torch.randint(0, k, (200,), generator=g)
        p, y = probs.numpy(), target.numpy()
        nll = negative_log_likelihood(probs.to(device), target.to(device))
        brier = brier_score(probs.to(device), target.to(device))
        assert nll.item() == pytest.approx(log_loss(y, p, labels=list(range(k))), rel=1e-10)
        if k == 2:  # scikit-learn's binary Brier score is (p_1 - y)², half of the two-class sum
            assert brier.item() == pytest.approx(2 * brier_score_loss(y, p[:, 1]), rel=1e-10)
        one_hot = np.eye(k)[y]
        assert brier.item() == pytest.approx(((p - one_hot) ** 2).sum(axis=1).mean(), rel=1e-10)  # the closed form
        if "scale_by_half" in inspect.signature(brier_score_loss).parameters:  # scikit-learn >= 1.7
            assert brier.item() == pytest.approx(brier_score_loss(y, p, labels=list(range(k)), scale_by_half=False), rel=1e-10)


def test_nll_equals_cross_entropy_of_logits(device):
    logits = torch.randn(30, 7, generator=torch.Generator().manual_seed(4)).to(device)
    target = torch.arange(30, device=device) % 7
    torch.testing.assert_close(negative_log_likelihood(logits.softmax(dim=1), target), F.cross_entropy(logits, target))


def test_temperature_scaling_recovers_known_temperature(device):
    g = torch.Generator().manual_seed(5)
    base = 2 * torch.randn(20_000, 10, generator=g, dtype=torch.float64)
    target = torch.multinomial(base.softmax(dim=1), 1, generator=g).squeeze(1)  # calibrated at T = 1
    logits = (3.0 * base).float().to(device)  # an over-confident model: the true temperature is 3
    target = target.to(device)
    temperature = fit_temperature(logits, target)
    assert temperature.device == logits.device and temperature.dtype == torch.float32
    assert abs(temperature.item() - 3.0) < 0.1
    before = F.cross_entropy(logits, target)
    after = F.cross_entropy(logits / temperature, target)
    assert after < before - 0.1
    torch.testing.assert_close(accuracy(logits / temperature, target), accuracy(logits, target))
    probs_after = (logits / temperature).softmax(dim=1)
    assert expected_calibration_error(probs_after, target) < expected_calibration_error(logits.softmax(dim=1), target) / 5


@pytest.mark.parametrize(
    "fn, kwargs, error, match",
    [
        (expected_calibration_error, dict(n_bins=0), ValueError, "'n_bins' parameter of reliability_data"),
        (expected_calibration_error, dict(target=torch.zeros(4, dtype=torch.long)), ValueError, "'target' parameter"),
        (brier_score, dict(probs=torch.zeros(3)), ValueError, "'probs' parameter of brier_score"),
        (negative_log_likelihood, dict(target=torch.zeros(3)), TypeError, "'target' parameter"),
        (fit_temperature, dict(max_iter=0), ValueError, "'max_iter' parameter of fit_temperature"),
    ],
)
def test_bad_arguments(fn, kwargs, error, match):
    args = dict(probs=torch.full((3, 2), 0.5), target=torch.zeros(3, dtype=torch.long)) | kwargs
    if fn is fit_temperature:
        args["logits"] = args.pop("probs")
    with pytest.raises(error, match=match):
        fn(**args)


def test_plot_reliability_diagram_draws_the_bins(device):
    probs, target = _calibrated(1_000, 3, 6, device)
    ax = plot_reliability_diagram(probs, target, n_bins=10, title="calibrated")
    data = reliability_data(probs, target, n_bins=10)
    bars = ax.containers[0]
    filled = data.count.cpu() > 0
    assert len(bars) == int(filled.sum())
    heights = np.array([bar.get_height() for bar in bars])
    np.testing.assert_allclose(heights, data.accuracy.cpu()[filled].numpy(), atol=1e-12)
    assert any("ECE = " in text.get_text() for text in ax.get_legend().get_texts())
    assert ax.get_title() == "calibrated"


@pytest.mark.parametrize("fn", [brier_score, negative_log_likelihood, fit_temperature, expected_calibration_error])
@pytest.mark.parametrize("dtype", [torch.int32, torch.uint8])
def test_targets_must_be_int64_class_indices(fn, dtype):
    probs, target = torch.full((3, 2), 0.5), torch.tensor([0, 1, 0], dtype=dtype)
    owner = "reliability_data" if fn is expected_calibration_error else fn.__name__
    with pytest.raises(TypeError, match=f"'target' parameter of {owner} must be an int64 tensor of class indices"):
        fn(probs, target)


@pytest.mark.parametrize("eps", [0.0, -1e-3, 1.0, float("nan")])
def test_negative_log_likelihood_eps_in_open_unit_interval(eps):
    with pytest.raises(ValueError, match=r"'eps' parameter of negative_log_likelihood must be a finite float in the range \(0, 1\)"):
        negative_log_likelihood(torch.full((3, 2), 0.5), torch.zeros(3, dtype=torch.long), eps)
    with pytest.raises(TypeError, match="'eps' parameter of negative_log_likelihood"):
        negative_log_likelihood(torch.full((3, 2), 0.5), torch.zeros(3, dtype=torch.long), "1e-12")
