"""The chapters check claims, not digits, and run the same way under the tools a learner uses.

- nbval compares a cell's output only where it is the same on every machine
  (tagged ``nbval-check-output``); training results are checked by asserts.
- Each chapter has a papermill ``parameters`` cell, and papermill really sets
  the scale with it.
- ``scripts/check_claims.py`` really shifts every seed (the test mode that
  re-executes the chapters as another machine would).
- The built book holds no warning text and no path of the machine that built it.
"""

import ast
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
NOTEBOOKS = CHAPTERS + [ROOT / "book" / "errata.ipynb"]


def code_cells(path: Path):
    return [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_nbval_markers_are_tags_and_checked_outputs_hold_no_training_result(path):
    for cell in code_cells(path):
        assert not re.search(r"^\s*#\s*NBVAL_", cell.source, re.M), f"an nbval marker in the code:\n{cell.source[:200]}"
        if "nbval-check-output" in cell.metadata.get("tags", []):
            printed = "".join(o.get("text", "") for o in cell.outputs)
            assert "±" not in printed and "fit(" not in cell.source, (
                f"a checked output that comes from training; check its claim with an assert instead:\n{cell.source[:300]}")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_the_parameters_cell_holds_only_the_scale_and_comes_before_its_use(path):
    code = code_cells(path)
    tagged = [i for i, cell in enumerate(code) if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, "one cell tagged 'parameters' (papermill injects its values after it)"
    (index,) = tagged
    statements = ast.parse(code[index].source).body
    assert [target.id for s in statements for target in s.targets] == ["SCALE"], "the parameters cell holds only SCALE = ..."
    first_use = next(i for i, cell in enumerate(code) if i != index and "SCALE" in cell.source)
    assert index < first_use, "SCALE is used before the parameters cell sets it"


def test_papermill_runs_a_chapter_at_the_scale_it_is_given(tmp_path, caplog):
    """``papermill chapters/01_overfitting.ipynb out.ipynb -p SCALE full``, up to the chapter's set-up cell."""
    papermill = pytest.importorskip("papermill")
    notebook = nbformat.read(CHAPTERS[0], as_version=4)
    setup = next(i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code" and "CONFIG" in cell.source)
    notebook.cells = notebook.cells[: setup + 1]  # the chapter's head: training at full scale would take an hour
    head = tmp_path / "head.ipynb"
    nbformat.write(notebook, head)
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(str(head), str(out), parameters={"SCALE": "full"}, kernel_name="python3",
                               cwd=str(CHAPTERS[0].parent), progress_bar=False)
    assert "does not contain a cell with tag" not in caplog.text
    cells = nbformat.read(out, as_version=4).cells
    printed = "".join(o.get("text", "") for cell in cells if cell.cell_type == "code" for o in cell.outputs)
    assert "SCALE='full'" in printed, printed
    injected = [i for i, cell in enumerate(cells) if "injected-parameters" in cell.metadata.get("tags", [])]
    parameters = [i for i, cell in enumerate(cells) if "parameters" in cell.metadata.get("tags", [])]
    assert injected == [parameters[0] + 1]


SEEDED = """\
import torch
from reglab.utils import seed_everything
seed_everything(0)
a = torch.rand(1).item()
b = torch.rand(1, generator=torch.Generator().manual_seed(3)).item()
assert a == {a!r}
assert b == {b!r}
"""


@pytest.mark.parametrize("offset, held", [(0, 2), (1, 0)])
def test_check_claims_shifts_every_seed(tmp_path, offset, held):
    """The test mode changes the global seeds and explicit generators alike: claims tied to one draw fail."""
    import torch

    torch.manual_seed(0)
    a = torch.rand(1).item()
    b = torch.rand(1, generator=torch.Generator().manual_seed(3)).item()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(line) for line in SEEDED.format(a=a, b=b).split("\n")[:-1]]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "seeded.ipynb"
    nbformat.write(notebook, path)
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_claims.py"), "--offset", str(offset), str(path)],
                            capture_output=True, text=True, timeout=300)
    assert re.search(rf"seeded\.ipynb\s+{held} / 2\b", result.stdout), result.stdout + result.stderr
    assert result.returncode == (0 if held == 2 else 1)


@pytest.mark.parametrize("onednn", [False, True])
def test_check_claims_switches_onednn_off_unless_asked_to_keep_it(tmp_path, onednn):
    """Another kernel path for the claims (oneDNN off); the full-scale smoke run keeps it on, as a reader has it."""
    from course_scripts import load_script

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(f"import torch\nassert torch.backends.mkldnn.enabled is {onednn}")]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "onednn.ipynb"
    nbformat.write(notebook, path)
    held, total, failures, _ = load_script("check_claims").check(path, offset=1, onednn=onednn)
    assert (held, total, failures) == (1, 1, [])


MACHINE_TEXT = re.compile(r"site-packages|Warning:|/root/|/home/|/tmp/|/var/folders/|/Users/|[A-Z]:\\\\Users")


@pytest.mark.book
def test_built_pages_hold_no_warning_and_no_machine_path(built_book):
    """What a reader sees: no warning text and no path of the build machine on any page."""
    html, _ = built_book
    for page in sorted(html.rglob("*.html")):
        if page.parent.name == "_modules":  # highlighted reglab source: its own text, checked by tests of reglab
            continue
        text = re.sub(r"<[^>]+>", "", page.read_text())
        found = MACHINE_TEXT.search(text)
        assert not found, f"{page.relative_to(html)}: {text[max(0, found.start() - 150): found.end() + 150]!r}"
