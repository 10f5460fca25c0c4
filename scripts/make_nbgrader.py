"""Write an nbgrader course folder: one assignment per chapter, holding that chapter's exercises.

    .venv/bin/python scripts/make_nbgrader.py [OUT] [--chapters 04 09]    # default OUT: nbgrader/

OUT gets ``nbgrader_config.py`` and ``source/<assignment>/<assignment>.ipynb``
for each chapter (assignment ``ch04_dropout`` for ``chapters/04_dropout.ipynb``).
From OUT, ``nbgrader generate_assignment``, ``nbgrader autograde`` and
``nbgrader export`` take an assignment to grades (see the instructor guide).

An assignment is the chapter's **exercises notebook**: the chapter's set-up
cells, then only those top-level statements of the chapter's code that the
exercises need, then the exercises. A whole chapter takes up to a minute and a
half of CPU to run, and autograding runs every submission from the top; the
exercises notebook runs only what its exercises use: the statements that bind
a name their solutions and checks read (or a needed statement reads), or that
may change such a name's value in place, found from the code's syntax tree.
The chapter's cells are read-only in nbgrader's sense (``locked``: autograde
restores them), and each group carries a note of the section it comes from.

nbgrader metadata (schema version 3), by kind of exercise:

- **implement** (C.1): the solution is an *autograded answer* cell whose
  function signature is kept and whose body stands between ``### BEGIN
  SOLUTION`` and ``### END SOLUTION``; the check cell is an *autograder tests*
  cell worth ``POINTS["implement"]``. A failed check raises, so the cell scores
  zero and the verdict with its hint is in the feedback.
- **experiment** (C.2): the code and the reading are *manually graded answer*
  cells (``POINTS["experiment"]`` split between them).
- **open question** (C.3): the model answer is a manually graded answer cell
  worth ``POINTS["open"]``.

The model answers of markdown cells lose their book-only admonition fence.
The source prints of ``reglab`` functions that answer a code exercise
(``reglab.exercises.ANSWERED_BY``) are left out.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_student import ROOT, Exercise, exercises, function_parts, split_answer_prints  # noqa: E402

from reglab.exercises import ANSWERED_BY  # noqa: E402

POINTS = {"implement": 4, "experiment": 4, "open": 2}
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
SECTION_HEADING = re.compile(r"^## (\d+\.\d+ .+)$", re.M)

CONFIG = '''"""nbgrader configuration of the Regularization Lab course (written by scripts/make_nbgrader.py).

The assignments in source/ are generated from the chapters: regenerate them with `make nbgrader` rather than
editing them by hand. generate_assignment and autograde add assignments and students to gradebook.db as they go.
"""

import os
import sys

c = get_config()  # noqa: F821 (nbgrader provides it)

# nbgrader runs `alembic` (its database migrations) by name: find it beside the Python running nbgrader, so that
# `../.venv/bin/nbgrader ...` works without activating the virtual environment.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

c.CourseDirectory.course_id = "regularization-lab"
# Some chapter cells train small networks: allow ten minutes per cell (nbgrader's default is 30 s).
c.Execute.timeout = 600
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
'''


# Which chapter cells an exercise needs -------------------------------------------------------------------------------

BUILTINS = set(dir(builtins)) | {"get_ipython", "display", "__name__", "__file__"}
# Calls that read their arguments and change nothing (a trailing underscore, `zero_`, always counts as a change).
PURE_ROOTS = {"print", "len", "str", "repr", "float", "int", "bool", "sum", "min", "max", "sorted", "list", "tuple",
              "dict", "set", "enumerate", "zip", "range", "isinstance", "round", "abs", "any", "all", "type", "format",
              "iter", "reversed", "map", "filter", "getattr", "hasattr", "plt", "plots", "np", "math", "inspect",
              "scipy", "torch", "F", "nn", "time", "display"}
# Functions that change their first argument although their result is kept: `history = fit(model, ...)`.
TRAINERS = {"fit", "train", "train_one", "train_model"}
PURE_METHODS = {"mean", "std", "var", "sum", "item", "tolist", "numpy", "detach", "cpu", "clone", "float", "double",
                "long", "int", "bool", "size", "numel", "norm", "max", "min", "argmax", "argmin", "abs", "pow", "sqrt",
                "reshape", "view", "flatten", "quantile", "median", "values", "items", "keys", "get", "index", "count",
                "startswith", "endswith", "format", "copy", "parameters", "named_parameters", "state_dict", "exp", "log",
                "softmax", "log_softmax", "eq", "ne", "lt", "gt", "le", "ge", "all", "any", "squeeze", "unsqueeze",
                "expand", "permute", "transpose", "t", "split", "chunk", "sort", "topk", "cumsum", "prod", "round",
                "sign", "clamp", "where", "masked_fill", "gather", "index_select", "nonzero", "tolist", "table",
                "figure", "subplots"}


def _strip_magics(source: str) -> str:
    """The cell with IPython's ``%magic`` and ``!shell`` lines turned into ``pass``, so that it parses."""
    return "\n".join(re.sub(r"^(\s*)[%!].*$", r"\1pass", line) for line in source.splitlines())


