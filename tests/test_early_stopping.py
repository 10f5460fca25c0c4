"""EarlyStopping: the stopping rule against a plain reference loop, and weight restoring inside fit."""

import functools
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from reglab.data import DeviceLoader, make_moons
from reglab.models import MLP
from reglab.train import EarlyStopping, History, fit


def _reference_stop(values, patience, min_delta, mode):
    """The rule as Prechelt's 'stop after `patience` epochs without a better value', written plainly."""
    sign = 1 if mode == "min" else -1
    best, best_epoch = math.inf, None
    for epoch, value in enumerate(values):
        if sign * value < best - min_delta:
            best, best_epoch = sign * value, epoch
        if best_epoch is not None and epoch - best_epoch >= patience:
            return epoch, best_epoch
    return None, best_epoch


def _run(values, **kwargs):
    stopper, history, model = EarlyStopping(restore_best=False, **kwargs), History(), nn.Linear(1, 1)
    for value in values:
        history.log_epoch(val_loss=value)
        if stopper.on_epoch_end(model, history):
            break
    return stopper


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=30),
    patience=st.integers(1, 6),
    min_delta=st.sampled_from([0.0, 0.1, 1.0]),
    mode=st.sampled_from(["min", "max"]),
)
def test_stopping_rule_matches_the_reference(values, patience, min_delta, mode):
    stopper = _run(values, patience=patience, min_delta=min_delta, mode=mode)
    assert (stopper.stopped_epoch, stopper.best_epoch) == _reference_stop(values, patience, min_delta, mode)


def test_worked_example_patience_and_min_delta():
    values = [1.0, 0.8, 0.79, 0.795, 0.7, 0.71, 0.72, 0.73]
    plain = _run(values, patience=3)
    assert (plain.best_epoch, plain.stopped_epoch) == (4, 7)
    tolerant = _run(values, patience=2, min_delta=0.05)  # 0.79 is not 0.05 better than 0.8
    assert (tolerant.best_epoch, tolerant.stopped_epoch) == (1, 3)
    rising = _run([0.5, 0.6, 0.9, 0.95], monitor="val_loss", mode="max", patience=1)
    assert rising.stopped_epoch is None and rising.best_epoch == 3


def test_nan_never_improves():
    stopper = _run([1.0, float("nan"), float("nan")], patience=2)
    assert (stopper.best_epoch, stopper.stopped_epoch) == (0, 2)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(mode="lowest"), ValueError, "'mode' parameter of EarlyStopping"),
        (dict(patience=0), ValueError, "'patience' parameter of EarlyStopping"),
        (dict(min_delta=-0.1), ValueError, "'min_delta' parameter of EarlyStopping"),
        (dict(restore_best=1), TypeError, "'restore_best' parameter of EarlyStopping"),
        (dict(monitor=3), TypeError, "'monitor' parameter of EarlyStopping"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        EarlyStopping(**kwargs)


class _Snapshots:
    """A second callback that keeps an independent copy of the weights after every epoch."""

    def __init__(self):
        self.states = []

    def on_epoch_end(self, model, history):
        self.states.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return False


@functools.lru_cache(maxsize=4)
def _cached_run(device_name, patience, restore_best):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: on a busy CPU, extra threads only wait for each other
    try:
        return _train(torch.device(device_name), patience=patience, restore_best=restore_best)
    finally:
        torch.set_num_threads(threads)


def _overfitting_run(device, patience, restore_best=True):
    """One shared run per setting (tests only read it)."""
    return _cached_run(str(device), patience, restore_best)


def _train(device, **kwargs):
    torch.manual_seed(0)
    x, y = make_moons(60, noise=0.35, generator=torch.Generator().manual_seed(0))
    xv, yv = make_moons(400, noise=0.35, generator=torch.Generator().manual_seed(1))
    model = nn.Sequential(MLP(2, [64, 64], 2), nn.BatchNorm1d(2)).to(device)  # a buffer to restore too
    snapshots, stopper = _Snapshots(), EarlyStopping(**kwargs)
    history = fit(model, DeviceLoader(x, y, 20, device=device), DeviceLoader(xv, yv, 400, shuffle=False, device=device),
                  epochs=150, optimizer=torch.optim.Adam(model.parameters(), lr=1e-2), callbacks=[snapshots, stopper],
                  progress=False)
    return model, history, snapshots.states, stopper


def test_restores_exactly_the_best_epochs_weights_not_the_last(device):
    model, history, states, stopper = _overfitting_run(device, patience=10)
    assert history.stopped_early and stopper.stopped_epoch == history.epochs - 1
    assert stopper.best_epoch == history.best_epoch()  # min_delta=0: the lowest val_loss
    assert stopper.best_epoch < history.epochs - 1
    final = model.state_dict()
    for key, value in states[stopper.best_epoch].items():
        assert value.device.type == device.type
        assert torch.equal(final[key], value), key
    assert any(not torch.equal(final[k], v) for k, v in states[-1].items())  # not the last epoch's weights
    assert "restored" in history.stop_reason and f"epoch {stopper.best_epoch + 1}" in history.stop_reason


def test_restored_model_scores_the_best_validation_loss(device):
    model, history, _, stopper = _overfitting_run(device, patience=10)
    xv, yv = make_moons(400, noise=0.35, generator=torch.Generator().manual_seed(1))
    model.eval()
    with torch.no_grad():
        loss = F.cross_entropy(model(xv.to(device)), yv.to(device)).item()
    assert math.isclose(loss, min(history["val_loss"]), rel_tol=1e-5)


def test_without_restore_the_last_weights_stay(device):
    model, history, states, stopper = _overfitting_run(device, patience=5, restore_best=False)
    final = model.state_dict()
    assert all(torch.equal(final[k], v) for k, v in states[-1].items())
    assert "restored" not in history.stop_reason


def test_a_stopper_is_reset_for_a_new_run(device):
    stopper = EarlyStopping(patience=3)
    for _ in range(2):
        history = History()
        for value in [3.0, 2.0, 2.5]:
            history.log_epoch(val_loss=value)
            stopper.on_epoch_end(nn.Linear(1, 1), history)
        assert stopper.best_epoch == 1 and stopper.best_value == 2.0
