"""Time one epoch of batches: reglab's DeviceLoader against torch's DataLoader.

The alternative a user would pick is ``DataLoader(TensorDataset(x, y),
batch_size, shuffle=True)``, with ``pin_memory`` and a copy to the GPU per batch
when there is one. Both are timed in the same run, on the same data, and the
ratio printed.

    .venv/bin/python benchmarks/loader.py            # CIFAR-10-sized random data
    .venv/bin/python benchmarks/loader.py --quick    # a tenth of it
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.data import DataLoader, TensorDataset

from reglab.data import DeviceLoader
from reglab.utils import get_device


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()
    elif device.type == "mps":
        torch.mps.synchronize()


def epoch_seconds(batches, device: torch.device, repeats: int) -> float:
    """Best of ``repeats`` full passes, each touching every batch on ``device``."""
    best = float("inf")
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        checksum = torch.zeros((), device=device)
        for x, y in batches:
            x = x.to(device, non_blocking=True)
            checksum += x[:, 0, 0, 0].sum() + y.to(device, non_blocking=True).sum()  # use the batch on the device
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5,000 images instead of 50,000")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    device = get_device()
    n = 5_000 if args.quick else 50_000
    x = torch.rand(n, 3, 32, 32)
    y = torch.randint(0, 10, (n,))
    on_device = DeviceLoader(x, y, args.batch_size, device=device, seed=0)
    reference = DataLoader(TensorDataset(x, y), batch_size=args.batch_size, shuffle=True, pin_memory=device.type == "cuda")
    ours = epoch_seconds(on_device, device, args.repeats)
    theirs = epoch_seconds(reference, device, args.repeats)
    print(f"device {device}, {n} images of 3x32x32, batch {args.batch_size}, best of {args.repeats} epochs")
    print(f"  torch DataLoader(TensorDataset)  {theirs * 1e3:9.1f} ms/epoch")
    print(f"  reglab DeviceLoader              {ours * 1e3:9.1f} ms/epoch")
    print(f"  speed-up                         {theirs / ours:9.1f}x")


if __name__ == "__main__":
    main()
