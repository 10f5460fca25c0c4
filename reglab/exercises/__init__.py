"""The checks that the chapters' exercises call.

Each ``check_*`` function runs a learner's function on several cases against
``reglab``'s reference and prints a one-paragraph verdict (what case failed,
what was expected, a hint) instead of a traceback. It returns whether all
cases passed.
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
from reglab.exercises.chapter12 import check_ablation_table
from reglab.exercises.chapter13 import check_ema_update
from reglab.exercises.checking import Case, run_check

__all__ = [
    "Case",
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
