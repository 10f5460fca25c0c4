"""Write the student edition: every chapter without its solutions, outputs cleared.

    .venv/bin/python scripts/make_student.py [OUT]     # default OUT: student/

Each chapter notebook keeps everything but its solutions. Each exercise is one
of three kinds, read off its cells:

- **implement** (C.1): a code solution followed by a check cell that calls
  ``reglab.exercises``. The solution becomes a stub that keeps the function's
  signature and raises ``NotImplementedError("Exercise 4.1: <title>")``; the
  check cell stays, so running it prints the verdict "not implemented yet" and
  fails, and a solved stub gets the same verdicts as the instructor's.
- **experiment** (C.2): a code solution and no check. The code becomes a stub
  that raises ``NotImplementedError`` with the exercise's name, so running the
  notebook stops there; the reading (a markdown solution) a prompt.
- **open question** (C.3): the model answer becomes a prompt.

A chapter prints the source of the ``reglab`` function it teaches where it
teaches it, and for a code exercise that source is the answer
(``reglab.exercises.ANSWERED_BY``). In this edition those prints move after
the exercise's check cell, with a comment left in their place. Outputs and
execution counts are cleared. A zip of the edition, ready to upload to a
learning-management system, is written beside it.

The exercise parsing here is shared with ``scripts/make_nbgrader.py``.
"""

from __future__ import annotations

import ast
import re
import shutil
import sys
import textwrap
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a clone without `pip install -e .`
    sys.path.insert(0, str(ROOT))

from reglab.exercises import ANSWERED_BY  # noqa: E402

EXERCISE_HEADING = re.compile(r"^### (Exercise (\d+)\.(\d+)): ([^(\n]+?)\s*(\(|$)", re.M)
CHECK_CALL = re.compile(r"\bcheck_\w+\(")


def tags(cell) -> list[str]:
    return cell.metadata.get("tags", [])


def is_solution(cell) -> bool:
    return "solution" in tags(cell)


def is_check(cell) -> bool:
    """A code cell that calls a check of ``reglab.exercises``."""
    return cell.cell_type == "code" and not is_solution(cell) and "reglab.exercises" in cell.source and bool(
        CHECK_CALL.search(cell.source))


@dataclass
class Exercise:
    """One exercise of a chapter: its heading, text and cells (indices into the notebook's cells)."""

    number: str  # "4.1"
    title: str  # "locked dropout from scratch"
    heading: int  # the markdown cell holding "### Exercise 4.1: ..."
    text: str  # the markdown from that heading on: the exercise's statement
    solutions: list[int] = field(default_factory=list)
    checks: list[int] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"Exercise {self.number}: {self.title}"

    def kind(self, cells) -> str:
        if self.checks:
            return "implement"
        if any(cells[i].cell_type == "code" for i in self.solutions):
            return "experiment"
        return "open"

    @property
    def last(self) -> int:
        """The index of the exercise's last cell."""
        return max([self.heading, *self.solutions, *self.checks])


def exercises(notebook) -> list[Exercise]:
    """The chapter's exercises in order, each with its solution and check cells."""
    cells, found = notebook.cells, []
    for index, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        matches = list(EXERCISE_HEADING.finditer(cell.source))
        if len(matches) > 1:
            raise ValueError(f"markdown cell {index} holds {len(matches)} exercise headings; give each its own cell")
        for match in matches:
            found.append(Exercise(f"{match.group(2)}.{match.group(3)}", match.group(4).strip(), index,
                                  cell.source[match.start():].rstrip()))
    for k, exercise in enumerate(found):
        end = found[k + 1].heading if k + 1 < len(found) else len(cells)
        for index in range(exercise.heading + 1, end):
            if is_solution(cells[index]):
                exercise.solutions.append(index)
            elif is_check(cells[index]):
                exercise.checks.append(index)
    for index, cell in enumerate(cells):
        if is_solution(cell) and not any(index in e.solutions for e in found):
            raise ValueError(f"cell {index} is tagged 'solution' but no '### Exercise C.k: title' heading precedes it")
    return found


def function_parts(source: str) -> tuple[str, str, str] | None:
    """(header, body, indent) of a solution that is one function (decorators, signature and docstring in the header).

    None if the source is not exactly one top-level function definition.
    """
    tree = ast.parse(source)
    if len(tree.body) != 1 or not isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    function = tree.body[0]
    body = function.body
    has_docstring = isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
        and isinstance(body[0].value.value, str)
    if has_docstring and len(body) == 1:
        return None
    first = body[1] if has_docstring else body[0]  # the first statement of the answer
    lines = source.splitlines()
    start = first.lineno - 1
    while start > 0 and lines[start - 1].strip().startswith("#"):  # comments just above it belong to the answer
        start -= 1
    header_end = (body[0].end_lineno if has_docstring else function.body[0].lineno - 1)
    start = max(start, header_end)
    indent = re.match(r"\s*", lines[first.lineno - 1]).group(0)
    return "\n".join(lines[:start]), "\n".join(lines[start:]), indent


def comment(text: str) -> str:
    """``text`` as comment lines that fit the book's 88-character column."""
    return "\n".join("# " + line for line in textwrap.wrap(text, 86)) + "\n"


def implement_stub(source: str, label: str) -> str:
    """A code exercise's stub: the function's signature kept, its body one line that raises with the label."""
    parts = function_parts(source)
    intro = f"# {label}\n" + comment(
        "Complete the function (replace the line that raises), then run the check cell that follows.")
    if parts is None:
        return intro + f"raise NotImplementedError({label!r})"
    header, _, indent = parts
    return intro + f"{header}\n{indent}raise NotImplementedError({label!r})"


