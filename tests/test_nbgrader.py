"""The nbgrader edition (scripts/make_nbgrader.py), tested with nbgrader itself.

Every chapter's assignment is checked statically (metadata, points, stubs that keep the signature, the chapter
cells it takes), and released with ``nbgrader generate_assignment``: no solution line may reach the release.
Two chapters then go through the instructor guide's commands: three submissions each (the solution, a typical
wrong answer, the untouched release) are autograded by ``nbgrader autograde`` and must score full marks, zero
with the hint in the feedback, and zero; ``nbgrader export`` writes the grades.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from course_scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
make_nbgrader = load_script("make_nbgrader")
COURSE_ID = "regularization-lab"
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}

# The two chapters autograded for real, each with a typical wrong answer to its code exercise and its hint.
WRONG = {
    "ch04_dropout": (  # p read as the keep probability: the mistake of issue 23
        "def my_locked_dropout(x, p, batch_first=False):\n"
        "    shape = (x.shape[0], 1, x.shape[2]) if batch_first else (1, x.shape[1], x.shape[2])\n"
        "    mask = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(p)\n"
        "    return x * mask / p\n",
        "p is the DROP probability, not the keep probability",
    ),
    "ch08_mixup_cutmix": (  # λ weighing the partner instead of the example itself
        "def my_mixup(x, y, lam, partner, num_classes):\n"
        "    one_hot = F.one_hot(y, num_classes).float()\n"
        "    lam_x = lam.reshape(-1, *([1] * (x.ndim - 1)))\n"
        "    return (1 - lam_x) * x + lam_x * x[partner], (1 - lam[:, None]) * one_hot + lam[:, None] * one_hot[partner]\n",
        "λ weighs the example ITSELF",
    ),
}
# In the solution submission of ch04 only the autograded answer is filled in: its experiment trains networks for
# a minute, and manually graded cells are not what this test is about. ch08's is the whole source notebook.
FULL_SOLUTION = {"ch08_mixup_cutmix"}


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=ENV,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """`make nbgrader`'s course folder, every chapter released with `nbgrader generate_assignment`."""
    out = tmp_path_factory.mktemp("course")
    make_nbgrader.main([str(out)])
    nbgrader(out, "generate_assignment", "*", "--force")  # every assignment, in one process
    return out


def meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def source_notebook(course: Path, assignment: str):
    return nbformat.read(course / "source" / assignment / f"{assignment}.ipynb", as_version=4)


def release_notebook(course: Path, assignment: str):
    return nbformat.read(course / "release" / assignment / f"{assignment}.ipynb", as_version=4)


def solution_lines(cell) -> list[str]:
    """The lines between the solution markers (a markdown or code cell's answer)."""
    inside, lines = False, []
    for line in cell.source.splitlines():
        if "BEGIN SOLUTION" in line:
            inside = True
        elif "END SOLUTION" in line:
            inside = False
        elif inside:
            lines.append(line.strip())
    return lines


def lines(sources) -> set[str]:
    return {line.strip() for source in sources for line in source.splitlines() if line.strip()}


IDS = [make_nbgrader.assignment_id(p) for p in CHAPTERS]