def _root(node: ast.AST) -> str | None:
    """The name at the root of ``a.b[c].d(...)``, else None."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call, ast.Starred)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


@dataclass
class CellNames:
    """The module-level names a cell reads before binding them, binds, and may change in place."""

    reads: set[str] = field(default_factory=set)
    binds: set[str] = field(default_factory=set)
    static: set[str] = field(default_factory=set)  # bound by import, def or class: never changed in place
    changes: set[str] = field(default_factory=set)


class _Scan(ast.NodeVisitor):
    """Walks a cell in evaluation order at module level; nested scopes contribute their free names."""

    def __init__(self):
        self.names, self.bound, self.deferred = CellNames(), set(), set()

    # module-level reads and binds, in evaluation order
    def _bind(self, name: str, static: bool = False) -> None:
        self.bound.add(name)
        self.names.binds.add(name)
        if static:
            self.names.static.add(name)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            if node.id not in self.bound:
                self.names.reads.add(node.id)
        else:
            self._bind(node.id)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self._store(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self._store(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        root = _root(node.target)
        if root and root not in self.bound:
            self.names.reads.add(root)
        self._store(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self._store(node.target)

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        self._store(node.target)
        for statement in node.body + node.orelse:
            self.visit(statement)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self._store(item.optional_vars)
        for statement in node.body:
            self.visit(statement)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            root = _root(target)
            if root and not isinstance(target, ast.Name):
                self.names.changes.add(root)

    def _store(self, target: ast.AST) -> None:
        """Bind the names of an assignment target; a subscript or attribute target changes its root in place."""
        if isinstance(target, ast.Name):
            self._bind(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._store(element)
        elif isinstance(target, ast.Starred):
            self._store(target.value)
        else:  # x[i] = ..., x.a = ...: reads the root and changes it
            self.visit(target.value)
            if isinstance(target, ast.Subscript):
                self.visit(target.slice)
            root = _root(target)
            if root:
                self.names.changes.add(root)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._bind(alias.asname or alias.name.split(".")[0], static=True)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            self._bind(alias.asname or alias.name, static=True)

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Call):
            self._discarded = node.value  # a call for its effect: fit(model, ...), runs.append(x)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        if isinstance(node.func, ast.Attribute):  # a method: model.train(), runs.append(x)
            root, name = _root(node.func), node.func.attr
            if root and (name.endswith("_") or root not in PURE_ROOTS and name not in PURE_METHODS):
                self.names.changes.add(root)
        elif isinstance(node.func, ast.Name) and node.args:  # a function, which may change its first argument
            name = node.func.id
            effect = node is getattr(self, "_discarded", None) or name.endswith("_") or name in TRAINERS
            root = _root(node.args[0])
            if root and effect and name not in PURE_ROOTS:
                self.names.changes.add(root)

    # nested scopes: what they read from the module is read when they run, so any bind of the cell counts
    def visit_FunctionDef(self, node) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
            self.visit(default)
        self.deferred |= _free_names(node)
        self._bind(node.name, static=True)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expression in node.bases + node.decorator_list:
            self.visit(expression)
        self.deferred |= _free_names(node)
        self._bind(node.name, static=True)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.deferred |= _free_names(node)

    def _comprehension(self, node) -> None:
        self.visit(node.generators[0].iter)  # evaluated in the enclosing scope
        self.names.reads |= _free_names(node) - self.bound  # ... and the rest at once

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension


def _free_names(node: ast.AST) -> set[str]:
    """Names a function, class, lambda or comprehension reads that it does not bind itself."""
    local, read = set(), set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        arguments = node.args
        for argument in arguments.posonlyargs + arguments.args + arguments.kwonlyargs + [
                a for a in (arguments.vararg, arguments.kwarg) if a]:
            local.add(argument.arg)
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
        inner = [node.elt, *node.generators]
    elif isinstance(node, ast.DictComp):
        inner = [node.key, node.value, *node.generators]
    else:
        inner = node.body if isinstance(node.body, list) else [node.body]
    for statement in inner:
        for sub in ast.walk(statement):
            if isinstance(sub, ast.Name):
                (read if isinstance(sub.ctx, ast.Load) else local).add(sub.id)
            elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                local.add(sub.name)
            elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                local.update(a.asname or a.name.split(".")[0] for a in sub.names)
            elif isinstance(sub, ast.arg):
                local.add(sub.arg)
    return read - local


def _scan(statements: list[ast.stmt]) -> CellNames:
    scan = _Scan()
    for statement in statements:
        scan.visit(statement)
    scan.names.reads |= scan.deferred - scan.names.binds
    scan.names.reads -= BUILTINS
    return scan.names


def cell_names(source: str) -> CellNames:
    """The names of a whole cell."""
    return _scan(ast.parse(_strip_magics(source)).body)


@dataclass
class Statement:
    """One top-level statement of a chapter cell: the unit that the exercises notebook takes or leaves."""

    cell: int
    start: int  # first line (0-based), comments just above the statement included
    end: int  # one past the last line
    names: CellNames


def statements(source: str, cell: int) -> list[Statement]:
    lines = source.splitlines()
    units, previous_end = [], 0
    for node in ast.parse(_strip_magics(source)).body:
        start = node.lineno - 1 if not getattr(node, "decorator_list", None) else node.decorator_list[0].lineno - 1
        while start > previous_end and lines[start - 1].strip().startswith("#"):
            start -= 1  # a comment just above a statement belongs to it
        units.append(Statement(cell, start, node.end_lineno, _scan([node])))
        previous_end = node.end_lineno
    return units


def setup_end(cells) -> int:
    """The index of the chapter's set-up cell: the first code cell after the one tagged ``parameters``."""
    parameters = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
    return next(i for i in range(parameters + 1, len(cells)) if cells[i].cell_type == "code")