def code_stub(cell, exercise: Exercise, cells) -> str:
    label = exercise.label
    if exercise.kind(cells) == "implement":
        return implement_stub(cell.source, label)
    reading = any(cells[i].cell_type == "markdown" for i in exercise.solutions)
    return (f"# {label}\n"
            + comment("Write your experiment here: the chapter's cells above define what it needs"
                      + (", then write what you read from its numbers in the answer cell below." if reading else "."))
            + f"raise NotImplementedError({label!r})")


def markdown_stub(exercise: Exercise, cells) -> str:
    what = "your reading of the experiment's numbers" if exercise.kind(cells) == "experiment" else "your answer"
    return f"**Your answer ({exercise.label.split(':')[0]}).** *Write {what} here.*"


# Source prints that give an exercise's answer away ------------------------------------------------------------------

def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def _names_answer(statement: ast.stmt, qualnames: tuple[str, ...]) -> bool:
    """Whether ``statement`` prints (``inspect.getsource``) one of ``qualnames``."""
    dotted = {_dotted(node) for node in ast.walk(statement)} - {None}
    calls_getsource = any(name == "getsource" or name.endswith(".getsource") for name in dotted)
    return calls_getsource and any(
        name == qualname or name.endswith("." + qualname) for name in dotted for qualname in qualnames)


def split_answer_prints(source: str, qualnames: tuple[str, ...], exercise: str | None = None) -> tuple[str, str]:
    """Split a code cell into (what stays, the top-level statements that print the source of ``qualnames``).

    With ``exercise`` ("Exercise 4.1"), a comment in what stays says where the print went.

    IPython magics (``%pip``) make a cell unparsable; such a cell is returned whole.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source, ""
    lines = source.splitlines()
    moved, keep, named = [], [True] * len(lines), []
    for statement in tree.body:
        if _names_answer(statement, qualnames):
            dotted = {_dotted(node) for node in ast.walk(statement)} - {None}
            named += [q for q in qualnames if q not in named and any(d == q or d.endswith("." + q) for d in dotted)]
            start = statement.lineno - 1
            moved.append("\n".join(lines[start:statement.end_lineno]))
            for i in range(start, statement.end_lineno):
                keep[i] = False
    if not moved:
        return source, ""
    kept, replaced = [], False
    for line, keep_it in zip(lines, keep):
        if keep_it:
            kept.append(line)
        elif not replaced and exercise:
            kept.append(comment(f"(reglab's {', '.join(named)}: printed after {exercise}, which asks you to "
                                "write it)").rstrip("\n"))
            replaced = True
    return "\n".join(kept), "\n".join(moved)


def move_answer_prints(cells: list, found: list[Exercise]) -> dict[int, str]:
    """Strip, from the cells above each code exercise, the prints of its answer's source.

    Changes ``cells`` (copies) in place; returns {index of the exercise's last cell: the code moved after it}.
    """
    moved_after = {}
    for exercise in found:
        qualnames = ANSWERED_BY.get(exercise.number)
        if not qualnames or not exercise.checks:
            continue
        moved = []
        for index in range(exercise.heading):
            cell = cells[index]
            if cell.cell_type != "code":
                continue
            kept, taken = split_answer_prints(cell.source, qualnames, exercise.label.split(":")[0])
            if taken:
                cell.source = kept
                moved.append(taken)
        if moved:
            moved_after[exercise.last] = comment(
                f"{exercise.label.split(':')[0]} done? Compare with reglab's own version (printed in the chapter "
                "where it is taught):") + "\n".join(moved)
    return moved_after


def copy_cell(cell):
    cell = nbformat.from_dict(dict(cell))
    cell.metadata = nbformat.from_dict(dict(cell.metadata))
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def student_notebook(path: Path):
    notebook = nbformat.read(path, as_version=4)
    found = exercises(notebook)
    originals = notebook.cells
    cells = [copy_cell(cell) for cell in originals]
    moved_after = move_answer_prints(cells, found)
    exercise_of = {i: e for e in found for i in e.solutions}
    out = []
    for index, cell in enumerate(cells):
        if index in exercise_of:
            exercise = exercise_of[index]
            if cell.cell_type == "code":
                cell = nbformat.v4.new_code_cell(code_stub(cell, exercise, originals), metadata={"tags": ["exercise"]})
            else:
                cell = nbformat.v4.new_markdown_cell(markdown_stub(exercise, originals), metadata={"tags": ["exercise"]})
        out.append(cell)
        if index in moved_after:
            out.append(nbformat.v4.new_code_cell(moved_after[index], metadata={"tags": ["reglab-source"]}))
    notebook.cells = out
    return notebook


def main(out: Path) -> None:
    chapters = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    shutil.rmtree(out, ignore_errors=True)
    (out / "chapters").mkdir(parents=True)
    for path in chapters:
        nbformat.write(student_notebook(path), out / "chapters" / path.name)
    (out / "README.md").write_text(
        "# Regularization Lab: student edition\n\n"
        "Each chapter notebook ends with three exercises: write a piece of `reglab` (the check cell after it\n"
        "prints a verdict with a hint), run an experiment, answer an open question. Running a notebook from the\n"
        "top stops at the first exercise not yet done. Run the notebooks in Colab (the first cell installs\n"
        "`reglab`) or locally in a clone of the course repository after `make install` (or `pip install -e .`).\n"
    )
    archive = out.with_name(out.name + ".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(out.rglob("*")):
            if file.is_file():
                zf.write(file, file.relative_to(out.parent))
    print(f"student edition: {len(chapters)} chapters in {out}/ and {archive}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "student")
