"""Independent runs on any executor: one process, a pool on one machine, or a Dask cluster.

An ablation grid and a hyperparameter search are *embarrassingly parallel*:
their runs share nothing but their inputs. This module runs such tasks on any
``concurrent.futures.Executor`` and keeps the bookkeeping in the process that
called it, the *driver*:

- :func:`run_tasks` submits every task, hands each result to ``on_result`` in
  the driver as soon as it arrives (so the driver alone writes a results
  file), retries a task that raised (a run that failed, a worker that died)
  and returns the failures, each under its key, instead of losing them;
- :func:`local_cluster` starts a Dask cluster on this machine, set up for
  training small PyTorch models (one process per core, one thread each);
- :func:`optimize_in_workers` lets several worker processes work on one Optuna
  study through a storage they all reach (a journal file or a database).

Functions and arguments travel as one ``cloudpickle`` payload per task (where
cloudpickle is installed; it comes with Dask), so functions defined in a
notebook (closures, lambdas) run on a ``ProcessPoolExecutor`` as well as on
Dask's ``Client.get_executor()``.

References:
    Rocklin (2015), "Dask: parallel computation with blocked algorithms and task
    scheduling", SciPy: the scheduler behind ``dask.distributed``.
    Akiba et al. (2019), "Optuna: a next-generation hyperparameter optimization
    framework", KDD: studies shared by processes through a storage.
"""

from __future__ import annotations

import logging
import pickle
import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from pathlib import Path
from typing import Any

from reglab._validation import check_int, parameter_error

__all__ = ["TaskFailedWarning", "run_tasks", "local_cluster", "open_storage", "optimize_in_workers"]


class TaskFailedWarning(UserWarning):
    """A task raised, or its worker died; it is retried (the message says which attempt)."""


def run_tasks(
    function: Callable[..., Any],
    tasks: Mapping[Hashable, Sequence[Any]],
    *,
    executor: Executor | None = None,
    retries: int = 1,
    on_result: Callable[[Hashable, Any], None] | None = None,
) -> tuple[dict[Hashable, Any], dict[Hashable, BaseException]]:
    """Call ``function(*args)`` for every ``key: args`` of ``tasks``; collect results and failures by key.

    Without an executor the tasks run here, one after the other, in the order
    of ``tasks``. With one, all are submitted at once and collected as they
    finish. Either way ``on_result(key, result)`` is called in this process
    after each success, and a task that raises an ``Exception`` (on an executor
    also a lost worker, e.g. Dask's ``KilledWorker``) is reported with a
    :class:`TaskFailedWarning` and run again, up to ``retries`` more times;
    after that its last error is returned under its key. ``KeyboardInterrupt``
    cancels the tasks not yet started and propagates.

    Args:
        function (callable): what each task calls; on an executor it must be
            picklable (by cloudpickle where installed, else by pickle).
        tasks (mapping): key to the argument tuple of one call.
        executor (Executor, optional): e.g. ``ProcessPoolExecutor(2)`` or
            ``dask.distributed.Client(...).get_executor()``. Default: None,
            every task runs in this process.
        retries (int): extra attempts for a failed task, >= 0. Default: 1.
        on_result (callable, optional): ``on_result(key, result)``, in this process.

    Returns:
        ``(results, failures)``: ``{key: result}`` in the order of ``tasks``
        and ``{key: last exception}`` of the tasks that failed every attempt.

    Example:
        >>> results, failures = run_tasks(pow, {"a": (2, 3), "b": (3, 2)})
        >>> results, failures
        ({'a': 8, 'b': 9}, {})
    """
    owner = "run_tasks"
    if not callable(function):
        raise TypeError(parameter_error("function", owner, "a callable", function))
    if not isinstance(tasks, Mapping):
        raise TypeError(parameter_error("tasks", owner, "a mapping of key to an argument tuple", type(tasks).__name__))
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(parameter_error("executor", owner, "a concurrent.futures.Executor or None",
                                        type(executor).__name__))
    retries = check_int(retries, "retries", owner, low=0)
    if on_result is not None and not callable(on_result):
        raise TypeError(parameter_error("on_result", owner, "a callable or None", on_result))
    results: dict[Hashable, Any] = {}
    failures: dict[Hashable, BaseException] = {}

    def succeeded(key: Hashable, result: Any) -> None:
        results[key] = result
        if on_result is not None:
            on_result(key, result)

    def retry(key: Hashable, attempt: int, error: BaseException) -> bool:
        again = attempt <= retries
        then = f"retrying (attempt {attempt + 1} of {retries + 1})" if again else "giving up"
        warnings.warn(f"task {key!r} failed on attempt {attempt} of {retries + 1} with "
                      f"{type(error).__name__}: {error}; {then}", TaskFailedWarning, stacklevel=3)
        if not again:
            failures[key] = error
        return again

    if executor is None:
        for key, args in tasks.items():
            for attempt in range(1, retries + 2):
                try:
                    result = function(*args)
                except Exception as error:  # noqa: BLE001 - reported, retried, then returned by key
                    if retry(key, attempt, error):
                        continue
                else:
                    succeeded(key, result)
                break
        return {key: results[key] for key in tasks if key in results}, failures

    payloads = {key: _pack(function, tuple(args)) for key, args in tasks.items()}
    running: dict[Future, tuple[Hashable, int]] = {}

    def submit(key: Hashable, attempt: int) -> None:
        try:
            # the attempt number makes a resubmission a new task (Dask caches "pure" calls by their arguments)
            running[executor.submit(_call_packed, payloads[key], attempt)] = (key, attempt)
        except Exception as error:  # noqa: BLE001 - e.g. a broken process pool: nothing more can run there
            failures[key] = error

    for key in tasks:
        submit(key, 1)
    try:
        while running:
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                key, attempt = running.pop(future)
                try:
                    result = future.result()
                except Exception as error:  # noqa: BLE001 - includes a dead worker
                    if retry(key, attempt, error):
                        submit(key, attempt + 1)
                else:
                    succeeded(key, result)
    except BaseException:
        for future in running:
            future.cancel()  # an interrupted driver leaves no task queued behind it
        raise
    return {key: results[key] for key in tasks if key in results}, failures


