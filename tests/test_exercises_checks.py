"""The checks of chapters 2-9: each passes the chapter's solution and reglab, and fails known wrong answers with its hint.

The wrong answers are the plausible slips. Several are the source articles' own mistakes (see the errata):
the ε/(K-1) smoothing target, "dropout" by uniform random numbers, p read as the keep probability, and a
sequence mask that assumes the time-major layout.
"""

import pytest
import torch
import torch.nn.functional as F

from reglab.augment import random_flip
from reglab.clipping import clip_grad_norm_
from reglab.exercises import (check_batch_norm_train, check_clip_grad_norm, check_label_smoothing,
                              check_locked_dropout, check_mixup, check_random_flip, check_soft_threshold,
                              check_stopping_rule)
from reglab.losses import label_smoothing_cross_entropy

from exercise_helpers import assert_fails_with, passes, verdict


# Chapter 2: the soft threshold ------------------------------------------------------------------------------------

def soft_threshold_solution(w, t):  # the chapter's solution
    magnitude = w.abs() - t
    return torch.sign(w) * torch.where(magnitude > 0, magnitude, torch.zeros_like(magnitude))


def soft_threshold_softshrink(w, t):  # an independent reference: PyTorch's softshrink
    return F.softshrink(w, t) if t > 0 else w.clone()


def soft_threshold_in_place(w, t):
    w.sub_(w.clamp(-t, t))
    return w


@pytest.mark.parametrize("reference", [soft_threshold_solution, soft_threshold_softshrink])
def test_soft_threshold_check_passes_references(reference, capsys):
    passed, out = verdict(check_soft_threshold, reference, capsys)
    assert passed and "✔ Exercise 2.1: correct" in out


@pytest.mark.parametrize("wrong, hint", [
    (lambda w, t: w * (w.abs() > t), "hard thresholding"),
    (lambda w, t: w - t * torch.sign(w), "subgradient step"),
    (lambda w, t: (w.abs() - t).clamp(min=0), "lost its sign"),
    (soft_threshold_in_place, "do not change w in place"),
])
def test_soft_threshold_check_fails_wrong_answers(wrong, hint, capsys):
    assert_fails_with(check_soft_threshold, wrong, hint, "2.1", capsys)


# Chapter 3: the stopping rule ----------------------------------------------------------------------------------------

def stop_solution(values, patience, min_delta=0.0):
    best_value, best_epoch = float("inf"), None
    for epoch, value in enumerate(values, start=1):
        if value < best_value - min_delta:
            best_value, best_epoch = value, epoch
        if epoch - best_epoch >= patience:
            return epoch, best_epoch
    return len(values), best_epoch


def stop_from_zero(values, patience, min_delta=0.0):
    stop, best = stop_solution(values, patience, min_delta)
    return stop - 1, best - 1


def stop_one_late(values, patience, min_delta=0.0):
    best_value, best_epoch = float("inf"), None
    for epoch, value in enumerate(values, start=1):
        if value < best_value - min_delta:
            best_value, best_epoch = value, epoch
        if epoch - best_epoch > patience:
            return epoch, best_epoch
    return len(values), best_epoch


def stop_ties_improve(values, patience, min_delta=0.0):
    best_value, best_epoch = float("inf"), None
    for epoch, value in enumerate(values, start=1):
        if value <= best_value - min_delta:
            best_value, best_epoch = value, epoch
        if epoch - best_epoch >= patience:
            return epoch, best_epoch
    return len(values), best_epoch


def stop_ignores_min_delta(values, patience, min_delta=0.0):
    return stop_solution(values, patience, 0.0)


def stop_never(values, patience, min_delta=0.0):  # forgets to stop (on the first case it looks like stopping late)
    best_value, best_epoch = float("inf"), None
    for epoch, value in enumerate(values, start=1):
        if value < best_value - min_delta:
            best_value, best_epoch = value, epoch
    return len(values), best_epoch


