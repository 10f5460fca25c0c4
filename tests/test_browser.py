"""Every page of the built book in a real browser (headless Chromium), offline.

For each page of the table of contents: it loads with no console error, no
failed request and no request to another host; every image has loaded and
has alt text; MathJax has typeset every formula; a chapter has its code cells,
outputs and a Colab button pointing at its own notebook; every output image
is inside a ``<figure>`` with a non-empty caption; Previous and Next lead to
the neighbours in the table of contents. Search finds pages from the book's
own index. A full-page screenshot of each page, stitched from captures of a
window four times a laptop's height, each checked for unpainted bands, goes
to ``book/_build/screenshots/`` for review. No code cell of a notebook page
scrolls sideways in a 1280 px window: its lines fit the content column. No
character of any page is drawn as a missing-glyph box: the errata and the
chapters quote the Chinese sources, so the machine needs a CJK font (Debian's
``fonts-noto-cjk``, which ``make test`` installs where it can); a test checks
that the glyph check fails on a page that draws a missing glyph.

Needs Debian's ``chromium`` (``make test`` installs it where it can) and the
``playwright`` Python package, which drives that system browser: no browser
is downloaded. Where Chromium is missing the test is skipped, except in CI
(``CI=true``), where it must run.
"""

import functools
import io
import os
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "book" / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
VIEWPORT = {"width": 1280, "height": 900}  # a common laptop window
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]


# The sticky and fixed chrome of the theme (article header, side bars, back-to-top button) would be
# repeated in every window-sized piece of a screenshot: let it scroll with the page, hide what floats,
# and wait for the fonts and for every image to be decoded. (The article itself is skipped: it is most
# of a page's elements, 34,000 on the API page, and none of them floats.)
UNSTICK = """() => {
    const chrome = Array.from(document.querySelectorAll('body *:not(article *)'), e => [e, getComputedStyle(e).position]);
    for (const [element, position] of chrome) {  // styles read first: each change would make the next read slow
        if (position === 'sticky') element.style.setProperty('position', 'static', 'important');
        else if (position === 'fixed') element.style.setProperty('visibility', 'hidden', 'important');
    }
    return Promise.all([document.fonts.ready, ...Array.from(document.images, image => image.decode().catch(() => null))]);
}"""
# Scroll at once (the theme may ask for smooth scrolling) and come back after two animation frames:
# by then the browser has painted the page at its new place.
SCROLL_TO = """y => new Promise(resolve => {
    window.scrollTo({top: y, left: 0, behavior: 'instant'});
    requestAnimationFrame(() => requestAnimationFrame(() => resolve(window.scrollY)));
})"""
LONGEST_BLANK_PX = 300  # a third of a laptop's window; the tallest white gap between lines of the book is 75 px


# Every visible character beyond ASCII, drawn on a canvas in the font its element is set in, and
# compared with what that font draws for two code points that no font has: the missing-glyph box
# (.notdef). A character drawn exactly like the box has no glyph in any installed font. Canvas text
# goes through the same font fallback as the page, so a CJK character with no CJK font installed is
# drawn as the box too. Returns [character, code point, font] for each missing one.
MISSING_GLYPHS = r"""() => {
    const skip = 'script, style, noscript, mjx-container, svg, math';
    const invisible = /[\p{White_Space}\p{Cc}\p{Cf}\p{M}]/u;
    const byFont = new Map();
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const element = node.parentElement;
        if (!element || element.closest(skip)) continue;
        const chars = Array.from(node.data).filter(ch => ch.codePointAt(0) > 0x7e && !invisible.test(ch));
        if (chars.length === 0 || element.getClientRects().length === 0) continue;  // nothing drawn
        const style = getComputedStyle(element);
        const font = `${style.fontStyle} ${style.fontWeight} 32px ${style.fontFamily}`;
        if (!byFont.has(font)) byFont.set(font, new Set());
        chars.forEach(ch => byFont.get(font).add(ch));
    }
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 48;
    const context = canvas.getContext('2d', {willReadFrequently: true});
    const draw = (font, ch) => {
        context.clearRect(0, 0, 48, 48);
        context.font = font;
        context.textBaseline = 'top';
        context.fillText(ch, 4, 4);
        return context.getImageData(0, 0, 48, 48).data.filter((_, i) => i % 4 === 3).join(',');
    };
    const missing = [];
    for (const [font, chars] of byFont) {
        const boxes = new Set(['\u{10FFFD}', '\u{10FFFC}'].map(ch => draw(font, ch)));
        for (const ch of chars) {
            if (boxes.has(draw(font, ch))) missing.push([ch, 'U+' + ch.codePointAt(0).toString(16).toUpperCase(), font]);
        }
    }
    return missing;
}"""


