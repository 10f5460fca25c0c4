"""The student edition: no solution reaches it, no answer is printed above its exercise, and its stubs fit."""

import ast
import inspect
import re
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from reglab.exercises import ANSWERED_BY
from course_scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
make_student = load_script("make_student")


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("edition") / "student"
    make_student.main(out)
    return out


def is_solution(cell) -> bool:
    return "solution" in cell.metadata.get("tags", [])


def is_stub(cell) -> bool:
    return "exercise" in cell.metadata.get("tags", [])


def student_text(edition: Path) -> list[str]:
    sources = []
    for path in sorted((edition / "chapters").glob("*.ipynb")):
        sources += [cell.source for cell in nbformat.read(path, as_version=4).cells]
    with zipfile.ZipFile(edition.with_name("student.zip")) as archive:
        for name in archive.namelist():
            if name.endswith(".ipynb"):
                sources += [cell.source for cell in nbformat.reads(archive.read(name).decode(), as_version=4).cells]
    return sources


def test_every_chapter_has_exercises_with_solutions():
    for path in CHAPTERS:
        notebook = nbformat.read(path, as_version=4)
        assert any(is_solution(cell) for cell in notebook.cells), f"{path.name} has no cell tagged 'solution'"
        assert [e.kind(notebook.cells) for e in make_student.exercises(notebook)] == [
            "implement", "experiment", "open"], path.name


def lines(sources) -> set[str]:
    return {line.strip() for source in sources for line in source.splitlines() if line.strip()}


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_solution_text_reaches_the_student_edition(path, edition):
    original = nbformat.read(path, as_version=4)
    # Lines that also stand in a public cell of any chapter (imports, ...) may appear in the edition.
    public = lines(c.source for p in CHAPTERS for c in nbformat.read(p, as_version=4).cells if not is_solution(c))
    sources = student_text(edition)
    everything, student_lines = "\n".join(sources), lines(sources)
    for cell in filter(is_solution, original.cells):
        assert cell.source not in everything
        # a stub keeps the signature (and docstring) of the function it asks for
        parts = make_student.function_parts(cell.source) if cell.cell_type == "code" else None
        signature = lines([parts[0]]) if parts else set()
        leaked = {line for line in lines([cell.source]) if len(line) >= 12 and line not in public} & student_lines
        assert not leaked - signature, f"{path.name}: solution lines leaked: {sorted(leaked - signature)}"


def source_prints(source: str) -> set[str]:
    """The dotted names whose source a cell prints with inspect.getsource."""
    return set(re.findall(r"getsource\(([\w.]+)\)", source))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_answer_is_printed_above_its_exercise(path, edition):
    """Issue 23: e.g. Exercise 4.1 asked for locked dropout below a cell printing reglab's locked_dropout."""
    student = nbformat.read(edition / "chapters" / path.name, as_version=4)
    chapter = nbformat.read(path, as_version=4)
    for exercise in make_student.exercises(student):
        qualnames = ANSWERED_BY[exercise.number] if exercise.number in ANSWERED_BY else ()
        stub = next(i for i in range(exercise.heading, len(student.cells)) if is_stub(student.cells[i]))
        above = "\n".join(line for c in student.cells[:stub] if c.cell_type == "code"
                          for line in c.source.splitlines() if not line.lstrip().startswith("#"))
        for name in source_prints(above) | set(re.findall(r"\b(?:adversarial\.)?(_\w+),", above)):
            assert not any(name == q or name.endswith("." + q) for q in qualnames), (exercise.label, name)
        # what the chapter printed above the exercise is printed after its check cell instead
        printed = {n for c in chapter.cells[:exercise.heading] for n in source_prints(c.source)
                   if any(n == q or n.endswith("." + q) for q in qualnames)}
        after = "\n".join(c.source for c in student.cells[stub:] if "reglab-source" in c.metadata.get("tags", []))
        assert printed <= source_prints(after)


