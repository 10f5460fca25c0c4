"""Helpers shared by the tests of the exercise checks."""

from reglab.exercises import CheckFailed


def passes(check, *args) -> bool:
    """``check(*args)``: True when it passes; False when it raises CheckFailed (a failed check raises, never returns False)."""
    try:
        result = check(*args)
    except CheckFailed:
        return False
    assert result is True, f"a passing check returns True, not {result!r}"
    return True


def verdict(check, function, capsys):
    """Run ``check(function)``; return whether it passed and what it printed, which must hold no traceback."""
    passed = passes(check, function)
    out = capsys.readouterr().out
    assert "Traceback" not in out
    return passed, out


def assert_fails_with(check, wrong, hint, exercise, capsys):
    """``check`` rejects ``wrong`` with a verdict for ``exercise`` that contains ``hint``."""
    passed, out = verdict(check, wrong, capsys)
    assert not passed
    assert f"✘ Exercise {exercise}" in out and hint in out, out