def missing_glyphs(page) -> list[tuple[str, str, str]]:
    """(character, code point, font) of every character on the page drawn as a missing-glyph box."""
    page.evaluate("() => document.fonts.ready.then(() => true)")
    return [tuple(item) for item in page.evaluate(MISSING_GLYPHS)]


def blank_bands(image, left: int, right: int) -> list[tuple[int, int]]:
    """(top, bottom) of each band of rows of a Pillow image, taller than ``LONGEST_BLANK_PX``,
    that is one flat colour between ``left`` and ``right``.

    Text, figures and the borders of code cells always break a band within a few
    lines, so a tall flat band in the text column is a part the browser did not paint.
    """
    import numpy as np

    rows = np.asarray(image.crop((left, 0, right, image.height)).convert("L"))
    flat = (rows.max(axis=1).astype(int) - rows.min(axis=1)) <= 2
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flat.astype(int), [0]))))  # starts and ends of flat runs
    return [(int(top), int(bottom)) for top, bottom in zip(edges[::2], edges[1::2]) if bottom - top > LONGEST_BLANK_PX]


def screenshot_in_pieces(page, attempts: int = 3, windows: int = 4):
    """Scroll through the page one tall window at a time and capture each window once it is painted.

    The window is made ``windows`` times as tall as the reader's (never taller than the
    page), so a long page takes a few dozen captures instead of a hundred; each capture is a
    JPEG, which keeps a flat band exactly flat. A window whose text column holds a blank
    band is captured again, up to ``attempts`` times. Returns the full page stitched from
    the pieces (a Pillow image, for review) and the blank bands left in it, as
    ``(top, bottom)`` in page pixels. Window-sized captures never depend on how Chromium
    paints a whole page into one very tall bitmap (a full-page capture of a long page came
    back with white bands on some machines, and timed out on a busy one).
    """
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # the API page is over 100,000 pixels tall
    page.evaluate(UNSTICK)
    width, height = page.evaluate("() => [window.innerWidth, document.documentElement.scrollHeight]")
    window = min(windows * VIEWPORT["height"], height)
    page.set_viewport_size({"width": width, "height": window})
    height = page.evaluate("() => document.documentElement.scrollHeight")  # after the resize
    if height < window:  # the page got shorter: no capture may reach below its end
        window = height
        page.set_viewport_size({"width": width, "height": window})
    left, right = page.evaluate(
        """() => { const box = document.querySelector('article.bd-article, main, body').getBoundingClientRect();
                   return [Math.max(0, Math.floor(box.left)), Math.min(window.innerWidth, Math.ceil(box.right))]; }"""
    )
    stitched = Image.new("RGB", (width, height), "white")
    tops = list(range(0, max(1, height - window), window)) + [max(0, height - window)]
    for wanted in dict.fromkeys(tops):  # in order, without repeats
        for attempt in range(attempts):
            top = page.evaluate(SCROLL_TO, wanted)
            capture = page.screenshot(animations="disabled", type="jpeg", quality=90)
            piece = Image.open(io.BytesIO(capture)).convert("RGB")
            if not blank_bands(piece, left, right):
                break
            page.wait_for_timeout(250 * (attempt + 1))
        stitched.paste(piece, (0, top))
    page.set_viewport_size(VIEWPORT)
    return stitched, blank_bands(stitched, left, right)  # also the bands that straddle two pieces


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output readable
        pass


