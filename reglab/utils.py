"""Reproducibility, device choice and the test suite's step cap.

``seed_everything`` seeds every random number generator a chapter touches,
``get_device`` picks the fastest device present (CUDA, then Apple's MPS, then
the CPU), unless the environment variable ``REGLAB_DEVICE`` names one, and
``capped`` lets the test suite run a chapter's full scale in seconds: with
``REGLAB_MAX_STEPS`` set, every training loop stops after that many steps
(and ``reglab.train.evaluate`` after that many batches).
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from reglab._validation import check_int, parameter_error

__all__ = ["seed_everything", "get_device", "max_steps", "capped"]

MAX_STEPS_VARIABLE = "REGLAB_MAX_STEPS"


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python's ``random``, NumPy and PyTorch (CPU and every GPU).

    Args:
        seed (int): a non-negative integer below 2**32. Default: 0.

    Returns:
        A CPU ``torch.Generator`` seeded with ``seed``, for code that prefers an
        explicit generator to the global one.

    Example:
        >>> _ = seed_everything(7)
        >>> a = torch.rand(2)
        >>> _ = seed_everything(7)
        >>> bool(torch.equal(a, torch.rand(2)))
        True
    """
    seed = check_int(seed, "seed", "seed_everything", low=0, high=2**32 - 1)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


def get_device(name: str | None = None) -> torch.device:
    """The device to compute on: ``cuda`` > ``mps`` > ``cpu``.

    Args:
        name (str, optional): a device to use instead, such as ``"cpu"`` or
            ``"cuda:1"``. Default: the environment variable ``REGLAB_DEVICE``
            if set, else the fastest device present.

    Raises:
        ValueError: if the requested device is not a device name or is not
            available on this machine.

    Example:
        >>> get_device("cpu")
        device(type='cpu')
    """
    name = name if name is not None else os.environ.get("REGLAB_DEVICE")
    if name is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(parameter_error("name", "get_device", "a device name such as 'cpu' or 'cuda'", name)) from None
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }
    if not available.get(device.type, False):
        raise ValueError(
            parameter_error("name", "get_device", "a device present on this machine (cpu, cuda or mps)", name)
        )
    count = {"cuda": torch.cuda.device_count, "mps": lambda: 1}.get(device.type)
    if count is not None and device.index is not None and device.index >= count():
        raise ValueError(parameter_error(
            "name", "get_device", f"a {device.type} device present on this machine (index 0 to {count() - 1})", name
        ))
    return device


def max_steps() -> int | None:
    """The step cap the environment sets, or None (the normal case: no cap).

    The test suite runs every chapter at ``SCALE = "full"`` with
    ``REGLAB_MAX_STEPS`` set to a few steps, so the full-scale code path runs
    end to end in seconds and cannot rot. A reader never sets it.

    Raises:
        ValueError: if ``REGLAB_MAX_STEPS`` is set but is not a positive integer.

    Example:
        >>> import os
        >>> os.environ.pop("REGLAB_MAX_STEPS", None) and None
        >>> max_steps() is None
        True
    """
    value = os.environ.get(MAX_STEPS_VARIABLE)
    if value is None or value == "":
        return None
    try:
        steps = int(value)
    except ValueError:
        steps = 0
    if steps < 1:
        raise ValueError(parameter_error(MAX_STEPS_VARIABLE, "the environment", "a positive integer or unset", value))
    return steps


def capped(steps: int) -> int:
    """``steps``, or the environment's step cap if that is smaller.

    For a chapter's own training loop (``fit`` applies the cap itself):
    ``for step in range(capped(CONFIG["steps"])): ...``.

    Args:
        steps (int): the number of steps (or epochs) the loop would run, >= 0.

    Example:
        >>> import os
        >>> os.environ.pop("REGLAB_MAX_STEPS", None) and None
        >>> capped(500)
        500
    """
    steps = check_int(steps, "steps", "capped", low=0)
    cap = max_steps()
    return steps if cap is None else min(steps, cap)
