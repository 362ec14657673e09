"""Print the book's Findings chapter as a PDF in a paper layout, offline, with Chromium.

    .venv/bin/python tools/findings_pdf.py                  # book/_build/html -> book/_build/findings.pdf
    .venv/bin/python tools/findings_pdf.py --html /tmp/b/_build/html --out /tmp/findings.pdf

Run it after the book build. It serves the built HTML from 127.0.0.1, opens ``findings.html`` in
headless Chromium (Debian's ``chromium`` and ``chromium-driver``, through selenium, as the browser
test does), waits until MathJax has typeset and every image has loaded, and prints the page with
Chrome's ``Page.printToPDF``. The paper layout is the page's print stylesheet
(``book/_ext/static/findings.css``, ``@media print``): no sidebars or code, serif text, A4 with page
numbers. It fails with one line when the page is missing or an image did not load (naturalWidth 0).

Why Chromium and not LaTeX: no TeX is installed here (nor in the book's CI), and Chromium prints the
very page the site shows, the same figures, captions and numbers, so the PDF cannot drift from it.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import http.server
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = "research/findings.html"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,1600"]
# every <img> eager, then wait for each to load or fail; MathJax's promise when the page has math
READY = """
const done = arguments[arguments.length - 1];
const images = [...document.images];
images.forEach((i) => { i.loading = 'eager'; });
const loaded = images.map((i) => i.complete ? Promise.resolve()
    : new Promise((ok) => { i.addEventListener('load', ok); i.addEventListener('error', ok); }));
const math = (window.MathJax && MathJax.startup && MathJax.startup.promise) || Promise.resolve();
Promise.all([...loaded, math]).then(() => done('ready'), (e) => done('error: ' + e));
"""
# the page's own images (the Colab badge is external: it cannot load offline, and print hides it)
BROKEN = ("return [...document.images].filter((i) => (i.src.startsWith(location.origin)"
          " || i.src.startsWith('data:')) && !(i.naturalWidth > 0)).map((i) => i.src)")
FOOTER = ('<div style="font-size:8px; width:100%; text-align:center; color:#555;">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')


class PrintError(RuntimeError):
    """The page could not be printed; the message says why, in one line."""


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1 (a free port) and yield its base address."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=folder))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium driven by selenium (skips nothing: raises PrintError when it is missing)."""
    binary = next(filter(None, map(shutil.which, ["chromium", "chromium-browser", "google-chrome"])), None)
    driver_path = shutil.which("chromedriver")
    if not (binary and driver_path):
        raise PrintError("Chromium is not installed: apt-get install -y chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="findings-pdf-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def print_page(driver, url: str, timeout_s: float = 60.0) -> bytes:
    """Open ``url``, wait for its images and formulas, check every image loaded, and return the PDF."""
    driver.get(url)
    deadline = time.monotonic() + timeout_s
    while driver.execute_script("return document.readyState") != "complete":
        if time.monotonic() > deadline:
            raise PrintError(f"{url} did not finish loading in {timeout_s:.0f} s")
        time.sleep(0.2)
    driver.set_script_timeout(timeout_s)
    state = driver.execute_async_script(READY)
    if state != "ready":
        raise PrintError(f"{url}: waiting for images and MathJax failed: {state}")
    broken = driver.execute_script(BROKEN)
    if broken:
        raise PrintError(f"{len(broken)} image(s) did not load (naturalWidth 0), first: {broken[0]}")
    pdf = driver.execute_cdp_cmd("Page.printToPDF", {
        "printBackground": True,
        "preferCSSPageSize": True,  # A4 and margins from the print stylesheet's @page
        "displayHeaderFooter": True,
        "headerTemplate": "<span></span>",
        "footerTemplate": FOOTER,
    })
    return base64.b64decode(pdf["data"])


def build_pdf(html: Path, out: Path, page: str = PAGE) -> Path:
    """Print ``html/page`` (a built book) to ``out``; return ``out``."""
    if not (html / page).is_file():
        raise PrintError(f"{html / page} is missing: build the book first (book/_config.yml says how)")
    with serve(html) as base, chromium() as driver:
        data = print_page(driver, base + page)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out


def main(argv: list[str] | None = None) -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--html", type=Path, default=ROOT / "book" / "_build" / "html",
                        help="the built book (default book/_build/html)")
    parser.add_argument("--out", type=Path, default=ROOT / "book" / "_build" / "findings.pdf",
                        help="where to write the PDF (default book/_build/findings.pdf)")
    args = parser.parse_args(argv)
    try:
        out = build_pdf(args.html, args.out)
    except PrintError as error:
        print(f"findings_pdf: {error}", file=sys.stderr)
        return 1
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