@pytest.fixture(scope="module")
def server(built_book):
    html, _ = built_book
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(html)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        message = "Chromium is not installed: run `apt-get install -y --no-install-recommends chromium` (make test does, as root)."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield chromium
        chromium.close()


@pytest.mark.book
@pytest.mark.parametrize("page_name", toc_pages())
def test_page_works_offline_in_a_browser(page_name, server, browser):
    problems: list[str] = []
    page = browser.new_page(viewport=VIEWPORT)
    page.on("console", lambda msg: msg.type == "error" and problems.append(f"console error: {msg.text}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"failed request: {request.url}"))
    page.on("response", lambda response: response.status >= 400 and problems.append(f"HTTP {response.status}: {response.url}"))

    def check_host(request):
        host = urlparse(request.url).hostname
        if request.url.startswith(("http://", "https://")) and host != "127.0.0.1":
            problems.append(f"request to another host: {request.url}")

    page.on("request", check_host)
    page.goto(f"{server}/{page_name}.html", wait_until="networkidle")

    has_math = page.evaluate("() => document.querySelector('.math, div.math, span.math') !== null")
    if has_math:
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20_000)
        page.evaluate("() => MathJax.startup.promise")
        assert page.locator("mjx-container").count() > 0, "MathJax typeset nothing"
    # Prose (code excluded) must hold no raw TeX once MathJax has run.
    prose = page.evaluate(
        """() => { const main = document.querySelector('main, article, body').cloneNode(true);
                   main.querySelectorAll('pre, code, .highlight, script, mjx-container').forEach(e => e.remove());
                   return main.innerText; }"""
    )
    for raw in ("$$", "\\(", "\\[", "\\frac", "\\sum"):
        assert raw not in prose, f"untypeset TeX {raw!r} on {page_name}"

    missing = missing_glyphs(page)
    if missing:
        shown = ", ".join(f"{char} ({code})" for char, code, _ in missing[:20])
        problems.append(f"{len(missing)} characters drawn as a missing-glyph box (is a CJK font installed? "
                        f"`make test` installs fonts-noto-cjk): {shown}")

    width, viewport = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width <= viewport, f"{page_name} is {width} px wide in a {viewport} px window: something overflows sideways"

    images = page.evaluate("() => Array.from(document.images).map(i => [i.currentSrc || i.src, i.complete && i.naturalWidth > 0, i.alt])")
    for src, loaded, alt in images:
        assert loaded, f"image did not load: {src}"
        assert alt and alt.strip(), f"image without alt text: {src}"

    # Every output image is a figure: inside a <figure> with a non-empty caption (MyST-NB's mystnb.figure
    # cell metadata), and its alt text describes it (mystnb.image.alt) instead of repeating the file name.
    figures = page.evaluate(
        """() => Array.from(document.querySelectorAll('.cell_output img')).map(img => {
                   const figure = img.closest('figure');
                   const caption = figure && figure.querySelector('figcaption');
                   const text = caption && (caption.querySelector('.caption-text') || caption);
                   return [img.getAttribute('src'), figure !== null, text ? text.innerText.trim() : '', img.alt];
               })"""
    )
    for src, in_figure, caption, alt in figures:
        assert in_figure, f"output image outside a <figure> on {page_name}: {src} (add mystnb.figure to the cell)"
        assert caption, f"output image without a caption on {page_name}: {src}"
        assert not alt.endswith(".png"), f"output image whose alt text is its file name on {page_name}: {src}"
    if page_name.startswith("chapters/"):
        notebook = nbformat.read(ROOT / f"{page_name}.ipynb", as_version=4)
        stored = sum("image/png" in o.get("data", {}) for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
        assert len(figures) == stored, f"{page_name}: {stored} stored images, {len(figures)} on the page"

    # Previous/Next at the foot of the page lead to the neighbours in the table of contents.
    pages = toc_pages()
    position = pages.index(page_name)
    for selector, neighbour in (("a.left-prev", position - 1), ("a.right-next", position + 1)):
        links = page.eval_on_selector_all(selector, "els => els.map(e => e.href)")
        if 0 <= neighbour < len(pages):
            assert links == [f"{server}/{pages[neighbour]}.html"], f"{page_name}: {selector} is {links}, not {pages[neighbour]}"
        else:
            assert links == [], f"{page_name}: {selector} leads off the book: {links}"

    if page_name.startswith("chapters/"):
        notebook = page_name.split("/")[-1] + ".ipynb"
        colab = [a for a in page.eval_on_selector_all("a[href*='colab.research.google.com']", "els => els.map(e => e.href)")]
        assert colab and all(href.endswith(f"/blob/main/chapters/{notebook}") for href in colab), colab
        assert page.locator(".cell_input").count() > 0 and page.locator(".cell_output").count() > 0

    if (ROOT / f"{page_name}.ipynb").exists():  # a notebook page: no code cell scrolls sideways
        problems += wide_code_cells(page, page_name)

    # A full-page screenshot for review, stitched from window-sized pieces, each captured once painted.
    shot, unpainted = screenshot_in_pieces(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot.save(SCREENSHOTS / f"{page_name.replace('/', '__')}.png", compress_level=1)  # JPEG stops at 65,500 px
    page.close()
    assert not problems, "\n".join(problems)
    assert not unpainted, f"{page_name}: blank bands in the text column at y = {unpainted} px (window-sized captures)"


# Every code cell input that scrolls sideways, with its longest line, and how many characters fit.
SCROLLING_CODE = """() => {
    const cells = Array.from(document.querySelectorAll('div.cell_input div.highlight pre'));
    if (cells.length === 0) return [];
    const probe = document.createElement('span');
    probe.textContent = 'M'.repeat(100);
    cells[0].appendChild(probe);
    const character = probe.getBoundingClientRect().width / 100;
    probe.remove();
    return cells.map((pre, index) => {
        const style = getComputedStyle(pre);
        const lines = pre.textContent.replace(/\\n$/, '').split('\\n');
        const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), '');
        const room = pre.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        return {cell: index + 1, first: lines[0], longest: longest, fit: Math.floor(room / character + 1e-6),
                scrolls: pre.scrollWidth > pre.clientWidth + 1, font: parseFloat(style.fontSize)};
    });
}"""


def wide_code_cells(page, page_name: str) -> list[str]:
    """The problems of a notebook page's code cells: any that scrolls sideways in the window, or code under 13 px.

    book/_static/custom.css widens the column to 88 characters of code; the notebooks keep their lines to that.
    """
    cells = page.evaluate(SCROLLING_CODE)
    if not cells:
        return [f"{page_name} has no code cells"]
    problems = [f"{page_name}: code smaller than 13 px"] if min(cell["font"] for cell in cells) < 13 else []
    return problems + [
        f"code cell {c['cell']} of {len(cells)} (from {c['first'][:40]!r}) scrolls sideways in a {VIEWPORT['width']} px "
        f"window: its longest line has {len(c['longest'])} characters where {c['fit']} fit: {c['longest']!r}"
        for c in cells if c["scrolls"]]


@pytest.mark.book
def test_search_works_offline(server, browser):
    """The search page finds the chapters on dropout from the book's own index, with no other host asked."""
    requests: list[str] = []
    page = browser.new_page()
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{server}/search.html?q=dropout", wait_until="networkidle")
    page.wait_for_selector("#search-results ul.search li", timeout=20_000)
    found = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.href)")
    page.close()
    assert any("chapters/04_dropout.html" in href for href in found), found
    assert all(urlparse(url).hostname in (None, "127.0.0.1") for url in requests if url.startswith("http")), requests


def installed_fonts_with(code_point: int) -> list[str]:
    """The installed font files that have a glyph for ``code_point`` (fontconfig's own answer)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        pytest.skip("fontconfig's fc-list is not installed")
    found = subprocess.run([fc_list, f":charset={code_point:x}", "file"], capture_output=True, text=True, check=True)
    return found.stdout.split()


CHINESE = "正则化是一种解决过拟合问题的方法"  # a line of the errata's first quote


def test_the_missing_glyph_check_fails_on_a_missing_glyph_and_passes_on_chinese(browser, tmp_path):
    """The check behind every page's test: it must catch a missing glyph, and pass on Chinese text
    when a CJK font is installed."""
    # A character that no installed font has: a private-use code point, and a CJK Extension I
    # ideograph (Unicode 15.1), which fonts-noto-cjk (2022) does not cover.
    absent = [cp for cp in (0xE000, 0x2EBF0) if not installed_fonts_with(cp)]
    assert absent, "every test character has a glyph in some installed font: pick another one"
    page = browser.new_page()
    page.set_content(f"<p>{CHINESE} λ ≥ – {''.join(chr(cp) for cp in absent)}</p>")
    found = {code for _, code, _ in missing_glyphs(page)}
    assert found == {f"U+{cp:X}" for cp in absent}, f"the check found {sorted(found)}"

    # Chinese text, with a CJK font installed, passes.
    if not installed_fonts_with(ord(CHINESE[0])):
        message = "no CJK font is installed: run `apt-get install fonts-noto-cjk` (make test does, as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    page.set_content(f"<p>{CHINESE}</p><pre>{CHINESE}</pre>")
    assert missing_glyphs(page) == [], "Chinese text drawn as missing glyphs although a CJK font is installed"
    page.close()

    # The same page in a browser that sees no CJK font (fontconfig told to skip those files) fails.
    cjk = set(installed_fonts_with(ord(CHINESE[0])))
    folders = {str(Path(f).parent) for f in installed_fonts_with(ord("A"))} - {str(Path(f).parent) for f in cjk}
    (tmp_path / "fonts.conf").write_text(
        "<?xml version='1.0'?>\n<fontconfig>" + "".join(f"<dir>{folder}</dir>" for folder in sorted(folders))
        + f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>\n")
    no_cjk = browser.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True,
                                         env={**os.environ, "FONTCONFIG_FILE": str(tmp_path / "fonts.conf")})
    try:
        page = no_cjk.new_page()
        page.set_content(f"<p>{CHINESE}</p>")
        found = {char for char, _, _ in missing_glyphs(page)}
    finally:
        no_cjk.close()
    assert found == set(CHINESE), f"without a CJK font the check found only {sorted(found)}"


def test_the_screenshot_check_finds_an_unpainted_band_and_passes_a_painted_page(browser):
    """The check behind every page's screenshot: a tall flat band in the text column is reported,
    with its place on the page, and a page with text all the way down passes."""
    lines = "".join(f"<p>line {i} of a page many windows tall</p>" for i in range(150))
    page = browser.new_page(viewport=VIEWPORT)
    page.set_content(f"<body>{lines}</body>")
    shot, bands = screenshot_in_pieces(page)
    assert bands == [] and shot.height > 4 * VIEWPORT["height"]
    page.set_content(f"<body>{lines}<div id='gap' style='height: 2000px'></div>{lines}</body>")
    gap = page.evaluate("() => document.getElementById('gap').getBoundingClientRect().top + window.scrollY")
    _, bands = screenshot_in_pieces(page)
    page.close()
    assert len(bands) == 1, bands
    top, bottom = bands[0]
    assert abs(top - gap) < 60 and 1950 <= bottom - top <= 2100, (bands, gap)


def test_the_code_width_check_finds_a_cell_that_scrolls(browser):
    """The check behind every notebook page: a code line too long for its cell is reported; short lines pass."""
    cell = ("<div class='cell_input'><div class='highlight'><pre style='width: 600px; overflow-x: auto; "
            "font-size: 14px'>{}</pre></div></div>")
    page = browser.new_page(viewport=VIEWPORT)
    page.set_content(cell.format("x = 1\ny = 2"))
    assert wide_code_cells(page, "short") == []
    page.set_content(cell.format("x = 1\n" + "y = " + "1 + " * 60 + "1"))
    problems = wide_code_cells(page, "long")
    page.close()
    assert len(problems) == 1 and "code cell 1 of 1 (from 'x = 1')" in problems[0], problems
