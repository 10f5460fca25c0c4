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


def paired_results(a, b, c=None):
    values = {"a": a, "b": b} | ({"c": c} if c is not None else {})
    runs = {(name, s): {"acc": v, "loss": -v} for name, vs in values.items() for s, v in enumerate(vs)}
    return AblationResults(list(values), list(range(len(a))), runs)


def test_compare_is_scipys_paired_t_test_seed_by_seed():
    from scipy import stats

    a, b, c = [0.80, 0.82, 0.79, 0.81, 0.80], [0.83, 0.84, 0.80, 0.85, 0.82], [0.80, 0.83, 0.78, 0.81, 0.81]
    comparisons = paired_results(a, b, c).compare("acc")
    assert [x.config for x in comparisons] == ["b", "c"] and all(x.baseline == "a" for x in comparisons)
    for x, other in zip(comparisons, (b, c)):
        reference = stats.ttest_rel(other, a)
        d = np.subtract(other, a)
        assert x.n == 5 and x.diff == pytest.approx(d.mean()) and x.se == pytest.approx(d.std(ddof=1) / np.sqrt(5))
        assert x.t == pytest.approx(reference.statistic) and x.p == pytest.approx(reference.pvalue)
    b_vs_a, c_vs_a = comparisons
    assert b_vs_a.p_holm == pytest.approx(min(1, 2 * b_vs_a.p)) and b_vs_a.verdict == "higher"
    assert c_vs_a.verdict == "within noise"
    (lower,) = paired_results(a, b).compare("loss")
    assert lower.verdict == "lower" and lower.diff < 0


def test_compare_pairs_by_seed_where_an_unpaired_test_sees_only_noise():
    from scipy import stats

    base = np.array([0.70, 0.80, 0.90, 0.75, 0.85])  # a large spread between seeds ...
    better = base + [0.010, 0.012, 0.011, 0.009, 0.010]  # ... and a small, steady gain on each
    (x,) = paired_results(list(base), list(better)).compare("acc")
    assert x.verdict == "higher" and stats.ttest_ind(better, base).pvalue > 0.5


def test_holm_matches_the_textbook_example_and_the_step_down_procedure():
    from reglab.ablation import Comparison, holm

    def comparison(p, diff=1.0):
        return Comparison("x", "y", "m", 5, diff, 0.1, 10.0, p, p, "within noise")

    adjusted = holm([comparison(p) for p in (0.01, 0.04, 0.03, 0.005)])
    np.testing.assert_allclose([c.p_holm for c in adjusted], [0.03, 0.06, 0.06, 0.02])
    assert [c.verdict for c in adjusted] == ["higher", "within noise", "within noise", "higher"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(1e-6, 1.0), min_size=1, max_size=12), st.sampled_from([0.01, 0.05, 0.1]))
def test_holm_rejects_exactly_what_the_sequential_procedure_rejects(p_values, alpha):
    from reglab.ablation import Comparison, holm

    adjusted = holm([Comparison("x", "y", "m", 5, -1.0, 0.1, 1.0, p, p, "") for p in p_values], alpha=alpha)
    rejected, m = set(), len(p_values)  # Holm (1979): reject the smallest while p_(i) <= alpha / (m - i + 1)
    for i, k in enumerate(sorted(range(m), key=lambda k: p_values[k])):
        if not p_values[k] < alpha / (m - i):
            break
        rejected.add(k)
    assert {k for k, c in enumerate(adjusted) if c.verdict == "lower"} == rejected
    assert all(c.p_holm >= c.p for c in adjusted)


def test_compare_checks_its_arguments():
    results = paired_results([0.1, 0.2], [0.3, 0.4])
    with pytest.raises(ValueError, match="'baseline' parameter of AblationResults.compare"):
        results.compare("acc", baseline="z")
    with pytest.raises(ValueError, match="'configs' parameter of AblationResults.compare"):
        results.compare("acc", configs=["z"])
    with pytest.raises(ValueError, match="'alpha' parameter of holm"):
        results.compare("acc", alpha=1.5)
    with pytest.raises(ValueError, match="needs at least 2 seeds"):
        AblationResults(["a", "b"], [0], {("a", 0): {"acc": 1.0}, ("b", 0): {"acc": 1.0}}).compare("acc")


def test_the_test_split_is_scored_like_validation_and_splits_can_be_made_per_run(device):
    trainer, val = FakeTrainer(), val_data(device)
    made = []

    def test_split(seed):
        made.append(seed)
        return val

    results = run_ablation(configs(device, ["a"]), [0, 1], [], lambda seed: val, epochs=1, test=test_split,
                           trainer=trainer)
    assert made == [0, 1] and results.metrics == ["seconds", "test_accuracy", "test_loss", "val_accuracy", "val_loss"]
    for run in results.runs.values():  # the same batches: the same scores under both names
        assert run["test_loss"] == run["val_loss"] and run["test_accuracy"] == run["val_accuracy"]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)), min_size=2, max_size=8))
def test_paired_test_matches_scipys_ttest_rel(pairs):
    from scipy import stats

    from reglab.stats import paired_test

    a, b = np.array(pairs).T
    c = paired_test(a, b, config="a", baseline="b", metric="acc")
    d = a - b
    assert c.n == len(a) and c.diff == pytest.approx(d.mean()) and (c.config, c.baseline) == ("a", "b")
    if d.std(ddof=1) > 1e-9 * max(1.0, abs(d.mean())):  # scipy's reference where the t statistic is defined
        reference = stats.ttest_rel(a, b)
        assert c.t == pytest.approx(reference.statistic, rel=1e-6)
        assert c.p == pytest.approx(reference.pvalue, rel=1e-6, abs=1e-12)


def test_paired_test_checks_its_arguments():
    from reglab.stats import paired_test

    with pytest.raises(ValueError, match="'baseline_values' parameter of paired_test"):
        paired_test([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="'values' parameter of paired_test"):
        paired_test([0.1], [0.2])
