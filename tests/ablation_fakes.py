"""Fakes for the executor tests: runs that train nothing, take a set time, and leave a trace.

The functions live in a module (not in a test) so that worker processes receive
them; the tests register this module with ``cloudpickle.register_pickle_by_value``,
so a worker needs no access to ``tests/``. Each run writes two marker files
into a log folder, ``start-<config>-<seed>-<pid>-<n>`` before it trains and
``done-<config>-<seed>-<pid>-<n>`` after, which tells which process ran what,
and which runs were lost half-way (a start with no done from the same process).
"""

from __future__ import annotations

import os
import time
import uuid
from functools import partial
from pathlib import Path

import torch
from torch import nn

from reglab.ablation import Config
from reglab.data import DeviceLoader
from reglab.train import History


def val_batches(seed: int = 0) -> DeviceLoader:
    """50 fixed validation samples with 4 features and 3 classes (the same for every seed)."""
    g = torch.Generator().manual_seed(0)
    return DeviceLoader(torch.randn(50, 4, generator=g), torch.randint(0, 3, (50,), generator=g),
                        batch_size=16, shuffle=False)


def no_batches(seed: int) -> list:
    return []


def _mark(log: Path, stage: str, config: str, seed: int) -> None:
    (Path(log) / f"{stage}-{config}-{seed}-{os.getpid()}-{uuid.uuid4().hex[:8]}").touch()


def _build(name: str, scale: float, log: str | None, fail: dict | None, seed: int):
    if log is not None:
        _mark(log, "start", name, seed)
    if fail is not None and (name, seed) in fail:
        times = fail[(name, seed)]  # fail this many attempts (counted by marker files), then succeed
        tries = len(list(Path(fail["log"]).glob(f"fail-{name}-{seed}-*")))
        if tries < times:
            _mark(fail["log"], "fail", name, seed)
            raise RuntimeError(f"planned failure of {name} seed {seed}")
    model = nn.Linear(4, 3)  # a random initialization from the run's seed
    with torch.no_grad():
        model.weight.mul_(scale)
    model.tag = (name, seed)
    return model, torch.optim.SGD(model.parameters(), lr=0.1), {}


def configs(n: int = 2, *, log: str | None = None, fail: dict | None = None) -> list[Config]:
    """``n`` configurations whose models differ (by the scale of their weights) and differ per seed."""
    return [Config(f"c{i}", partial(_build, f"c{i}", 1.0 + i, log, fail)) for i in range(n)]


def sleepy_trainer(model, batches, *, epochs, optimizer, progress, delay: float = 0.0, log: str | None = None,
                   **kwargs) -> History:
    """Trains nothing: waits ``delay`` seconds (without using the CPU), marks the run done."""
    time.sleep(delay)
    if log is not None:
        _mark(log, "done", *model.tag)
    history = History()
    history.log_epoch(train_loss=1.0, seconds=delay)
    return history


def markers(log: str | Path, stage: str) -> list[tuple[str, int, int]]:
    """The ``(config, seed, pid)`` of every ``stage`` marker in ``log``."""
    out = []
    for path in Path(log).glob(f"{stage}-*"):
        _, config, seed, pid, _ = path.name.split("-")
        out.append((config, int(seed), int(pid)))
    return out


def scored_trial(trial, log: str | None = None) -> float:
    """An Optuna objective that trains nothing: a smooth function of one parameter, and the process that ran it."""
    x = trial.suggest_float("x", -1.0, 1.0)
    trial.set_user_attr("pid", os.getpid())
    time.sleep(0.1)
    return 1.0 - x**2
