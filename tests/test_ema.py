"""reglab.train.EMA against the closed form of an exponential moving average."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from reglab.train import EMA, fit

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def random_steps(model, ema, steps):
    """Give the model new random weights ``steps`` times, updating ``ema`` after each; return the weights seen."""
    snapshots = []
    for _ in range(steps):
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.randn_like(p))
        snapshots.append([p.detach().clone() for p in model.parameters()])
        ema.update(model)
    return snapshots


@SETTINGS
@given(decay=st.floats(0.0, 0.999), steps=st.integers(1, 12), seed=st.integers(0, 1000))
def test_matches_closed_form(device, decay, steps, seed):
    torch.manual_seed(seed)
    model = nn.Linear(3, 2).to(device).double()
    theta0 = [p.detach().clone() for p in model.parameters()]
    ema = EMA(model, decay=decay)
    snapshots = random_steps(model, ema, steps)
    # closed form: alpha^t theta_0 + (1 - alpha) sum_s alpha^(t-s) theta_s
    for k, average in enumerate(ema.module.parameters()):
        expected = decay**steps * theta0[k] + sum(
            (1 - decay) * decay ** (steps - s) * snapshots[s - 1][k] for s in range(1, steps + 1))
        torch.testing.assert_close(average, expected)


@pytest.mark.parametrize("steps", [1, 2, 5, 9])
def test_warmup_is_the_running_mean(device, steps):
    # alpha_t = min(1 - 1/(t+1), alpha): while 1/(1 - alpha) > t, the average is the plain mean.
    torch.manual_seed(0)
    model = nn.Linear(4, 4).to(device).double()
    ema = EMA(model, decay=0.99, warmup=True)
    snapshots = random_steps(model, ema, steps)
    for k, average in enumerate(ema.module.parameters()):
        torch.testing.assert_close(average, torch.stack([s[k] for s in snapshots]).mean(0))
    assert int(ema.num_updates) == steps


def test_teacher_is_frozen_buffers_copied_and_state_dict(device):
    model = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3)).to(device)
    ema = EMA(model, decay=0.5)
    assert all(not p.requires_grad for p in ema.parameters())
    model.train()
    model(torch.randn(8, 3, device=device))  # changes the running statistics
    ema.update(model)
    torch.testing.assert_close(ema.module[1].running_mean, model[1].running_mean)
    assert "num_updates" in ema.state_dict() and "module.0.weight" in ema.state_dict()
    x = torch.randn(2, 3, device=device)
    ema.eval()
    torch.testing.assert_close(ema(x), ema.module(x))


def test_as_an_after_step_hook(device):
    torch.manual_seed(0)
    model = nn.Linear(2, 2).to(device)
    ema = EMA(model, decay=0.0)  # decay 0: the average is the latest model
    data = [(torch.randn(4, 2, device=device), torch.randint(0, 2, (4,), device=device))]
    fit(model, data, epochs=2, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        after_step=ema.update, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(ema.module.parameters(), model.parameters()))


def test_bad_arguments():
    with pytest.raises(ValueError, match="'decay' parameter of EMA"):
        EMA(nn.Linear(1, 1), decay=1.0)
    with pytest.raises(TypeError, match="'model' parameter of EMA"):
        EMA("model")
    with pytest.raises(TypeError, match="'warmup' parameter of EMA"):
        EMA(nn.Linear(1, 1), warmup="yes")


@pytest.mark.parametrize(
    "other, got",
    [
        (nn.Sequential(nn.Linear(4, 2)), r"0.weight of shape \(2, 4\)"),  # same names, other shapes
        (nn.Linear(3, 2), r"weight of shape \(2, 3\)"),  # same shapes, other names
        (nn.Sequential(nn.Linear(3, 2, bias=False)), "no further tensor"),  # one parameter fewer
        (nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 2)), r"1.weight of shape \(2, 2\)"),  # one more
        (nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)), "1.weight"),
    ],
)
def test_update_refuses_another_architecture(other, got):
    model = nn.Sequential(nn.Linear(3, 2))
    ema = EMA(model, decay=0.5)
    before = [p.clone() for p in ema.module.parameters()]
    with pytest.raises(ValueError, match=f"'model' parameter of EMA.update must be a model with the parameter and "
                                         f"buffer names and shapes of the EMA's copy.*Got '{got}"):
        ema.update(other)
    assert all(torch.equal(a, b) for a, b in zip(before, ema.module.parameters()))  # nothing averaged
    assert int(ema.num_updates) == 0
    with pytest.raises(TypeError, match="'model' parameter of EMA.update must be an nn.Module"):
        ema.update([p for p in model.parameters()])
    ema.update(nn.Sequential(nn.Linear(3, 2)))  # another instance of the same architecture is fine
