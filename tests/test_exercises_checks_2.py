"""The checks of chapters 10, 11 and 13: each passes the chapter's solution, and fails known wrong answers with its hint."""

import pytest
import torch
import torch.nn.functional as F

from reglab.exercises import check_drop_path, check_ema_update, check_fgsm

from exercise_helpers import assert_fails_with, verdict


# Chapter 10: FGSM ----------------------------------------------------------------------------------------------------

def fgsm_solution(model, x, y, eps):  # the chapter's solution
    x = x.detach().clone().requires_grad_(True)
    was_training = model.training
    model.eval()
    loss = F.cross_entropy(model(x), y)
    (grad,) = torch.autograd.grad(loss, x)
    model.train(was_training)
    return (x + eps * grad.sign()).clamp(0, 1).detach()


def fgsm_variant(*, sign=True, direction=1.0, clamp=True, eval_mode=True, restore="yes", detach=True,
                 backward=False, in_place=False):
    """The solution with one slip switched on."""
    def attack(model, x, y, eps):
        x_adv = x.requires_grad_(True) if in_place else x.detach().clone().requires_grad_(True)
        was_training = model.training
        if eval_mode:
            model.eval()
        loss = F.cross_entropy(model(x_adv), y)
        if backward:
            loss.backward()
            grad = x_adv.grad
        else:
            (grad,) = torch.autograd.grad(loss, x_adv)
        if restore == "yes":
            model.train(was_training)
        elif restore == "always_train":
            model.train()
        step = grad.sign() if sign else grad
        out = x_adv + direction * eps * step
        out = out.clamp(0, 1) if clamp else out
        return out.detach() if detach else out
    return attack


def test_fgsm_check_passes_the_solution_and_reglab(capsys):
    from reglab.adversarial import fgsm
    for reference in (fgsm_solution, fgsm, fgsm_variant()):
        passed, out = verdict(check_fgsm, reference, capsys)
        assert passed and "✔ Exercise 10.1: correct" in out, out


@pytest.mark.parametrize("wrong, hint", [
    (fgsm_variant(sign=False), "take the SIGN of the gradient"),
    (fgsm_variant(direction=-1.0), "stepped DOWN the gradient"),
    (fgsm_variant(clamp=False), "clip the result to the valid pixel range"),
    (fgsm_variant(eval_mode=False), "compute the gradient in eval mode"),
    (fgsm_variant(restore="no"), "restore the mode the model came in"),
    (fgsm_variant(restore="always_train"), "restore the mode the model came in"),
    (fgsm_variant(detach=False), "return a detached tensor"),
    (fgsm_variant(backward=True), "do not call loss.backward()"),
    (fgsm_variant(in_place=True), "leave the caller's x alone"),
])
def test_fgsm_check_fails_wrong_answers(wrong, hint, capsys):
    assert_fails_with(check_fgsm, wrong, hint, "10.1", capsys)


def test_fgsm_check_leaves_the_global_generator_alone(capsys):
    state = torch.get_rng_state()
    verdict(check_fgsm, fgsm_solution, capsys)
    assert torch.equal(torch.get_rng_state(), state)


# Chapter 11: drop path -----------------------------------------------------------------------------------------------

def drop_path_solution(x, p, training):  # the chapter's solution (coins drawn differently from reglab's)
    if not training or p == 0:
        return x
    keep = torch.rand(x.shape[0], *([1] * (x.ndim - 1)), device=x.device) < 1 - p  # (N, 1, ..., 1)
    return x * keep.to(x.dtype) / (1 - p)


def drop_path_per_element(x, p, training):
    return F.dropout(x, p, training)


def drop_path_unscaled(x, p, training):
    if not training or p == 0:
        return x
    return x * (torch.rand(x.shape[0], *([1] * (x.ndim - 1))) < 1 - p).to(x.dtype)


def drop_path_always_on(x, p, training):
    return drop_path_solution(x, p, True)


def drop_path_keep_rate(x, p, training):
    return drop_path_solution(x, 1 - p, training) * (p / (1 - p)) if training and p > 0 else x