def needed_statements(cells, found: list[Exercise]) -> dict[int, list[Statement]]:
    """{cell index: its statements that the exercises need}, for the cells between the set-up and the exercises.

    A statement is needed when it binds a name that the exercises' solutions and checks read (or a needed
    statement reads), or when it may change such a name's value in place (``model.train()``, ``runs.append(x)``,
    ``fit(model, ...)``, ``x[i] = ...``); repeated until nothing more is needed.
    """
    needed, bound = set(), set()
    for index in sorted(i for e in found for i in e.solutions + e.checks):
        if cells[index].cell_type == "code":
            names = cell_names(cells[index].source)
            needed |= names.reads - bound
            bound |= names.binds
    units = [unit for i in range(setup_end(cells) + 1, found[0].heading) if cells[i].cell_type == "code"
             for unit in statements(cells[i].source, i)]
    values = set().union(*(u.names.binds - u.names.static for u in units))  # names that hold data, not code
    chosen: set[int] = set()
    changed = True
    while changed:
        changed = False
        for k, unit in enumerate(units):
            if k not in chosen and (unit.names.binds & needed or unit.names.changes & needed & values):
                chosen.add(k)
                needed |= unit.names.reads
                changed = True
    taken: dict[int, list[Statement]] = {}
    for k in sorted(chosen):
        taken.setdefault(units[k].cell, []).append(units[k])
    return taken


def excerpt(source: str, units: list[Statement]) -> str:
    """The lines of ``units`` from ``source``, a blank line where statements were left out between them."""
    lines, parts, previous = source.splitlines(), [], None
    for unit in units:
        if previous is not None and unit.start > previous:
            parts.append("")
        parts.extend(lines[unit.start:unit.end])
        previous = unit.end
    return "\n".join(parts).strip("\n")


# The assignment notebook -----------------------------------------------------------------------------------------------

