"""reglab: the small, tested PyTorch package behind the Regularization Lab course.

Modules (one idea each):

- :mod:`reglab.data`: synthetic and real data sets, and a loader on the device
- :mod:`reglab.penalties`: L1, L2, elastic net, weight-decay groups, proximal and constraint steps
- :mod:`reglab.clipping`: gradient norms and clipping, as a ``fit`` hook too
- :mod:`reglab.augment`: batched augmentation on the device, mixup and CutMix
- :mod:`reglab.adversarial`: FGSM, PGD, adversarial training, robust accuracy
- :mod:`reglab.consistency`: consistency regularization with unlabeled data
- :mod:`reglab.finetune`: freezing and LoRA, fine-tuning as a regularizer
- :mod:`reglab.layers`: the dropout family, noise layers and normalization layers, from scratch
- :mod:`reglab.losses`: soft-target cross-entropy, label smoothing, distillation
- :mod:`reglab.train`: one training loop with hooks for regularizers
- :mod:`reglab.models`: the small models the chapters share
- :mod:`reglab.metrics`: accuracy, bias–variance decomposition, calibration, sharpness
- :mod:`reglab.sam`: sharpness-aware minimization, a step toward flat minima
- :mod:`reglab.plots`: the course's figures
- :mod:`reglab.utils`: seeding and device choice
- :mod:`reglab.ablation`: a grid of regularizer configurations × seeds, resumable, tabulated and plotted
- :mod:`reglab.stats`: paired comparisons over seeds, with Holm's correction for many of them
- :mod:`reglab.parallel`: independent runs on any executor (a process pool, a Dask cluster), Optuna studies in workers
- :mod:`reglab.exercises`: the checks the exercises call
"""

from reglab import (
    ablation,
    adversarial,
    augment,
    clipping,
    consistency,
    data,
    exercises,
    finetune,
    layers,
    losses,
    metrics,
    models,
    parallel,
    penalties,
    plots,
    stats,
    train,
    utils,
)

__version__ = "0.1.0"

__all__ = [
    "ablation",
    "adversarial",
    "augment",
    "clipping",
    "consistency",
    "data",
    "exercises",
    "finetune",
    "layers",
    "losses",
    "metrics",
    "models",
    "parallel",
    "penalties",
    "plots",
    "stats",
    "train",
    "utils",
    "__version__",
]
