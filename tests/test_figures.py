"""Every figure of the book has axis labels (issue 13), checked statically: no notebook is executed.

A code cell produces an image when its stored outputs hold an ``image/*``
bundle or its metadata names a figure (``mystnb.figure``). Such a cell's source
must set both an x and a y label (``set_xlabel``/``xlabel=`` and
``set_ylabel``/``ylabel=``), or call a ``reglab.plots`` function or
``reglab.ablation.plot_ablation``, which label their axes. Image grids (pictures, not plots) are exempt when tagged
``image-grid``.

The check is per cell, not per panel: a two-panel figure with labels on one
panel only still passes. Review the figures themselves for that.
"""

import re
from pathlib import Path

import nbformat
import pytest

import reglab.plots

CHAPTERS = sorted((Path(__file__).parent.parent / "chapters").glob("*.ipynb"))
XLABEL = re.compile(r"\bset_xlabel\(|\bxlabel\s*=")
YLABEL = re.compile(r"\bset_ylabel\(|\bylabel\s*=")
LABELLING_FUNCTIONS = [*reglab.plots.__all__, "plot_ablation"]  # each sets both axis labels (tested in their modules)
PLOTS = re.compile(r"\bplots\.\w+\(|\b(" + "|".join(LABELLING_FUNCTIONS) + r")\(")


def image_cells(notebook):
    """(index, cell) of each code cell that stores an image output or is declared a figure."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        has_image = any(key.startswith("image/") for output in outputs for key in output.get("data", {}))
        if has_image or "figure" in cell.metadata.get("mystnb", {}):
            yield index, cell


def unlabelled(cell) -> str | None:
    """What the cell's source lacks, or None when it labels its axes or is a tagged image grid."""
    if "image-grid" in cell.metadata.get("tags", []):
        return None
    source = cell.source
    if PLOTS.search(source):
        return None
    missing = [axis for axis, pattern in [("x", XLABEL), ("y", YLABEL)] if not pattern.search(source)]
    return f"no {' or '.join(missing)} label" if missing else None


def test_the_book_has_figures():
    assert CHAPTERS, "no chapter notebooks found"
    assert sum(1 for path in CHAPTERS for _ in image_cells(nbformat.read(path, as_version=4))) >= 10


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_every_figure_labels_its_axes(path):
    notebook = nbformat.read(path, as_version=4)
    problems = []
    for index, cell in image_cells(notebook):
        problem = unlabelled(cell)
        if problem:
            name = cell.metadata.get("mystnb", {}).get("figure", {}).get("name", "unnamed figure")
            problems.append(f"cell {index} ({name}): {problem}")
    assert not problems, f"{path.name}: " + "; ".join(problems)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_image_grid_tags_mark_figures(path):
    notebook = nbformat.read(path, as_version=4)
    figures = {index for index, _ in image_cells(notebook)}
    tagged = {index for index, cell in enumerate(notebook.cells) if "image-grid" in cell.metadata.get("tags", [])}
    assert tagged <= figures, f"{path.name}: cells {sorted(tagged - figures)} are tagged image-grid but draw no figure"


@pytest.mark.parametrize(
    ("source", "tags", "expected"),
    [
        ("ax.plot(x, y)\nax.set_xlabel('epoch')", [], "no y label"),
        ("ax.plot(x, y)", [], "no x or y label"),
        ("ax.set(xlabel='epoch', ylabel='loss')", [], None),
        ("axes[0].set_xlabel('a')\naxes[1].set_ylabel('b')", [], None),
        ("plot_learning_curves(history, ax=ax)", [], None),
        ("reglab.plots.plot_metric_curve(x, series)", [], None),
        ("ax.imshow(image)", ["image-grid"], None),
        ("my_plot_learning_curves_helper(h)", [], "no x or y label"),
    ],
)
def test_unlabelled_rule(source, tags, expected):
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": tags})
    assert unlabelled(cell) == expected
