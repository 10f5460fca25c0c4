import random

import numpy as np
import pytest
import torch

from reglab.utils import get_device, seed_everything


def draws():
    return random.random(), float(np.random.rand()), torch.rand(3)


def test_seed_everything_reproduces_python_numpy_and_torch():
    seed_everything(123)
    first = draws()
    seed_everything(123)
    second = draws()
    assert first[:2] == second[:2] and torch.equal(first[2], second[2])
    seed_everything(124)
    assert not torch.equal(draws()[2], first[2])


def test_seed_everything_returns_a_generator_seeded_like_torch_manual_seed():
    generator = seed_everything(5)
    assert torch.equal(torch.rand(4, generator=generator), torch.rand(4, generator=torch.Generator().manual_seed(5)))


@pytest.mark.parametrize("bad", [-1, 2**32])
def test_seed_everything_rejects_out_of_range(bad):
    with pytest.raises(ValueError, match="'seed' parameter of seed_everything"):
        seed_everything(bad)


def test_get_device_default_order(monkeypatch):
    monkeypatch.delenv("REGLAB_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert get_device().type == expected


def test_get_device_environment_override(monkeypatch):
    monkeypatch.setenv("REGLAB_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")


def test_get_device_rejects_unknown_and_unavailable(monkeypatch):
    monkeypatch.delenv("REGLAB_DEVICE", raising=False)
    with pytest.raises(ValueError, match="'name' parameter of get_device must be a device name"):
        get_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="a device present on this machine"):
            get_device("cuda")


def test_get_device_rejects_a_gpu_index_the_machine_lacks(monkeypatch):
    # "cuda:1" on a machine with one GPU used to be returned, and fail only at the first tensor moved there
    monkeypatch.delenv("REGLAB_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert get_device("cuda:0") == torch.device("cuda:0")
    assert get_device("cuda") == torch.device("cuda")
    with pytest.raises(ValueError, match=r"a cuda device present on this machine \(index 0 to 0\). Got 'cuda:1'"):
        get_device("cuda:1")
