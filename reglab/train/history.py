"""What a training run records: per-epoch metrics and per-step hook values."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["History"]


@dataclass
class History:
    """Per-epoch metrics of a run, and per-step values returned by hooks.

    ``history["val_loss"]`` is the list of validation losses, one per epoch;
    keys are ``"train_loss"``, ``"val_loss"``, ``"train_<metric>"``,
    ``"val_<metric>"`` for each metric given to :func:`reglab.train.fit`, and
    ``"seconds"`` (wall time of each epoch). ``history.steps[name]`` holds one
    value per optimizer step for each ``after_backward`` hook that returns
    one (for example the gradient norm before clipping).

    Example:
        >>> h = History()
        >>> h.log_epoch(train_loss=1.0, val_loss=0.9)
        >>> h.log_epoch(train_loss=0.5, val_loss=0.7)
        >>> h["val_loss"], h.epochs, h.best_epoch()
        ([0.9, 0.7], 2, 1)
    """

    metrics: dict[str, list[float]] = field(default_factory=dict)
    steps: dict[str, list[float]] = field(default_factory=dict)
    stopped_early: bool = False
    stop_reason: str = ""  # a sentence set by a callback that ends training (e.g. EarlyStopping)

    def log_epoch(self, **values: float) -> None:
        """Append one epoch's values."""
        for key, value in values.items():
            self.metrics.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list[float]:
        if key not in self.metrics:
            raise KeyError(f"History has no {key!r}; it has {sorted(self.metrics)}.")
        return self.metrics[key]

    def __contains__(self, key: str) -> bool:
        return key in self.metrics

    @property
    def epochs(self) -> int:
        """Number of epochs run."""
        return max((len(v) for v in self.metrics.values()), default=0)

    def best_epoch(self, key: str = "val_loss", mode: str = "min") -> int:
        """Index (from 0) of the epoch with the lowest (``mode="min"``) or highest value of ``key``."""
        if mode not in ("min", "max"):
            raise ValueError(f"The 'mode' parameter of History.best_epoch must be 'min' or 'max'. Got {mode!r} instead.")
        values = self[key]
        best = min(values) if mode == "min" else max(values)
        return values.index(best)