def drop_path_whole_batch(x, p, training):  # one coin for the whole mini-batch
    if not training or p == 0:
        return x
    return x * (torch.rand(()) < 1 - p).to(x.dtype) / (1 - p)


def drop_path_huang_eval(x, p, training):
    return drop_path_solution(x, p, True) if training else x * (1 - p)


def test_drop_path_check_passes_the_solution_and_reglab(capsys):
    from reglab.layers import drop_path
    for reference in (drop_path_solution, drop_path):
        passed, out = verdict(check_drop_path, reference, capsys)
        assert passed and "✔ Exercise 11.1: correct" in out, out


@pytest.mark.parametrize("wrong, hint", [
    (drop_path_per_element, "draw ONE coin per sample"),
    (drop_path_unscaled, "the kept samples are not rescaled"),
    (drop_path_always_on, "drop path is active only in training"),
    (drop_path_keep_rate, "p is the DROP probability"),
    (drop_path_huang_eval, "Huang et al.'s original convention"),
    (drop_path_whole_batch, "one coin per SAMPLE"),
])
def test_drop_path_check_fails_wrong_answers(wrong, hint, capsys):
    assert_fails_with(check_drop_path, wrong, hint, "11.1", capsys)


# Chapter 12: the EMA teacher -----------------------------------------------------------------------------------------

@torch.no_grad()
def ema_solution(average, model, decay):  # the chapter's solution
    for a, p in zip(average.parameters(), model.parameters()):
        a.mul_(decay).add_(p, alpha=1 - decay)


@torch.no_grad()
def ema_lerp(average, model, decay):  # an independent form: torch.lerp
    for a, p in zip(average.parameters(), model.parameters()):
        a.lerp_(p, 1 - decay)


@torch.no_grad()
def ema_swapped(average, model, decay):
    for a, p in zip(average.parameters(), model.parameters()):
        a.mul_(1 - decay).add_(p, alpha=decay)


@torch.no_grad()
def ema_rebound(average, model, decay):
    for a, p in zip(average.parameters(), model.parameters()):
        a = decay * a + (1 - decay) * p  # noqa: F841 (the slip: a new tensor, the module unchanged)


@torch.no_grad()
def ema_writes_the_model(average, model, decay):
    for a, p in zip(average.parameters(), model.parameters()):
        p.mul_(decay).add_(a, alpha=1 - decay)


def ema_with_grad(average, model, decay):  # no torch.no_grad(): the frozen average records a graph
    for a, p in zip(average.parameters(), model.parameters()):
        a.mul_(decay).add_(p, alpha=1 - decay)


def test_ema_check_passes_the_solution_and_lerp(capsys):
    for reference in (ema_solution, ema_lerp):
        passed, out = verdict(check_ema_update, reference, capsys)
        assert passed and "✔ Exercise 12.1: correct" in out, out


@pytest.mark.parametrize("wrong, hint", [
    (ema_swapped, "you swapped the two weights"),
    (ema_rebound, "the average did not change"),
    (ema_writes_the_model, "you changed the model's parameters"),
    (ema_with_grad, "wrap the update in torch.no_grad()"),
])
def test_ema_check_fails_wrong_answers(wrong, hint, capsys):
    assert_fails_with(check_ema_update, wrong, hint, "12.1", capsys)


@pytest.mark.parametrize("check, exercise", [(check_fgsm, "10.1"), (check_drop_path, "11.1"),
                                             (check_ema_update, "12.1")])
def test_every_check_reports_a_stub_and_a_crash_in_one_line(check, exercise, capsys):
    def stub(*args):
        raise NotImplementedError

    def crash(*args):
        raise IndexError("index 3 is out of bounds")

    passed, out = verdict(check, stub, capsys)
    assert not passed and f"✘ Exercise {exercise}: not implemented yet" in out
    passed, out = verdict(check, crash, capsys)
    assert not passed and f"✘ Exercise {exercise}" in out and "raised IndexError" in out and "Hint:" in out
