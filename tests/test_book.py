"""The built book, in a real browser: figures load, formulas render, links resolve, widgets show.

Run after building the book (see book/_config.yml):

    DEEPDREAM_FAST=1 .venv/bin/jupyter-book build book/ -W -n --keep-going
    .venv/bin/python -m pytest -m book tests/test_book.py

Each page of book/_toc.yml is served from 127.0.0.1 and opened in headless Chromium (Debian packages
`chromium` and `chromium-driver`, driven by selenium). Per page it checks: every local image loaded
(lesson pages have a figure); MathJax typeset every formula and left no raw TeX in the text; every
relative link resolves to a file of the build; notebook pages have an "Open in Colab" link to
themselves; saved widget states rendered (and Output widgets are not empty); no local file is missing.
One screenshot per page goes to book/_build/screenshots/. The landing page's gallery shows a loaded dream
per tagged lesson cell, and the search page finds lessons. Skips when the book or Chromium is missing.
"""

from __future__ import annotations

import base64
import functools
import http.server
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("DEEPDREAM_BOOK_BUILD", ROOT / "book" / "_build"))  # another build to test
HTML = BUILD / "html"
SCREENSHOTS = BUILD / "screenshots"
sys.path.insert(0, str(ROOT / "tools"))
COLAB = __import__("sync_links").load_project().colab_prefix  # pyproject.toml [tool.deepdream-course]
CHROMIUM = next(filter(None, map(shutil.which, ["chromium", "chromium-browser", "google-chrome"])), None)
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1600",
]


def _pages() -> list[str]:
    """Every document of book/_toc.yml, in order (root first)."""
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [chapter["file"] for chapter in part["chapters"]]
    return pages


# ---- the browser and the server ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site():
    if not (HTML / "index.html").exists():
        pytest.skip("the book is not built: DEEPDREAM_FAST=1 .venv/bin/jupyter-book build book/")
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("Chromium is not installed: apt-get install -y chromium chromium-driver")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=HTML))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    profile = tempfile.mkdtemp(prefix="book-test-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver, f"http://127.0.0.1:{server.server_port}/"
    finally:
        driver.quit()
        server.shutdown()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver, script: str, timeout: float = 30.0) -> bool:
    """Poll a JavaScript condition until it is true or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.execute_script(script):
            return True
        time.sleep(0.25)
    return False


MATHJAX_DONE = """
const done = arguments[arguments.length - 1];
if (!document.querySelector('.math')) { done('no math'); return; }
setTimeout(() => done('MathJax never loaded or never finished'), 20000);
const wait = () => (window.MathJax && MathJax.startup && MathJax.startup.promise)
    ? MathJax.startup.promise.then(() => done('typeset'), (e) => done('error: ' + e))
    : setTimeout(wait, 100);
