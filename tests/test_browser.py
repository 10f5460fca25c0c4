"""Every page of the built book in a real browser (headless Chromium), offline.

For each page of the table of contents: it loads with no console error, no
failed request and no request to another host; every image has loaded and
has alt text; MathJax has typeset every formula; a chapter has its code cells,
outputs and a Colab button pointing at its own notebook; every output image
is inside a ``<figure>`` with a non-empty caption; Previous and Next lead to
the neighbours in the table of contents. Search finds pages from the book's
own index. A full-page
screenshot of each page goes to ``book/_build/screenshots/`` for review.

Needs Debian's ``chromium`` (``make test`` installs it where it can) and the
``playwright`` Python package, which drives that system browser: no browser
is downloaded. Where Chromium is missing the test is skipped, except in CI
(``CI=true``), where it must run.
"""

import functools
import io
import os
import shutil
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
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]


def blank_bands(png: bytes, band: int = 1000) -> list[int]:
    """Top edges of the ``band``-pixel strips of the content column that are one flat colour.

    A page of the book never has a whole strip without text or figure in it, so
    such a strip in a screenshot is a part the browser did not paint.
    """
    from PIL import Image, ImageStat

    Image.MAX_IMAGE_PIXELS = None  # the API page is over 100,000 pixels tall
    image = Image.open(io.BytesIO(png)).convert("L")
    width, height = image.size
    column = (width // 4, 0, 3 * width // 4, height)  # the text, between the side bars
    return [top for top in range(0, height, band)
            if ImageStat.Stat(image.crop((column[0], top, column[2], min(height, top + band)))).stddev[0] < 1]


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
    page = browser.new_page(viewport={"width": 1280, "height": 900})
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

    # Headless Chromium sometimes leaves parts of a very tall page unpainted in a full-page
    # capture (the errata page showed white bands); take it again until the whole page is there.
    for _ in range(3):
        shot = page.screenshot(full_page=True)
        unpainted = blank_bands(shot)
        if not unpainted:
            break
        page.wait_for_timeout(1000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"{page_name.replace('/', '__')}.png").write_bytes(shot)
    page.close()
    assert not problems, "\n".join(problems)
    assert not unpainted, f"{page_name}: the screenshot is blank from y = {unpainted} px (1000 px bands)"


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