def test_stopping_rule_check_passes_the_solution(capsys):
    passed, out = verdict(check_stopping_rule, stop_solution, capsys)
    assert passed and "✔ Exercise 3.1: correct" in out


@pytest.mark.parametrize("wrong, hint", [
    (stop_from_zero, "count epochs from 1"),
    (stop_one_late, "one epoch late"),
    (stop_ties_improve, "strict '<'"),
    (stop_ignores_min_delta, "more than min_delta"),
    (stop_never, "training never stops"),
])
def test_stopping_rule_check_fails_wrong_answers(wrong, hint, capsys):
    assert_fails_with(check_stopping_rule, wrong, hint, "3.1", capsys)


# Chapter 4: locked dropout -------------------------------------------------------------------------------------------

def mask_shape(x, batch_first):
    return (x.shape[0], 1, x.shape[2]) if batch_first else (1, x.shape[1], x.shape[2])


def locked_solution(x, p, batch_first=False):
    mask = torch.empty(mask_shape(x, batch_first), dtype=x.dtype, device=x.device).bernoulli_(1 - p)
    return x * mask / (1 - p)


def locked_unscaled(x, p, batch_first=False):  # the sources' dropout without 1/(1-p)
    return x * torch.empty(mask_shape(x, batch_first), dtype=x.dtype).bernoulli_(1 - p)


def locked_per_step(x, p, batch_first=False):  # plain dropout: a new mask at every time step
    return x * torch.empty_like(x).bernoulli_(1 - p) / (1 - p)


def locked_wrong_layout(x, p, batch_first=False):  # ignores batch_first
    return locked_solution(x, p, False)


def locked_keep_probability(x, p, batch_first=False):  # p used as the keep probability
    return x * torch.empty(mask_shape(x, batch_first), dtype=x.dtype).bernoulli_(p) / (1 - p)


def locked_keep_probability_scaled_by_p(x, p, batch_first=False):  # p as the keep probability, throughout
    return x * torch.empty(mask_shape(x, batch_first), dtype=x.dtype).bernoulli_(p) / p


def locked_keep_probability_unscaled(x, p, batch_first=False):  # p as the keep probability, and no scaling
    return x * torch.empty(mask_shape(x, batch_first), dtype=x.dtype).bernoulli_(p)


def locked_rand(x, p, batch_first=False):  # another valid draw: other numbers than reglab's
    return x * (torch.rand(mask_shape(x, batch_first)) < 1 - p).to(x.dtype) / (1 - p)


def locked_bernoulli(x, p, batch_first=False):  # another valid draw
    return x * torch.bernoulli(torch.full(mask_shape(x, batch_first), 1 - p)) / (1 - p)


def locked_uniform(x, p, batch_first=False):  # the sources' "dropout" by uniform random numbers
    return x * torch.rand(mask_shape(x, batch_first))


def locked_one_mask_for_all(x, p, batch_first=False):  # one mask of shape (1, 1, D) for every sequence
    return x * torch.empty(1, 1, x.shape[2]).bernoulli_(1 - p) / (1 - p)


@pytest.mark.parametrize("answer", [locked_solution, locked_rand, locked_bernoulli])
def test_locked_dropout_check_passes_the_solution_and_other_valid_draws(answer, capsys):
    passed, out = verdict(check_locked_dropout, answer, capsys)
    assert passed and "✔ Exercise 4.1: correct" in out


@pytest.mark.parametrize("wrong, hint", [
    (locked_unscaled, "not rescaled: divide by (1 - p)"),
    (locked_per_step, "fresh mask at every time step"),
    (locked_wrong_layout, "shared over the batch, not over time"),
    (locked_keep_probability, "p is the DROP probability"),
    (locked_keep_probability_scaled_by_p, "p is the DROP probability, not the keep probability"),
    (locked_keep_probability_unscaled, "not rescaled: divide by (1 - p), so that the expected output equals x. "
                                       "And p is the DROP probability"),
    (locked_uniform, "uniform random numbers is not dropout"),
    (locked_one_mask_for_all, "one coin per sequence AND feature"),
])
def test_locked_dropout_check_fails_wrong_answers(wrong, hint, capsys):
    assert_fails_with(check_locked_dropout, wrong, hint, "4.1", capsys)


