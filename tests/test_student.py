"""The student edition: no solution reaches it, and each notebook stops at its first exercise."""

import importlib.util
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
spec = importlib.util.spec_from_file_location("make_student", ROOT / "scripts" / "make_student.py")
make_student = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_student)


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("edition") / "student"
    make_student.main(out)
    return out


def is_solution(cell) -> bool:
    return "solution" in cell.metadata.get("tags", [])


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
        leaked = {line for line in lines([cell.source]) if len(line) >= 12 and line not in public} & student_lines
        assert not leaked, f"{path.name}: solution lines leaked: {sorted(leaked)}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_is_the_chapter_up_to_its_first_exercise(path, edition):
    original = nbformat.read(path, as_version=4)
    student = nbformat.read(edition / "chapters" / path.name, as_version=4)
    assert len(student.cells) == len(original.cells)
    first = next(i for i, cell in enumerate(original.cells) if is_solution(cell))
    for before, after in zip(original.cells[:first], student.cells[:first]):
        assert before.source == after.source  # nbval proves these cells run
    assert all(not cell.get("outputs") and cell.get("execution_count") is None
               for cell in student.cells if cell.cell_type == "code")
    stubs = [cell for cell in student.cells if "exercise" in cell.metadata.get("tags", [])]
    assert len(stubs) == sum(map(is_solution, original.cells))
    code_stubs = [cell for cell in stubs if cell.cell_type == "code"]
    for cell in code_stubs:  # each stub stops with its own exercise's name
        with pytest.raises(NotImplementedError, match=r"^Exercise \d+\.\d+: \S"):
            exec(compile(cell.source, "<stub>", "exec"), {})


def test_chapter_one_student_notebook_runs_and_stops_at_exercise_1_1(edition):
    notebook = nbformat.read(edition / "chapters" / "01_overfitting.ipynb", as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "chapters")}})
    with pytest.raises(CellExecutionError) as info:
        client.execute()
    assert info.value.ename == "NotImplementedError"
    assert info.value.evalue == "Exercise 1.1: implement the decomposition"