def _pack(function: Callable, args: tuple) -> bytes:
    """``(function, args)`` as bytes: cloudpickle where installed (notebook functions travel by value)."""
    try:
        import cloudpickle
    except ImportError:  # pragma: no cover - cloudpickle comes with dask
        cloudpickle = None
    try:
        if cloudpickle is not None:
            return cloudpickle.dumps((function, args))
        return pickle.dumps((function, args))
    except Exception as error:
        hint = "" if cloudpickle is not None else " (install cloudpickle to send functions defined in a notebook)"
        raise TypeError(f"a task must be picklable to run on an executor{hint}: {error}") from error


def _call_packed(payload: bytes, attempt: int) -> Any:
    """Run one packed task where the executor put it (``attempt`` only makes each submission distinct)."""
    function, args = pickle.loads(payload)
    return function(*args)


def local_cluster(workers: int = 2, **kwargs: Any):
    """A ``dask.distributed.LocalCluster`` of ``workers`` processes with one thread each, for PyTorch training.

    Close it (``cluster.close()``, or use it in a ``with`` block) to stop its
    processes. Four of Dask's defaults are changed for many small training
    runs:

    - Dask sets ``MALLOC_TRIM_THRESHOLD_=65536`` in its worker processes so
      that they return freed memory to the system at once. That also switches
      off glibc's adaptive threshold for serving large blocks with ``mmap``, and
      every weight gradient larger than 128 kB is then mapped and unmapped
      again at every step: training a small MLP took about twice the CPU time.
      The variable is left unset here.
    - Dask's statistical profiler samples every worker thread each 10 ms (for
      its dashboard); it is switched off, and so is the dashboard.
    - Dask's housekeeping runs less often: the event-loop health check every
      second instead of every 20 ms, the system monitor every 5 s instead of
      0.5 s, the memory monitor every second instead of 0.1 s, and no active
      memory manager (it removes copies of results kept on several workers,
      which runs that only return a few numbers never leave). Idle, the
      scheduler, the nannies and two workers otherwise used about 15% of one
      core between them (measured on a 2-core machine: 2.9 s of CPU time in
      20 s), about 2% with these settings; on a shared machine, where a grid
      takes longer, that idle time adds up to more CPU time than many runs.
    - Log messages below ``CRITICAL`` are silenced: a failed run is reported
      by the driver (:class:`TaskFailedWarning`), not by worker logs.

    Args:
        workers (int): worker processes, >= 1; one per free core. Default: 2.
        **kwargs: more ``LocalCluster`` arguments (``memory_limit``, ...).

    Returns:
        distributed.LocalCluster: connect with ``distributed.Client(cluster)``.
    """
    import dask
    from distributed import LocalCluster

    workers = check_int(workers, "workers", "local_cluster", low=1)
    settings = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
                "distributed.worker.profile.enabled": False,
                # housekeeping: read by the scheduler, nannies and workers when they start
                "distributed.admin.tick.interval": "1s",
                "distributed.admin.system-monitor.interval": "5s",
                "distributed.worker.memory.monitor-interval": "1s",
                "distributed.scheduler.active-memory-manager.start": False}
    options = dict(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                   silence_logs=logging.CRITICAL) | kwargs
    with dask.config.set(settings):  # read when the cluster starts its workers (and restarts one)
        return LocalCluster(**options)


