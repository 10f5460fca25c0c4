"""reglab.consistency against torch.distributions' KL divergence and F.mse_loss on probabilities."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Categorical, kl_divergence

from reglab.consistency import ConsistencyPenalty, PseudoLabelPenalty, consistency_loss, pseudo_label_loss
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


# ---- pseudo-labels (FixMatch): against torch.distributions and a loop written out by hand


def _fixmatch_reference(logits_strong, logits_weak, threshold):
    """mean_i 1[max_c q_ic >= tau] * (-log p_i[argmax q_i]), one example at a time, in float64."""
    total = 0.0
    for z_s, z_w in zip(logits_strong.double(), logits_weak.double()):
        q = Categorical(logits=z_w).probs  # (C,)
        if q.max() >= threshold:
            total += -Categorical(logits=z_s).log_prob(q.argmax()).item()
    return total / len(logits_strong)


@pytest.mark.parametrize("threshold", [0.0, 0.5, 0.8, 1.0])
def test_pseudo_label_loss_matches_reference(device, threshold):
    torch.manual_seed(4)
    logits_strong = torch.randn(40, 5, device=device)
    logits_weak = 3 * torch.randn(40, 5, device=device)  # a spread of confidences around 0.5-0.8
    got = pseudo_label_loss(logits_strong, logits_weak, threshold)
    assert got.ndim == 0
    assert got.item() == pytest.approx(_fixmatch_reference(logits_strong, logits_weak, threshold), rel=1e-5, abs=1e-7)


def test_pseudo_label_loss_without_threshold_is_cross_entropy_on_the_guesses(device):
    torch.manual_seed(5)
    logits_strong, logits_weak = torch.randn(16, 4, device=device), torch.randn(16, 4, device=device)
    expected = F.cross_entropy(logits_strong, logits_weak.argmax(dim=1))
    torch.testing.assert_close(pseudo_label_loss(logits_strong, logits_weak, threshold=0.0), expected)


def test_pseudo_label_loss_gradient_only_through_the_strong_view(device):
    torch.manual_seed(6)
    logits_strong = torch.randn(8, 3, device=device, requires_grad=True)
    logits_weak = (5 * torch.randn(8, 3, device=device)).requires_grad_()
    pseudo_label_loss(logits_strong, logits_weak, 0.5).backward()
    assert logits_weak.grad is None
    assert logits_strong.grad is not None and logits_strong.grad.abs().sum() > 0
    # rows below the threshold get no gradient at all
    below = logits_weak.detach().softmax(1).max(1).values < 0.5  # (8,)
    assert torch.all(logits_strong.grad[below] == 0)


def test_pseudo_label_penalty_records_and_weights(device):
    torch.manual_seed(7)
    model = nn.Linear(6, 3).to(device)
    with torch.no_grad():
        model.weight.mul_(5)  # confident enough for some predictions to pass 0.8
    x = torch.randn(12, 6, device=device)
    y = torch.randint(0, 3, (12,), device=device)
    shift = lambda t: t + 0.5  # a deterministic "strong" view
    penalty = PseudoLabelPenalty([(x, y)], lambda t: t, shift, weight=2.0, threshold=0.8)
    got = penalty(model)
    with torch.no_grad():
        expected = 2.0 * _fixmatch_reference(model(shift(x)), model(x), 0.8)
        confidence, guess = model(x).softmax(1).max(1)
    assert got.item() == pytest.approx(expected, rel=1e-5)
    passed = confidence >= 0.8
    log = penalty.log()
    assert log["mask_rate"] == pytest.approx([passed.float().mean().item()])
    expected_accuracy = (guess[passed] == y[passed]).double().mean().item()
    assert log["pseudo_accuracy"] == pytest.approx([expected_accuracy], nan_ok=True)
    assert penalty.steps == 1


def test_pseudo_label_penalty_in_fit_without_labels(device):
    torch.manual_seed(8)
    model = nn.Linear(4, 3).to(device)
    penalty = PseudoLabelPenalty([torch.randn(8, 4, device=device)], lambda t: t,
                                 lambda t: t + 0.1 * torch.randn_like(t), threshold=0.0, rampup=4)
    labeled = [(torch.randn(8, 4, device=device), torch.randint(0, 3, (8,), device=device))]
    fit(model, labeled, epochs=3, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), penalty=penalty, progress=False)
    log = penalty.log()
    assert log["mask_rate"] == [1.0, 1.0, 1.0] and "pseudo_accuracy" not in log  # batches without labels
    assert penalty.current_weight() == pytest.approx(torch.exp(torch.tensor(-5 * 0.25**2)).item())


def test_pseudo_label_bad_arguments():
    z = torch.zeros(4, 3)
    with pytest.raises(ValueError, match="'threshold' parameter of pseudo_label_loss"):
        pseudo_label_loss(z, z, threshold=1.5)
    with pytest.raises(ValueError, match="'logits_weak' parameter of pseudo_label_loss"):
        pseudo_label_loss(z, torch.zeros(4, 2))
    with pytest.raises(ValueError, match="'logits_strong' parameter of pseudo_label_loss"):
        pseudo_label_loss(torch.zeros(4), torch.zeros(4))
    with pytest.raises(TypeError, match="'logits_weak' parameter of pseudo_label_loss"):
        pseudo_label_loss(z, torch.zeros(4, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="'strong' parameter of PseudoLabelPenalty"):
        PseudoLabelPenalty([z], lambda t: t, None)
    with pytest.raises(ValueError, match="'weight' parameter of PseudoLabelPenalty"):
        PseudoLabelPenalty([z], lambda t: t, lambda t: t, weight=-1.0)
    with pytest.raises(TypeError, match="'teacher' parameter of PseudoLabelPenalty"):
        PseudoLabelPenalty([z], lambda t: t, lambda t: t, teacher="model")
    with pytest.raises(ValueError, match="'unlabeled' parameter of PseudoLabelPenalty"):
        PseudoLabelPenalty([], lambda t: t, lambda t: t)(nn.Linear(3, 3))
