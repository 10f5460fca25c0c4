"""A tiny checking harness: run a learner's function on cases, print one verdict.

A check never shows a traceback to the learner. Each case calls the learner's
function, compares with the reference, and the first failure is reported in
one short paragraph: which case, what was expected, what came back, a hint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["Case", "run_check"]


@dataclass
class Case:
    """One input to try: ``run()`` returns ``(got, expected)``.

    ``diagnose(got)`` may recognize a known wrong answer and return a specific
    hint; otherwise ``hint`` is shown. ``accept(got)`` may accept an answer
    that differs from the reference but is right too (another valid random draw).
    """

    name: str
    run: Callable[[], tuple[object, object]]
    hint: str = ""
    diagnose: Callable[[object], str | None] | None = None
    atol: float = 1e-6
    rtol: float = 1e-5
    accept: Callable[[object], bool] | None = None


def close(got: object, expected: object, atol: float, rtol: float, *, equal_nan: bool = False) -> bool:
    """Whether ``got`` equals ``expected`` (tensors, numbers, or tuples of them) within tolerance, never raising."""
    if isinstance(expected, (tuple, list)):
        return isinstance(got, (tuple, list)) and len(got) == len(expected) and all(
            close(g, e, atol, rtol, equal_nan=equal_nan) for g, e in zip(got, expected)
        )
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
            return False
        g, e = got.detach().cpu().double(), expected.detach().cpu().double()
        return bool(torch.allclose(g, e, atol=atol, rtol=rtol, equal_nan=equal_nan))
    try:  # numbers, strings, ...; a tensor compared with a number must not raise
        return bool(got == expected)
    except Exception:
        return False


def _quietly(function: Callable[[object], object] | None, got: object) -> object:
    """``function(got)``, or None if there is no function or it raises: a check's helper never shows a traceback."""
    try:
        return function(got) if function is not None else None
    except Exception:
        return None


def _show(value: object) -> str:
    if isinstance(value, torch.Tensor) and value.ndim == 0:
        return f"{value.item():.6g}"
    if isinstance(value, torch.Tensor):
        text = f"tensor of shape {tuple(value.shape)}: {value.detach().cpu().flatten()[:6].tolist()}"
        return text + (" ..." if value.numel() > 6 else "")
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    return repr(value)


def run_check(exercise: str, function: object, cases: list[Case]) -> bool:
    """Run every case; print "correct" or the first failure. Returns whether all passed."""
    if not callable(function):
        print(f"✘ {exercise}: expected a function, got {type(function).__name__}.")
        return False
    for case in cases:
        try:
            got, expected = case.run()
        except NotImplementedError:
            print(f"✘ {exercise}: not implemented yet.")
            return False
        except Exception as error:  # a learner's bug, reported in one line, not a traceback
            print(f"✘ {exercise}, case '{case.name}': your function raised {type(error).__name__}: {error}")
            if case.hint:
                print(f"  Hint: {case.hint}")
            return False
        if not close(got, expected, case.atol, case.rtol) and not _quietly(case.accept, got):
            print(f"✘ {exercise}, case '{case.name}':\n  expected {_show(expected)}\n  got      {_show(got)}")
            hint = _quietly(case.diagnose, got) or case.hint
            if hint:
                print(f"  Hint: {hint}")
            return False
    print(f"✔ {exercise}: correct ({len(cases)} cases).")
    return True
