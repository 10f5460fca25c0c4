"""The errata appendix (book/errata.ipynb): every entry is complete, every demonstration's outcome is stored.

nbval executes the page itself (``pytest book/errata.ipynb``); these tests check its
structure: each entry has its MyST label, a source file among the five articles, the
one quoted line, what is wrong, a correction and the chapter that teaches it; cells
tagged ``raises-exception`` carry a stored error and no other cell does; the quoted
lines really are in the cited files (when ``../shared/seeds`` is present); and every
``{ref}`` to an errata label from a chapter or from the page itself resolves.
"""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "errata.ipynb"
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
SOURCES = {
    "000_fc31061bca491d6c.txt",
    "001_fc24c865a6d87155.txt",
    "002_f7681a802ea0517e.txt",
    "003_5a5bd11261e298ea.txt",
    "004_0ae20f75120ea18d.txt",
}
KINDS = {"crash", "silently wrong", "formula", "fact", "citation", "install", "misleading claim"}
LABEL = re.compile(r"^\((errata-[a-z0-9]+-[a-z0-9-]+)\)=$")
CHAPTER = re.compile(r"^- \*\*Taught in:\*\* (Chapter \d{1,2}, \S.*|Setup, .+)$", re.M)
SOURCE = re.compile(r"^- \*\*Source:\*\* (.+)$", re.M)
KIND = re.compile(r"^- \*\*Kind:\*\* (.+)$", re.M)
QUOTE_HEAD = re.compile(r"^\*\*The line\*\* \(`([^`]+)`, line (\d+)\):$", re.M)
QUOTE = re.compile(r"^> (`{1,2})\s?(.+?)\s?\1$", re.M)
WRONG = re.compile(r"^\*\*What is wrong\.\*\* (\S.{20,})$", re.M)
FIX = re.compile(r"^\*\*Correction\.\*\* (\S.{10,})$", re.M)


@pytest.fixture(scope="module")
def notebook():
    return nbformat.read(PAGE, as_version=4)


@pytest.fixture(scope="module")
def entries(notebook):
    """(label, markdown source) of every entry cell, in page order."""
    found = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        first = cell.source.splitlines()[0] if cell.source else ""
        match = LABEL.match(first)
        if match:
            found.append((match.group(1), cell.source))
    return found


def test_the_page_has_many_entries_with_unique_labels(entries):
    labels = [label for label, _ in entries]
    assert len(labels) >= 50
    assert len(labels) == len(set(labels)), "duplicate errata labels"


def test_no_label_is_hidden_outside_the_first_line(notebook):
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            later = [line for line in cell.source.splitlines()[1:] if line.startswith("(errata-")]
            assert not later, f"a label must open its cell, directly above its heading: {later}"


def test_every_label_sits_on_its_own_line_before_a_heading(entries):
    for label, source in entries:
        lines = source.splitlines()
        assert lines[1].startswith("### "), f"{label}: the label is not followed by a heading"


def test_every_entry_names_source_kind_quote_wrong_correction_and_chapter(entries):
    for label, source in entries:
        where = SOURCE.search(source)
        assert where, f"{label}: no source line"
        assert any(name in where.group(1) for name in SOURCES), f"{label}: no source file named"
        kind = KIND.search(source)
        assert kind and kind.group(1) in KINDS, f"{label}: kind missing or not one of {sorted(KINDS)}"
        head = QUOTE_HEAD.search(source)
        assert head and head.group(1) in SOURCES, f"{label}: the quoted line's file is not one of the five"
        quotes = QUOTE.findall(source)
        assert len(quotes) == 1 and quotes[0][1].strip(), f"{label}: exactly one quoted line expected"
        assert WRONG.search(source), f"{label}: no 'What is wrong' explanation"
        assert FIX.search(source), f"{label}: no correction"
        assert CHAPTER.search(source), f"{label}: no chapter reference ('Chapter N, Title')"


def test_chapter_references_are_plain_text_not_links(entries):
    for label, source in entries:
        assert not re.search(r"\]\([^)]*chapters/", source), f"{label}: links to a chapter file"


