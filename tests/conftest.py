"""Shared fixtures: every reglab test that takes ``device`` runs on each device present."""

import matplotlib
import pytest
import torch

matplotlib.use("Agg")  # tests draw figures without a screen

DEVICES = ["cpu"]
if torch.cuda.is_available():
    DEVICES.append("cuda")
if torch.backends.mps.is_available():
    DEVICES.append("mps")


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    """The CPU, plus CUDA and MPS wherever they are present."""
    return torch.device(request.param)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