@pytest.mark.parametrize("assignment", IDS)
def test_assignment_metadata_points_and_stubs(course, assignment):
    notebook = source_notebook(course, assignment)
    chapter = nbformat.read(ROOT / "chapters" / f"{assignment[2:]}.ipynb", as_version=4)
    ids = [meta(cell)["grade_id"] for cell in notebook.cells]
    assert all(meta(cell).get("schema_version") == 3 for cell in notebook.cells)
    assert len(ids) == len(set(ids))
    exercises = make_nbgrader.exercises(chapter)
    points = {e.number: sum(meta(c).get("points", 0) for c in notebook.cells
                            if meta(c)["grade_id"].startswith("ex" + e.number.replace(".", "_") + "_"))
              for e in exercises}
    for exercise in exercises:
        kind = exercise.kind(chapter.cells)
        ident = "ex" + exercise.number.replace(".", "_")
        cells = {meta(c)["grade_id"]: c for c in notebook.cells if meta(c)["grade_id"].startswith(ident + "_")}
        assert points[exercise.number] == make_nbgrader.POINTS[kind]
        if kind == "implement":
            answer, check = cells[f"{ident}_answer"], cells[f"{ident}_check"]
            assert meta(answer)["solution"] and not meta(answer)["grade"]  # an autograded answer
            assert meta(check)["grade"] and meta(check)["locked"] and not meta(check)["solution"]  # autograder tests
            signature = re.search(r"^def (\w+)\(", chapter.cells[exercise.solutions[0]].source, re.M)
            assert signature and answer.source.count(signature.group(0)) == 1
            # the signature stands outside the solution region, so the released stub keeps it
            assert answer.source.index(signature.group(0)) < answer.source.index("### BEGIN SOLUTION")
            assert check.source == chapter.cells[exercise.checks[0]].source
        else:
            for cell in cells.values():
                if meta(cell)["solution"]:
                    assert meta(cell)["grade"] and meta(cell)["points"] > 0  # manually graded answers
                    assert ":::" not in cell.source  # the book's admonition fence is gone
    for cell in notebook.cells:
        if not meta(cell)["solution"]:
            assert meta(cell)["locked"], meta(cell)["grade_id"]  # the chapter's cells and texts are read-only


@pytest.mark.parametrize("assignment", IDS)
def test_no_solution_line_reaches_the_release(course, assignment):
    source, release = source_notebook(course, assignment), release_notebook(course, assignment)
    chapter = nbformat.read(ROOT / "chapters" / f"{assignment[2:]}.ipynb", as_version=4)
    public = lines(c.source for p in CHAPTERS for c in nbformat.read(p, as_version=4).cells
                   if "solution" not in c.metadata.get("tags", []))
    released = lines(c.source for c in release.cells)
    for cell in source.cells:
        if meta(cell)["solution"]:
            secret = {line for line in solution_lines(cell) if len(line) >= 12 and line not in public}
            assert not secret & released, f"{meta(cell)['grade_id']}: {sorted(secret & released)}"
    for index in (i for e in make_nbgrader.exercises(chapter) for i in e.solutions):
        assert chapter.cells[index].source not in "\n".join(c.source for c in release.cells)
    answers = [c for c in release.cells if meta(c).get("solution") and not meta(c).get("grade")]
    assert answers and all("raise NotImplementedError()" in c.source and "def " in c.source for c in answers)


@pytest.mark.parametrize("assignment", IDS)
def test_no_answer_is_printed_above_its_exercise(course, assignment):
    """The source prints of the reglab functions a code exercise asks for are not in its assignment."""
    release = release_notebook(course, assignment)
    chapter = nbformat.read(ROOT / "chapters" / f"{assignment[2:]}.ipynb", as_version=4)
    answered_by = [q for e in make_nbgrader.exercises(chapter) for q in make_nbgrader.ANSWERED_BY.get(e.number, ())]
    for cell in release.cells:
        if cell.cell_type == "code":
            for call in re.findall(r"getsource\(([\w.]+)\)", cell.source):
                assert not any(call == q or call.endswith("." + q) for q in answered_by), cell.source


@pytest.mark.parametrize("assignment", IDS)
def test_the_chapter_cells_taken_bind_every_name_the_exercises_read(course, assignment):
    """A static check of the slice: each name read is bound above it (or is a builtin)."""
    notebook = source_notebook(course, assignment)
    bound = set()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        names = make_nbgrader.cell_names(cell.source)
        missing = names.reads - bound - names.binds
        assert not missing, f"{meta(cell)['grade_id']} reads {sorted(missing)}, which no cell above binds"
        bound |= names.binds


def write_submission(course: Path, assignment: str, student: str, notebook) -> None:
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / f"{assignment}.ipynb")


def without_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line)


