"""run_ablation on executors: a real two-worker Dask LocalCluster and a process pool.

The runs train nothing (``ablation_fakes``), so the tests take seconds, yet
every run still builds a model from its seed and is scored on validation
batches in the worker: a parallel grid must give exactly the serial grid. A
worker killed mid-grid must neither lose nor duplicate a run; a driver killed
mid-grid must resume from its results file; a run that raises is retried,
then reported by configuration and seed.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import pytest

import ablation_fakes as fakes
from reglab.ablation import AblationError, run_ablation
from reglab.parallel import TaskFailedWarning, local_cluster

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")
cloudpickle.register_pickle_by_value(fakes)  # workers get the fakes by value: they need no access to tests/

SEEDS = [0, 1, 2, 3]
TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def client():
    """Two worker processes with one thread each, as in chapter 13 (the scheduler runs in this process)."""
    with local_cluster(2) as cluster, distributed.Client(cluster) as client:
        yield client


def test_the_local_cluster_has_one_thread_per_process_and_no_malloc_trim(client):
    threads = client.nthreads()
    assert len(threads) == 2 and set(threads.values()) == {1}
    pids = client.run(os.getpid)
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()
    assert set(client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_").values()) == {None}


def scores(results):
    """Everything a run recorded but its training time."""
    return {key: {m: v for m, v in run.items() if m != "seconds"} for key, run in results.runs.items()}


def serial_grid(n=2, seeds=SEEDS):
    return run_ablation(fakes.configs(n), seeds, fakes.no_batches, fakes.val_batches, epochs=1,
                        test=fakes.val_batches, trainer=fakes.sleepy_trainer)


def test_a_dask_grid_gives_exactly_the_serial_grid(client, tmp_path):
    path = tmp_path / "grid.json"
    parallel = run_ablation(fakes.configs(3), SEEDS, fakes.no_batches, fakes.val_batches, epochs=1,
                            test=fakes.val_batches, trainer=partial(fakes.sleepy_trainer, log=str(tmp_path)),
                            executor=client.get_executor(), results_path=path)
    serial = serial_grid(3)
    assert scores(parallel) == scores(serial)  # bit for bit: each run depends only on its seed
    assert list(parallel.runs) == list(serial.runs)  # in grid order, whatever order they finished in
    assert len({pid for _, _, pid in fakes.markers(tmp_path, "done")}) == 2  # both workers trained
    assert os.getpid() not in {pid for _, _, pid in fakes.markers(tmp_path, "done")}
    saved = json.loads(path.read_text())["runs"]
    assert sorted((r["config"], r["seed"]) for r in saved) == sorted(serial.runs)


def test_a_process_pool_runs_functions_defined_in_a_test_like_a_notebook(tmp_path):
    """Closures travel by cloudpickle, so a notebook's configurations run on a plain ProcessPoolExecutor."""
    offset = 0.25

    def val(seed):  # a closure over a local: plain pickle could not send it
        x, y = fakes.val_batches().x, fakes.val_batches().y
        return [(x + offset, y)]

    serial = run_ablation(fakes.configs(2), SEEDS[:2], fakes.no_batches, val, epochs=1, trainer=fakes.sleepy_trainer)
    with ProcessPoolExecutor(2) as pool:
        parallel = run_ablation(fakes.configs(2), SEEDS[:2], fakes.no_batches, val, epochs=1,
                                trainer=fakes.sleepy_trainer, executor=pool)
    assert scores(parallel) == scores(serial)


def test_a_worker_killed_mid_grid_loses_and_duplicates_no_run(client, tmp_path):
    path, log = tmp_path / "grid.json", tmp_path / "log"
    log.mkdir()
    pids = client.run(os.getpid)  # {worker address: pid}
    killed = {}

    def kill_a_busy_worker():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            finished = len(json.loads(path.read_text())["runs"]) if path.exists() else 0
            busy = [address for address, keys in client.processing().items() if keys]
            if finished >= 2 and busy:
                killed["pid"] = pids[busy[0]]
                os.kill(killed["pid"], signal.SIGKILL)  # a worker process of our own cluster, mid-run
            time.sleep(0.05)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    results = run_ablation(fakes.configs(2, log=str(log)), SEEDS, fakes.no_batches, fakes.val_batches, epochs=1,
                           test=fakes.val_batches, trainer=partial(fakes.sleepy_trainer, delay=0.5, log=str(log)),
                           executor=client.get_executor(), results_path=path)
    killer.join()
    assert killed, "no worker was busy to kill"
    assert scores(results) == scores(serial_grid())  # nothing lost, nothing changed
    saved = [(r["config"], r["seed"]) for r in json.loads(path.read_text())["runs"]]
    assert sorted(saved) == sorted(results.runs) and len(saved) == len(set(saved)) == 8  # each run once
    started = fakes.markers(log, "start")
    lost = [(c, s) for c, s, pid in started if pid == killed["pid"]
            and (c, s, pid) not in fakes.markers(log, "done")]
    assert lost, "the killed worker was running a run"
    for key in lost:  # ... which another worker ran again, to the end
        assert any((c, s) == key and pid != killed["pid"] for c, s, pid in fakes.markers(log, "done"))
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker


