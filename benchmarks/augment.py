"""Time reglab's batched augmentation against the copy floor and against what a user would write instead.

    pip install -r benchmarks/requirements.txt      # kornia, for its row; without it the row is skipped
    OMP_NUM_THREADS=1 python benchmarks/augment.py --threads 1
    python benchmarks/augment.py --quick             # fewer rounds and images, to try it
    python benchmarks/augment.py --markdown --clock cpu   # also print a Markdown table, in CPU time

The task is CIFAR's recipe, random crop (padding 4) + horizontal flip + cutout
(8×8), on 10,000 images of 3×32×32 in batches of 500 (CPU here, CUDA when
present). Side by side in one run:

1. ``reglab``: ``compose(RandomCrop(4), RandomFlip(), Cutout(8))`` on each
   batch, fused into one step: on the CPU with numba, one compiled loop that
   writes each pixel once (``reglab.augment._compiled``); otherwise the stock
   PyTorch path;
2. the same on the stock PyTorch path (``REGLAB_NUMBA=0``, as on a GPU or
   without numba): a block copy per image, the mirrored half reversed, one
   mask multiply;
3. ``reglab``: ``random_crop``, ``random_flip``, ``cutout`` called one after
   the other on each batch;
4. ``kornia.augmentation``: the same three transforms, batched
   (``RandomErasing`` fixed to one 8×8 square of zeros);
5. ``torchvision.transforms.v2`` per image inside a ``DataLoader``, as most
   code does it (``RandomErasing`` likewise), batches then moved to the device;
6. the floor: ``x.clone()`` of the batch. Any transform that returns a new
   batch reads and writes every pixel at least once, so no augmentation of a
   batch can be faster than copying it.

Every batch is read once before each timed call, so it is in cache as it is
after a loader has just built it; the floor is the copy of one cached batch,
not of the whole data set. The run is split into rounds; in each round every
pipeline runs once, so a change of load on the machine hits all of them
alike. Each row gives the median images/s over rounds and the 10th-90th
percentile; each ratio is computed within each round, then summarized the
same way. On the CPU every call is timed twice, in wall time and in this
process's CPU time; on a machine shared with other programs the CPU time is
the steadier measure of the work done. Mixup and CutMix are timed against
torchvision's on the same batches.

Targets (issue 25): the fused pipeline within 5x the floor's time, and at
least 30x faster than torchvision per image.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from reglab.augment import (Cutout, RandomCrop, RandomFlip, _compiled, compose, cutmix, cutout, mixup, random_crop,
                            random_flip)

try:
    import kornia.augmentation as K
except ImportError:  # the benchmark runs without it, one row short
    K = None

ERASE_8x8 = {"scale": (64 / 1024, 64 / 1024), "ratio": (1.0, 1.0), "value": 0.0}  # one 8x8 square of zeros


class PerImage(Dataset):
    """A tensor data set whose images go through a torchvision transform one at a time."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, transform) -> None:
        self.x, self.y, self.transform = x, y, transform

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.transform(self.x[i]), self.y[i]


def numba_version() -> str:
    import numba

    return numba.__version__


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()  # CUDA kernels run asynchronously: wait before and after timing


