"""The Findings chapter printed as a paper (tools/findings_pdf.py): pages, title, abstract, figures.

Runs after the book build, like tests/test_book.py, whose ``site`` fixture serves the built HTML to
headless Chromium. The test prints ``findings.html`` with the tool's own routine and reads the PDF
with pypdf: more than one page, the chapter's title and "Abstract" in its text, at least one embedded
image per finding, and no missing-image box (every ``<img>`` of the page loaded before printing). The
PDF that ``tools/check.sh`` writes (book/_build/findings.pdf) is checked the same way when it is there.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import nbformat
import pytest

from test_book import BUILD, HTML, site  # noqa: F401  (site: the fixture, used by name)

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import findings_pdf  # noqa: E402

CHAPTER = ROOT / "research" / "findings.ipynb"
FINDING = re.compile(r"^### Finding \d+:", re.MULTILINE)


def chapter_title_and_findings() -> tuple[str, int]:
    """The chapter's title (its first heading) and how many findings it has (``### Finding N:``)."""
    notebook = nbformat.read(CHAPTER, as_version=4)
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    title = re.search(r"^# (.+)$", text, re.MULTILINE).group(1).strip().replace("\u2019", "'")
    return title, len(FINDING.findall(text))


def pdf_problems(data: bytes, title: str, findings: int) -> list[str]:
    """What is wrong with a printed chapter (empty when nothing is)."""
    pypdf = pytest.importorskip("pypdf", reason="pypdf is not installed (the dev extra has it)")
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    text = text.replace("\u2019", "'")  # the typographic apostrophe of the title
    images = sum(len(page.images) for page in reader.pages)
    problems = []
    if len(reader.pages) < 2:
        problems.append(f"{len(reader.pages)} page(s): a chapter of {findings} findings needs more")
    for wanted in (" ".join(title.split()[:3]), "Abstract"):
        if wanted.lower() not in text.lower():
            problems.append(f"{wanted!r} is not in the PDF's text")
    if images < findings:
        problems.append(f"{images} embedded images for {findings} findings (one figure each)")
    return problems


def test_the_helpers_see_a_bad_pdf(tmp_path):
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    problems = pdf_problems(buffer.getvalue(), "Findings: what it measures", 12)
    assert len(problems) == 4, problems  # one page, no title, no abstract, no images
    title, findings = chapter_title_and_findings()
    assert title.startswith("Findings") and findings >= 10


def test_the_chapter_prints_as_a_paper(site, tmp_path):  # noqa: F811
    driver, base = site
    if not (HTML / findings_pdf.PAGE).exists():
        pytest.fail(f"{findings_pdf.PAGE} was not built: is research/findings in book/_toc.yml?")
    title, findings = chapter_title_and_findings()
    driver.set_window_size(1280, 1600)
    data = findings_pdf.print_page(driver, base + findings_pdf.PAGE)  # fails if an <img> did not load
    loaded = driver.execute_script("return [...document.images].filter((i) => i.naturalWidth > 0).length")
    assert loaded >= findings, f"the page shows {loaded} loaded images for {findings} findings"
    (tmp_path / "findings.pdf").write_bytes(data)
    assert not pdf_problems(data, title, findings), pdf_problems(data, title, findings)


def test_the_pdf_of_the_check_stage():
    pdf = BUILD / "findings.pdf"  # written by tools/check.sh's findings-pdf stage
    if not pdf.exists():
        pytest.skip(f"{pdf} is not there: run .venv/bin/python tools/findings_pdf.py after the build")
    title, findings = chapter_title_and_findings()
    problems = pdf_problems(pdf.read_bytes(), title, findings)
    assert not problems, f"{pdf}:\n  " + "\n  ".join(problems)