DRIVER = """\
import sys
from functools import partial
sys.path.insert(0, {tests!r})
import ablation_fakes as fakes
from distributed import Client
from reglab.ablation import run_ablation

if __name__ == "__main__":
    with Client({scheduler!r}) as client:
        run_ablation(fakes.configs(2, log={log!r}), {seeds!r}, fakes.no_batches, fakes.val_batches, epochs=1,
                     test=fakes.val_batches, trainer=partial(fakes.sleepy_trainer, delay=0.4, log={log!r}),
                     executor=client.get_executor(), results_path={path!r})
"""


def test_a_driver_killed_mid_grid_resumes_from_its_results_file(client, tmp_path):
    """A notebook that dies while its runs are on the cluster: a new driver finishes the grid from the file."""
    path, log, again = tmp_path / "grid.json", tmp_path / "log", tmp_path / "again"
    log.mkdir(), again.mkdir()
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.format(tests=str(TESTS), log=str(log), seeds=SEEDS, path=str(path),
                                    scheduler=client.scheduler.address))
    driver = subprocess.Popen([sys.executable, str(script)], start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and driver.poll() is None:
            if path.exists() and len(json.loads(path.read_text())["runs"]) >= 3:
                break
            time.sleep(0.05)
        assert driver.poll() is None, f"the driver ended before it could be interrupted: {driver.stderr.read()}"
    finally:
        os.killpg(driver.pid, signal.SIGKILL)  # the driver crashes (no clean exit); the cluster lives on
        driver.wait()
    finished = {(r["config"], r["seed"]) for r in json.loads(path.read_text())["runs"]}  # the file is whole
    assert 3 <= len(finished) < 8

    results = run_ablation(fakes.configs(2, log=str(again)), SEEDS, fakes.no_batches, fakes.val_batches, epochs=1,
                           test=fakes.val_batches, trainer=partial(fakes.sleepy_trainer, log=str(again)),
                           executor=client.get_executor(), results_path=path)
    retrained = [(c, s) for c, s, _ in fakes.markers(again, "done")]
    assert sorted(retrained) == sorted(set(results.runs) - finished)  # only what the crash left, each once
    assert scores(results) == scores(serial_grid())


@pytest.mark.parametrize("where", ["here", "dask"])
def test_a_failing_run_is_retried_and_one_that_keeps_failing_is_reported(client, tmp_path, where):
    executor = client.get_executor() if where == "dask" else None
    path, log = tmp_path / "grid.json", tmp_path / "fails"
    log.mkdir()
    once = {("c0", 1): 1, "log": str(log)}  # c0 seed 1 fails its first attempt
    with pytest.warns(TaskFailedWarning, match=r"\('c0', 1\) failed on attempt 1 of 2.*planned failure"):
        results = run_ablation(fakes.configs(2, fail=once), SEEDS, fakes.no_batches, fakes.val_batches, epochs=1,
                               trainer=fakes.sleepy_trainer, executor=executor)
    assert len(results.runs) == 8 and not results.failures

    always = {("c1", 2): 99, "log": str(log)}
    with pytest.warns(TaskFailedWarning) as caught, pytest.raises(AblationError) as error:
        run_ablation(fakes.configs(2, fail=always), SEEDS, fakes.no_batches, fakes.val_batches, epochs=1,
                     trainer=fakes.sleepy_trainer, executor=executor, results_path=path)
    messages = [str(w.message) for w in caught]  # all caught: none leaks into the session's summary
    assert len(messages) == 2 and "retrying" in messages[0] and messages[1].endswith("giving up"), messages
    assert "('c1', seed 2): RuntimeError: planned failure of c1 seed 2" in str(error.value)
    assert len(error.value.results.runs) == 7 and list(error.value.results.failures) == [("c1", 2)]
    saved = json.loads(path.read_text())
    assert len(saved["runs"]) == 7 and saved["failures"][0]["config"] == "c1"

    fixed = run_ablation(fakes.configs(2), SEEDS, fakes.no_batches, fakes.val_batches, epochs=1,
                         trainer=fakes.sleepy_trainer, executor=executor, results_path=path)
    assert len(fixed.runs) == 8 and not fixed.failures and json.loads(path.read_text())["failures"] == []


def test_optuna_workers_share_one_study_through_a_journal_file(client, tmp_path):
    optuna = pytest.importorskip("optuna")
    from reglab.parallel import open_storage, optimize_in_workers

    storage = tmp_path / "study.log"
    optuna.create_study(study_name="s", storage=open_storage(storage), direction="maximize")
    objective = partial(fakes.scored_trial, log=str(tmp_path))
    study = optimize_in_workers(objective, storage=storage, study_name="s", trials_per_worker=3,
                                samplers=[optuna.samplers.RandomSampler(seed=k) for k in range(2)],
                                executor=client.get_executor())
    trials = study.get_trials()
    assert len(trials) == 6 and sorted(t.number for t in trials) == list(range(6))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert len({t.user_attrs["pid"] for t in trials}) == 2  # two processes worked on the one study
    assert len({t.params["x"] for t in trials}) == 6  # samplers of their own seeds propose different trials
    assert study.best_value == max(t.value for t in trials)
