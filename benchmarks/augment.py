"""Time reglab's batched, on-device augmentation against what a user would write instead.

    python benchmarks/augment.py            # 10,000 images of 3x32x32
    python benchmarks/augment.py --quick    # 2,000 images, fewer repeats

Side by side in one run, on the same images (CPU here, CUDA when present):

1. crop (padding 4) + horizontal flip + cutout (8x8) with ``reglab.augment``,
   one call on the whole batch of images, on its device;
2. the same with ``torchvision.transforms.v2`` applied per image inside a
   ``torch.utils.data.DataLoader`` (RandomCrop, RandomHorizontalFlip, and
   RandomErasing fixed to one 8x8 square of zeros, the closest built-in to
   cutout), batches then moved to the device;
3. ``x.clone()`` of the batch: the memory-bound floor;
4. mixup and CutMix with ``reglab.augment`` against
   ``torchvision.transforms.v2.MixUp`` / ``CutMix`` on the same batch.

It prints images per second and the ratios. Targets: reglab at least 30x
the per-image torchvision pipeline, within 5x of the clone, and mixup/CutMix
no slower than torchvision's.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from reglab.augment import Cutout, RandomCrop, RandomFlip, compose, cutmix, mixup


class PerImage(Dataset):
    """A tensor data set whose images go through a torchvision transform one at a time."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, transform) -> None:
        self.x, self.y, self.transform = x, y, transform

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.transform(self.x[i]), self.y[i]


def timed(fn, device: torch.device, repeats: int) -> float:
    """Best wall time of ``repeats`` runs of ``fn`` after one warm-up, in seconds."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 images and 2 repeats")
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=256, help="batch size of the torchvision DataLoader")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers for the torchvision pipeline")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    n, repeats = (2_000, 2) if args.quick else (args.images, 3)
    device = torch.device(args.device)
    g = torch.Generator().manual_seed(0)
    x_host = torch.rand(n, 3, 32, 32, generator=g)
    y_host = torch.randint(0, 10, (n,), generator=g)
    x, y = x_host.to(device), y_host.to(device)
    generator = torch.Generator(device=device).manual_seed(0)

    ours = compose(RandomCrop(4, generator=generator), RandomFlip(generator=generator), Cutout(8, generator=generator))
    theirs = v2.Compose([
        v2.RandomCrop(32, padding=4),
        v2.RandomHorizontalFlip(),
        v2.RandomErasing(p=1.0, scale=(64 / 1024, 64 / 1024), ratio=(1.0, 1.0), value=0),  # one 8x8 square
    ])
    loader = DataLoader(PerImage(x_host, y_host, theirs), batch_size=args.batch_size, num_workers=args.workers)

    def run_ours():
        ours(x, y)

    def run_theirs():
        for xb, yb in loader:
            xb.to(device), yb.to(device)

    def run_clone():
        x.clone()

    tv_mixup, tv_cutmix = v2.MixUp(alpha=1.0, num_classes=10), v2.CutMix(alpha=1.0, num_classes=10)
    rows = {
        "reglab crop+flip+cutout (batched)": timed(run_ours, device, repeats),
        f"torchvision v2 per image, DataLoader(workers={args.workers})": timed(run_theirs, device, 1),
        "x.clone() of the batch (floor)": timed(run_clone, device, repeats),
        "reglab mixup": timed(lambda: mixup(x, y, 1.0, 10, generator=generator), device, repeats),
        "torchvision v2.MixUp": timed(lambda: tv_mixup(x, y), device, repeats),
        "reglab cutmix": timed(lambda: cutmix(x, y, 1.0, 10, generator=generator), device, repeats),
        "torchvision v2.CutMix": timed(lambda: tv_cutmix(x, y), device, repeats),
    }
    print(f"{n:,} images of 3x32x32 (torchvision DataLoader batches of {args.batch_size}), device {device}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"{'pipeline':58s} {'images/s':>12s}")
    for name, seconds in rows.items():
        print(f"{name:58s} {n / seconds:12,.0f}")
    names = list(rows)
    speedup = rows[names[1]] / rows[names[0]]
    floor = rows[names[0]] / rows[names[2]]
    mix, cut = rows[names[4]] / rows[names[3]], rows[names[6]] / rows[names[5]]
    print(f"reglab vs torchvision per image: {speedup:.1f}x faster (target >= 30x: {'met' if speedup >= 30 else 'NOT met'})")
    print(f"reglab vs clone: {floor:.1f}x the clone's time (target <= 5x: {'met' if floor <= 5 else 'NOT met'})")
    print(f"mixup: reglab {mix:.2f}x torchvision's speed; cutmix: {cut:.2f}x (target >= 1: "
          f"{'met' if min(mix, cut) >= 1 else 'NOT met'})")


if __name__ == "__main__":
    main()
