"""Write the student edition: every chapter without its solutions, outputs cleared.

    .venv/bin/python scripts/make_student.py [OUT]     # default OUT: student/

Each chapter notebook keeps everything but its solutions. A code cell tagged
``solution`` becomes a stub that raises ``NotImplementedError("Exercise 2.1:
<title>")``, so running the notebook stops at the first unsolved exercise with
its name; a markdown cell tagged ``solution`` (a model answer) becomes a
prompt to write the answer. The check cells stay, so a learner sees the same
verdicts as the instructor. Outputs and execution counts are cleared. A zip of
the edition, ready to upload to a learning-management system, is written
beside it.
"""

from __future__ import annotations

import re
import shutil
import sys
import zipfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
EXERCISE_HEADING = re.compile(r"^### (Exercise (\d+)\.(\d+)): ([^(\n]+?)\s*(\(|$)", re.M)


def exercise_label(cells: list, index: int) -> str:
    """The "Exercise C.k: title" of the nearest exercise heading above cell ``index``."""
    for cell in reversed(cells[:index]):
        if cell.cell_type == "markdown":
            match = EXERCISE_HEADING.search(cell.source)
            if match:
                return f"{match.group(1)}: {match.group(4).strip()}"
    raise ValueError(f"cell {index} is tagged 'solution' but no '### Exercise C.k: title' heading precedes it")


def stub(cell, label: str):
    if cell.cell_type == "code":
        source = (
            f"# {label}\n"
            "# Write your solution here, replacing the line below, then run the check cell that follows.\n"
            f"raise NotImplementedError({label!r})"
        )
        return nbformat.v4.new_code_cell(source, metadata={"tags": ["exercise"]})
    return nbformat.v4.new_markdown_cell(f"**Your answer ({label.split(':')[0]}).** *Write your answer here.*",
                                         metadata={"tags": ["exercise"]})


def student_notebook(path: Path):
    notebook = nbformat.read(path, as_version=4)
    cells = []
    for index, cell in enumerate(notebook.cells):
        if "solution" in cell.metadata.get("tags", []):
            cells.append(stub(cell, exercise_label(notebook.cells, index)))
            continue
        cell = nbformat.from_dict(dict(cell))
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    notebook.cells = cells
    return notebook


def main(out: Path) -> None:
    chapters = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    shutil.rmtree(out, ignore_errors=True)
    (out / "chapters").mkdir(parents=True)
    for path in chapters:
        nbformat.write(student_notebook(path), out / "chapters" / path.name)
    (out / "README.md").write_text(
        "# Regularization Lab: student edition\n\n"
        "Each chapter notebook stops at its first exercise with `NotImplementedError`: replace the stub with your\n"
        "solution and run the check cell after it. Run the notebooks in Colab (the first cell installs `reglab`)\n"
        "or locally in a clone of the course repository after `make install` (or `pip install -e .`).\n"
    )
    archive = out.with_name(out.name + ".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(out.rglob("*")):
            if file.is_file():
                zf.write(file, file.relative_to(out.parent))
    print(f"student edition: {len(chapters)} chapters in {out}/ and {archive}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "student")