def open_storage(spec: str | Path):
    """An Optuna storage that several processes can share.

    A path (``"study.log"``) is a journal file, appended to under a file lock
    by every process that opens it (on one machine, or on a file system every
    machine mounts); a database URL (``"sqlite:///study.db"``,
    ``"postgresql://user@host/db"``) is an SQL database, the choice for many
    machines.

    Args:
        spec (str or Path): a journal file path or a database URL.

    Returns:
        ``optuna.storages.JournalStorage`` for a path, the URL itself for a
        database (Optuna opens it).
    """
    if not isinstance(spec, (str, Path)) or not str(spec):
        raise TypeError(parameter_error("spec", "open_storage", "a file path or a database URL", spec))
    if isinstance(spec, str) and "://" in spec:
        return spec
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(str(spec)))


def optimize_in_workers(
    objective: Callable,
    *,
    storage: str | Path,
    study_name: str,
    samplers: Sequence[Any],
    trials_per_worker: int,
    executor: Executor | None = None,
):
    """Let one worker process per sampler run ``trials_per_worker`` trials of one Optuna study.

    Each task opens the study from ``storage`` (:func:`open_storage`) with its
    own sampler and calls ``study.optimize(objective, n_trials=...)``; the
    workers see each other's trials through the storage. Give each worker a
    sampler of its own seed (two random samplers with one seed would propose
    the same trials). The study must exist (``optuna.create_study(...,
    storage=...)``).

    Args:
        objective (callable): ``objective(trial) -> float``; picklable.
        storage (str or Path): the journal file or database URL of the study.
        study_name (str): the study's name in the storage.
        samplers (sequence): one Optuna sampler per worker task.
        trials_per_worker (int): trials each task runs, >= 1.
        executor (Executor, optional): where the tasks run; None runs them here
            one after the other. Default: None.

    Returns:
        optuna.Study: the study, loaded again in this process with every trial.

    Raises:
        RuntimeError: if a task failed (its error is chained).
    """
    import optuna

    owner = "optimize_in_workers"
    trials_per_worker = check_int(trials_per_worker, "trials_per_worker", owner, low=1)
    samplers = list(samplers)
    if not samplers:
        raise ValueError(parameter_error("samplers", owner, "a non-empty sequence of samplers", samplers))
    tasks = {k: (objective, str(storage), study_name, sampler, trials_per_worker) for k, sampler in enumerate(samplers)}
    # retries=0: a retried task would add trials to the study a second time
    _, failures = run_tasks(_optimize, tasks, executor=executor, retries=0)
    if failures:
        worker, error = next(iter(failures.items()))
        raise RuntimeError(f"{len(failures)} of {len(tasks)} optimization tasks failed; "
                           f"task {worker}: {type(error).__name__}: {error}") from error
    return optuna.load_study(study_name=study_name, storage=open_storage(storage))


def _optimize(objective: Callable, storage: str, study_name: str, sampler: Any, n_trials: int) -> int:
    """One worker's share: open the study with its sampler and run ``n_trials`` trials."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial would flood a notebook
    study = optuna.load_study(study_name=study_name, storage=open_storage(storage), sampler=sampler)
    study.optimize(objective, n_trials=n_trials)
    return n_trials
