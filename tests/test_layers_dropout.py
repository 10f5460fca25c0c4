"""The dropout family of reglab.layers against torch.nn twins and statistical properties.

Statistical tests use n = 200,000 draws: the fraction of zeros then has a
standard error of at most sqrt(0.25 / n) ~ 0.0011, so a tolerance of 0.01 is
about 9 standard errors (a seeded test that fails by chance essentially never).
"""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from reglab.layers import (
    DotProductAttention,
    DropConnectLinear,
    Dropout,
    EmbeddingDropout,
    GaussianDropout,
    GaussianNoise,
    LockedDropout,
    SpatialDropout,
    ZoneoutGRUCell,
    attention,
    drop_connect,
    dropout,
    embedding_dropout,
    gaussian_dropout,
    gaussian_noise,
    locked_dropout,
    mc_predict,
    spatial_dropout,
    zoneout,
)

N = 200_000
TOL = 0.01


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_zero_fraction_and_mean(device, p):
    torch.manual_seed(0)
    x = torch.full((N,), 3.0, device=device)
    y = Dropout(p).train()(x)
    assert abs((y == 0).float().mean().item() - p) < TOL
    values = torch.unique(y)
    assert len(values) == 2 and values[0] == 0 and values[1].item() == pytest.approx(3.0 / (1 - p))
    assert abs(y.mean().item() / 3.0 - 1.0) < 5 * math.sqrt(p / (1 - p) / N) + 1e-6  # mean preserved
    assert y.device == x.device


@pytest.mark.parametrize("layer", [Dropout(0.5), SpatialDropout(0.5), EmbeddingDropout(0.5),
                                   LockedDropout(0.5), GaussianDropout(0.5), GaussianNoise(0.5)])
def test_identity_in_eval(device, layer):
    x = torch.randn(4, 3, 5, device=device)
    assert torch.equal(layer.eval()(x), x)
    assert not torch.equal(layer.train()(x), x)


def test_dropout_matches_torch_on_cpu_with_same_seed():
    # On the CPU torch draws the same Bernoulli mask from the same seed: same masks, same values.
    x = torch.randn(64, 32)
    torch.manual_seed(1)
    ours = Dropout(0.3).train()(x)
    torch.manual_seed(1)
    theirs = nn.Dropout(0.3).train()(x)
    assert torch.equal(ours == 0, theirs == 0)
    torch.testing.assert_close(ours, theirs)


def test_spatial_dropout_matches_torch_dropout2d_on_cpu():
    x = torch.randn(8, 16, 5, 5)
    torch.manual_seed(2)
    ours = SpatialDropout(0.4).train()(x)
    torch.manual_seed(2)
    theirs = nn.Dropout2d(0.4).train()(x)
    torch.testing.assert_close(ours, theirs)


def test_dropout_same_distribution_as_torch(device):
    # Two-sample check on any device: the zero fractions of ours and torch's agree within tolerance.
    torch.manual_seed(3)
    x = torch.ones(N, device=device)
    ours = (Dropout(0.3).train()(x) == 0).float().mean().item()
    theirs = (nn.Dropout(0.3).train()(x) == 0).float().mean().item()
    assert abs(ours - theirs) < 2 * TOL


def test_spatial_dropout_drops_whole_channels(device):
    torch.manual_seed(0)
    y = spatial_dropout(torch.ones(200, 100, 3, 3, device=device), 0.3)
    per_channel = y.flatten(2)  # (N, C, H*W)
    assert torch.all((per_channel == 0).all(-1) | (per_channel != 0).all(-1))
    assert abs((per_channel[..., 0] == 0).float().mean().item() - 0.3) < TOL


def test_embedding_dropout_drops_whole_tokens(device):
    torch.manual_seed(0)
    y = EmbeddingDropout(0.2).train()(torch.ones(100, 500, 8, device=device))
    assert torch.all((y == 0).all(-1) | (y != 0).all(-1))
    assert abs((y[..., 0] == 0).float().mean().item() - 0.2) < TOL


@pytest.mark.parametrize("batch_first", [False, True])
def test_locked_dropout_mask_constant_over_time(device, batch_first):
    torch.manual_seed(0)
    shape = (64, 20, 32) if batch_first else (20, 64, 32)  # N=64, T=20, D=32
    y = LockedDropout(0.5, batch_first=batch_first).train()(torch.ones(shape, device=device))
    time_dim = 1 if batch_first else 0
    first = y.select(time_dim, 0).unsqueeze(time_dim)
    assert torch.equal(y, first.expand_as(y))  # every step carries the mask of step 0
    assert abs((first == 0).float().mean().item() - 0.5) < 0.05  # 2,048 coins: SE 0.011
    # ... but the masks differ between sequences
    seq_dim = 0 if batch_first else 1
    assert not torch.equal(first.select(seq_dim, 0), first.select(seq_dim, 1))