def test_exercise_4_1_sees_no_locked_dropout_source_above_it(edition):
    student = nbformat.read(edition / "chapters" / "04_dropout.ipynb", as_version=4)
    stub = next(i for i, c in enumerate(student.cells) if is_stub(c))
    assert "Exercise 4.1" in student.cells[stub].source
    assert not any("getsource(layers.locked_dropout)" in c.source for c in student.cells[:stub])
    assert any("getsource(layers.locked_dropout)" in c.source for c in student.cells[stub:])


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_is_the_chapter_with_stubs(path, edition):
    original = nbformat.read(path, as_version=4)
    student = nbformat.read(edition / "chapters" / path.name, as_version=4)
    added = [c for c in student.cells if "reglab-source" in c.metadata.get("tags", [])]
    assert len(student.cells) == len(original.cells) + len(added)
    first = next(i for i, cell in enumerate(original.cells) if is_solution(cell))
    for before, after in zip(original.cells[:first], student.cells[:first]):
        if before.source != after.source:  # only a print of an exercise's answer may have gone
            gone = lines([before.source]) - lines([after.source])
            assert "getsource" in "\n".join(gone) and "printed after Exercise" in after.source
    assert all(not cell.get("outputs") and cell.get("execution_count") is None
               for cell in student.cells if cell.cell_type == "code")
    stubs = [cell for cell in student.cells if is_stub(cell)]
    assert len(stubs) == sum(map(is_solution, original.cells))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_stubs_match_their_exercise(path, edition):
    """A code exercise's stub keeps the signature, raises with the exercise's name when called, and points to the
    check cell that follows it; an experiment's stub stops with its name and mentions no check cell."""
    student = nbformat.read(edition / "chapters" / path.name, as_version=4)
    original = nbformat.read(path, as_version=4)
    kinds = {e.number: (e, e.kind(original.cells)) for e in make_student.exercises(original)}
    for index, cell in enumerate(student.cells):
        if not is_stub(cell):
            continue
        number = re.search(r"Exercise (\d+\.\d+)", cell.source).group(1)
        exercise, kind = kinds[number]
        if cell.cell_type == "markdown":
            assert cell.source.startswith(f"**Your answer (Exercise {number}).**")
            continue
        assert cell.source.startswith(f"# {exercise.label}\n")
        text = re.sub(r"\n# ", " ", cell.source)  # the comment, unwrapped
        namespace = {}
        exec("import torch\nimport torch.nn.functional as F", namespace)  # decorators such as @torch.no_grad()
        if kind == "implement":
            assert "run the check cell that follows" in text
            assert make_student.is_check(student.cells[index + 1])
            exec(compile(cell.source, "<stub>", "exec"), namespace)  # defines the function
            (function,) = [n.name for n in ast.parse(cell.source).body if isinstance(n, ast.FunctionDef)]
            signature = re.search(rf"^def {function}\(.*?\):", original.cells[exercise.solutions[0]].source,
                                  re.M | re.S)
            assert signature.group(0) in cell.source
            arguments = [None] * len(inspect.signature(namespace[function]).parameters)
            with pytest.raises(NotImplementedError, match=rf"^Exercise {number}: \S"):
                namespace[function](*arguments)
        else:
            assert kind == "experiment" and "check cell" not in text
            with pytest.raises(NotImplementedError, match=rf"^Exercise {number}: \S"):
                exec(compile(cell.source, "<stub>", "exec"), namespace)


def test_chapter_one_student_notebook_runs_and_stops_at_exercise_1_1(edition, monkeypatch):
    """A learner runs the student edition from the top: it stops at the first exercise's check, with one line.

    The chapter's own cells are the chapter's, whose claims nbval checks on the chapter itself: here
    every training loop is capped at three steps (``REGLAB_MAX_STEPS``, as in the full-scale smoke
    run) and the claim cells (first line ``# Claim``), which three steps cannot satisfy, are left out.
    """
    notebook = nbformat.read(edition / "chapters" / "01_overfitting.ipynb", as_version=4)
    kept = [cell for cell in notebook.cells if not (cell.cell_type == "code" and cell.source.startswith("# Claim"))]
    assert len(kept) < len(notebook.cells), "chapter 1 has no claim cells: is `# Claim` still their first line?"
    notebook.cells = kept
    monkeypatch.setenv("REGLAB_MAX_STEPS", "3")
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "chapters")}})
    with pytest.raises(CellExecutionError) as info:
        client.execute()
    # The stub defines my_bias_variance; the check cell calls it, prints its verdict and fails with one line.
    assert info.value.ename == "CheckFailed"
    assert info.value.evalue == "✘ Exercise 1.1: not implemented yet."
    failed = next(c for c in notebook.cells if c.cell_type == "code" and any(
        o.output_type == "error" for o in c.get("outputs", [])))
    assert "check_bias_variance" in failed.source
    (error,) = [o for o in failed.outputs if o.output_type == "error"]
    assert len(error.traceback) == 1 and "Exercise 1.1 is not solved yet" in error.traceback[0]
    assert "✘ Exercise 1.1: not implemented yet." in "".join(o.get("text", "") for o in failed.outputs)
