"""Every chapter runs within the course's time budget, and the instructor guide quotes the stored times."""

from pathlib import Path

import pytest
from course_scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
chapter_times = load_script("chapter_times")

CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
BUDGET_CPU_SECONDS = 90  # "runnable in a minute or so on a laptop": one thread, SCALE = "small"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_stores_its_time_within_the_budget(path):
    times = chapter_times.chapter_times(path)
    assert times is not None, f"{path.name}: its last cell must print 'chapter ran in ... (... s of CPU time)'"
    _, _, cpu = times
    assert cpu <= BUDGET_CPU_SECONDS, f"{path.name}: {cpu:.0f} s of CPU time, over the {BUDGET_CPU_SECONDS} s budget"


def test_the_instructor_guide_quotes_the_stored_times():
    guide = chapter_times.GUIDE.read_text()
    assert chapter_times.table_in_guide(guide).strip() == chapter_times.table().strip(), (
        "run `.venv/bin/python scripts/chapter_times.py --write` after executing a chapter"
    )
