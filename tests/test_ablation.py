"""reglab.ablation: the table against NumPy, resuming, bad results files, the plot."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import torch
import torch.nn.functional as F
from matplotlib.container import ErrorbarContainer
from torch import nn

from reglab.ablation import AblationResults, Config, plot_ablation, run_ablation
from reglab.data import DeviceLoader
from reglab.train import History, fit


class FakeTrainer:
    """Trains nothing: counts its calls and keeps the models, whose random init differs per seed."""

    def __init__(self, fail_at: int | None = None):
        self.calls, self.models, self.fail_at = 0, [], fail_at

    def __call__(self, model, batches, *, epochs, optimizer, progress, **kwargs):
        self.calls += 1
        if self.fail_at is not None and self.calls == self.fail_at:
            raise KeyboardInterrupt("interrupted")
        self.models.append(model)
        history = History()
        history.log_epoch(train_loss=1.0, seconds=0.5)
        return history


def configs(device, names=("none", "wide", "scaled")):
    def build(scale):
        def make(seed):
            model = nn.Linear(4, 3).to(device)
            with torch.no_grad():
                model.weight.mul_(scale)
            return model, torch.optim.SGD(model.parameters(), lr=0.1), {}
        return make
    return [Config(name, build(1.0 + i)) for i, name in enumerate(names)]


def val_data(device):
    g = torch.Generator().manual_seed(0)
    return DeviceLoader(torch.randn(50, 4, generator=g), torch.randint(0, 3, (50,), generator=g),
                        batch_size=16, shuffle=False, device=device)


def test_records_plain_cross_entropy_and_accuracy_and_the_table_matches_numpy(device):
    trainer, val = FakeTrainer(), val_data(device)
    results = run_ablation(configs(device), [0, 1, 2], [], val, epochs=1, trainer=trainer)
    assert trainer.calls == 9 and results.metrics == ["seconds", "val_accuracy", "val_loss"]
    x, y = val.x, val.y
    for (config, seed), model in zip(results.runs, trainer.models):  # runs in config-major order
        run = results.runs[(config, seed)]
        assert run["val_loss"] == pytest.approx(F.cross_entropy(model(x), y).item(), abs=1e-5)
        assert run["val_accuracy"] == pytest.approx((model(x).argmax(1) == y).float().mean().item(), abs=1e-6)
        assert run["seconds"] == 0.5
    table = results.table(digits=12)
    for config in results.configs:
        for metric in results.metrics:
            v = np.array([results.runs[(config, s)][metric] for s in (0, 1, 2)])
            assert table[config][metric] == pytest.approx((np.mean(v), np.std(v, ddof=1)), abs=1e-9)
    assert len({table[c]["val_loss"][0] for c in results.configs}) == 3  # the configurations differ
    assert table["none"]["val_loss"][1] > 0  # and so do the seeds
    lines = results.summary(["val_accuracy"], digits=3).splitlines()
    assert len(lines) == 4 and lines[1].startswith("none") and " ± " in lines[1]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=6), min_size=1, max_size=4))
def test_table_is_numpys_mean_and_sample_std_for_any_values(values):
    seeds = list(range(max(len(v) for v in values)))
    runs = {(f"c{i}", s): {"m": x} for i, v in enumerate(values) for s, x in enumerate(v)}  # some seeds missing
    table = AblationResults([f"c{i}" for i in range(len(values))], seeds, runs).table(digits=12)
    for i, v in enumerate(values):
        mean, std = table[f"c{i}"]["m"]
        assert mean == pytest.approx(np.mean(v), abs=1e-8)
        assert std == pytest.approx(np.std(v, ddof=1) if len(v) > 1 else 0.0, abs=1e-8)


def test_each_seed_gets_its_own_training_batches_from_a_callable(device):
    asked = []

    def train(seed):
        asked.append(seed)
        return []

    run_ablation(configs(device, ["a"]), [3, 5], train, val_data(device), epochs=1, trainer=FakeTrainer())
    assert asked == [3, 5]


def test_resuming_skips_finished_runs_and_gives_the_same_table(tmp_path, device):
    path, val = tmp_path / "ablation.json", val_data(device)
    full = run_ablation(configs(device), [0, 1], [], val, epochs=2, trainer=FakeTrainer())

    interrupted = FakeTrainer(fail_at=4)
    with pytest.raises(KeyboardInterrupt):
        run_ablation(configs(device), [0, 1], [], val, epochs=2, results_path=path, trainer=interrupted)
    assert len(json.loads(path.read_text())["runs"]) == 3  # saved after each of the three finished runs

    resumed = FakeTrainer()
    results = run_ablation(configs(device), [0, 1], [], val, epochs=2, results_path=path, trainer=resumed)
    assert resumed.calls == 3  # only the runs the interruption left
    assert results.table() == full.table()

    again = FakeTrainer()
    more = run_ablation(configs(device), [0, 1, 2], [], val, epochs=2, results_path=path, trainer=again)
    assert again.calls == 3 and len(more.runs) == 9  # only the new seed is trained


@pytest.mark.parametrize("content, message", [
    ("{not json", "not an ablation results file"),
    ('{"format": "other", "epochs": 1, "runs": []}', "not an ablation results file"),
    ('{"format": "reglab.ablation/1", "epochs": 1}', "not an ablation results file"),
    ('{"format": "reglab.ablation/1", "epochs": 7, "runs": []}', "runs of 7 epochs, not 1"),
    ('{"format": "reglab.ablation/1", "epochs": 1, "runs": [{"config": "gone", "seed": 0, "metrics": {}}]}',
     r"configurations \['gone'\] that are not in this ablation"),
])
def test_a_corrupted_or_mismatched_results_file_raises_a_clear_error(tmp_path, content, message):
    path = tmp_path / "ablation.json"
    path.write_text(content)
    trainer = FakeTrainer()
    with pytest.raises(ValueError, match=message):
        run_ablation(configs("cpu"), [0], [], val_data("cpu"), epochs=1, results_path=path, trainer=trainer)
    assert trainer.calls == 0


def test_arguments_are_checked():
    val = val_data("cpu")
    with pytest.raises(ValueError, match="'epochs' parameter of run_ablation"):
        run_ablation(configs("cpu"), [0], [], val, epochs=0)
    with pytest.raises(ValueError, match="'configs' parameter of run_ablation must be configurations with unique"):
        run_ablation(configs("cpu", ["a", "a"]), [0], [], val, epochs=1)
    with pytest.raises(ValueError, match="'seeds' parameter of run_ablation"):
        run_ablation(configs("cpu"), [0, 0], [], val, epochs=1)
    with pytest.raises(ValueError, match="'seeds' parameter of run_ablation"):
        run_ablation(configs("cpu"), [-1], [], val, epochs=1)
    with pytest.raises(TypeError, match="'configs' parameter of run_ablation"):
        run_ablation(["none"], [0], [], val, epochs=1)
    with pytest.raises(TypeError, match="'build' parameter of Config"):
        Config("a", build=3)
    results = AblationResults(["a"], [0], {("a", 0): {"acc": 1.0}})
    with pytest.raises(ValueError, match="'metric' parameter of AblationResults"):
        results.values("a", "loss")


def test_with_the_real_fit_training_improves_on_the_untrained_model(device):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(200, 4, generator=g)
    y = (x[:, 0] > 0).long()
    val = DeviceLoader(x, y, batch_size=200, shuffle=False, device=device)

    def build(lr):
        def make(seed):
            model = nn.Linear(4, 2).to(device)
            return model, torch.optim.SGD(model.parameters(), lr=lr), {}
        return make

    results = run_ablation([Config("untrained", build(0.0)), Config("sgd", build(0.5))], [0, 1],
                           lambda seed: DeviceLoader(x, y, batch_size=20, seed=seed, device=device), val,
                           epochs=5, trainer=fit)
    table = results.table()
    assert table["sgd"]["val_accuracy"][0] > 0.9 > table["untrained"]["val_accuracy"][0]
    assert table["sgd"]["val_loss"][0] < table["untrained"]["val_loss"][0]


def test_the_plot_draws_one_point_per_configuration_with_its_error_bar():
    runs = {(c, s): {"acc": v} for c, vs in {"a": [0.5, 0.7, 0.6], "b": [0.8, 0.8, 0.9]}.items()
            for s, v in enumerate(vs)}
    results = AblationResults(["a", "b"], [0, 1, 2], runs)
    ax = plot_ablation(results, "acc")
    (container,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    points, _, (bars,) = container.lines  # the markers, no caps as lines, one collection of x error bars
    xs, ys = np.asarray(points.get_xdata(), float), np.asarray(points.get_ydata(), float)
    np.testing.assert_allclose(xs, [0.6, np.mean([0.8, 0.8, 0.9])])
    segments = bars.get_segments()  # one horizontal segment per configuration: mean - std to mean + std
    for segment, values in zip(segments, ([0.5, 0.7, 0.6], [0.8, 0.8, 0.9])):
        m, s = np.mean(values), np.std(values, ddof=1)
        np.testing.assert_allclose(segment[:, 0], [m - s, m + s])
    assert list(ys) == [1, 0] and [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert ax.get_xlabel() == "acc" and ax.get_ylabel() == "configuration"
    with pytest.raises(TypeError, match="'ax' parameter of plot_ablation"):
        plot_ablation(results, "acc", ax="axes")
