"""The training loop: its steps against hand-written PyTorch, its hooks, history and checks."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reglab.data import DeviceLoader, make_moons
from reglab.metrics import accuracy
from reglab.models import MLP
from reglab.train import History, evaluate, fit
from reglab.utils import capped


def moons(n=200, seed=0, device="cpu"):
    x, y = make_moons(n, noise=0.1, generator=torch.Generator().manual_seed(seed))
    return x.to(device), y.to(device)


def test_one_step_equals_hand_written_sgd_with_penalty(device):
    torch.manual_seed(0)
    model = nn.Linear(2, 2).to(device)
    reference = nn.Linear(2, 2).to(device)
    reference.load_state_dict(model.state_dict())
    x, y = moons(32, device=device)
    penalty = lambda m: 0.1 * m.weight.pow(2).sum()  # noqa: E731

    fit(model, DeviceLoader(x, y, 32, shuffle=False), epochs=1, optimizer=torch.optim.SGD(model.parameters(), lr=0.5),
        penalty=penalty, progress=False)

    objective = F.cross_entropy(reference(x), y) + 0.1 * reference.weight.pow(2).sum()
    grads = torch.autograd.grad(objective, list(reference.parameters()))
    with torch.no_grad():
        for p, g in zip(reference.parameters(), grads):
            p -= 0.5 * g
    for ours, expected in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(ours, expected)


def test_history_losses_are_sample_weighted_means(device):
    torch.manual_seed(1)
    model = nn.Linear(2, 2).to(device)
    x, y = moons(50, device=device)
    # lr=0: the model never changes, so every batch loss is the loss of the same model.
    history = fit(model, DeviceLoader(x, y, 16, shuffle=False), DeviceLoader(x, y, 7, shuffle=False), epochs=2,
                  optimizer=torch.optim.SGD(model.parameters(), lr=0.0), metrics={"accuracy": accuracy}, progress=False)
    with torch.no_grad():
        full_loss = F.cross_entropy(model(x), y).item()
        full_accuracy = (model(x).argmax(1) == y).float().mean().item()
    assert history["train_loss"] == pytest.approx([full_loss] * 2, rel=1e-5)
    assert history["val_loss"] == pytest.approx([full_loss] * 2, rel=1e-5)
    assert history["val_accuracy"] == pytest.approx([full_accuracy] * 2)
    assert history.epochs == 2 and len(history["seconds"]) == 2 and not history.stopped_early


def test_fit_learns_a_separable_problem(device):
    torch.manual_seed(0)
    x, y = moons(400, device=device)
    model = MLP(2, [32, 32], 2).to(device)
    history = fit(model, DeviceLoader(x[:300], y[:300], 32), DeviceLoader(x[300:], y[300:], 100), epochs=40,
                  optimizer=torch.optim.Adam(model.parameters(), lr=1e-2), metrics={"accuracy": accuracy}, progress=False)
    assert history["val_accuracy"][-1] > 0.95
    assert history["train_loss"][-1] < history["train_loss"][0] / 5


def test_batch_transform_touches_training_batches_only():
    seen = []

    def transform(xb, yb):
        seen.append(len(xb))
        return xb, F.one_hot(yb, 2).float() * 0.9 + 0.05  # soft targets, as mixup makes

    x, y = moons(40)
    fit(nn.Linear(2, 2), DeviceLoader(x, y, 10), DeviceLoader(x, y, 40), epochs=2,
        optimizer=torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1), batch_transform=transform,
        metrics={"accuracy": accuracy}, progress=False)
    assert seen == [10] * 8  # 4 training batches per epoch, never the validation batch


def test_after_backward_sees_gradients_and_its_values_are_recorded_per_step():
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    x, y = moons(60)

    def clip(m):
        assert all(p.grad is not None for p in m.parameters())
        return torch.nn.utils.clip_grad_norm_(m.parameters(), max_norm=0.01)

    history = fit(model, DeviceLoader(x, y, 20), epochs=3, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                  after_backward=clip, progress=False)
    assert len(history.steps["clip"]) == 9 and all(isinstance(v, float) and v > 0.01 for v in history.steps["clip"])


def test_after_step_runs_after_the_optimizer_step():
    model = nn.Linear(2, 2)
    x, y = moons(20)

    def project(m):
        with torch.no_grad():
            m.weight.clamp_(-0.05, 0.05)

    fit(model, DeviceLoader(x, y, 5), epochs=2, optimizer=torch.optim.SGD(model.parameters(), lr=1.0),
        after_step=[project], progress=False)
    # A step of lr=1 pushes the weights well outside; the projection after it brings them back.
    assert model.weight.abs().max().item() == pytest.approx(0.05)


class StopAfter:
    def __init__(self, epochs):
        self.epochs, self.ended = epochs, 0

    def on_epoch_end(self, model, history):
        return history.epochs >= self.epochs

    def on_train_end(self, model, history):
        self.ended += 1


def test_callback_stops_training_and_is_told_the_end():
    x, y = moons(20)
    callback = StopAfter(3)
    model = nn.Linear(2, 2)
    history = fit(model, DeviceLoader(x, y, 10), DeviceLoader(x, y, 10), epochs=10,
                  optimizer=torch.optim.SGD(model.parameters(), lr=0.1), callbacks=[callback], progress=False)
    assert history.epochs == 3 and history.stopped_early and callback.ended == 1


def test_fit_moves_host_batches_to_the_model_device(device):
    x, y = moons(20)  # on the CPU
    model = nn.Linear(2, 2).to(device)
    history = fit(model, [(x, y)], [(x, y)], epochs=1, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), progress=False)
    assert history.epochs == 1


def test_evaluate_uses_eval_mode_and_restores_the_mode(device):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 64), nn.Dropout(0.5), nn.Linear(64, 2)).to(device)
    x, y = moons(100, device=device)
    model.train()
    first = evaluate(model, [(x, y)], metrics={"accuracy": accuracy})
    second = evaluate(model, [(x, y)], metrics={"accuracy": accuracy})
    assert first == second and model.training  # no dropout noise, and back in train mode
    model.eval()
    with torch.no_grad():
        assert first["loss"] == pytest.approx(F.cross_entropy(model(x), y).item(), rel=1e-5)


def test_progress_bar_can_be_shown(capsys):
    x, y = moons(20)
    model = nn.Linear(2, 2)
    fit(model, DeviceLoader(x, y, 10), epochs=2, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), progress=True)
    assert "epochs" in capsys.readouterr().err


def test_history_best_epoch_and_errors():
    h = History()
    for loss, acc in [(1.0, 0.5), (0.4, 0.8), (0.6, 0.9)]:
        h.log_epoch(val_loss=loss, val_accuracy=acc)
    assert h.best_epoch() == 1 and h.best_epoch("val_accuracy", mode="max") == 2
    with pytest.raises(KeyError, match="History has no 'val_acc'"):
        h["val_acc"]
    with pytest.raises(ValueError, match="'mode' parameter of History.best_epoch"):
        h.best_epoch(mode="lowest")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(epochs=0), ValueError, "'epochs' parameter of fit must be an int >= 1"),
        (dict(optimizer="sgd"), TypeError, "'optimizer' parameter of fit must be a torch.optim.Optimizer"),
        (dict(metrics={"loss": accuracy}), ValueError, "names other than 'loss'"),
        (dict(metrics=[accuracy]), TypeError, "'metrics' parameter of fit"),
        (dict(penalty=[1.0]), TypeError, "'penalty' parameter of fit must be a callable"),
        (dict(after_step="clip"), TypeError, "'after_step' parameter"),
        (dict(callbacks=[object()]), TypeError, "'callbacks' parameter of fit"),
        (dict(progress=None), TypeError, "'progress' parameter"),
    ],
)
def test_fit_rejects_bad_arguments(kwargs, error, match):
    model = nn.Linear(2, 2)
    x, y = moons(10)
    arguments = dict(epochs=1, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), progress=False) | kwargs
    with pytest.raises(error, match=match):
        fit(model, DeviceLoader(x, y, 5), **arguments)


def test_fit_and_evaluate_reject_empty_data_and_non_modules():
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="'train' parameter of fit must be a non-empty"):
        fit(model, [], epochs=1, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), progress=False)
    with pytest.raises(ValueError, match="'batches' parameter of evaluate"):
        evaluate(model, [])
    with pytest.raises(TypeError, match="'model' parameter of evaluate must be an nn.Module"):
        evaluate(lambda x: x, [])


@pytest.mark.parametrize("interval", ["step", "epoch"])
def test_scheduler_is_stepped_and_the_learning_rate_recorded(interval):
    model = nn.Linear(2, 2)
    x, y = moons(40)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    history = fit(model, DeviceLoader(x, y, 10), epochs=3, optimizer=optimizer, scheduler=scheduler,
                  scheduler_interval=interval, progress=False)
    # The reference: StepLR's closed form lr = 1 * 0.5 ** (number of scheduler steps taken before).
    expected = [0.5**i for i in range(12)] if interval == "step" else [0.5**e for e in range(3) for _ in range(4)]
    assert history.steps["lr"] == pytest.approx(expected)


def test_before_forward_runs_before_each_training_forward_pass():
    model = nn.Linear(2, 2)
    calls = []
    model.register_forward_pre_hook(lambda module, args: calls.append("forward"))
    x, y = moons(20)
    fit(model, DeviceLoader(x, y, 10), epochs=1, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        before_forward=lambda m: calls.append("before"), progress=False)
    assert calls == ["before", "forward"] * 2


def test_fit_rejects_bad_scheduler_arguments():
    model = nn.Linear(2, 2)
    x, y = moons(10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="'scheduler' parameter of fit"):
        fit(model, DeviceLoader(x, y, 5), epochs=1, optimizer=optimizer, scheduler="cosine", progress=False)
    with pytest.raises(ValueError, match="'scheduler_interval' parameter of fit must be 'step' or 'epoch'"):
        fit(model, DeviceLoader(x, y, 5), epochs=1, optimizer=optimizer, scheduler_interval="batch", progress=False)


def set_step_cap(monkeypatch, cap: str | None) -> None:
    """Set ``REGLAB_MAX_STEPS`` to ``cap``, or unset it for None."""
    if cap is None:
        monkeypatch.delenv("REGLAB_MAX_STEPS", raising=False)
    else:
        monkeypatch.setenv("REGLAB_MAX_STEPS", cap)


@pytest.mark.parametrize("cap, expected_steps", [(None, 5 * 4), ("3", 3), ("6", 6), ("100", 5 * 4)])
def test_step_cap_from_the_environment_stops_training(monkeypatch, cap, expected_steps):
    set_step_cap(monkeypatch, cap)
    x, y = torch.randn(40, 2), torch.randint(0, 2, (40,))
    batches = DeviceLoader(x, y, batch_size=10, shuffle=False)  # 4 steps per epoch
    model = nn.Linear(2, 2)
    history = fit(model, batches, epochs=5, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), progress=False)
    assert len(history.steps["lr"]) == expected_steps
    assert history.epochs == -(-expected_steps // 4)  # epochs begun, the last one possibly cut short


@pytest.mark.parametrize("cap, expected_count", [(None, 40), ("3", 30), ("100", 40)])
def test_step_cap_from_the_environment_shortens_evaluation(monkeypatch, cap, expected_count):
    """The smoke run's cap stops ``evaluate`` after that many batches; the mean is over those batches."""
    set_step_cap(monkeypatch, cap)
    x, y = torch.randn(40, 2), torch.randint(0, 2, (40,))
    model = nn.Linear(2, 2)
    batches = DeviceLoader(x, y, batch_size=10, shuffle=False)  # 4 batches
    seen = x[:expected_count]
    expected = F.cross_entropy(model(seen), y[:expected_count]).item()
    assert evaluate(model, batches)["loss"] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("value", ["0", "-2", "three", "1.5"])
def test_step_cap_rejects_a_bad_value(monkeypatch, value):
    monkeypatch.setenv("REGLAB_MAX_STEPS", value)
    with pytest.raises(ValueError, match="REGLAB_MAX_STEPS.*positive integer"):
        capped(10)


def test_capped_is_the_smaller_of_the_loop_and_the_cap(monkeypatch):
    monkeypatch.delenv("REGLAB_MAX_STEPS", raising=False)
    assert capped(7) == 7
    monkeypatch.setenv("REGLAB_MAX_STEPS", "3")
    assert (capped(7), capped(2), capped(0)) == (3, 2, 0)
