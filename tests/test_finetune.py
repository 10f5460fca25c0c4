"""reglab.finetune: gradients only where intended, LoRA merge and parameter count."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from reglab.finetune import LoRALinear, count_trainable, freeze_all_but

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def test_freeze_all_but_gradients_only_where_intended(device):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3)).to(device)
    names = freeze_all_but(model, ["2", "4.bias"])
    assert names == ["2.weight", "2.bias", "4.bias"]
    F.cross_entropy(model(torch.randn(5, 4, device=device)), torch.tensor([0, 1, 2, 0, 1], device=device)).backward()
    for name, p in model.named_parameters():
        assert (p.grad is not None) == (name in names), name
    assert count_trainable(model) == 8 * 8 + 8 + 3


def test_prefix_matches_whole_names_only():
    model = nn.Sequential(*[nn.Linear(2, 2) for _ in range(12)])
    assert freeze_all_but(model, "1") == ["1.weight", "1.bias"]  # not "10." or "11."
    with pytest.raises(ValueError, match="'names' parameter of freeze_all_but"):
        freeze_all_but(model, ["head"])
    with pytest.raises(TypeError, match="'names' parameter of freeze_all_but"):
        freeze_all_but(model, [])


@SETTINGS
@given(d_in=st.integers(1, 12), d_out=st.integers(1, 12), rank=st.integers(1, 12), seed=st.integers(0, 100))
def test_lora_count_merge_and_gradients(device, d_in, d_out, rank, seed):
    rank = min(rank, d_in, d_out)
    torch.manual_seed(seed)
    layer = LoRALinear(nn.Linear(d_in, d_out), rank=rank, alpha=2.0).to(device)
    assert count_trainable(layer) == rank * (d_in + d_out)  # r (in + out)
    x = torch.randn(7, d_in, device=device)
    torch.testing.assert_close(layer(x), layer.base(x))  # B = 0 at the start: the base layer exactly
    with torch.no_grad():
        layer.lora_b.normal_()
    # the merged layer gives the same output as base + low-rank path, checked against F.linear
    expected = F.linear(x, layer.base.weight, layer.base.bias) + (2.0 / rank) * x @ (layer.lora_b @ layer.lora_a).T
    torch.testing.assert_close(layer(x), expected)
    torch.testing.assert_close(layer.merge()(x), layer(x))
    layer(x).sum().backward()
    assert layer.base.weight.grad is None and layer.base.bias.grad is None
    assert layer.lora_a.grad is not None and layer.lora_b.grad is not None


def test_lora_in_a_network_trains_only_the_update(device):
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 2)).to(device)
    freeze_all_but(model, "2")
    model[0] = LoRALinear(model[0], rank=2)
    frozen = model[0].base.weight.detach().clone()
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    for _ in range(3):
        optimizer.zero_grad()
        F.cross_entropy(model(torch.randn(8, 6, device=device)), torch.randint(0, 2, (8,), device=device)).backward()
        optimizer.step()
    assert torch.equal(model[0].base.weight, frozen)
    assert count_trainable(model) == 2 * (6 + 6) + 6 * 2 + 2
    assert model[0].lora_b.abs().sum() > 0


def test_bad_arguments():
    with pytest.raises(ValueError, match="'rank' parameter of LoRALinear"):
        LoRALinear(nn.Linear(3, 5), rank=4)
    with pytest.raises(TypeError, match="'base' parameter of LoRALinear"):
        LoRALinear(nn.Conv2d(1, 1, 1))
    with pytest.raises(ValueError, match="'alpha' parameter of LoRALinear"):
        LoRALinear(nn.Linear(3, 5), rank=1, alpha=0.0)
