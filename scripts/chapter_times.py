"""The run-time table of the instructor guide, from the chapters' stored outputs.

    .venv/bin/python scripts/chapter_times.py           # print the table
    .venv/bin/python scripts/chapter_times.py --write   # put it into book/instructor.md

Each chapter's last code cell prints "chapter ran in W s on cpu (C s of CPU
time)". The CPU time is what the 90-second budget is judged by: the chapters
run on one thread, so on a quiet machine the wall time equals it, while on a
busy one the wall time grows and the CPU time does not.
"""

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "book" / "instructor.md"
# the CPU time counts every process the chapter ran on (chapter 13: its Dask workers too)
RAN_IN = re.compile(r"chapter ran in ([\d.]+) s on (\w+) \(([\d.]+) s of CPU time[^)]*\)")
BEGIN = "<!-- run-time table: written by scripts/chapter_times.py --write -->\n"
END = "<!-- end of run-time table -->\n"


def title_of(notebook) -> str:
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            return cell.source.splitlines()[0][2:].strip()
    return ""


def chapter_times(path: Path) -> tuple[str, float, float] | None:
    """(title, wall seconds, CPU seconds) from a chapter's stored output, or None."""
    notebook = nbformat.read(path, as_version=4)
    for cell in reversed(notebook.cells):
        for output in cell.get("outputs", []):
            match = RAN_IN.search(output.get("text", ""))
            if match:
                return title_of(notebook), float(match.group(1)), float(match.group(3))
    return None


def table() -> str:
    rows = ["| chapter | CPU seconds | wall seconds (as stored) |", "| --- | ---: | ---: |"]
    for path in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")):
        times = chapter_times(path)
        if times is None:
            raise SystemExit(f"{path.name}: no 'chapter ran in ... (... s of CPU time)' line in its stored outputs")
        title, wall, cpu = times
        rows.append(f"| {title} | {cpu:.0f} | {wall:.0f} |")
    return "\n".join(rows) + "\n"


def table_in_guide(text: str) -> str:
    """The table between the two markers of the instructor guide."""
    return text[text.index(BEGIN) + len(BEGIN):text.index(END)]


def write(text: str) -> str:
    """The guide's text with the table between its markers replaced by the current one."""
    return text.replace(BEGIN + table_in_guide(text) + END, BEGIN + "\n" + table() + "\n" + END)


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        GUIDE.write_text(write(GUIDE.read_text()))
    print(table(), end="")