class Clocks:
    """Wall time and this process's CPU time, read together around one call."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.wall, self.cpu = device, 0.0, 0.0

    def __enter__(self) -> "Clocks":
        sync(self.device)
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        sync(self.device)
        self.wall += time.perf_counter() - self._wall
        self.cpu += time.process_time() - self._cpu


def over_batches(fn, batches: list[tuple[torch.Tensor, ...]], device: torch.device):
    """A timer for ``fn(*batch)`` over all ``batches``: returns (wall s, CPU s, images).

    Each batch is read once, untimed, before its call, so it is in cache as a
    loader that has just built it leaves it.
    """

    def run() -> tuple[float, float, int]:
        clocks = Clocks(device)
        for batch in batches:
            batch[0].sum()
            with clocks:
                fn(*batch)
        return clocks.wall, clocks.cpu, sum(len(batch[0]) for batch in batches)

    return run


def once(fn, images: int, device: torch.device):
    """A timer for one call of ``fn()`` that handles ``images`` images: returns (wall s, CPU s, images)."""

    def run() -> tuple[float, float, int]:
        with Clocks(device) as clocks:
            fn()
        return clocks.wall, clocks.cpu, images

    return run


def spread(values: list[float]) -> tuple[float, float, float]:
    """Median and 10th and 90th percentiles."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    return statistics.median(values), deciles[0], deciles[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds, 2,000 images")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--per-image", type=int, default=1_000, help="images per round for torchvision per image")
    parser.add_argument("--kornia-images", type=int, default=2_500, help="images per round for kornia")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers for torchvision per image")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="what the Markdown table reports; cpu: this process's CPU time (CPU device, workers=0), "
                             "which other programs on a shared machine disturb less than wall time")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.images, args.per_image, args.kornia_images = 3, 2_000, 500, 1_000
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device, b = torch.device(args.device), args.batch_size
    g = torch.Generator().manual_seed(0)
    x_host = torch.rand(args.images, 3, 32, 32, generator=g)
    y_host = torch.randint(0, 10, (args.images,), generator=g)
    batches = list(x_host.to(device).split(b))
    labels = list(y_host.to(device).split(b))
    generator = torch.Generator(device=device).manual_seed(0)

    fused = compose(RandomCrop(4, generator=generator), RandomFlip(generator=generator), Cutout(8, generator=generator))

    def separate(xb):
        cutout(random_flip(random_crop(xb, 4, generator=generator), generator=generator), 8, generator=generator)

    def stock_ops(xb):  # the fused step without the compiled loop
        os.environ["REGLAB_NUMBA"] = "0"
        try:
            fused.images(xb)
        finally:
            del os.environ["REGLAB_NUMBA"]

    per_image = v2.Compose([v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip(), v2.RandomErasing(p=1.0, **ERASE_8x8)])
    n_tv = min(args.per_image, args.images)
    loader = DataLoader(PerImage(x_host[:n_tv], y_host[:n_tv], per_image), batch_size=b, num_workers=args.workers)

    def torchvision_per_image():
        for xb, yb in loader:
            xb.to(device), yb.to(device)

    single = [(xb,) for xb in batches]
    compiled = _compiled.usable(batches[0])
    print(f"the fused step runs {'the compiled loop, numba ' + numba_version() if compiled else 'the stock PyTorch path'}")
    pipelines = [  # (name, timer); the first is the fused pipeline, the last the floor
        ("reglab compose(crop, flip, cutout), fused", over_batches(fused.images, single, device)),
    ]
    if compiled:
        pipelines.append(("reglab fused, stock PyTorch path", over_batches(stock_ops, single, device)))
    pipelines += [
        ("reglab crop, flip, cutout called one by one", over_batches(separate, single, device)),
    ]
    if K is not None:
        kornia_augment = torch.nn.Sequential(K.RandomCrop((32, 32), padding=4), K.RandomHorizontalFlip(),
                                             K.RandomErasing(p=1.0, **ERASE_8x8)).to(device)
        n_k = max(1, min(args.kornia_images, args.images) // b)
        pipelines.append(("kornia.augmentation, batched", over_batches(kornia_augment, single[:n_k], device)))
    else:
        print("kornia is not installed (pip install -r benchmarks/requirements.txt): its row is skipped")
    pipelines += [
        (f"torchvision v2 per image, DataLoader(workers={args.workers})", once(torchvision_per_image, n_tv, device)),
        ("x.clone() of the batch (floor)", over_batches(torch.clone, single, device)),
    ]
    tv_mixup, tv_cutmix = v2.MixUp(alpha=1.0, num_classes=10), v2.CutMix(alpha=1.0, num_classes=10)
    pairs = list(zip(batches, labels))
    mixing = [
        ("reglab mixup", over_batches(lambda x, y: mixup(x, y, 1.0, 10, generator=generator), pairs, device)),
        ("torchvision v2.MixUp", over_batches(tv_mixup, pairs, device)),
        ("reglab cutmix", over_batches(lambda x, y: cutmix(x, y, 1.0, 10, generator=generator), pairs, device)),
        ("torchvision v2.CutMix", over_batches(tv_cutmix, pairs, device)),
    ]

    per_image: dict[str, dict[str, list[float]]] = {"wall": {}, "cpu": {}}  # clock -> pipeline -> s/image per round
    load_before = os.getloadavg()
    for round_ in range(args.rounds + 1):  # round 0 warms up and is not kept
        for name, run in pipelines + mixing:
            wall, cpu, images = run()
            if round_:
                per_image["wall"].setdefault(name, []).append(wall / images)
                per_image["cpu"].setdefault(name, []).append(cpu / images)
    load_after = os.getloadavg()
    print(f"{args.images:,} images of 3x32x32 in batches of {b} ({n_tv:,} per round for torchvision per image), "
          f"{args.rounds} rounds; device {device}, torch {torch.__version__}, {torch.get_num_threads()} thread(s); "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    names = [name for name, _ in pipelines]
    clocks = ("wall", "cpu") if device.type == "cpu" and args.workers == 0 else ("wall",)
    for clock in clocks:
        report(clock, per_image[clock], names, args.markdown and clock == args.clock)


def report(clock: str, seconds_per_image: dict[str, list[float]], names: list[str], markdown: bool) -> None:
    """Print one clock's table: images/s per pipeline, its time over the floor's, the fused pipeline's speed-up."""
    fused_name, floor_name = names[0], names[-1]
    print(f"\n{clock} time{' (this process)' if clock == 'cpu' else ''}:")
    print(f"{'pipeline':52s} {'images/s':>10s} {'(10-90 %)':>20s} {'time / floor':>16s} {'fused is faster':>20s}")
    rows = []
    for name in seconds_per_image:
        times = seconds_per_image[name]
        rate = spread([1 / t for t in times])
        in_table = name in names
        floor = spread([t / f for t, f in zip(times, seconds_per_image[floor_name])]) if in_table else None
        faster = spread([t / f for t, f in zip(times, seconds_per_image[fused_name])])
        rows.append((name, rate, floor, faster))
        ratio = f"{floor[0]:5.1f} ({floor[1]:.1f}-{floor[2]:.1f})" if in_table else ""
        speed = f"{faster[0]:6.1f} ({faster[1]:.1f}-{faster[2]:.1f})" if in_table and name not in (fused_name, floor_name) else ""
        print(f"{name:52s} {rate[0]:10,.0f} {f'({rate[1]:,.0f}-{rate[2]:,.0f})':>20s} {ratio:>16s} {speed:>20s}")
    floor_ratio = rows[0][2][0]
    tv = next(r for r in rows if r[0].startswith("torchvision v2 per image"))[3][0]
    print(f"fused: {floor_ratio:.1f}x the floor's time (target <= 5: {'met' if floor_ratio <= 5 else 'NOT met'}), "
          f"{tv:.0f}x faster than torchvision per image (target >= 30: {'met' if tv >= 30 else 'NOT met'})")
    mix = spread([t / r for t, r in zip(seconds_per_image["torchvision v2.MixUp"], seconds_per_image["reglab mixup"])])
    cut = spread([t / r for t, r in zip(seconds_per_image["torchvision v2.CutMix"], seconds_per_image["reglab cutmix"])])
    print(f"mixup: reglab {mix[0]:.2f}x torchvision's speed; cutmix: {cut[0]:.2f}x")
    if markdown:
        print(f"\n| pipeline ({clock} time) | images/s, median (10–90 % of rounds) | time ÷ clone floor | the fused pipeline is faster by |")
        print("| --- | ---: | ---: | ---: |")
        for name, rate, floor, faster in rows:
            if floor is None:
                continue
            speed = "" if name in (fused_name, floor_name) else f"{faster[0]:.1f}× ({faster[1]:.1f}–{faster[2]:.1f})"
            print(f"| {name} | {rate[0]:,.0f} ({rate[1]:,.0f}–{rate[2]:,.0f}) | {floor[0]:.1f}× ({floor[1]:.1f}–{floor[2]:.1f}) | {speed} |")


if __name__ == "__main__":
    main()