def test_locked_dropout_check_leaves_the_global_generator_alone(capsys):
    torch.manual_seed(0)
    before = torch.rand(3)
    torch.manual_seed(0)
    check_locked_dropout(locked_solution)
    capsys.readouterr()
    assert torch.equal(torch.rand(3), before)


# Chapter 5: batch norm's training step -------------------------------------------------------------------------------

def batch_norm_solution(x, running_mean, running_var, gamma, beta, momentum=0.1, eps=1e-5):
    n = x.shape[0]
    mean = x.mean(dim=0)
    var = ((x - mean) ** 2).mean(dim=0)
    y = gamma * (x - mean) / torch.sqrt(var + eps) + beta
    return y, (1 - momentum) * running_mean + momentum * mean, (1 - momentum) * running_var + momentum * var * n / (n - 1)


def batch_norm_torch(x, running_mean, running_var, gamma, beta, momentum=0.1, eps=1e-5):  # independent: PyTorch
    mean, var = running_mean.clone(), running_var.clone()
    return F.batch_norm(x, mean, var, gamma, beta, training=True, momentum=momentum, eps=eps), mean, var


def batch_norm_unbiased_normalize(x, running_mean, running_var, gamma, beta, momentum=0.1, eps=1e-5):
    y, m, v = batch_norm_solution(x, running_mean, running_var, gamma, beta, momentum, eps)
    return gamma * (x - x.mean(0)) / torch.sqrt(x.var(0) + eps) + beta, m, v


def batch_norm_swapped_momentum(x, running_mean, running_var, gamma, beta, momentum=0.1, eps=1e-5):
    return batch_norm_solution(x, running_mean, running_var, gamma, beta, 1 - momentum, eps)


def batch_norm_biased_running(x, running_mean, running_var, gamma, beta, momentum=0.1, eps=1e-5):
    y, m, _ = batch_norm_solution(x, running_mean, running_var, gamma, beta, momentum, eps)
    return y, m, (1 - momentum) * running_var + momentum * x.var(0, unbiased=False)


def batch_norm_in_place(x, running_mean, running_var, gamma, beta, momentum=0.1, eps=1e-5):
    y, m, v = batch_norm_solution(x, running_mean, running_var, gamma, beta, momentum, eps)
    running_mean.copy_(m)
    running_var.copy_(v)
    return y, running_mean, running_var


@pytest.mark.parametrize("reference", [batch_norm_solution, batch_norm_torch])
def test_batch_norm_check_passes_references(reference, capsys):
    passed, out = verdict(check_batch_norm_train, reference, capsys)
    assert passed and "✔ Exercise 5.1: correct" in out


@pytest.mark.parametrize("wrong, hint", [
    (batch_norm_unbiased_normalize, "normalize with the BIASED batch variance"),
    (batch_norm_swapped_momentum, "momentum is the weight of the NEW batch statistic"),
    (batch_norm_biased_running, "UNBIASED batch variance"),
    (batch_norm_in_place, "do not update running_mean / running_var in place"),
])
def test_batch_norm_check_fails_wrong_answers(wrong, hint, capsys):
    assert_fails_with(check_batch_norm_train, wrong, hint, "5.1", capsys)


# Chapter 6: the batched flip -----------------------------------------------------------------------------------------

def flip_solution(x, p=0.5, generator=None):
    flip = torch.rand(len(x), generator=generator, device=x.device) < p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def flip_whole_batch(x, p=0.5, generator=None):  # one coin for the batch
    return x.flip(-1) if torch.rand(1, generator=generator).item() < p else x


def flip_up_down(x, p=0.5, generator=None):
    flip = torch.rand(len(x), generator=generator) < p
    return torch.where(flip[:, None, None, None], x.flip(-2), x)


