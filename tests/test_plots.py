"""The figures draw what they are given (read back from the Axes)."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn

from reglab import plots
from reglab.train import History


def history():
    h = History()
    for t, v in [(1.0, 1.2), (0.5, 0.9), (0.2, 1.1)]:
        h.log_epoch(train_loss=t, val_loss=v, train_accuracy=1 - t / 2, val_accuracy=0.6)
    return h


def test_learning_curves_plot_one_line_per_split():
    ax = plots.plot_learning_curves(history(), "loss", title="t")
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["train", "val"]
    np.testing.assert_allclose(lines[1].get_ydata(), [1.2, 0.9, 1.1])
    np.testing.assert_allclose(lines[0].get_xdata(), [1, 2, 3])
    assert ax.get_title() == "t" and ax.get_ylabel() == "loss"


def test_learning_curves_reject_unknown_metric_and_non_history():
    with pytest.raises(ValueError, match="'metric' parameter of plot_learning_curves"):
        plots.plot_learning_curves(history(), "f1")
    with pytest.raises(TypeError, match="'history' parameter"):
        plots.plot_learning_curves({"train_loss": [1.0]})


def test_fitted_curves_draw_data_truth_and_fits_on_a_given_axes():
    _, ax = plt.subplots()
    grid = torch.linspace(0, 1, 5)
    out = plots.plot_fitted_curves(torch.rand(4), torch.rand(4), grid, {"fit": grid**2}, truth=grid, ax=ax)
    assert out is ax
    assert [line.get_label() for line in ax.get_lines()] == ["true function", "fit"]
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), (grid**2).numpy())
    assert len(ax.collections) == 1  # the scatter of training points


def test_metric_curve_with_bands_and_log_axes():
    ax = plots.plot_metric_curve([1, 2, 3], {"a": [1.0, 2.0, 4.0]}, bands={"a": ([0.5, 1.5, 3.0], [1.5, 2.5, 5.0])},
                                 logx=True, logy=True, xlabel="n", ylabel="MSE")
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert len(ax.collections) == 1  # the shaded band
    with pytest.raises(ValueError, match="3 values per series"):
        plots.plot_metric_curve([1, 2, 3], {"a": [1.0]})


def test_decision_boundary_colours_the_regions_of_the_model(device):
    model = nn.Linear(2, 2).to(device)
    with torch.no_grad():  # class 1 exactly where x1 > 0
        model.weight.copy_(torch.tensor([[-1.0, 0.0], [1.0, 0.0]]))
        model.bias.zero_()
    model.train()
    x = torch.tensor([[-1.0, -1.0], [1.0, 1.0]])
    ax = plots.plot_decision_boundary(model, x, torch.tensor([0, 1]), resolution=20, margin=0.0)
    assert model.training  # mode restored
    contour = ax.collections[0]
    assert len(contour.get_paths()) == 2  # two class regions
    with pytest.raises(ValueError, match=r"points of shape \(N, 2\)"):
        plots.plot_decision_boundary(model, torch.zeros(3, 3), torch.zeros(3))
    with pytest.raises(ValueError, match="'margin' parameter of plot_decision_boundary must be a finite float >= 0"):
        plots.plot_decision_boundary(model, x, torch.tensor([0, 1]), margin=-1.0)
    with pytest.raises(TypeError, match="'margin' parameter of plot_decision_boundary"):
        plots.plot_decision_boundary(model, x, torch.tensor([0, 1]), margin="0.5")
    plt.close("all")


def test_axes_argument_is_checked():
    with pytest.raises(TypeError, match="'ax' parameter"):
        plots.plot_learning_curves(history(), ax="left")


def test_image_grid_draws_one_row_per_entry_at_the_shortest_length():
    grey = torch.rand(5, 1, 8, 8)
    colour = torch.rand(3, 3, 8, 8)
    axes = plots.plot_image_grid({"grey": grey, "colour": colour})
    assert axes.shape == (2, 3)  # the shortest batch has 3 images
    np.testing.assert_allclose(axes[0, 1].get_images()[0].get_array(), grey[1, 0].numpy())
    np.testing.assert_allclose(axes[1, 2].get_images()[0].get_array(), colour[2].permute(1, 2, 0).numpy())
    assert [axes[r, 0].get_ylabel() for r in range(2)] == ["grey", "colour"]
    with pytest.raises(ValueError, match="1 or 3 channels"):
        plots.plot_image_grid({"bad": torch.rand(2, 2, 4, 4)})
    with pytest.raises(ValueError, match="non-empty mapping"):
        plots.plot_image_grid({})


def test_image_grid_titles_its_columns():
    images = {"first": torch.rand(4, 1, 8, 8), "second": torch.rand(3, 1, 8, 8)}
    axes = plots.plot_image_grid(images, titles=("T-shirt/top", "Trouser", "Pullover"))
    assert [axes[0, c].get_title() for c in range(3)] == ["T-shirt/top", "Trouser", "Pullover"]
    assert [axes[1, c].get_title() for c in range(3)] == ["", "", ""]  # only the top row carries them
    assert plots.plot_image_grid(images)[0, 0].get_title() == ""
    with pytest.raises(ValueError, match=r"'titles' parameter of plot_image_grid must be one title per column \(3\)"):
        plots.plot_image_grid(images, titles=["a", "b"])
    with pytest.raises(TypeError, match="'titles' parameter of plot_image_grid must be a sequence of str"):
        plots.plot_image_grid(images, titles="abc")
