"""The errata appendix (book/errata.ipynb): complete, fair to its sources and readable by everyone.

nbval executes the page itself (``pytest book/errata.ipynb``); these tests check its
structure: each entry has its MyST label, a source among the five articles named by its
title and file, the one quoted line (with an English translation beneath it when the line
is in Chinese), what is wrong, a correction and the chapter that teaches it; cells tagged
``raises-exception`` carry a stored error and no other cell does; the quoted lines really
are in the cited files (when ``../shared/seeds`` is present); the counts at the head of
the page are the entries' own; every ``{ref}`` to an errata label resolves; and the
chapters' boxes "What the sources get wrong" and the entries link each other both ways:
every item a box explains links its entry, and every entry is linked from the box of the
chapter that teaches it.
"""

import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "errata.ipynb"
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
# file -> the name the page and the chapters cite it by (the sources table at the head of the page)
SOURCES = {
    "000_fc31061bca491d6c.txt": "Regularization Techniques I",
    "001_fc24c865a6d87155.txt": "Regularization Techniques II",
    "002_f7681a802ea0517e.txt": "Regularization in PyTorch",
    "003_5a5bd11261e298ea.txt": "Regularization from Scratch",
    "004_0ae20f75120ea18d.txt": "Through the Fog of Overfitting",
}
KINDS = {"crash", "silently wrong", "misleading code", "formula", "fact", "citation", "install", "misleading claim"}
# The chapter that teaches each topic; citations, facts and installation span the course, and an
# entry of those names its chapter itself. TAUGHT_ELSEWHERE lists the entries that, by their
# content, belong to another chapter than their topic's.
TOPIC_CHAPTER = {"overfit": 1, "penalty": 2, "earlystop": 3, "dropout": 4, "normalization": 5, "augment": 6,
                 "clipping": 7, "mixing": 8, "smoothing": 9, "adversarial": 10, "depth": 11, "implicit": 12}
CROSS_CUTTING = {"citation", "fact", "install"}
TAUGHT_ELSEWHERE = {"errata-overfit-meaningless-flowcharts": 13}
LABEL = re.compile(r"^\((errata-[a-z0-9]+-[a-z0-9-]+)\)=$")
FAIR_LABEL = re.compile(r"^\((fair-[a-z0-9-]+)\)=$")
CHAPTER = re.compile(r"^- \*\*Taught in:\*\* (Chapter (\d{1,2}), \S.*|Setup, .+)$", re.M)
SOURCE = re.compile(r"^- \*\*Source:\*\* (.+)$", re.M)
KIND = re.compile(r"^- \*\*Kind:\*\* (.+)$", re.M)
QUOTE_HEAD = re.compile(r"^\*\*The line\*\* \(\*([^*]+)\*, `([^`]+)`, line (\d+)\):$", re.M)
QUOTE = re.compile(r"^> (`{1,2})\s?(.+?)\s?\1$", re.M)
TRANSLATION = re.compile(r"^\*In English:\* “(.+)”$")
WRONG = re.compile(r"^\*\*What is wrong\.\*\* (\S.{20,})$", re.M)
FAIR_REASON = re.compile(r"^\*\*Why it stands\.\*\* (\S.{20,})$", re.M)
FIX = re.compile(r"^\*\*Correction\.\*\* (\S.{10,})$", re.M)
CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
REF = re.compile(r"\{ref\}`(?:[^`<]*<)?((?:errata|fair)-[a-z0-9-]+)>?`")
BOX = re.compile(r":::\{admonition\} What the sources get wrong\n(.*?)\n:::", re.S)


@pytest.fixture(scope="module")
def notebook():
    return nbformat.read(PAGE, as_version=4)


def labelled_cells(notebook, pattern):
    found = []
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and cell.source:
            match = pattern.match(cell.source.splitlines()[0])
            if match:
                found.append((match.group(1), cell.source))
    return found


@pytest.fixture(scope="module")
def entries(notebook):
    """(label, markdown source) of every entry cell, in page order."""
    return labelled_cells(notebook, LABEL)


@pytest.fixture(scope="module")
def fair_notes(notebook):
    """(label, markdown source) of every line judged fair on review."""
    return labelled_cells(notebook, FAIR_LABEL)


def chapter_of(source: str) -> int | None:
    match = CHAPTER.search(source)
    return int(match.group(2)) if match and match.group(2) else None


def test_the_page_has_many_entries_with_unique_labels(entries, fair_notes):
    labels = [label for label, _ in entries + fair_notes]
    assert len(entries) >= 90
    assert len(labels) == len(set(labels)), "duplicate errata labels"