def flip_per_pixel(x, p=0.5, generator=None):
    return torch.where(torch.rand(x.shape, generator=generator) < p, x.flip(-1), x)


def flip_ignores_generator(x, p=0.5, generator=None):
    return flip_solution(x, p, None)


def flip_ignores_p(x, p=0.5, generator=None):
    return flip_solution(x, 0.5, generator)


@pytest.mark.parametrize("reference", [flip_solution, random_flip])
def test_random_flip_check_passes_references(reference, capsys):
    passed, out = verdict(check_random_flip, reference, capsys)
    assert passed and "✔ Exercise 6.1: correct" in out


@pytest.mark.parametrize("wrong, hint", [
    (flip_whole_batch, "flip the whole batch together"),
    (flip_up_down, "up-down flip"),
    (flip_per_pixel, "one coin per IMAGE"),
    (flip_ignores_generator, "with the generator you are given"),
    (flip_ignores_p, "p = 0 flips none"),
])
def test_random_flip_check_fails_wrong_answers(wrong, hint, capsys):
    assert_fails_with(check_random_flip, wrong, hint, "6.1", capsys)


# Chapter 7: clip by norm ---------------------------------------------------------------------------------------------

def clip_solution(params, max_norm):
    grads = [p.grad for p in params if p.grad is not None]
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    scale = min(1.0, max_norm / (total.item() + 1e-6))
    for g in grads:
        g.mul_(scale)
    return total


def clip_torch(params, max_norm):  # independent: PyTorch's clip_grad_norm_
    return torch.nn.utils.clip_grad_norm_(params, max_norm)


def clip_by_value(params, max_norm):  # clip_grad_value_ in place of clip_grad_norm_
    grads = [p.grad for p in params if p.grad is not None]
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    for g in grads:
        g.clamp_(-max_norm, max_norm)
    return total


def clip_per_tensor(params, max_norm):
    grads = [p.grad for p in params if p.grad is not None]
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    for g in grads:
        g.mul_(min(1.0, max_norm / (g.norm().item() + 1e-6)))
    return total


def clip_returns_after(params, max_norm):
    clip_solution(params, max_norm)
    return torch.sqrt(sum((p.grad ** 2).sum() for p in params if p.grad is not None))


def clip_always_rescales(params, max_norm):
    grads = [p.grad for p in params if p.grad is not None]
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    for g in grads:
        g.mul_(max_norm / (total.item() + 1e-6))
    return total


@pytest.mark.parametrize("reference", [clip_solution, clip_torch, clip_grad_norm_])
def test_clip_grad_norm_check_passes_references(reference, capsys):
    passed, out = verdict(check_clip_grad_norm, reference, capsys)
    assert passed and "✔ Exercise 7.1: correct" in out


@pytest.mark.parametrize("wrong, hint", [
    (clip_by_value, "clipping by VALUE"),
    (clip_per_tensor, "each tensor by its own norm"),
    (clip_returns_after, "norm BEFORE clipping"),
    (clip_always_rescales, "only shrink"),
])
def test_clip_grad_norm_check_fails_wrong_answers(wrong, hint, capsys):
    assert_fails_with(check_clip_grad_norm, wrong, hint, "7.1", capsys)


# Chapter 8: mixup ----------------------------------------------------------------------------------------------------

def mixup_solution(x, y, lam, partner, num_classes):
    one_hot = F.one_hot(y, num_classes).float()
    lam_x = lam.reshape(-1, *([1] * (x.ndim - 1)))
    return lam_x * x + (1 - lam_x) * x[partner], lam[:, None] * one_hot + (1 - lam[:, None]) * one_hot[partner]


def mixup_no_shuffle(x, y, lam, partner, num_classes):  # mixes each example with itself
    return mixup_solution(x, y, lam, torch.arange(len(x)), num_classes)


def mixup_hard_labels(x, y, lam, partner, num_classes):
    return mixup_solution(x, y, lam, partner, num_classes)[0], F.one_hot(y, num_classes).float()