def test_plain_dropout_mask_is_not_constant_over_time():
    torch.manual_seed(0)
    y = dropout(torch.ones(20, 4, 8), 0.5)
    assert not torch.equal(y, y[:1].expand_as(y))


def test_drop_connect_masks_weights(device):
    torch.manual_seed(0)
    layer = DropConnectLinear(400, 300, p=0.25).to(device)
    eye = torch.eye(400, device=device)
    effective = (layer(eye) - layer.bias).T  # (out, in): the weight actually used
    kept = effective != 0
    torch.testing.assert_close(effective[kept], (layer.weight / 0.75)[kept])
    assert abs(1 - kept.float().mean().item() - 0.25) < TOL
    layer.eval()
    x = torch.randn(5, 400, device=device)
    torch.testing.assert_close(layer(x), F.linear(x, layer.weight, layer.bias))


def test_drop_connect_state_dict_is_linears(device):
    layer = DropConnectLinear(4, 3, p=0.5).to(device)
    reference = nn.Linear(4, 3).to(device)
    assert list(layer.state_dict()) == list(reference.state_dict())
    reference.load_state_dict(layer.state_dict())
    x = torch.randn(2, 4, device=device)
    torch.testing.assert_close(layer.eval()(x), reference(x))
    layer.load_state_dict(nn.Linear(4, 3).to(device).state_dict())  # and back


@settings(max_examples=20, deadline=None)
@given(L=st.integers(1, 6), S=st.integers(1, 6), d=st.integers(1, 8), causal=st.booleans())
def test_attention_matches_sdpa_in_eval(L, S, d, causal):
    if causal and L != S:
        S = L
    g = torch.Generator().manual_seed(L * 100 + S * 10 + d)
    q, k, v = (torch.randn(2, 3, n, d, generator=g) for n in (L, S, S))
    layer = DotProductAttention(p=0.5, causal=causal).eval()
    torch.testing.assert_close(layer(q, k, v), F.scaled_dot_product_attention(q, k, v, is_causal=causal),
                               atol=1e-5, rtol=1e-5)


def test_attention_dropout_follows_mode(device):
    torch.manual_seed(0)
    q, k, v = (torch.randn(4, 50, 16, device=device) for _ in range(3))
    layer = DotProductAttention(p=0.3)
    reference = F.scaled_dot_product_attention(q, k, v)
    assert not torch.allclose(layer.train()(q, k, v), reference, atol=1e-3)
    weights = layer.last_weights
    _, clean = attention(q, k, v, training=False)
    kept = weights != 0
    torch.testing.assert_close(weights[kept], (clean / 0.7)[kept])
    assert abs((~kept).float().mean().item() - 0.3) < TOL
    torch.testing.assert_close(layer.eval()(q, k, v), reference, atol=1e-5, rtol=1e-5)


def test_gaussian_noise_moments(device):
    torch.manual_seed(0)
    x = torch.full((N,), 2.0, device=device)
    noise = gaussian_noise(x, 0.5) - x
    assert abs(noise.mean().item()) < 0.01  # SE 0.5 / sqrt(N) = 0.0011
    assert abs(noise.std().item() - 0.5) < 0.01


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_gaussian_dropout_matches_dropout_moments(device, p):
    torch.manual_seed(0)
    x = torch.full((N,), 2.0, device=device)
    gauss, bern = gaussian_dropout(x, p), dropout(x, p)
    for y in (gauss, bern):
        assert abs(y.mean().item() / 2 - 1) < 0.02
        assert abs(y.var().item() / (4 * p / (1 - p)) - 1) < 0.03
    assert (gauss == 0).sum().item() == 0


def test_zoneout_cell(device):
    torch.manual_seed(0)
    cell = ZoneoutGRUCell(3, 400, p=0.3).to(device)
    x, h = torch.randn(50, 3, device=device), torch.randn(50, 400, device=device)
    new = cell.cell(x, h)
    y = cell.train()(x, h)
    from_old, from_new = y == h, y == new
    assert torch.all(from_old | from_new)  # every unit is either frozen or updated
    assert abs(from_old.float().mean().item() - 0.3) < TOL
    torch.testing.assert_close(cell.eval()(x, h), 0.3 * h + 0.7 * new)
    # p = 0 is exactly a torch GRUCell with the same weights, in both modes
    plain = ZoneoutGRUCell(3, 400, p=0.0).to(device)
    reference = nn.GRUCell(3, 400).to(device)
    reference.load_state_dict(plain.cell.state_dict())
    torch.testing.assert_close(plain.train()(x, h), reference(x, h))
    torch.testing.assert_close(plain.eval()(x), reference(x))