def submissions(course: Path, assignment: str) -> None:
    """The three learners: `solution`, `wrong` and `stub` (the release, untouched)."""
    source, release = source_notebook(course, assignment), release_notebook(course, assignment)
    answers = {meta(c)["grade_id"]: c for c in source.cells if meta(c)["solution"]}
    solution, wrong = nbformat.from_dict(release), nbformat.from_dict(release)
    for mine, theirs in zip(solution.cells, wrong.cells):
        grade_id = meta(mine).get("grade_id")
        if grade_id in answers and (assignment in FULL_SOLUTION or not meta(mine)["grade"]):
            mine.source = without_markers(answers[grade_id].source)
        if meta(theirs).get("solution") and not meta(theirs).get("grade"):
            theirs.source = WRONG[assignment][0]
    write_submission(course, assignment, "solution", solution)
    write_submission(course, assignment, "wrong", wrong)
    write_submission(course, assignment, "stub", release)


def check_cell(notebook):
    return next(c for c in notebook.cells if meta(c).get("grade") and not meta(c).get("solution"))


@pytest.mark.parametrize("assignment", sorted(WRONG))
def test_autograde_full_marks_zero_with_the_hint_and_zero(course, assignment):
    from nbgrader.api import Gradebook

    submissions(course, assignment)
    nbgrader(course, "autograde", assignment)
    nbgrader(course, "generate_feedback", assignment)
    autograded_points = sum(meta(c).get("points", 0) for c in source_notebook(course, assignment).cells
                            if meta(c).get("grade") and not meta(c).get("solution"))
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gb:
        def score(student):
            return gb.find_submission_notebook(assignment, assignment, student)

        solution, wrong, stub = score("solution"), score("wrong"), score("stub")
        assert autograded_points == make_nbgrader.POINTS["implement"]
        assert solution.code_score == autograded_points  # full marks for the code exercise
        assert wrong.code_score == 0 and stub.code_score == 0
        assert stub.score == 0 and not stub.needs_manual_grade  # unchanged answers score zero by themselves
        if assignment in FULL_SOLUTION:
            assert solution.needs_manual_grade  # the experiment and the open question wait for the instructor
    feedback = (course / "feedback" / "wrong" / assignment / f"{assignment}.html").read_text()
    hint = WRONG[assignment][1]
    assert hint in feedback.replace("&#39;", "'")
    # What the learner sees under the check cell: the verdict, then one line, no traceback of the course's code.
    graded = nbformat.read(course / "autograded" / "wrong" / assignment / f"{assignment}.ipynb", as_version=4)
    outputs = check_cell(graded).outputs
    stream = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    (error,) = [o for o in outputs if o.output_type == "error"]
    assert "✘ Exercise" in stream and hint in stream
    assert error.ename == "CheckFailed" and len(error.traceback) == 1
    assert "Traceback" not in error.traceback[0] and "reglab" not in error.traceback[0]
    passed = check_cell(nbformat.read(course / "autograded" / "solution" / assignment / f"{assignment}.ipynb",
                                      as_version=4))
    assert "✔ Exercise" in "".join(o.get("text", "") for o in passed.outputs)
    nbgrader(course, "export")
    with open(course / "grades.csv") as file:
        rows = {(r["assignment"], r["student_id"]): float(r["raw_score"]) for r in csv.DictReader(file)}
    assert rows[assignment, "solution"] >= autograded_points and rows[assignment, "wrong"] == 0


@pytest.mark.parametrize("command", [["jupyter", "lab", "--version"], ["jupyter", "nbconvert", "--version"],
                                     ["nbgrader", "--version"]])
def test_the_readme_jupyter_commands_run_from_the_venv(command):
    """`make install` installs JupyterLab, nbconvert and nbgrader, so `.venv/bin/jupyter lab chapters/` works."""
    program = Path(sys.executable).parent / command[0]
    result = subprocess.run([str(program), *command[1:]], capture_output=True, text=True, timeout=120, env=ENV)
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"\d+\.\d+", result.stdout + result.stderr)