def nbgrader(grade_id: str, *, solution=False, grade=False, locked=False, points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def without_admonition(text: str) -> str:
    """A model answer without the book's ``:::{admonition} Solution`` fence."""
    lines = text.strip().splitlines()
    if lines and lines[0].startswith(":::{admonition}"):
        lines = lines[1:]
        while lines and lines[0].startswith(":"):  # :class: dropdown
            lines = lines[1:]
        if lines and lines[-1].strip() == ":::":
            lines = lines[:-1]
    return "\n".join(lines).strip()


def answer_source(source: str) -> str:
    """The autograded answer cell of a code exercise: signature kept, body between the solution markers."""
    parts = function_parts(source)
    if parts is None:
        return f"{BEGIN}\n{source}\n{END}"
    header, body, indent = parts
    return f"{header}\n{indent}{BEGIN}\n{body}\n{indent}{END}"


def _points(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def section_of(cells, index: int) -> str | None:
    for cell in reversed(cells[:index]):
        if cell.cell_type == "markdown":
            headings = SECTION_HEADING.findall(cell.source)
            if headings:
                return headings[-1].strip()
    return None


def assignment_id(path: Path) -> str:
    return "ch" + path.stem  # 04_dropout -> ch04_dropout


def exercises_notebook(path: Path):
    """The nbgrader source notebook of one chapter."""
    chapter = nbformat.read(path, as_version=4)
    cells, found = chapter.cells, exercises(chapter)
    if not found:
        raise ValueError(f"{path.name} has no exercises")
    number = path.stem.split("_")[0].lstrip("0")
    title = re.sub(r"^#\s*\d+\.\s*", "", cells[0].source.splitlines()[0]).strip()  # "Dropout and its family"
    kinds = [e.kind(cells) for e in found]
    total = sum(POINTS[k] for k in kinds)
    out = []

    def add(cell, grade_id, **meta):
        cell.metadata = nbformat.from_dict({**nbgrader(grade_id, **meta)})
        out.append(cell)

    add(nbformat.v4.new_markdown_cell(
        f"# Chapter {number} exercises: {title}\n\n"
        f"Read chapter {number} first: this notebook holds its exercises ({total} points) and, above them, the "
        "chapter's cells that they need (read-only, each marked with its section). Run it from the top; it stops at "
        "the first exercise you have not done yet.\n\n"
        + "\n".join(f"- {e.label} ({POINTS[k]} points{', graded automatically by its check cell' if k == 'implement' else ', graded by hand'})"
                    for e, k in zip(found, kinds))), "header", locked=True)
    setup = [i for i in range(setup_end(cells) + 1) if cells[i].cell_type == "code"]
    taken = needed_statements(cells, found)
    qualnames = tuple(q for e in found for q in ANSWERED_BY.get(e.number, ()))
    last_section = None
    for index in setup + sorted(taken):
        source = cells[index].source if index in setup else excerpt(cells[index].source, taken[index])
        if qualnames:
            source, _ = split_answer_prints(source, qualnames)
        section = section_of(cells, index)
        if section and section != last_section and index > setup_end(cells):
            add(nbformat.v4.new_markdown_cell(f"*From section {section}:*"), f"section_{index}", locked=True)
            last_section = section
        add(nbformat.v4.new_code_cell(source), f"chapter_cell_{index}", locked=True)
    add(nbformat.v4.new_markdown_cell("## Exercises"), "exercises", locked=True)
    for exercise, kind in zip(found, kinds):
        ident = "ex" + exercise.number.replace(".", "_")
        add(nbformat.v4.new_markdown_cell(exercise.text), f"{ident}_text", locked=True)
        if kind == "implement":
            for index in exercise.solutions:
                add(nbformat.v4.new_code_cell(answer_source(cells[index].source)), f"{ident}_answer", solution=True)
            for n, index in enumerate(exercise.checks):
                add(nbformat.v4.new_code_cell(cells[index].source), f"{ident}_check" + (f"_{n}" if n else ""),
                    grade=True, locked=True, points=_points(POINTS[kind] / len(exercise.checks)))
            continue
        shares = len(exercise.solutions)
        for n, index in enumerate(exercise.solutions):
            cell = cells[index]
            points = _points(POINTS[kind] / shares)
            if cell.cell_type == "code":
                source = (f"# {exercise.label.split(':')[0]}: your experiment ({points:g} points, graded by hand)\n"
                          f"{BEGIN}\n{cell.source}\n{END}")
                add(nbformat.v4.new_code_cell(source), f"{ident}_code", solution=True, grade=True, points=points)
            else:
                what = "reading of the numbers" if kind == "experiment" else "answer"
                source = (f"**Your {what} ({exercise.label.split(':')[0]}, {points:g} points).**\n\n"
                          f"{BEGIN}\n\n{without_admonition(cell.source)}\n\n{END}")
                add(nbformat.v4.new_markdown_cell(source), f"{ident}_{'reading' if kind == 'experiment' else 'answer'}",
                    solution=True, grade=True, points=points)
    notebook = nbformat.v4.new_notebook(cells=out, metadata={
        "kernelspec": chapter.metadata.get("kernelspec", {"name": "python3", "display_name": "Python 3",
                                                          "language": "python"}),
        "language_info": {"name": "python"},
    })
    return notebook


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(ROOT / "nbgrader"), help="the course folder (default: nbgrader/)")
    parser.add_argument("--chapters", nargs="*", default=None, help="chapter numbers, e.g. 04 09 (default: all)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    chapters = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    if args.chapters:
        chapters = [p for p in chapters if p.stem[:2] in {c.zfill(2) for c in args.chapters}]
    shutil.rmtree(out / "source", ignore_errors=True)
    ids = []
    for path in chapters:
        ident = assignment_id(path)
        folder = out / "source" / ident
        folder.mkdir(parents=True)
        nbformat.write(exercises_notebook(path), folder / f"{ident}.ipynb")
        ids.append(ident)
    (out / "nbgrader_config.py").write_text(CONFIG)
    print(f"nbgrader course: {len(ids)} assignments in {out}/source/ (nbgrader_config.py beside it)")
    return out


if __name__ == "__main__":
    main()
