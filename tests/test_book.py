"""The book: chapter notebooks are complete and stored executed, and the HTML builds without a warning."""

import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]


def test_every_chapter_is_in_the_table_of_contents_and_every_entry_exists():
    files = toc_files()
    for path in CHAPTERS:
        assert f"chapters/{path.stem}" in files, f"{path.name} is missing from _toc.yml"
    for entry in files:
        assert any((ROOT / f"{entry}{suffix}").is_file() for suffix in (".md", ".ipynb")), f"{entry} in _toc.yml does not exist"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_is_stored_executed_and_complete(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code), "store the chapter executed, every cell"
    errors = [o for cell in code for o in cell.outputs if o.output_type == "error"]
    assert not errors, f"stored error output: {errors[0].get('ename')}"
    assert "google.colab" in code[0].source and "%pip install" in code[0].source, "first code cell installs reglab in Colab"
    assert any(re.search(r'^SCALE = "small"', cell.source, re.M) for cell in code), "a SCALE switch, small by default"
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert "What the sources get wrong" in text
    assert len(re.findall(r"^### Exercise \d+\.\d+", text, re.M)) >= 2
    assert any("solution" in cell.metadata.get("tags", []) for cell in notebook.cells)
    assert any(re.search(r"^\s*assert ", cell.source, re.M) for cell in code), "the chapter's claims are asserts"
    assert notebook.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_printed_reglab_source_is_the_current_source(path):
    """A cell that prints ``inspect.getsource(...)`` must show today's code, not the code of its last run.

    The chapter's parameters and set-up cells (imports and configuration, no
    training) and each such cell are run again here and their output compared
    with the stored one.
    """
    import contextlib
    import io

    import matplotlib
    import torch

    code = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    printing = [cell for cell in code if "inspect.getsource(" in cell.source]
    namespace: dict = {}
    threads = torch.get_num_threads()
    try:
        with matplotlib.rc_context(), contextlib.redirect_stdout(io.StringIO()):
            for cell in code[1:3]:  # code[0] is the Colab install cell, then the parameters and the set-up
                exec(cell.source, namespace)
        for cell in printing:
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(cell.source, namespace)
            stored = "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")
            assert printed.getvalue() == stored, f"stale source printed by:\n{cell.source}\nre-run: make execute NB={path.relative_to(ROOT)}"
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_opens_with_its_number_a_summary_and_learning_goals(path):
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "markdown"
    title, _, rest = first.source.partition("\n")
    chapter = int(path.stem.split("_")[0])
    assert re.fullmatch(rf"# {chapter}\. \S.*", title), f"title {title!r} does not start with '# {chapter}. '"
    summary = rest.split("**Learning goals.**")[0]
    assert "**Learning goals.**" in rest, "the summary is followed by the learning goals"
    assert 40 <= len(summary.split()) <= 250, f"a summary of a paragraph or two, not {len(summary.split())} words"


@pytest.mark.book
def test_book_builds_without_warnings(built_book):
    """The HTML builds from the stored outputs (nbval executes the chapters), with no warning."""
    html, log = built_book
    assert "WARNING" not in log, log[-5000:]
    assert (html / "index.html").is_file()
    for path in CHAPTERS:
        page = (html / "chapters" / f"{path.stem}.html").read_text()
        assert "<img" in page, f"{path.stem}: figures are missing"
        assert "colab.research.google.com/github/" in page, f"{path.stem}: no Colab launch button"
        for image in re.findall(r'<img[^>]+src="([^"]+)"', page):
            if not image.startswith(("http", "data:")):
                assert (html / "chapters" / image).resolve().is_file(), f"{path.stem}: missing image {image}"
    # Formulas render offline: MathJax comes from the book's own static folder, never a CDN.
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()
    index = (html / "book" / "intro.html").read_text()
    assert re.search(r'<script[^>]+src="[./]*_static/mathjax/tex-chtml\.js', index)
    assert "cdn.jsdelivr.net/npm/mathjax" not in index
    api = (html / "book" / "api.html").read_text()
    assert "reglab.train.fit" in api and "DeviceLoader" in api
    assert "Should be overridden by all subclasses" not in api, "torch.nn.Module's docstrings leak into the API page"