def _mc_model(p):
    return nn.Sequential(nn.Linear(4, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(p), nn.Linear(32, 2))


def test_mc_predict_matches_manual_loop(device):
    torch.manual_seed(0)
    model = _mc_model(0.5).to(device)
    model(torch.randn(64, 4, device=device))  # give batch norm non-trivial running statistics
    x = torch.randn(10, 4, device=device)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(5)
    mean, std = mc_predict(model, x, samples=30)
    # reference: batch norm in eval, dropout in train, the same seed
    model.eval()
    model[3].train()
    torch.manual_seed(5)
    with torch.no_grad():
        outs = torch.stack([model(x) for _ in range(30)])
    torch.testing.assert_close(mean, outs.mean(0))
    torch.testing.assert_close(std, outs.std(0))
    for key, value in model.state_dict().items():  # running statistics untouched
        assert torch.equal(value, state[key])


def test_mc_predict_restores_modes_and_p0_is_eval(device):
    model = _mc_model(0.0).to(device).train()
    x = torch.randn(6, 4, device=device)
    mean, std = mc_predict(model, x, samples=5)
    assert all(m.training for m in model.modules())
    torch.testing.assert_close(mean, model.eval()(x))
    assert torch.all(std == 0)
    model.eval()
    mc_predict(model, x, samples=2)
    assert not any(m.training for m in model.modules())


@pytest.mark.parametrize("make", [Dropout, SpatialDropout, EmbeddingDropout, LockedDropout, GaussianDropout,
                                  lambda p: DropConnectLinear(2, 2, p=p), lambda p: DotProductAttention(p)])
@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_bad_probability_raises(make, p):
    with pytest.raises(ValueError, match="'p' parameter"):
        make(p)


def test_bad_arguments_raise():
    with pytest.raises(TypeError, match="'p' parameter"):
        Dropout("0.5")
    with pytest.raises(ValueError, match="'sigma' parameter of GaussianNoise"):
        GaussianNoise(-1.0)
    with pytest.raises(ValueError, match="'x' parameter of locked_dropout"):
        locked_dropout(torch.ones(2, 3), 0.5)
    with pytest.raises(ValueError, match="'x' parameter of spatial_dropout"):
        spatial_dropout(torch.ones(2, 3), 0.5)
    with pytest.raises(TypeError, match="'batch_first' parameter"):
        LockedDropout(0.5, batch_first=1)
    with pytest.raises(ValueError, match="'samples' parameter of mc_predict"):
        mc_predict(_mc_model(0.5), torch.ones(2, 4), samples=1)
    assert zoneout(torch.zeros(1), torch.ones(1), 1.0).item() == 0.0  # p = 1 is allowed: always frozen
    with pytest.raises(ValueError, match="'h_new' parameter of zoneout"):
        zoneout(torch.zeros(2, 3), torch.zeros(2, 4), 0.1)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16])
def test_dtype_preserved(device, dtype):
    if dtype == torch.float16 and device.type == "cpu":
        dtype = torch.bfloat16
    x = torch.ones(8, 4, 3, device=device, dtype=dtype)
    for layer in (Dropout(0.5), SpatialDropout(0.5), LockedDropout(0.5), GaussianDropout(0.3), GaussianNoise(0.1)):
        assert layer.train()(x).dtype == dtype


_TRAINING_CALLS = {
    "dropout": lambda t: dropout(torch.ones(2, 3), 0.5, t),
    "spatial_dropout": lambda t: spatial_dropout(torch.ones(2, 3, 4), 0.5, t),
    "embedding_dropout": lambda t: embedding_dropout(torch.ones(2, 3, 4), 0.5, t),
    "locked_dropout": lambda t: locked_dropout(torch.ones(2, 3, 4), 0.5, t),
    "gaussian_noise": lambda t: gaussian_noise(torch.ones(2, 3), 0.5, t),
    "gaussian_dropout": lambda t: gaussian_dropout(torch.ones(2, 3), 0.5, t),
    "drop_connect": lambda t: drop_connect(torch.ones(2, 3), torch.ones(4, 3), None, 0.5, t),
    "attention": lambda t: attention(torch.ones(1, 2, 4), torch.ones(1, 2, 4), torch.ones(1, 2, 4), 0.5, t),
    "zoneout": lambda t: zoneout(torch.zeros(2, 3), torch.ones(2, 3), 0.5, t),
}


@pytest.mark.parametrize("owner", sorted(_TRAINING_CALLS))
@pytest.mark.parametrize("training", ["False", 1, None])
def test_training_flag_must_be_a_bool(owner, training):
    # A truthy string or a number must not silently switch the noise on.
    with pytest.raises(TypeError, match=f"'training' parameter of {owner} must be a bool"):
        _TRAINING_CALLS[owner](training)
    _TRAINING_CALLS[owner](False)
