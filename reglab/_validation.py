"""Argument checks that raise one clear message format.

Every public function and module of ``reglab`` checks its arguments on entry
and raises a ``ValueError`` or ``TypeError`` worded like scikit-learn's::

    The 'p' parameter of Dropout must be a float in the range [0, 1). Got 1.5 instead.

The helpers return the checked value, so a constructor can write
``self.p = check_probability(p, "p", "Dropout")``.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import torch

__all__ = [
    "check_bool",
    "check_class_indices",
    "check_int",
    "check_real",
    "check_probability",
    "check_tensor",
    "parameter_error",
]


def parameter_error(name: str, owner: str, allowed: str, got: object) -> str:
    """The one message format for a bad argument."""
    return f"The {name!r} parameter of {owner} must be {allowed}. Got {got!r} instead."


def check_bool(value: object, name: str, owner: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(parameter_error(name, owner, "a bool", value))
    return value


def check_int(
    value: object,
    name: str,
    owner: str,
    *,
    low: int | None = None,
    high: int | None = None,
) -> int:
    """Check an integer in the closed range ``[low, high]`` (either end optional)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(parameter_error(name, owner, f"an int{_closed_range(low, high)}", value))
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(parameter_error(name, owner, f"an int{_closed_range(low, high)}", value))
    return int(value)


def check_real(
    value: object,
    name: str,
    owner: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Check a finite real number in a range whose ends may be open or closed."""
    allowed = "a finite float" + _range(low, high, low_open, high_open)
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(parameter_error(name, owner, allowed, value))
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if not math.isfinite(value) or too_low or too_high:
        raise ValueError(parameter_error(name, owner, allowed, value))
    return value


def check_probability(value: object, name: str, owner: str, *, allow_one: bool = False) -> float:
    """Check a probability in ``[0, 1)`` (or ``[0, 1]`` with ``allow_one``)."""
    return check_real(value, name, owner, low=0.0, high=1.0, high_open=not allow_one)


def check_tensor(
    value: object,
    name: str,
    owner: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    min_ndim: int | None = None,
    floating: bool | None = None,
) -> torch.Tensor:
    """Check that ``value`` is a tensor of the given rank(s) and kind."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(parameter_error(name, owner, "a torch.Tensor", type(value).__name__))
    if ndim is not None:
        ranks = (ndim,) if isinstance(ndim, int) else ndim
        if value.ndim not in ranks:
            allowed = " or ".join(str(r) for r in ranks)
            raise ValueError(
                parameter_error(name, owner, f"a tensor with {allowed} dimensions", f"shape {tuple(value.shape)}")
            )
    if min_ndim is not None and value.ndim < min_ndim:
        raise ValueError(
            parameter_error(name, owner, f"a tensor with at least {min_ndim} dimensions", f"shape {tuple(value.shape)}")
        )
    if floating is True and not value.is_floating_point():
        raise TypeError(parameter_error(name, owner, "a floating-point tensor", f"dtype {value.dtype}"))
    if floating is False and (value.is_floating_point() or value.is_complex()):
        raise TypeError(parameter_error(name, owner, "an integer tensor", f"dtype {value.dtype}"))
    return value


def check_class_indices(
    value: object,
    name: str,
    owner: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    min_ndim: int | None = None,
) -> torch.Tensor:
    """Check a tensor of class indices: int64, the dtype ``F.one_hot`` and ``F.cross_entropy`` require.

    Only the type, dtype and rank are checked: checking that the indices lie in
    ``[0, K)`` would read them back to the host.
    """
    check_tensor(value, name, owner, ndim=ndim, min_ndim=min_ndim)
    if value.dtype != torch.int64:
        allowed = "an int64 tensor of class indices (as F.one_hot and F.cross_entropy require; convert with .long())"
        raise TypeError(parameter_error(name, owner, allowed, f"dtype {value.dtype}"))
    return value


def _closed_range(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f" in the range [{low}, {high}]"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""


def _range(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is None and high is None:
        return ""
    if high is None:
        return f" {'>' if low_open else '>='} {low:g}"
    if low is None:
        return f" {'<' if high_open else '<='} {high:g}"
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    return f" in the range {left}{low:g}, {high:g}{right}"