@pytest.mark.book
def test_figures_are_numbered_per_chapter(built_book):
    """Chapter 6's figures read "Fig. 6.1", "Fig. 6.2", ... in page order (book/_ext/chapter_figures.py)."""
    html, _ = built_book
    for path in CHAPTERS:
        chapter = int(path.stem.split("_")[0])
        page = (html / "chapters" / f"{path.stem}.html").read_text()
        numbers = re.findall(r'class="caption-number">Fig\. ([\d.]+)', page)
        assert numbers == [f"{chapter}.{k}" for k in range(1, len(numbers) + 1)], f"{path.stem}: {numbers}"


def test_cross_references_are_checked():
    """nitpicky: a reference that does not resolve (a label, a page, a reglab name) is a warning, and -W fails on it."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
    assert config["nitpicky"] is True
    for kind, target in config.get("nitpick_ignore_regex", []):
        assert not re.fullmatch(target, "reglab.train.History"), f"{kind} {target!r} hides reglab's own names"


@pytest.mark.book
def test_references_page_lists_every_entry_with_a_short_label_and_a_link(built_book):
    """One item per bib entry; labels like "GBC16" or "KMN+17" (a LaTeX accent in a name gives "MullerKH19")."""
    html, _ = built_book
    page = (html / "book" / "references.html").read_text()
    labels = re.findall(r'<span class="label"><span class="fn-bracket">\[</span>([^<]*)<', page)
    assert len(labels) == len(bibliography_keys())
    for label in labels:
        assert re.fullmatch(r"[A-Za-z]{1,5}\+?\d\d[a-z]?", label), f"odd citation label {label!r}: write names in Unicode"
    links = re.findall(r'href="https://[^"]+"', page.split('class="label"', 1)[1])
    assert len(links) >= len(labels), "every entry links to its DOI, arXiv page or URL"


def cited_keys() -> set[str]:
    """Every key of a {cite} role (any variant: cite, cite:p, cite:t) in the pages and chapters."""
    texts = [p.read_text() for p in (ROOT / "book").glob("*.md")]
    notebooks = CHAPTERS + sorted((ROOT / "book").glob("*.ipynb"))
    texts += ["\n".join(c.source for c in nbformat.read(p, as_version=4).cells if c.cell_type == "markdown") for p in notebooks]
    keys = set()
    for text in texts:
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text):
            keys.update(key.strip() for key in group.split(","))
    return keys


def bibliography_keys() -> set[str]:
    return set(re.findall(r"^@\w+\{([^,\s]+),", (ROOT / "book" / "references.bib").read_text(), re.M))


def test_every_citation_is_in_the_bibliography_and_every_entry_is_cited():
    cited, entries = cited_keys(), bibliography_keys()
    assert cited - entries == set(), f"cited but not in book/references.bib: {sorted(cited - entries)}"
    assert entries - cited == set(), f"in book/references.bib but never cited: {sorted(entries - cited)}"


def test_every_bibliography_entry_names_its_work_and_how_to_find_it():
    """Authors, title, year, a venue, and a DOI, an arXiv id or (for JMLR, PMLR, old NeurIPS, books) a URL.

    Parsed with pybtex, the parser the book's bibliography itself goes through.
    """
    from pybtex.database import parse_file

    for key, entry in parse_file(ROOT / "book" / "references.bib").entries.items():
        fields = {name.lower(): value for name, value in entry.fields.items()}
        assert entry.persons.get("author"), f"{key}: no author"
        assert fields.get("title"), f"{key}: no title"
        assert re.fullmatch(r"(19|20)\d\d", fields.get("year", "")), f"{key}: year {fields.get('year')!r}"
        venues = ("journal", "booktitle", "publisher", "howpublished", "eprint")
        assert any(fields.get(v) for v in venues), f"{key}: no venue ({', '.join(venues)})"
        if "doi" in fields:
            assert re.fullmatch(r"10\.\d{4,9}/\S+", fields["doi"]), f"{key}: malformed DOI {fields['doi']!r}"
        if "eprint" in fields:
            assert re.fullmatch(r"\d{4}\.\d{4,5}", fields["eprint"]), f"{key}: malformed arXiv id {fields['eprint']!r}"
            assert fields.get("archiveprefix") == "arXiv", f"{key}: eprint without archivePrefix = {{arXiv}}"
        if "url" in fields:
            assert fields["url"].startswith("https://"), f"{key}: url must be https"
        assert {"doi", "eprint", "url"} & fields.keys(), f"{key}: give a DOI, an arXiv id (eprint) or a URL"


NOTEBOOKS = CHAPTERS + sorted((ROOT / "book").glob("*.ipynb"))


def figure_cells(path: Path) -> list[tuple[int, nbformat.NotebookNode]]:
    """The code cells of a notebook whose stored outputs hold an image."""
    cells = nbformat.read(path, as_version=4).cells
    return [(i, c) for i, c in enumerate(cells)
            if c.cell_type == "code" and any("image/png" in o.get("data", {}) for o in c.get("outputs", []))]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_outputs_do_not_show_the_build_machine(path):
    """Tracebacks and warnings would print where the libraries were installed: readers see the message only."""
    for cell in nbformat.read(path, as_version=4).cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "") + "\n".join(output.get("traceback", []))
            text += "".join(str(v) for kind, v in output.get("data", {}).items() if kind.startswith("text/"))
            found = re.search(r"site-packages|\.venv/|/work/|/home/|/tmp/", text)
            assert not found, f"{path.name}: an output shows a local path ({found.group()}):\n{cell.source[:200]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_figure_has_a_caption_a_name_and_alt_text(path):
    """MyST-NB wraps a cell's image in a figure from the cell metadata ``mystnb.figure`` (caption, name).

    MyST-NB makes one figure per display output, all with the cell's caption and name, so a named figure cell
    must display exactly one output, or the name (a cross-reference target) would be defined twice.
    """
    for index, cell in figure_cells(path):
        where = f"{path.name}, cell {index}"
        options = cell.metadata.get("mystnb", {})
        figure = options.get("figure", {})
        assert str(figure.get("caption", "")).strip(), f"{where}: no mystnb.figure.caption in the cell metadata"
        assert re.fullmatch(r"fig-\w[\w-]*", str(figure.get("name", ""))), f"{where}: mystnb.figure.name fig-... missing"
        assert str(options.get("image", {}).get("alt", "")).strip(), f"{where}: no mystnb.image.alt"
        displays = [o for o in cell.outputs if o.output_type in ("display_data", "execute_result")]
        assert len(displays) == 1, f"{where}: {len(displays)} display outputs share one figure name; draw one figure"


def test_figure_names_are_unique_across_the_book():
    names = [cell.metadata.get("mystnb", {}).get("figure", {}).get("name")
             for path in NOTEBOOKS for _, cell in figure_cells(path)]
    duplicates = sorted({n for n in names if n and names.count(n) > 1})
    assert not duplicates, f"figure names used twice: {duplicates}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_model_answers_are_hidden_behind_a_toggle(path):
    """A code solution is hidden with its output (``hide-cell``); a markdown model answer sits in a dropdown."""
    for cell in nbformat.read(path, as_version=4).cells:
        if "solution" not in cell.metadata.get("tags", []):
            continue
        if cell.cell_type == "code":
            assert "hide-cell" in cell.metadata["tags"], cell.source[:80]
        else:
            assert cell.source.startswith(":::{admonition} Solution\n:class: dropdown\n"), cell.source[:80]