def mixup_swapped_lambda(x, y, lam, partner, num_classes):
    return mixup_solution(x, y, 1 - lam, partner, num_classes)


def mixup_no_broadcast(x, y, lam, partner, num_classes):  # lam (N,) against x (N, C, H, W)
    one_hot = F.one_hot(y, num_classes).float()
    return lam * x + (1 - lam) * x[partner], lam[:, None] * one_hot + (1 - lam[:, None]) * one_hot[partner]


def test_mixup_check_passes_the_solution(capsys):
    passed, out = verdict(check_mixup, mixup_solution, capsys)
    assert passed and "✔ Exercise 8.1: correct" in out


@pytest.mark.parametrize("wrong, hint", [
    (mixup_no_shuffle, "mixed with itself"),
    (mixup_hard_labels, "mix the labels too"),
    (mixup_swapped_lambda, "λ weighs the example ITSELF"),
    (mixup_no_broadcast, "reshape lam to (N, 1, ..., 1)"),
])
def test_mixup_check_fails_wrong_answers(wrong, hint, capsys):
    assert_fails_with(check_mixup, wrong, hint, "8.1", capsys)


# Chapter 9: label smoothing ------------------------------------------------------------------------------------------

def smoothing_solution(logits, target, epsilon):
    log_p = F.log_softmax(logits, dim=1)
    nll = -log_p.gather(1, target.unsqueeze(1)).squeeze(1)
    return ((1 - epsilon) * nll + epsilon * -log_p.mean(dim=1)).mean()


def smoothing_torch(logits, target, epsilon):  # independent: PyTorch's label_smoothing
    return F.cross_entropy(logits, target, label_smoothing=epsilon)


def smoothing_k_minus_1(logits, target, epsilon):  # the sources' ε/(K-1) target
    k = logits.shape[1]
    one_hot = F.one_hot(target, k).float()
    q = (1 - epsilon) * one_hot + epsilon / (k - 1) * (1 - one_hot)
    return -(q * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


def smoothing_sum(logits, target, epsilon):
    return F.cross_entropy(logits, target, label_smoothing=epsilon, reduction="sum")


def smoothing_naive_log(logits, target, epsilon):  # log(softmax) underflows
    k = logits.shape[1]
    q = (1 - epsilon) * F.one_hot(target, k) + epsilon / k
    return -(q * torch.log(torch.softmax(logits, dim=1))).sum(dim=1).mean()


@pytest.mark.parametrize("reference", [smoothing_solution, smoothing_torch, label_smoothing_cross_entropy])
def test_label_smoothing_check_passes_references(reference, capsys):
    passed, out = verdict(check_label_smoothing, reference, capsys)
    assert passed and "✔ Exercise 9.1: correct" in out


@pytest.mark.parametrize("wrong, hint", [
    (smoothing_k_minus_1, "ε/(K - 1)"),
    (smoothing_sum, "use mean reduction"),
    (smoothing_naive_log, "F.log_softmax"),
    (lambda z, y, e: smoothing_solution(z, y, e).item(), "not a Python number"),
    (lambda z, y, e: smoothing_solution(z, y, e).reshape(1), "0-dimensional tensor"),
])
def test_label_smoothing_check_fails_wrong_answers(wrong, hint, capsys):
    assert_fails_with(check_label_smoothing, wrong, hint, "9.1", capsys)


@pytest.mark.parametrize("check", [check_soft_threshold, check_stopping_rule, check_locked_dropout,
                                   check_batch_norm_train, check_random_flip, check_clip_grad_norm, check_mixup,
                                   check_label_smoothing])
def test_every_check_reports_a_stub_and_a_crash_in_one_line(check, capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError("Exercise: write it")

    def crash(*args, **kwargs):
        raise IndexError("index 3 is out of bounds")

    assert not passes(check, stub)
    assert "not implemented yet" in capsys.readouterr().out
    assert not passes(check, crash)
    out = capsys.readouterr().out
    assert "raised IndexError" in out and "Hint:" in out and "Traceback" not in out
