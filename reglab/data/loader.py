"""A data set held whole on one device, served in shuffled batches there.

Small data sets (digits, moons, even CIFAR-10 at 600 MB as float32) fit in a
GPU's memory. Keeping them there removes the per-batch copy from the host that
a ``torch.utils.data.DataLoader`` pays, and lets augmentation run batched on
the device. The order of batches comes from a seeded ``torch.Generator`` that
lives on the same device, so an epoch's shuffle is reproducible and never
touches the host.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from reglab._validation import check_bool, check_int, check_tensor, parameter_error

__all__ = ["DeviceLoader"]

BatchTransform = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


class DeviceLoader:
    """Shuffled mini-batches of ``(x, y)``, drawn on the tensors' device.

    Args:
        x (Tensor): inputs, first dimension the sample index.
        y (Tensor): targets, same first dimension as ``x``.
        batch_size (int): samples per batch, at least 1.
        shuffle (bool): draw a new permutation every epoch. Default: True.
        drop_last (bool): drop the last, smaller batch. Default: False.
        transform (callable, optional): ``transform(x_batch, y_batch) ->
            (x_batch, y_batch)``, applied to every batch (augmentation, mixup).
        device (str or torch.device, optional): where to keep the data.
            Default: where ``x`` already is.
        seed (int): seed of the shuffling generator. Default: 0.

    Shape:
        - x: :math:`(N, *)`; y: :math:`(N, *)`; each batch :math:`(B, *)` with
          :math:`B \\le` ``batch_size``.

    Example:
        >>> loader = DeviceLoader(torch.arange(10.0), torch.arange(10), batch_size=4, seed=0)
        >>> [len(xb) for xb, yb in loader]
        [4, 4, 2]
        >>> sorted(torch.cat([yb for _, yb in loader]).tolist()) == list(range(10))
        True
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        *,
        shuffle: bool = True,
        drop_last: bool = False,
        transform: BatchTransform | None = None,
        device: str | torch.device | None = None,
        seed: int = 0,
    ) -> None:
        owner = "DeviceLoader"
        check_tensor(x, "x", owner, min_ndim=1)
        check_tensor(y, "y", owner, min_ndim=1)
        if len(x) != len(y):
            raise ValueError(parameter_error("y", owner, f"a tensor with as many samples as x ({len(x)})", f"{len(y)} samples"))
        if len(x) == 0:
            raise ValueError(parameter_error("x", owner, "a non-empty tensor", "0 samples"))
        self.batch_size = check_int(batch_size, "batch_size", owner, low=1)
        self.shuffle = check_bool(shuffle, "shuffle", owner)
        self.drop_last = check_bool(drop_last, "drop_last", owner)
        if transform is not None and not callable(transform):
            raise TypeError(parameter_error("transform", owner, "a callable or None", transform))
        self.transform = transform
        device = torch.device(device) if device is not None else x.device
        self.x = x.to(device)
        self.y = y.to(device)
        self.generator = torch.Generator(device=device).manual_seed(check_int(seed, "seed", owner, low=0))

    @property
    def device(self) -> torch.device:
        return self.x.device

    def __len__(self) -> int:
        """Number of batches in one epoch."""
        n = len(self.x)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.x)
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator, device=self.device)  # (N,)
        else:
            order = torch.arange(n, device=self.device)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start : start + self.batch_size]  # (B,)
            xb, yb = self.x[index], self.y[index]
            if self.transform is not None:
                xb, yb = self.transform(xb, yb)
            yield xb, yb

    def __repr__(self) -> str:
        return (
            f"DeviceLoader(samples={len(self.x)}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, device={self.device})"
        )
