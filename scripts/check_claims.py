"""Re-execute chapters as another machine would, and count the claims that still hold.

    .venv/bin/python scripts/check_claims.py --offset 1 [--jobs 2] [chapters/04_dropout.ipynb ...]

A training run never reproduces digit for digit off the machine that stored
it, so every chapter states its claims as ``assert``s with margins. This script
tests those margins the way a reader's machine would challenge them:

- **other seeds**: every seed the chapter sets (``torch.manual_seed``,
  ``torch.Generator().manual_seed``, ``seed_everything``, NumPy's and Python's
  global seeds) is shifted by ``offset * 1_000_003``, in the kernel *and in
  every Python process it starts* (the worker processes of a Dask cluster or a
  process pool, which run a chapter's training runs): a ``sitecustomize.py``
  in a temporary folder, put first on the kernel's ``PYTHONPATH``, applies the
  shift at the start of every such process when ``REGLAB_CHECK_SEED_SHIFT`` is
  set, and both are inherited by the processes the kernel starts (the
  chapter's own code is unchanged);
- **another kernel path**: ``ATEN_CPU_CAPABILITY=default`` (PyTorch's plain C++
  kernels instead of the AVX2/AVX-512 ones) and oneDNN switched off, so float
  sums run in another order, in those processes too.

Each chapter runs in a fresh kernel from its own folder; the notebook files
are not modified. Every cell runs even after one fails, and the report counts
the ``assert`` statements of the cells that ran without error ("held") against
all of them, and names each failing cell with its error. Exit status 1 if any
claim failed.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError

ROOT = Path(__file__).resolve().parents[1]
SEED_STRIDE = 1_000_003  # a prime far above any seed a chapter uses: shifted seeds never meet unshifted ones

SHIFT_SEEDS = '''\
# Run by scripts/check_claims.py at the start of every Python process: every seed is shifted by {shift}.
import random as _random
import numpy as _np
import torch as _torch

_SHIFT = {shift}
_torch_manual_seed, _np_seed, _random_seed = _torch.manual_seed, _np.random.seed, _random.seed
_torch.manual_seed = _torch.random.manual_seed = lambda seed: _torch_manual_seed(int(seed) + _SHIFT)
_np.random.seed = lambda seed=None: _np_seed(None if seed is None else (int(seed) + _SHIFT) % 2**32)
_random.seed = lambda seed=None, *args, **kwargs: _random_seed(None if seed is None else int(seed) + _SHIFT)


class _ShiftedGenerator(_torch.Generator):
    def manual_seed(self, seed):
        return super().manual_seed(int(seed) + _SHIFT)


_torch.Generator = _ShiftedGenerator
_torch.backends.mkldnn.enabled = {onednn}
_torch._reglab_seed_shift = _SHIFT  # for the first cell's check that the shift is on
'''
SHIFT_VARIABLE = "REGLAB_CHECK_SEED_SHIFT"
SITECUSTOMIZE = '''\
# Written by scripts/check_claims.py: every Python process started under the check (the kernel and the
# processes it starts: Dask workers, process pools) shifts its seeds by {variable}.
import os as _os

if _os.environ.get({variable!r}):
    exec(compile({code!r}.format(shift=int(_os.environ[{variable!r}]), onednn={onednn}), "<check_claims seed shift>",
                 "exec"))
'''
# The first cell: fails loudly (and is reported) if the kernel did not get the shift
CHECK_SHIFT = '''\
# Inserted by scripts/check_claims.py: seeds are shifted by {shift} here and in every process started below.
import torch as _torch

if getattr(_torch, "_reglab_seed_shift", None) != {shift}:
    raise RuntimeError("scripts/check_claims.py: the seed shift did not reach the kernel")
'''


def shifted_environment(folder: Path, offset: int, onednn: bool = False) -> dict[str, str]:
    """This process's environment plus the seed shift: ``sitecustomize.py`` written to ``folder``, put first on
    ``PYTHONPATH``, and ``REGLAB_CHECK_SEED_SHIFT``; every Python process started with it inherits both.
    oneDNN is switched off in those processes unless ``onednn``."""
    (folder / "sitecustomize.py").write_text(
        SITECUSTOMIZE.format(variable=SHIFT_VARIABLE, code=SHIFT_SEEDS, onednn=onednn))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(folder), *filter(None, [env.get("PYTHONPATH")])])
    env[SHIFT_VARIABLE] = str(offset * SEED_STRIDE)
    return env


def count_asserts(source: str) -> int:
    """The ``assert`` statements of a code cell (IPython magics and shell lines ignored)."""
    python = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(python)
    except SyntaxError:
        return 0
    return sum(isinstance(node, ast.Assert) for node in ast.walk(tree))


def error_of(cell) -> str | None:
    """The error a cell raised, with the line that raised it (the traceback's ``---->`` line)."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            traceback = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(output.get("traceback", [])))
            lines = [line.split(maxsplit=2)[-1] for line in traceback.splitlines() if line.startswith("--->")]
            where = f" at `{lines[-1].strip()}`" if lines else ""
            return f"{output['ename']}: {output['evalue']}"[:300] + where
    return None


def set_scale(notebook, scale: str) -> None:
    """Set ``SCALE`` in the cell tagged ``parameters``, as papermill would."""
    cells = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    if not cells:
        raise ValueError("the notebook has no cell tagged 'parameters'")
    cells[0].source = f"SCALE = {scale!r}"


def check(path: Path, offset: int, scale: str | None = None, timeout: int = 900,
          onednn: bool = False) -> tuple[int, int, list[str], float]:
    """Run one notebook with shifted seeds; return (held, total, failures, seconds).

    ``scale`` (e.g. ``"full"``) replaces the chapter's ``SCALE`` parameter;
    ``timeout`` is the most seconds one cell may run; ``onednn`` keeps oneDNN
    on (the full-scale smoke run, which checks code paths, not claims, and
    whose convolutions are several times slower without it).
    """
    notebook = nbformat.read(path, as_version=4)
    if scale is not None:
        set_scale(notebook, scale)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(CHECK_SHIFT.format(shift=offset * SEED_STRIDE)))
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    for cell in notebook.cells:  # forget the stored run: a cell that does not run now must not count
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    start = time.perf_counter()
    failures = []
    try:
        with tempfile.TemporaryDirectory(prefix="check-claims-") as folder:
            client.execute(env=shifted_environment(Path(folder), offset, onednn))
    except CellTimeoutError:
        ran = [cell for cell in notebook.cells if cell.cell_type == "code" and cell.get("execution_count")]
        failures.append(f"a cell ran past {timeout} s, after this one (the cells after it did not run):\n"
                        f"{ran[-1].source[:300] if ran else ''}")
    seconds = time.perf_counter() - start
    held = total = 0
    if error_of(notebook.cells[0]) is not None:
        failures.append(f"the seed shift: {error_of(notebook.cells[0])}")
    for index, cell in enumerate(notebook.cells[1:]):
        if cell.cell_type != "code":
            continue
        asserts = count_asserts(cell.source)
        total += asserts
        error = error_of(cell)
        if cell.execution_count is None:
            continue  # did not run (after a timeout): its asserts did not hold
        if error is None:
            held += asserts
        else:
            failures.append(f"cell {index}: {error}")
    return held, total, failures, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapter")
    parser.add_argument("--offset", type=int, required=True, help="seed offset (1, 2, 3, ...); 0 = the stored seeds")
    parser.add_argument("--jobs", type=int, default=1, help="chapters run at once (one kernel each)")
    parser.add_argument("--scale", default=None, help="run at this SCALE (e.g. 'full') instead of the stored one")
    parser.add_argument("--max-steps", type=int, default=None,
                        help="cap every training loop at this many steps (REGLAB_MAX_STEPS): the full-scale smoke run")
    parser.add_argument("--timeout", type=int, default=900, help="the most seconds one cell may run")
    parser.add_argument("--capability", default="default",
                        help="ATEN_CPU_CAPABILITY for the kernels (default: 'default'; '' keeps this CPU's best)")
    args = parser.parse_args()
    if args.offset < 0:
        parser.error(f"--offset must be a non-negative integer, got {args.offset}")
    if args.jobs < 1:
        parser.error(f"--jobs must be a positive integer, got {args.jobs}")
    if args.capability:
        os.environ["ATEN_CPU_CAPABILITY"] = args.capability  # read by the kernel process at import of torch
    if args.max_steps is not None:
        if args.max_steps < 1:
            parser.error(f"--max-steps must be a positive integer, got {args.max_steps}")
        os.environ["REGLAB_MAX_STEPS"] = str(args.max_steps)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    notebooks = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    print(f"seed offset {args.offset}, ATEN_CPU_CAPABILITY={args.capability or '(this CPU)'}, oneDNN off"
          + (f", SCALE={args.scale!r}" if args.scale else "") + (f", REGLAB_MAX_STEPS={args.max_steps}" if args.max_steps else ""))
    print(f"{'chapter':40s} {'asserts held':>13s} {'seconds':>8s}")
    all_held = all_total = 0
    failed = False
    with ProcessPoolExecutor(args.jobs) as pool:
        results = pool.map(partial(check, offset=args.offset, scale=args.scale, timeout=args.timeout), [path.resolve() for path in notebooks])
        for path, (held, total, failures, seconds) in zip(notebooks, results):
            all_held, all_total = all_held + held, all_total + total
            print(f"{path.name:40s} {held:6d} / {total:<4d} {seconds:8.1f}", flush=True)
            for failure in failures:
                print(f"    FAILED {failure}", flush=True)
            failed = failed or bool(failures)
    print(f"{'all':40s} {all_held:6d} / {all_total:<4d}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
