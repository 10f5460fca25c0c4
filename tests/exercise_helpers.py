"""Helpers shared by the tests of the exercise checks."""


def verdict(check, function, capsys):
    """Run ``check(function)``; return whether it passed and what it printed, which must hold no traceback."""
    passed = check(function)
    out = capsys.readouterr().out
    assert "Traceback" not in out
    return passed, out


def assert_fails_with(check, wrong, hint, exercise, capsys):
    """``check`` rejects ``wrong`` with a verdict for ``exercise`` that contains ``hint``."""
    passed, out = verdict(check, wrong, capsys)
    assert not passed
    assert f"✘ Exercise {exercise}" in out and hint in out, out