wait();
"""
WIDGETS_DONE = """
const views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
return [...views].every((s) => s.parentElement.querySelector('.jupyter-widgets'));
"""
RAW_TEX = """
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const skip = 'PRE, CODE, SCRIPT, STYLE, TEXTAREA, MJX-CONTAINER, .highlight';
const found = [];
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  if (node.parentElement.closest(skip)) continue;
  const text = node.textContent;
  if (text.includes('$$') || text.includes('\\\\frac') || text.includes('\\\\(') || text.includes('\\\\['))
    found.push(text.trim().slice(0, 80));
}
return found;
"""


# ---- one test per page ---------------------------------------------------------------------------------
@pytest.mark.parametrize("page", _pages())
def test_page_renders(site, page):
    driver, base = site
    target = HTML / f"{page}.html"
    assert target.exists(), f"{page}.html was not built"
    kind = page.split("/")[0] if "/" in page else "page"  # notebooks | exercises | page
    driver.get_log("browser")  # forget the previous page's messages
    driver.get(base + f"{page}.html")
    _wait(driver, "return document.readyState === 'complete'")
    driver.set_script_timeout(60)
    math = driver.execute_async_script(MATHJAX_DONE)
    widgets_done = _wait(driver, WIDGETS_DONE, timeout=30)
    problems: list[str] = []

    # images: every local one loaded; a lesson shows at least one figure (external images, such as the
    # Colab badge, cannot load offline and are not checked)
    images = driver.execute_script(
        "return [...document.images].map((i) => [i.src, i.complete && i.naturalWidth > 0,"
        " !!i.closest('.cell_output, .output')])"
    )
    for src, loaded, _ in images:
        if (src.startswith(base) or src.startswith("data:")) and not loaded:
            problems.append(f"image did not load: {src[:100]}")
    if kind == "notebooks" and not any(in_output and loaded for _, loaded, in_output in images):
        problems.append("a lesson page should show at least one figure, and this one shows none")

    # formulas: typeset, nothing raw left
    if math != "no math":
        if math != "typeset":
            problems.append(f"MathJax did not finish: {math}")
        untypeset = driver.execute_script(
            "return [...document.querySelectorAll('.math')].filter((m) => !m.querySelector('mjx-container'))"
            ".map((m) => m.textContent.slice(0, 60))"
        )
        problems += [f"formula not typeset: {text!r}" for text in untypeset]
        if not driver.execute_script("return document.querySelectorAll('mjx-container').length"):
            problems.append("the page has math but no mjx-container")
    problems += [f"raw TeX in the text: {text!r}" for text in driver.execute_script(RAW_TEX)]

    # links: every link to this site resolves to a built file
    for href in set(
        driver.execute_script("return [...document.querySelectorAll('a[href]')].map((a) => a.href)")
    ):
        if href.startswith(base):
            path = unquote(urlsplit(href).path).lstrip("/")
            file = HTML / path
            if not (file.is_file() or (file / "index.html").is_file()):
                problems.append(f"broken link: {path}")

    # Colab: notebook pages link to their own notebook in the repository
    if kind in ("notebooks", "exercises"):
        colab = driver.execute_script(
            f"return [...document.querySelectorAll('a[href^=\"{COLAB}\"]')].map(a => a.href)"
        )
        if not any(link.startswith(COLAB + f"{page}.ipynb") for link in colab):
            problems.append(f"no 'Open in Colab' link to {COLAB}{page}.ipynb (found: {colab})")

    # widgets: every saved view rendered; Output widgets hold what was displayed in them
    if not widgets_done:
        problems.append("a saved widget view did not render (is book/_vendor there? run book/vendor.sh)")
    empty_outputs = driver.execute_script(
        "return [...document.querySelectorAll('.jupyter-widgets.widget-output')]"
        ".filter((o) => !o.querySelector('img, pre, .jp-OutputArea-output')).length"
    )
    if empty_outputs:
        problems.append(f"{empty_outputs} Output widget(s) rendered empty")

    # nothing local missing (a 404 for a script, a font, an image)
    for entry in driver.get_log("browser"):
        message = entry.get("message", "")
        if message.startswith(base) and "Failed to load resource" in message and "favicon.ico" not in message:
            problems.append(f"missing file: {message.split(' ')[0]}")

    height = min(driver.execute_script("return document.documentElement.scrollHeight"), 8000)
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": 1280, "height": height, "scale": 1},
        },
    )
    (SCREENSHOTS / f"{page.replace('/', '__')}.png").write_bytes(base64.b64decode(shot["data"]))

    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


# ---- the landing page's gallery and the search page -------------------------------------------------------
def test_gallery_shows_a_dream_from_every_tagged_lesson(site):
    """The landing page shows one loaded figure per ``gallery``-tagged cell, linked to its lesson."""
    driver, base = site
    driver.get(base + "intro.html")
    _wait(driver, "return document.readyState === 'complete'")
    items = driver.execute_script(
        "return [...document.querySelectorAll('.dream-gallery figure')].map((f) => {"
        " const i = f.querySelector('img'); const a = f.querySelector('figcaption a');"
        " return [i && i.complete && i.naturalWidth > 0, a ? a.getAttribute('href') : null]; })"
    )
    expected = _gallery_cells()
    assert len(items) == sum(expected.values()), f"gallery has {len(items)} figures, tagged cells: {expected}"
    assert all(loaded for loaded, _ in items), "a gallery image did not load"
    linked = sorted({href.removesuffix(".html") for _, href in items})
    assert linked == sorted(expected), f"gallery links {linked}, lessons with tagged cells {sorted(expected)}"


def _gallery_cells() -> dict[str, int]:
    """Lesson page -> number of its cells tagged ``gallery`` (lessons of the table of contents)."""
    counts = {}
    for page in _pages():
        if page.startswith("notebooks/"):
            nb = nbformat.read(ROOT / f"{page}.ipynb", as_version=4)
            tagged = sum("gallery" in cell.metadata.get("tags", []) for cell in nb.cells)
            if tagged:
                counts[page] = tagged
    return counts


def test_the_api_page_documents_dream_and_its_config(site):
    """book/api.md is generated from the docstrings at build time: the entries are really there."""
    driver, base = site
    driver.get(base + "api.html")
    _wait(driver, "return document.readyState === 'complete'")
    documented = driver.execute_script("return [...document.querySelectorAll('dt[id]')].map((d) => d.id)")
    wanted = {"deepdream_lib.engine.dream", "deepdream_lib.engine.DreamConfig"}
    assert wanted <= set(documented), f"api.html documents {documented[:10]}..."


@pytest.mark.parametrize("query", ["octave", "receptive field"])
def test_search_finds_lessons(site, query):
    """The search page answers a query with links to pages of the book (built offline, no server)."""
    driver, base = site
    driver.get(base + f"search.html?q={query.replace(' ', '+')}")
    found = _wait(driver, "return document.querySelectorAll('#search-results ul.search li').length > 0", 30)
    assert found, f"no search result for {query!r}"
    links = driver.execute_script(
        "return [...document.querySelectorAll('#search-results ul.search li a')].map((a) => a.href)"
    )
    local = [unquote(urlsplit(link).path).lstrip("/") for link in links if link.startswith(base)]
    assert local and all((HTML / path).is_file() for path in local), local
