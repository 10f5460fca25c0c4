"""reglab.consistency against torch.distributions' KL divergence and F.mse_loss on probabilities."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Categorical, kl_divergence

from reglab.consistency import ConsistencyPenalty, consistency_loss
from reglab.data import DeviceLoader
from reglab.train import EMA, fit


class FlipInvariant(nn.Module):
    """A model that averages its logits over a horizontal flip: invariant to that flip."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))

    def forward(self, x):
        return 0.5 * (self.net(x) + self.net(x.flip(-1)))


@pytest.mark.parametrize("kind", ["mse", "kl"])
def test_zero_when_the_model_is_invariant(device, kind):
    torch.manual_seed(0)
    model = FlipInvariant().to(device)
    x = torch.randn(10, 1, 4, 4, device=device)
    generator = torch.Generator(device=device).manual_seed(0)

    def random_flip(batch):  # each image flipped with probability 1/2
        flip = torch.rand(len(batch), 1, 1, 1, generator=generator, device=device) < 0.5  # (N, 1, 1, 1)
        return torch.where(flip, batch.flip(-1), batch)

    assert consistency_loss(model, x, random_flip, kind=kind).abs() < 1e-6
    # ... but a model without that symmetry disagrees with itself under the same augmentation
    assert consistency_loss(model.net, x, random_flip, kind=kind) > 1e-4


@pytest.mark.parametrize("kind", ["mse", "kl"])
def test_value_matches_references(device, kind):
    torch.manual_seed(1)
    student, teacher = nn.Linear(6, 4).to(device), nn.Linear(6, 4).to(device)
    x = torch.randn(9, 6, device=device)
    got = consistency_loss(student, x, lambda t: t, kind=kind, teacher=teacher)
    p, q = student(x), teacher(x)
    if kind == "mse":
        expected = ((p.softmax(1) - q.softmax(1)) ** 2).sum(1).mean() / 4  # 1/(N C) sum of squares
    else:
        expected = kl_divergence(Categorical(logits=q), Categorical(logits=p)).mean()  # KL(teacher || student)
    torch.testing.assert_close(got, expected)


def test_no_gradient_through_the_target(device):
    torch.manual_seed(2)
    student, teacher = nn.Linear(3, 3).to(device), nn.Linear(3, 3).to(device)
    consistency_loss(student, torch.randn(5, 3, device=device), lambda t: t + 0.1, teacher=teacher).backward()
    assert all(p.grad is not None for p in student.parameters())
    assert all(p.grad is None for p in teacher.parameters())


def test_penalty_rampup_and_cycling(device):
    x = torch.randn(6, 2, device=device)
    loader = DeviceLoader(x, torch.zeros(6, dtype=torch.long, device=device), batch_size=4, seed=0)
    penalty = ConsistencyPenalty(loader, lambda t: t + 0.3 * torch.randn_like(t), weight=2.0, rampup=10)
    weights = []
    for _ in range(5):  # three passes over a 2-batch loader: restarts at the end of each
        weights.append(penalty.current_weight())
        value = penalty(nn.Linear(2, 3).to(device))
        assert value.ndim == 0 and value >= 0
    expected = [2.0 * torch.exp(torch.tensor(-5.0 * (1 - t / 10) ** 2)).item() for t in range(5)]
    assert weights == pytest.approx(expected)
    penalty.steps = 100
    assert penalty.current_weight() == 2.0


def test_penalty_with_ema_teacher_in_fit(device):
    torch.manual_seed(3)
    model = nn.Linear(4, 3).to(device)
    teacher = EMA(model, decay=0.9)
    unlabeled = DeviceLoader(torch.randn(32, 4), torch.zeros(32, dtype=torch.long), batch_size=8, device=device)
    penalty = ConsistencyPenalty(unlabeled, lambda t: t + 0.1 * torch.randn_like(t), teacher=teacher, kind="kl")
    labeled = [(torch.randn(8, 4, device=device), torch.randint(0, 3, (8,), device=device))]
    fit(model, labeled, epochs=3, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        penalty=penalty, after_step=teacher.update, progress=False)
    assert penalty.steps == 3 and int(teacher.num_updates) == 3
    assert not torch.equal(teacher.module.weight, model.weight)


def test_bad_arguments():
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="'kind' parameter of consistency_loss"):
        consistency_loss(model, torch.zeros(2, 2), lambda t: t, kind="l1")
    with pytest.raises(TypeError, match="'augment' parameter of consistency_loss"):
        consistency_loss(model, torch.zeros(2, 2), None)
    with pytest.raises(ValueError, match="'weight' parameter of ConsistencyPenalty"):
        ConsistencyPenalty([torch.zeros(2, 2)], lambda t: t, weight=-1.0)
    with pytest.raises(ValueError, match="'unlabeled' parameter of ConsistencyPenalty"):
        ConsistencyPenalty([], lambda t: t)(model)
