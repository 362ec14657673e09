"""The book's table of contents and the repository agree (no browser, no build needed).

- every page that book/_toc.yml lists exists (``.md`` or ``.ipynb``), so the strict build cannot miss one;
- every lesson and every exercise notebook is in the table of contents, so none goes unpublished;
- every lesson has its solutions notebook, and every lesson tags at least one cell ``gallery`` (its dream
  on the landing page, see book/_ext/deepdream_book.py);
- the API page (book/api.md, generated from the docstrings at build time) names every public name of the
  core, ``deepdream_lib.__all__``, in one of its autosummary tables.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

import deepdream_lib

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


def toc_pages(toc_file: Path = BOOK / "_toc.yml") -> list[str]:
    """Every document of a jb-book table of contents, root first."""
    toc = yaml.safe_load(toc_file.read_text(encoding="utf-8"))
    return [toc["root"]] + [chapter["file"] for part in toc.get("parts", []) for chapter in part["chapters"]]


def missing_pages(pages: list[str], book: Path = BOOK) -> list[str]:
    """The pages with neither a ``.md`` nor an ``.ipynb`` file in the book folder."""
    return [page for page in pages if not any((book / f"{page}{ext}").is_file() for ext in (".md", ".ipynb"))]


def test_toc_helpers_see_a_missing_page(tmp_path):
    (tmp_path / "intro.md").write_text("# intro\n")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nparts:\n"
                                       "  - caption: x\n    chapters:\n      - file: lost\n")
    pages = toc_pages(tmp_path / "_toc.yml")
    assert pages == ["intro", "lost"]
    assert missing_pages(pages, tmp_path) == ["lost"]


def test_every_toc_page_exists():
    assert missing_pages(toc_pages()) == []


@pytest.mark.parametrize("folder", ["notebooks", "exercises"])
def test_every_notebook_is_in_the_toc(folder):
    notebooks = sorted(f"{folder}/{path.stem}" for path in (ROOT / folder).glob("*.ipynb"))
    assert notebooks, f"no notebook in {folder}/"
    unlisted = sorted(set(notebooks) - set(toc_pages()))
    assert not unlisted, f"not in book/_toc.yml: {unlisted}"


def test_every_lesson_has_solutions_and_a_gallery_dream():
    for lesson in sorted((ROOT / "notebooks").glob("*.ipynb")):
        number = lesson.name[:2]
        assert (ROOT / "solutions" / f"{number}_exercises.ipynb").is_file(), f"no solutions for {lesson.name}"
        nb = nbformat.read(lesson, as_version=4)
        tagged = [cell for cell in nb.cells if "gallery" in cell.metadata.get("tags", [])]
        assert tagged, f"{lesson.name}: tag one cell that shows a dream 'gallery' (the landing page shows it)"
        assert all(cell.cell_type == "code" for cell in tagged), f"{lesson.name}: tag a code cell"


def autosummary_entries(source: str) -> list[str]:
    """The names listed in the ``.. autosummary::`` tables of a page (their last dotted part)."""
    entries = []
    for table in re.findall(r"^\.\. autosummary::\n((?:   .*\n|\n)+)", source, flags=re.MULTILINE):
        entries += [line.strip().lstrip("~").rsplit(".", 1)[-1] for line in table.splitlines()
                    if line.strip() and not line.strip().startswith(":")]
    return entries


def test_autosummary_entries_reads_the_tables():
    page = ".. autosummary::\n   :nosignatures:\n\n   dream\n   ~engine.DreamConfig\n\nprose dream_less\n"
    assert autosummary_entries(page) == ["dream", "DreamConfig"]


def test_the_api_page_lists_every_public_name():
    assert "api" in toc_pages()
    source = (BOOK / "api.md").read_text(encoding="utf-8")
    listed = autosummary_entries(source)
    missing = [name for name in deepdream_lib.__all__ if name != "__version__" and name not in listed]
    assert missing == [], f"add these to an autosummary table of book/api.md: {missing}"
    assert "__version__" in source
    assert len(listed) == len(set(listed)), "a name is listed twice"
