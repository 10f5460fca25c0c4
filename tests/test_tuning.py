"""Tuning with Optuna: a trial's value is a mean over seeds; worker processes share one study through a storage."""

import os
from concurrent.futures import ProcessPoolExecutor
from functools import partial

import numpy as np
import pytest

import ablation_fakes as fakes
from reglab.ablation import Config, run_ablation, seed_averaged_objective
from reglab.parallel import TaskFailedWarning, open_storage, optimize_in_workers

optuna = pytest.importorskip("optuna")
optuna.logging.set_verbosity(optuna.logging.WARNING)


def suggest(trial):
    scale = trial.suggest_float("scale", 0.1, 3.0, log=True)
    return Config(f"trial {trial.number}", partial(fakes._build, "c", scale, None, None))


def objective(seeds=(0, 1, 2)):
    return seed_averaged_objective(suggest, seeds, fakes.no_batches, fakes.val_batches, epochs=1,
                                   trainer=fakes.sleepy_trainer)


def test_a_trials_value_is_the_mean_over_seeds_of_the_runs_it_trained():
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective(), n_trials=3)
    for trial in study.trials:
        config = suggest(optuna.trial.FixedTrial(trial.params, number=trial.number))
        reference = run_ablation([config], [0, 1, 2], fakes.no_batches, fakes.val_batches, epochs=1,
                                 trainer=fakes.sleepy_trainer).values(config.name, "val_accuracy")
        assert trial.user_attrs["values"] == list(reference)  # one value per seed, kept for the ranking noise
        assert trial.value == pytest.approx(np.mean(reference))
        assert len(set(reference)) > 1  # the seeds disagree: that is why a trial needs several


def test_two_worker_processes_run_one_study_through_a_journal_file_and_through_sqlite(tmp_path):
    for storage in (tmp_path / "study.log", f"sqlite:///{tmp_path / 'study.db'}"):
        optuna.create_study(study_name="s", storage=open_storage(storage), direction="maximize")
        with ProcessPoolExecutor(2) as pool:
            study = optimize_in_workers(partial(fakes.scored_trial), storage=storage, study_name="s",
                                        samplers=[optuna.samplers.RandomSampler(seed=k) for k in range(2)],
                                        trials_per_worker=3, executor=pool)
        trials = study.get_trials()
        assert sorted(t.number for t in trials) == list(range(6))
        assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
        assert os.getpid() not in {t.user_attrs["pid"] for t in trials}
        assert len({t.params["x"] for t in trials}) == 6


def test_random_trials_first_then_tpe_continues_the_same_study(tmp_path):
    storage = tmp_path / "study.log"
    optuna.create_study(study_name="s", storage=open_storage(storage), direction="maximize")
    optimize_in_workers(fakes.scored_trial, storage=storage, study_name="s", trials_per_worker=6,
                        samplers=[optuna.samplers.RandomSampler(seed=0)])
    study = optimize_in_workers(fakes.scored_trial, storage=storage, study_name="s", trials_per_worker=4,
                                samplers=[optuna.samplers.TPESampler(seed=0, n_startup_trials=0)])
    trials = study.get_trials()
    assert len(trials) == 10  # TPE's model is built from the six random trials in the storage
    assert study.best_value == max(t.value for t in trials)


def test_a_failed_worker_task_is_reported_not_retried(tmp_path):
    storage = tmp_path / "study.log"
    optuna.create_study(study_name="s", storage=open_storage(storage))
    with pytest.raises(RuntimeError, match="1 of 1 optimization tasks failed"), pytest.warns(TaskFailedWarning, match="giving up"):
        optimize_in_workers(fakes.scored_trial, storage=storage, study_name="missing", trials_per_worker=1,
                            samplers=[optuna.samplers.RandomSampler(seed=0)])
    with pytest.raises(ValueError, match="'samplers' parameter of optimize_in_workers"):
        optimize_in_workers(fakes.scored_trial, storage=storage, study_name="s", trials_per_worker=1, samplers=[])
