"""The checks that the chapters' exercises call.

Each ``check_*`` function runs a learner's function on several cases against
``reglab``'s reference and prints a one-paragraph verdict (what case failed,
what was expected, a hint) instead of a traceback. It returns True when every
case passes, and otherwise raises :class:`CheckFailed`, which Jupyter shows as
one line under the verdict, so that the check cell fails.

``ANSWERED_BY`` names, for each code exercise, the ``reglab`` functions whose
source is its answer: the chapters print that source where they teach it, and
the student and nbgrader editions move those prints after the exercise.
"""

from reglab.exercises.chapter01 import check_bias_variance
from reglab.exercises.chapter02 import check_soft_threshold
from reglab.exercises.chapter03 import check_stopping_rule
from reglab.exercises.chapter04 import check_locked_dropout
from reglab.exercises.chapter05 import check_batch_norm_train
from reglab.exercises.chapter06 import check_random_flip
from reglab.exercises.chapter07 import check_clip_grad_norm
from reglab.exercises.chapter08 import check_mixup
from reglab.exercises.chapter09 import check_label_smoothing
from reglab.exercises.chapter10 import check_fgsm
from reglab.exercises.chapter11 import check_drop_path
from reglab.exercises.chapter12 import check_ema_update
from reglab.exercises.chapter13 import check_ablation_table
from reglab.exercises.checking import Case, CheckFailed, run_check

#: For each code exercise, the qualified names (``obj.__qualname__``) of the ``reglab`` functions whose
#: source answers it.
ANSWERED_BY: dict[str, tuple[str, ...]] = {
    "1.1": ("bias_variance_decomposition",),
    "2.1": ("soft_threshold_",),
    "3.1": ("EarlyStopping.on_epoch_end",),
    "4.1": ("locked_dropout",),
    "5.1": ("batch_norm",),
    "6.1": ("random_flip",),
    "7.1": ("clip_grad_norm_",),
    "8.1": ("mixup",),
    "9.1": ("label_smoothing_cross_entropy", "smooth_labels"),
    "10.1": ("fgsm", "_attack", "_ascent_direction", "_project"),
    "11.1": ("drop_path",),
    "12.1": ("EMA.update",),
    "13.1": ("AblationResults.table",),
}

__all__ = [
    "ANSWERED_BY",
    "Case",
    "CheckFailed",
    "run_check",
    "check_bias_variance",
    "check_soft_threshold",
    "check_stopping_rule",
    "check_locked_dropout",
    "check_batch_norm_train",
    "check_random_flip",
    "check_clip_grad_norm",
    "check_mixup",
    "check_label_smoothing",
    "check_fgsm",
    "check_drop_path",
    "check_ablation_table",
    "check_ema_update",
]