def test_the_label_topic_matches_a_known_group(entries):
    topics = {"overfit", "penalty", "earlystop", "dropout", "normalization", "augment", "clipping", "mixing",
              "smoothing", "adversarial", "depth", "implicit", "citation", "fact", "install"}
    for label, _ in entries:
        assert label.split("-")[1] in topics, label


def has_error(cell) -> bool:
    return any(output.output_type == "error" for output in cell.get("outputs", []))


def test_raises_exception_cells_store_their_error_and_no_other_cell_has_one(notebook):
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    tagged = [cell for cell in code if "raises-exception" in cell.metadata.get("tags", [])]
    assert len(tagged) >= 5
    for cell in code:
        if "raises-exception" in cell.metadata.get("tags", []):
            assert has_error(cell), f"tagged cell stored without its error:\n{cell.source[:200]}"
        else:
            assert not has_error(cell), f"untagged cell has an error:\n{cell.source[:200]}"


def test_every_code_cell_is_stored_executed(notebook):
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.execution_count is not None, f"cell not executed:\n{cell.source[:200]}"


def test_each_raising_demonstration_is_followed_by_its_entry_or_a_correction(notebook):
    """A raising cell shows the source's behaviour; the entry's markdown gives the correction."""
    last_entry = None
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and LABEL.match(cell.source.splitlines()[0] if cell.source else ""):
            last_entry = cell.source
        elif "raises-exception" in cell.metadata.get("tags", []):
            assert last_entry is not None and FIX.search(last_entry)


def test_printed_demonstrations_are_checked_by_nbval(notebook):
    checked = [c for c in notebook.cells if "nbval-check-output" in c.metadata.get("tags", [])]
    assert len(checked) >= 25
    for cell in checked:
        assert any(o.output_type == "stream" and o.text.strip() for o in cell.outputs), cell.source[:200]


def test_quoted_lines_are_in_the_cited_files(entries):
    if not SEEDS.is_dir():
        pytest.skip(f"{SEEDS} is not present")
    for name in SOURCES:
        assert (SEEDS / name).is_file(), f"{name} is cited but missing from {SEEDS}"
    for label, source in entries:
        head = QUOTE_HEAD.search(source)
        lines = (SEEDS / head.group(1)).read_text(encoding="utf-8").splitlines()
        line = lines[int(head.group(2)) - 1].strip()
        (_, quote), = QUOTE.findall(source)
        assert quote.strip() == line, f"{label}: the quote is not line {head.group(2)} of {head.group(1)}"


def test_every_errata_reference_resolves(notebook, entries):
    labels = {label for label, _ in entries}
    texts = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        chapter = nbformat.read(path, as_version=4)
        texts += [cell.source for cell in chapter.cells if cell.cell_type == "markdown"]
    for text in texts:
        for target in re.findall(r"\{ref\}`(?:[^`<]*<)?(errata-[a-z0-9-]+)>?`", text):
            assert target in labels, f"{{ref}} to unknown errata label {target}"


def chapter_boxes():
    """(chapter file name, box markdown) for every 'What the sources get wrong' admonition in the chapters."""
    boxes = []
    for path in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")):
        chapter = nbformat.read(path, as_version=4)
        for cell in chapter.cells:
            if cell.cell_type == "markdown" and re.search(r"\{admonition\}\s*What the sources get wrong", cell.source):
                boxes.append((path.name, cell.source))
    return boxes


@pytest.mark.parametrize("name", sorted({name for name, _ in chapter_boxes()}))
def test_every_chapter_box_links_into_the_errata(name, entries):
    labels = {label for label, _ in entries}
    linked = set()
    for box_name, source in chapter_boxes():
        if box_name == name:
            linked |= set(re.findall(r"\{ref\}`(?:[^`<]*<)?(errata-[a-z0-9-]+)>?`", source))
    assert linked, f"the 'What the sources get wrong' box of {name} links to no errata entry"
    assert linked <= labels, f"{name} links to unknown errata labels: {sorted(linked - labels)}"
