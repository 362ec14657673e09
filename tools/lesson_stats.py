"""Read each lesson as a reader meets it: words on the main path and in "Going further" blocks, bare
``assert`` statements, code lines over 88 characters, and the cells tagged ``comparison``.

    .venv/bin/python tools/lesson_stats.py               # every lesson, one Markdown table
    .venv/bin/python tools/lesson_stats.py 03 solutions  # lesson 03, and the solution notebooks

``tests/test_lesson_style.py`` holds the lessons to the limits printed in the header.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
MAIN_WORDS = 2100  # "about 2,000" words on the main path
DEEP_SHARE = 0.40  # "at most about a third" of a lesson's words in Going-further blocks
CODE_WIDTH = 88
# Lessons whose "show, then measure" rewrite (issue 11) has not landed yet: the tests that hold a lesson
# to it (style, marked comparisons, the model switch) expect them to fail, and say why. Empty when done.
PENDING_REWRITE: frozenset[str] = frozenset()
DROPDOWN = re.compile(r"^(:{3,})\{dropdown\}.*?^\1\s*$", re.M | re.S)
FENCE = re.compile(r"^```.*?^```\s*$", re.M | re.S)
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


@dataclass(frozen=True)
class Stats:
    """What a reader of one notebook meets."""

    name: str
    main_words: int
    deep_words: int
    asserts: int
    long_lines: int
    comparisons: int


def words(markdown: str) -> int:
    """Words of prose: code fences, math, link targets and HTML tags (not their text) left out."""
    text = re.sub(r"<[^>]+>", " ", FENCE.sub(" ", markdown))
    text = re.sub(r"\$\$.*?\$\$|\$[^$\n]*\$", " ", text, flags=re.S)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return len(WORD.findall(text))


def bare_asserts(source: str) -> int:
    """``assert`` statements in a code cell (IPython magics and shell lines are skipped)."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return 0
    return sum(isinstance(node, ast.Assert) for node in ast.walk(tree))


def stats(path: Path) -> Stats:
    """The reader's view of one notebook."""
    nb = nbformat.read(path, as_version=4)
    main = deep = asserts = long_lines = comparisons = 0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            deep += sum(words(block.group(0)) for block in DROPDOWN.finditer(cell.source))
            main += words(DROPDOWN.sub(" ", cell.source))
        elif cell.cell_type == "code":
            asserts += bare_asserts(cell.source)
            long_lines += sum(len(line) > CODE_WIDTH for line in cell.source.splitlines())
            comparisons += "comparison" in cell.metadata.get("tags", [])
    return Stats(path.stem, main, deep, asserts, long_lines, comparisons)


def notebooks(selection: list[str]) -> list[Path]:
    """Lessons by number prefix ('03'), or every notebook of a folder ('solutions'); all lessons if empty."""
    if not selection:
        return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    found = []
    for item in selection:
        folder = ROOT / item
        found += sorted(folder.glob("*.ipynb")) if folder.is_dir() else sorted(
            (ROOT / "notebooks").glob(f"{item}_*.ipynb"))
    return found


def lesson_params(paths: list[Path], label=lambda p: p.stem[:2]) -> list:
    """pytest parameters for lessons, those in PENDING_REWRITE marked as expected to fail."""
    import pytest

    return [
        pytest.param(path, id=label(path), marks=pytest.mark.xfail(
            reason=f"lesson {path.stem[:2]}: issue 11's rewrite has not landed yet")
        ) if path.parent.name in ("notebooks", "solutions") and path.stem[:2] in PENDING_REWRITE
        else pytest.param(path, id=label(path))
        for path in paths
    ]


def main(argv: list[str]) -> int:
    print(f"limits: main path <= {MAIN_WORDS} words, Going further <= {DEEP_SHARE:.0%} of all words, "
          f"no bare assert, code lines <= {CODE_WIDTH} characters")
    print("| notebook | main words | going-further words | asserts | lines > 88 | comparisons |")
    print("|---|---|---|---|---|---|")
    for path in notebooks(argv):
        s = stats(path)
        row = (s.name, s.main_words, s.deep_words, s.asserts, s.long_lines, s.comparisons)
        print("| " + " | ".join(map(str, row)) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
