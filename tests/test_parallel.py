"""reglab.parallel.run_tasks: results by key, retries, failures kept, interruption cancels; open_storage."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from reglab.parallel import TaskFailedWarning, open_storage, run_tasks


def square(x):
    return x * x


def slow_square(x):
    """Later tasks finish first on a pool."""
    time.sleep(0.02 * (6 - x))
    return x * x


CALLS: dict = {}  # module state, shared by the copies of ``flaky`` that a (thread) pool unpickles
FAIL_TIMES: dict = {}
LOCK = threading.Lock()


def flaky(x):
    """Fails the first ``FAIL_TIMES[x]`` calls for ``x``, then squares it."""
    with LOCK:
        CALLS[x] = CALLS.get(x, 0) + 1
        n = CALLS[x]
    if n <= FAIL_TIMES.get(x, 0):
        raise ValueError(f"flaky {x}")
    return x * x


STARTED: list = []


def recorded_task(x):
    STARTED.append(x)
    time.sleep(0.05)
    return x


def set_failures(times):
    CALLS.clear(), FAIL_TIMES.clear()
    FAIL_TIMES.update(times)


@pytest.mark.parametrize("pool", [False, True])
def test_results_come_back_by_key_in_task_order_and_on_result_runs_in_the_driver(pool):
    tasks = {f"t{i}": (i,) for i in range(6)}
    seen, driver = [], threading.get_ident()

    def on_result(key, value):
        seen.append((key, value, threading.get_ident() == driver))

    with ThreadPoolExecutor(3) as executor:
        results, failures = run_tasks(slow_square, tasks, executor=executor if pool else None, on_result=on_result)
    assert results == {f"t{i}": i * i for i in range(6)} and list(results) == list(tasks) and failures == {}
    assert sorted(seen) == sorted((f"t{i}", i * i, True) for i in range(6))
    if not pool:
        assert [key for key, _, _ in seen] == list(tasks)


@pytest.mark.parametrize("pool", [False, True])
def test_a_failed_task_is_retried_and_one_that_keeps_failing_is_returned_by_key(pool):
    set_failures({1: 1, 2: 5})  # 1 fails once, 2 always
    with ThreadPoolExecutor(2) as executor:
        with pytest.warns(TaskFailedWarning) as caught:
            results, failures = run_tasks(flaky, {"a": (1,), "b": (2,), "c": (3,)},
                                          executor=executor if pool else None, retries=2)
    assert results == {"a": 1, "c": 9}
    assert list(failures) == ["b"] and isinstance(failures["b"], ValueError) and str(failures["b"]) == "flaky 2"
    assert CALLS == {1: 2, 2: 3, 3: 1}  # 1 + 2 retries for the task that kept failing
    messages = [str(w.message) for w in caught]
    assert "task 'a' failed on attempt 1 of 3 with ValueError: flaky 1; retrying (attempt 2 of 3)" in messages
    assert "task 'b' failed on attempt 3 of 3 with ValueError: flaky 2; giving up" in messages


def test_no_retry_with_retries_zero():
    set_failures({1: 1})
    with pytest.warns(TaskFailedWarning, match="giving up"):
        results, failures = run_tasks(flaky, {"a": (1,)}, retries=0)
    assert results == {} and list(failures) == ["a"] and CALLS == {1: 1}


def test_an_interrupted_driver_cancels_the_tasks_not_yet_started():
    STARTED.clear()

    def on_result(key, value):
        raise KeyboardInterrupt  # the driver is interrupted after its first result

    with ThreadPoolExecutor(1) as executor:
        with pytest.raises(KeyboardInterrupt):
            run_tasks(recorded_task, {i: (i,) for i in range(20)}, executor=executor, on_result=on_result)
    assert len(STARTED) <= 3  # the queued ones never ran


def test_a_task_that_cannot_be_pickled_for_an_executor_raises_a_clear_error():
    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("no")

    with ThreadPoolExecutor(1) as executor:
        with pytest.raises(TypeError, match="a task must be picklable to run on an executor"):
            run_tasks(square, {"a": (Unpicklable(),)}, executor=executor)


def test_arguments_are_checked():
    with pytest.raises(TypeError, match="'function' parameter of run_tasks"):
        run_tasks(3, {})
    with pytest.raises(TypeError, match="'tasks' parameter of run_tasks"):
        run_tasks(square, [(1,)])
    with pytest.raises(TypeError, match="'executor' parameter of run_tasks"):
        run_tasks(square, {}, executor="dask")
    with pytest.raises(ValueError, match="'retries' parameter of run_tasks"):
        run_tasks(square, {}, retries=-1)
    with pytest.raises(TypeError, match="'on_result' parameter of run_tasks"):
        run_tasks(square, {}, on_result=1)


def test_open_storage_gives_a_journal_for_a_path_and_passes_a_database_url_through(tmp_path):
    optuna = pytest.importorskip("optuna")
    journal = open_storage(tmp_path / "study.log")
    assert isinstance(journal, optuna.storages.JournalStorage)
    assert open_storage("sqlite:///study.db") == "sqlite:///study.db"
    with pytest.raises(TypeError, match="'spec' parameter of open_storage"):
        open_storage(3)


WORKER_SEEDED = """\
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
import torch
from reglab.parallel import run_tasks
from reglab.utils import seed_everything
pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
drawn, _ = run_tasks(lambda: (seed_everything(0), torch.rand(1).item())[1], {{"a": ()}}, executor=pool)
pool.shutdown()
assert drawn["a"] == {a!r}
"""


@pytest.mark.parametrize("offset, held", [(0, 1), (1, 0)])
def test_check_claims_shifts_the_seeds_of_the_worker_processes_a_chapter_starts(tmp_path, offset, held):
    """A run sent to a worker process (here a spawned process pool, as Dask's nannies spawn) draws shifted seeds."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    import nbformat
    import torch

    torch.manual_seed(0)
    a = torch.rand(1).item()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(WORKER_SEEDED.format(a=a))]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "worker.ipynb"
    nbformat.write(notebook, path)
    script = Path(__file__).resolve().parents[1] / "scripts" / "check_claims.py"
    result = subprocess.run([sys.executable, str(script), "--offset", str(offset), str(path)],
                            capture_output=True, text=True, timeout=300)
    assert re.search(rf"worker\.ipynb\s+{held} / 1\b", result.stdout), result.stdout + result.stderr