def test_no_label_is_hidden_outside_the_first_line(notebook):
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            later = [line for line in cell.source.splitlines()[1:] if line.startswith(("(errata-", "(fair-"))]
            later = [line for line in later if line != "(errata-sources)="]
            assert not later, f"a label must open its cell, directly above its heading: {later}"


def test_every_label_sits_on_its_own_line_before_a_heading(entries, fair_notes):
    for label, source in entries + fair_notes:
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
        assert head and head.group(2) in SOURCES, f"{label}: the quoted line's file is not one of the five"
        assert head.group(1) == SOURCES[head.group(2)], f"{label}: the quoted line's source is not cited by its title"
        quotes = QUOTE.findall(source)
        assert len(quotes) == 1 and quotes[0][1].strip(), f"{label}: exactly one quoted line expected"
        assert WRONG.search(source), f"{label}: no 'What is wrong' explanation"
        assert FIX.search(source), f"{label}: no correction"
        assert CHAPTER.search(source), f"{label}: no chapter reference ('Chapter N, Title')"


def test_every_line_judged_fair_says_why(fair_notes):
    assert fair_notes, "the section of lines judged fair on review is missing"
    for label, source in fair_notes:
        head = QUOTE_HEAD.search(source)
        assert head and head.group(1) == SOURCES.get(head.group(2)), f"{label}: no quoted line cited by title"
        assert FAIR_REASON.search(source), f"{label}: no 'Why it stands' explanation"
        assert not KIND.search(source) and not FIX.search(source), f"{label}: a line judged fair is not an error"


def test_the_page_names_each_source_by_title_language_and_file(notebook):
    head = notebook.cells[0].source
    assert "(errata-sources)=" in head, "the sources table has no label for the chapters to link"
    for name, title in SOURCES.items():
        rows = [line for line in head.splitlines() if line.startswith(f"| *{title}* |")]
        assert rows, f"no row of the sources table for {title}"
        assert any(f"| `{name}` |" in row for row in rows), f"the sources table does not give {title}'s file"
        assert any(row.endswith("| Chinese |") for row in rows), f"the sources table does not give {title}'s language"


def test_every_mention_of_a_source_file_comes_with_its_title(entries, fair_notes):
    for label, source in entries + fair_notes:
        for name, title in SOURCES.items():
            for match in re.finditer(re.escape(f"`{name}`"), source):
                before = source[max(0, match.start() - len(title) - 4): match.start()]
                assert before in (f"*{title}* (", f"*{title}*, "), f"{label}: `{name}` cited without its title"


def test_every_chinese_quote_has_an_english_translation_beneath_it(entries, fair_notes):
    for label, source in entries + fair_notes:
        lines = source.splitlines()
        (k,) = [i for i, line in enumerate(lines) if QUOTE.fullmatch(line)]
        if not CJK.search(lines[k]):
            continue
        following = next((line for line in lines[k + 1:] if line.strip()), "")
        translation = TRANSLATION.match(following)
        assert translation, f"{label}: the Chinese quote has no '*In English:* “…”' line beneath it"
        assert not CJK.search(translation.group(1)), f"{label}: the translation is not in English"


def test_the_counts_at_the_head_of_the_page_match_the_entries(notebook, entries):
    head = notebook.cells[0].source
    kinds = Counter(KIND.search(source).group(1) for _, source in entries)
    for kind in KINDS:
        assert re.search(rf"^\| {kind} \| {kinds[kind]} \|$", head, re.M), f"the count of '{kind}' is not {kinds[kind]}"
    assert f"| **total** | **{len(entries)}** |" in head
    quoting = Counter(QUOTE_HEAD.search(source).group(2) for _, source in entries)
    involving = Counter(name for _, source in entries for name in SOURCES if name in SOURCE.search(source).group(1))
    for name in SOURCES:
        assert re.search(rf"`{name}` \| {quoting[name]} \| {involving[name]} \|$", head, re.M), (
            f"the counts of {name} are not {quoting[name]} quoting, {involving[name]} involving")


def test_chapter_references_are_plain_text_not_links(entries):
    for label, source in entries:
        assert not re.search(r"\]\([^)]*chapters/", source), f"{label}: links to a chapter file"


def test_the_label_topic_matches_a_known_group(entries):
    for label, _ in entries:
        assert label.split("-")[1] in set(TOPIC_CHAPTER) | CROSS_CUTTING, label


