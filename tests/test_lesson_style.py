"""The lessons read like a textbook (tools/lesson_stats.py measures what is held here): a main path of
about 2,000 words with deep dives in "Going further" blocks, claims as one line each (no bare ``assert``
in any notebook's source), code that fits a page, and an opening that says how long the lesson takes."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import lesson_stats  # noqa: E402

LESSONS = lesson_stats.notebooks([])
NOTEBOOKS = LESSONS + lesson_stats.notebooks(["solutions"])


def test_the_counter_sees_asserts_dropdowns_and_long_lines():
    source = "x = 1  # a comment\nassert x == 1, 'no'\n%time y = 2\n"
    assert lesson_stats.bare_asserts(source) == 1
    markdown = "Two words.\n\n:::{dropdown} Going further: more\nThree more words.\n:::\n"
    assert lesson_stats.words(lesson_stats.DROPDOWN.sub(" ", markdown)) == 2
    assert [lesson_stats.words(m.group(0)) for m in lesson_stats.DROPDOWN.finditer(markdown)] == [7]
    assert lesson_stats.words('<div class="x" data-layer="y"><p>Four words of text.</p></div>') == 4


@pytest.mark.parametrize(
    "path", lesson_stats.lesson_params(NOTEBOOKS, lambda p: f"{p.parent.name}/{p.stem[:2]}")
)
def test_no_bare_assert_and_no_long_code_line(path):
    stats = lesson_stats.stats(path)
    assert stats.asserts == 0, f"{path.name}: {stats.asserts} bare assert(s): use lessons.show.claim"
    assert stats.long_lines == 0, f"{path.name}: {stats.long_lines} code line(s) over 88 characters"


@pytest.mark.parametrize("path", lesson_stats.lesson_params(LESSONS))
def test_main_path_about_two_thousand_words(path):
    stats = lesson_stats.stats(path)
    total = stats.main_words + stats.deep_words
    assert stats.main_words <= lesson_stats.MAIN_WORDS, f"{path.name}: main path {stats.main_words} words"
    assert stats.deep_words <= lesson_stats.DEEP_SHARE * total, (
        f"{path.name}: {stats.deep_words} of {total} words in Going-further blocks"
    )


@pytest.mark.parametrize("path", lesson_stats.lesson_params(LESSONS))
def test_opening_says_how_long_it_takes(path):
    opening = nbformat.read(path, as_version=4).cells[0].source.lower()
    assert "fast mode" in opening and "full quality" in opening and "minutes" in opening, (
        f"{path.name}: the first cell should say how long reading and doing take, and the compute time "
        "in fast mode and at full quality"
    )


DRAWS = ("show.comparison(", "viz.", "Image(", "plt.")


@pytest.mark.parametrize("path", lesson_stats.lesson_params(LESSONS))
def test_the_gallery_cell_draws_the_picture(path):
    """The landing page shows each lesson's ``gallery``-tagged cell's first figure, so that cell must draw."""
    tagged = [cell.source for cell in nbformat.read(path, as_version=4).cells
              if "gallery" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged 'gallery', the landing page wants 1"
    assert any(call in tagged[0] for call in DRAWS), (
        f"{path.name}: the 'gallery' cell draws nothing (none of {DRAWS}); tag the cell that shows the figure"
    )
