"""A tiny checking harness: run a learner's function on cases, print one verdict.

A check never shows a traceback of the course's internals to the learner. Each
case calls the learner's function, compares with the reference, and the first
failure is reported in one short paragraph: which case, what was expected,
what came back, a hint. A failed check then raises :class:`CheckFailed`, so
that the check cell fails (Jupyter's "Run All" stops there, and an nbgrader
autograder cell scores zero); in IPython and Jupyter it is shown as one line,
without a traceback.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["Case", "CheckFailed", "run_check"]


class CheckFailed(AssertionError):
    """Raised by a check whose verdict is ✘; the verdict itself has been printed.

    An ``AssertionError``, so ``pytest`` and nbgrader count it as a failed test.
    IPython (Jupyter, Colab) shows it with ``_render_traceback_``: one line
    that points at the verdict, instead of a traceback through the checking code.
    """

    def __init__(self, exercise: str, verdict: str):
        super().__init__(verdict)
        self.exercise, self.verdict = exercise, verdict

    def __reduce__(self):  # picklable, e.g. across pytest-xdist workers
        return type(self), (self.exercise, self.verdict)

    def _render_traceback_(self) -> list[str]:
        red, reset = "\x1b[0;31m", "\x1b[0m"
        return [f"{red}CheckFailed{reset}: {self.exercise} is not solved yet; the verdict above says why."]


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


def _verdict(exercise: str, function: object, cases: list[Case]) -> tuple[bool, list[str]]:
    """Whether every case passes, and the lines of the verdict."""
    if not callable(function):
        return False, [f"✘ {exercise}: expected a function, got {type(function).__name__}."]
    for case in cases:
        try:
            got, expected = case.run()
        except NotImplementedError:
            return False, [f"✘ {exercise}: not implemented yet."]
        except Exception as error:  # a learner's bug, reported in one line, not a traceback
            lines = [f"✘ {exercise}, case '{case.name}': your function raised {type(error).__name__}: {error}"]
            return False, lines + ([f"  Hint: {case.hint}"] if case.hint else [])
        if not close(got, expected, case.atol, case.rtol) and not _quietly(case.accept, got):
            lines = [f"✘ {exercise}, case '{case.name}':", f"  expected {_show(expected)}", f"  got      {_show(got)}"]
            hint = _quietly(case.diagnose, got) or case.hint
            return False, lines + ([f"  Hint: {hint}"] if hint else [])
    return True, [f"✔ {exercise}: correct ({len(cases)} cases)."]


def run_check(exercise: str, function: object, cases: list[Case]) -> bool:
    """Run every case and print "correct" or the first failure; return True, or raise :class:`CheckFailed`.

    Warnings raised during the check (by the learner's function, typically) are
    reported on standard output after the verdict rather than on standard
    error, where nbgrader would read them as a failure of a correct answer.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        passed, lines = _verdict(exercise, function, cases)
    notes = sorted({f"  Note: a warning during the check: {w.category.__name__}: {w.message}" for w in caught})
    print("\n".join(lines + notes[:3]))
    if not passed:
        raise CheckFailed(exercise, "\n".join(lines))
    return True