def test_every_entry_is_taught_in_the_chapter_of_its_topic(entries):
    for label, source in entries:
        topic = label.split("-")[1]
        if topic in CROSS_CUTTING:
            continue
        expected = TAUGHT_ELSEWHERE.get(label, TOPIC_CHAPTER[topic])
        assert chapter_of(source) == expected, f"{label}: taught in chapter {chapter_of(source)}, its topic in {expected}"


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
    assert len(checked) >= 40
    for cell in checked:
        assert any(o.output_type == "stream" and o.text.strip() for o in cell.outputs), cell.source[:200]


def test_quoted_lines_are_in_the_cited_files(entries, fair_notes):
    if not SEEDS.is_dir():
        pytest.skip(f"{SEEDS} is not present")
    for name in SOURCES:
        assert (SEEDS / name).is_file(), f"{name} is cited but missing from {SEEDS}"
    for label, source in entries + fair_notes:
        head = QUOTE_HEAD.search(source)
        lines = (SEEDS / head.group(2)).read_text(encoding="utf-8").splitlines()
        line = lines[int(head.group(3)) - 1].strip()
        (_, quote), = QUOTE.findall(source)
        assert quote.strip() == line, f"{label}: the quote is not line {head.group(3)} of {head.group(2)}"


def page_labels(notebook) -> set[str]:
    return {match.group(1) for cell in notebook.cells if cell.cell_type == "markdown"
            for match in re.finditer(r"^\(((?:errata|fair)-[a-z0-9-]+)\)=$", cell.source, re.M)}


def test_every_errata_reference_resolves(notebook):
    labels = page_labels(notebook)
    texts = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        chapter = nbformat.read(path, as_version=4)
        texts += [cell.source for cell in chapter.cells if cell.cell_type == "markdown"]
    for text in texts:
        for target in REF.findall(text):
            assert target in labels, f"{{ref}} to unknown errata label {target}"


# --- The chapters' boxes and the entries link each other both ways. ---

def chapter_files() -> dict[int, Path]:
    return {int(path.name[:2]): path for path in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))}


def chapter_box(path: Path) -> str:
    """The body of the chapter's 'What the sources get wrong' admonition (all of them, if several)."""
    chapter = nbformat.read(path, as_version=4)
    bodies = [m.group(1) for cell in chapter.cells if cell.cell_type == "markdown" for m in BOX.finditer(cell.source)]
    assert bodies, f"{path.name} has no 'What the sources get wrong' box"
    return "\n".join(bodies)


def box_items(box: str) -> list[str]:
    """The errors a box explains: each paragraph that opens with a bold title, up to the next one."""
    items, current = [], None
    for paragraph in re.split(r"\n\s*\n", box):
        if paragraph.startswith("**"):
            current = [paragraph]
            items.append(current)
        elif current is not None and not paragraph.startswith("The errata list"):
            current.append(paragraph)
        else:
            current = None
    return ["\n\n".join(item) for item in items]


@pytest.mark.parametrize("number", sorted(chapter_files()), ids=lambda n: f"chapter{n:02d}")
def test_every_error_a_chapter_box_explains_links_its_errata_entry(number, notebook):
    labels = page_labels(notebook)
    box = chapter_box(chapter_files()[number])
    items = box_items(box)
    assert items, f"chapter {number}: its box explains no error (items open with a bold title)"
    for item in items:
        linked = set(REF.findall(item))
        assert linked, f"chapter {number}: the box item {item[:80]!r} links no errata entry"
        assert linked <= labels, f"chapter {number}: unknown errata labels {sorted(linked - labels)}"


@pytest.mark.parametrize("number", sorted(chapter_files()), ids=lambda n: f"chapter{n:02d}")
def test_every_errata_entry_is_linked_from_the_box_of_its_chapter(number, entries):
    box = chapter_box(chapter_files()[number])
    linked = set(REF.findall(box))
    taught_here = {label for label, source in entries if chapter_of(source) == number}
    assert taught_here <= linked, f"chapter {number}'s box does not link {sorted(taught_here - linked)}"


@pytest.mark.parametrize("number", sorted(chapter_files()), ids=lambda n: f"chapter{n:02d}")
def test_chapter_boxes_cite_the_sources_by_title(number):
    box = re.sub(r"\s+", " ", chapter_box(chapter_files()[number]))  # a title may wrap across lines
    assert "<errata-sources>`" in box, f"chapter {number}: the box does not link the table of sources"
    for name, title in SOURCES.items():
        for match in re.finditer(re.escape(f"`{name}`"), box):
            before = box[max(0, match.start() - len(title) - 14): match.start()]
            assert f"*{title}*" in before, f"chapter {number}: `{name}` cited without its title"
