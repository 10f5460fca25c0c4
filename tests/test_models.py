"""Models against hand-built torch equivalents, and polynomial fits against NumPy / scikit-learn."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Ridge
from torch import nn

from reglab.models import MLP, LeNet5, SmallCNN, fit_polynomial, polynomial_features


def test_mlp_computes_the_same_function_as_a_hand_built_network(device):
    torch.manual_seed(0)
    model = MLP(6, [5, 4], 3).to(device)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    x = torch.randn(7, 2, 3, device=device)  # flattened to 6 features
    h = x.reshape(7, 6)
    for linear in linears[:-1]:
        h = torch.relu(h @ linear.weight.T + linear.bias)
    expected = h @ linears[-1].weight.T + linears[-1].bias
    torch.testing.assert_close(model(x), expected)
    assert [(m.in_features, m.out_features) for m in linears] == [(6, 5), (5, 4), (4, 3)]


def test_mlp_dropout_layers_and_no_hidden_layer():
    model = MLP(4, [8, 8], 2, dropout=0.3)
    assert [type(m) for m in model] == [nn.Flatten, nn.Linear, nn.ReLU, nn.Dropout, nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]
    assert all(m.p == 0.3 for m in model if isinstance(m, nn.Dropout))
    logistic = MLP(4, [], 2)
    assert [type(m) for m in logistic] == [nn.Flatten, nn.Linear]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(in_features=0, hidden=[3], out_features=2), ValueError, "'in_features' parameter of MLP"),
        (dict(in_features=2, hidden=3, out_features=2), TypeError, "'hidden' parameter of MLP must be a sequence"),
        (dict(in_features=2, hidden=[3, 0], out_features=2), ValueError, "'hidden' parameter"),
        (dict(in_features=2, hidden=[3], out_features=2, dropout=1.0), ValueError, r"'dropout' parameter of MLP must be a finite float in the range \[0, 1\)"),
    ],
)
def test_mlp_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        MLP(**kwargs)


@pytest.mark.parametrize("size", [4, 8, 28, 32])
def test_small_cnn_shapes_on_every_image_size(size, device):
    model = SmallCNN(3, 10, width=4).to(device)
    out = model(torch.randn(2, 3, size, size, device=device))
    assert out.shape == (2, 10) and out.device.type == device.type
    assert sum(p.numel() for p in model.parameters()) == (3 * 9 * 4 + 4) + (4 * 9 * 8 + 8) + (8 * 10 + 10)


def test_small_cnn_rejects_bad_arguments():
    with pytest.raises(ValueError, match="'num_classes' parameter of SmallCNN"):
        SmallCNN(1, 0)


def test_lenet5_has_the_paper_feature_maps_and_parameter_count(device):
    """Feature maps 6@28×28, 6@14×14, 16@10×10, 16@5×5 (LeCun et al., 1998, figure 2); parameters in closed form."""
    model = LeNet5().to(device)
    shapes = []
    for layer in model.features:
        layer.register_forward_hook(lambda module, inputs, output: shapes.append(tuple(output.shape[1:])))
    out = model(torch.randn(3, 1, 32, 32, device=device))
    assert out.shape == (3, 10) and out.device.type == device.type
    assert shapes[::3] + shapes[2::3] == [(6, 28, 28), (16, 10, 10), (6, 14, 14), (16, 5, 5)]
    c1, c3 = 6 * (25 + 1), 16 * (6 * 25 + 1)
    c5, f6, output = 120 * (400 + 1), 84 * (120 + 1), 10 * (84 + 1)
    assert sum(p.numel() for p in model.parameters()) == c1 + c3 + c5 + f6 + output == 61_706


def test_lenet5_rejects_bad_arguments_and_28_by_28_images():
    with pytest.raises(ValueError, match="'num_classes' parameter of LeNet5"):
        LeNet5(0)
    with pytest.raises(ValueError, match=r"'x' parameter of LeNet5 must be images of shape \(N, 1, 32, 32\)"):
        LeNet5()(torch.zeros(2, 1, 28, 28))


@given(degree=st.integers(0, 6), x=st.lists(st.floats(-2, 2), min_size=1, max_size=10))
@settings(max_examples=40, deadline=None)
def test_polynomial_features_match_numpy_vander(degree, x):
    ours = polynomial_features(torch.tensor(x, dtype=torch.float64), degree)
    np.testing.assert_allclose(ours.numpy(), np.vander(np.array(x), degree + 1, increasing=True), rtol=1e-12)


@pytest.mark.parametrize("degree", [0, 1, 3, 7])
def test_fit_polynomial_matches_numpy_polyfit(degree, device):
    g = torch.Generator().manual_seed(degree)
    x = torch.rand(40, 1, generator=g, dtype=torch.float64) * 2 - 1
    y = torch.sin(3 * x) + 0.1 * torch.randn(40, 1, generator=g, dtype=torch.float64)
    ours = fit_polynomial(x.to(device), y.to(device), degree)
    assert ours.device.type == device.type and ours.shape == (degree + 1,)
    reference = np.polyfit(x.squeeze(1).numpy(), y.squeeze(1).numpy(), degree)[::-1]
    np.testing.assert_allclose(ours.cpu().numpy(), reference, rtol=1e-6, atol=1e-8)


def test_fit_polynomial_l2_matches_scikit_learn_ridge_with_intercept():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(30, generator=g, dtype=torch.float64) * 2 - 1
    y = torch.cos(4 * x) + 0.1 * torch.randn(30, generator=g, dtype=torch.float64)
    for l2 in (1e-4, 0.1, 10.0):
        ours = fit_polynomial(x, y, 6, l2=l2)
        # Ridge leaves the intercept unpenalized, as fit_polynomial leaves c_0.
        ridge = Ridge(alpha=l2).fit(polynomial_features(x, 6)[:, 1:].numpy(), y.numpy())
        np.testing.assert_allclose(ours.numpy(), np.concatenate([[ridge.intercept_], ridge.coef_]), rtol=1e-6, atol=1e-9)


def test_fit_polynomial_interpolates_when_points_equal_coefficients():
    x = torch.linspace(-1, 1, 6, dtype=torch.float64)
    y = torch.randn(6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    from reglab.data import polynomial_value

    torch.testing.assert_close(polynomial_value(x, fit_polynomial(x, y, 5)), y, atol=1e-8, rtol=0)


def test_fit_polynomial_rejects_bad_arguments():
    x = torch.zeros(5)
    with pytest.raises(ValueError, match="'y' parameter of fit_polynomial must be 5 targets"):
        fit_polynomial(x, torch.zeros(4), 2)
    with pytest.raises(ValueError, match="'l2' parameter of fit_polynomial"):
        fit_polynomial(x, x, 2, l2=-1.0)
    with pytest.raises(ValueError, match="'degree' parameter of fit_polynomial"):
        fit_polynomial(x, x, -1)
    with pytest.raises(TypeError, match="'degree' parameter of fit_polynomial"):
        fit_polynomial(x, x, 2.0)
    with pytest.raises(ValueError, match=r"'x' parameter of fit_polynomial must be of shape \(N,\) or \(N, 1\)"):
        fit_polynomial(torch.zeros(5, 2), torch.zeros(10), 2)
    with pytest.raises(TypeError, match="'x' parameter of fit_polynomial must be a floating-point tensor"):
        fit_polynomial(torch.arange(5), x, 2)  # integer inputs would also round the coefficients to integers
    with pytest.raises(TypeError, match="'x' parameter of fit_polynomial must be a torch.Tensor"):
        fit_polynomial([0.0, 1.0], x, 2)
    with pytest.raises(ValueError, match="'degree' parameter of polynomial_features"):
        polynomial_features(x, -1)
    with pytest.raises(ValueError, match=r"of shape \(N,\) or \(N, 1\)"):
        polynomial_features(torch.zeros(5, 2), 2)
