"""Parameter-norm penalties, weight-decay groups, and the in-place steps of constrained training.

- ``reglab.penalties.norms``: ``l1_penalty``, ``l2_penalty`` (Σθ², no 1/2),
  ``elastic_net_penalty``, ``decay_param_groups``;
- ``reglab.penalties.constraints``: ``soft_threshold_`` (the proximal L1
  step), ``max_norm_``, ``clip_weights_``.
"""

from reglab.penalties.constraints import clip_weights_, max_norm_, soft_threshold_
from reglab.penalties.norms import decay_param_groups, elastic_net_penalty, l1_penalty, l2_penalty

__all__ = [
    "l1_penalty",
    "l2_penalty",
    "elastic_net_penalty",
    "decay_param_groups",
    "soft_threshold_",
    "max_norm_",
    "clip_weights_",
]
