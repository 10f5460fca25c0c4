"""Time one ablation grid: here, one run after the other, against a local Dask cluster of worker processes.

The grid is chapter 13's kind of work: small MLPs trained on Fashion-MNIST
images that every run reads from files, scored on validation images. The same
grid (same configurations, same seeds) runs serially in this process and on
``reglab.parallel.local_cluster(workers)`` through ``client.get_executor()``,
alternately, ``--repeats`` times; the results must be identical. Printed:

- the wall time of each, mean ± std over the repeats, and the speed-up;
- the overhead per run: ``(workers x parallel - serial) / runs``, the worker
  time a run costs beyond its training (sending it, reading its data, the
  scheduler's bookkeeping, and any core the workers did not get);
- the cluster's start-up time, paid once per session and not in the grid;
- the load average before and after, since a busy machine lends fewer cores.

    .venv/bin/python benchmarks/ablation.py                 # 16 runs of about a second (40 epochs), 3 repeats
    .venv/bin/python benchmarks/ablation.py --quick         # 8 shorter runs, 2 repeats
    .venv/bin/python benchmarks/ablation.py --workers 4     # on a machine with 4 free cores
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

import torch

from reglab.ablation import Config, run_ablation
from reglab.data import DeviceLoader, load_fashion_mnist
from reglab.models import MLP
from reglab.parallel import local_cluster


def batches(folder: str, split: str, batch_size: int, seed: int = 0) -> DeviceLoader:
    """One split, read from its file where the run runs."""
    x, y = torch.load(Path(folder) / f"{split}.pt")
    return DeviceLoader(x, y, batch_size=batch_size, shuffle=split == "train", seed=seed)


def build(width: int, dropout: float, weight_decay: float, seed: int):
    model = MLP(784, [width], 10, dropout=dropout)
    return model, torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=weight_decay), {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (one per free core)")
    parser.add_argument("--repeats", type=int, default=3, help="serial and parallel grids, alternately")
    parser.add_argument("--epochs", type=int, default=40, help="epochs per run (40: about a second of CPU)")
    parser.add_argument("--quick", action="store_true", help="8 runs of 5 epochs, 2 repeats")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.repeats = 5, 2
    torch.set_num_threads(1)  # as the workers: one thread each
    load_before = os.getloadavg()
    x, y = load_fashion_mnist(train=True)
    folder = tempfile.mkdtemp()
    torch.save((x[:1000], y[:1000]), Path(folder) / "train.pt")
    torch.save((x[1000:3000], y[1000:3000]), Path(folder) / "val.pt")
    train, val = partial(batches, folder, "train", 50), partial(batches, folder, "val", 2000)
    strengths = [(0.0, 0.0), (0.3, 0.0), (0.0, 5e-3), (0.3, 5e-3)]  # (dropout, weight decay)
    configs = [Config(f"p={p} wd={wd}", partial(build, 128, p, wd)) for p, wd in strengths]
    seeds = [0, 1] if args.quick else [0, 1, 2, 3]
    n_runs = len(configs) * len(seeds)

    from distributed import Client

    start = time.perf_counter()
    cluster = local_cluster(args.workers)
    client = Client(cluster)
    client.run(__import__, "reglab.ablation")  # the workers import torch and reglab once, before timing
    startup = time.perf_counter() - start
    serial_times, parallel_times = [], []
    try:
        for _ in range(args.repeats):
            start = time.perf_counter()
            serial = run_ablation(configs, seeds, train, val, epochs=args.epochs)
            serial_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            parallel = run_ablation(configs, seeds, train, val, epochs=args.epochs, executor=client.get_executor())
            parallel_times.append(time.perf_counter() - start)
            same = all(serial.runs[k][m] == parallel.runs[k][m] for k in serial.runs for m in serial.runs[k]
                       if m != "seconds")
            if not same:
                raise SystemExit("the parallel grid differs from the serial grid")
    finally:
        client.close()
        cluster.close()
    load_after = os.getloadavg()

    def spread(values: list[float]) -> str:
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):6.1f} ± {sd:4.1f} s"

    speedups = [s / p for s, p in zip(serial_times, parallel_times)]
    overheads = [(args.workers * p - s) / n_runs for s, p in zip(serial_times, parallel_times)]
    print(f"{n_runs} runs ({len(configs)} configurations x {len(seeds)} seeds, {args.epochs} epochs each), "
          f"{args.repeats} repeats; {os.cpu_count()} cores, load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after")
    print(f"serial, here:           {spread(serial_times)}  ({statistics.mean(serial_times) / n_runs:.2f} s a run)")
    print(f"{args.workers} Dask workers:         {spread(parallel_times)}  "
          f"(cluster start-up, once: {startup:.1f} s)")
    print(f"speed-up:               {statistics.mean(speedups):6.2f} ± {statistics.stdev(speedups) if len(speedups) > 1 else 0:.2f}")
    print(f"overhead per run:       {statistics.mean(overheads):6.2f} ± "
          f"{statistics.stdev(overheads) if len(overheads) > 1 else 0:.2f} s of worker time")
    print("results identical to the serial grid: True")


if __name__ == "__main__":
    main()
