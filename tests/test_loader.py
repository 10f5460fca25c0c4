"""DeviceLoader: every sample once per epoch, on its device, reproducibly shuffled."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, TensorDataset

from reglab.data import DeviceLoader


@given(n=st.integers(1, 300), batch_size=st.integers(1, 64), drop_last=st.booleans())
@settings(max_examples=60, deadline=None)
def test_batches_partition_the_data_like_torch_dataloader(n, batch_size, drop_last):
    x, y = torch.arange(n, dtype=torch.float32).unsqueeze(1), torch.arange(n)
    ours = list(DeviceLoader(x, y, batch_size, drop_last=drop_last))
    reference = list(DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, drop_last=drop_last))
    assert len(ours) == len(reference) == (n // batch_size if drop_last else math.ceil(n / batch_size))
    assert [len(b[1]) for b in ours] == [len(b[1]) for b in reference]
    seen = torch.cat([yb for _, yb in ours]) if ours else torch.empty(0, dtype=torch.long)
    assert len(set(seen.tolist())) == len(seen)  # no sample twice in an epoch
    if not drop_last:
        assert sorted(seen.tolist()) == list(range(n))
    for xb, yb in ours:  # pairs stay together
        assert torch.equal(xb[:, 0].long(), yb)


def test_runs_on_its_device_and_draws_there(device):
    x, y = torch.randn(50, 3), torch.arange(50)
    loader = DeviceLoader(x, y, 16, device=device, seed=1)
    for xb, yb in loader:
        assert xb.device.type == device.type and yb.device.type == device.type
    assert loader.generator.device.type == device.type


def test_same_seed_same_order_new_epoch_new_order(device):
    x, y = torch.randn(100, 2), torch.arange(100)
    order = lambda loader: torch.cat([yb for _, yb in loader]).cpu()  # noqa: E731
    a, b = DeviceLoader(x, y, 10, seed=7, device=device), DeviceLoader(x, y, 10, seed=7, device=device)
    first_a, first_b = order(a), order(b)
    assert torch.equal(first_a, first_b)
    assert not torch.equal(first_a, order(a))  # the second epoch is reshuffled
    assert not torch.equal(first_a, order(DeviceLoader(x, y, 10, seed=8, device=device)))


def test_shuffle_false_keeps_order():
    y = torch.arange(10)
    assert torch.cat([yb for _, yb in DeviceLoader(y.float(), y, 3, shuffle=False)]).tolist() == list(range(10))


def test_shuffles_are_uniform_over_positions():
    # Each sample lands in the first batch with probability batch/n = 0.25; check over 2,000 epochs.
    loader = DeviceLoader(torch.zeros(8, 1), torch.arange(8), 2, seed=0)
    counts = torch.zeros(8)
    for _ in range(2000):
        counts[next(iter(loader))[1]] += 1
    assert torch.allclose(counts / 2000, torch.full((8,), 0.25), atol=0.04)  # 4 standard errors


def test_transform_is_applied_to_every_batch():
    calls = []

    def double(xb, yb):
        calls.append(len(xb))
        return 2 * xb, yb

    x = torch.ones(10, 1)
    batches = list(DeviceLoader(x, torch.zeros(10), 4, transform=double))
    assert calls == [4, 4, 2] and all(bool((xb == 2).all()) for xb, _ in batches)


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        ((torch.zeros(3), torch.zeros(4), 2), {}, ValueError, "as many samples as x"),
        ((torch.zeros(3), torch.zeros(3), 0), {}, ValueError, "'batch_size' parameter of DeviceLoader"),
        (([1, 2], torch.zeros(2), 1), {}, TypeError, "'x' parameter of DeviceLoader must be a torch.Tensor"),
        ((torch.zeros(0), torch.zeros(0), 1), {}, ValueError, "non-empty"),
        ((torch.zeros(3), torch.zeros(3), 1), {"transform": 3}, TypeError, "'transform'"),
        ((torch.tensor(1.0), torch.tensor(1.0), 1), {}, ValueError, "at least 1 dimensions"),
    ],
)
def test_bad_arguments(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        DeviceLoader(*args, **kwargs)
