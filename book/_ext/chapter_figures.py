"""Sphinx extension: number figures per chapter ("Fig. 6.2"), not across the book.

Sphinx numbers figures book-wide unless the table of contents is numbered,
which would number every page of the table of contents by position, the
setup page included.
After Sphinx has assigned its numbers, each page's figures are renumbered
from 1 in page order, prefixed with the chapter's own number, read from its
file name (``chapters/06_augmentation`` is chapter 6). Pages outside
``chapters/`` get plain numbers from 1.
"""

import re


def chapter_number(docname: str) -> int | None:
    match = re.match(r"chapters/(\d+)_", docname)
    return int(match.group(1)) if match else None


def number_figures_per_chapter(app, env) -> list[str]:
    for docname, by_type in env.toc_fignumbers.items():
        prefix = () if chapter_number(docname) is None else (chapter_number(docname),)
        for numbers in by_type.values():
            in_page_order = sorted(numbers, key=numbers.get)
            for position, figure_id in enumerate(in_page_order, start=1):
                numbers[figure_id] = prefix + (position,)
    return []  # no page needs rewriting beyond those Sphinx already lists


def setup(app):
    # Runs after Sphinx's own numbering (TocTreeCollector, default priority 500).
    app.connect("env-get-updated", number_figures_per_chapter, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
