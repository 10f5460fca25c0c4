"""The checks that the chapters' exercises call.

Each ``check_*`` function runs a learner's function on several cases against
``reglab``'s reference and prints a one-paragraph verdict (what case failed,
what was expected, a hint) instead of a traceback. It returns whether all
cases passed.
"""

from reglab.exercises.chapter01 import check_bias_variance
from reglab.exercises.checking import Case, run_check

__all__ = ["Case", "run_check", "check_bias_variance"]
