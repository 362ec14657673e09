"""Generate the learners' exercise notebooks from the solution notebooks.

    python tools/make_exercises.py           # write exercises/NN_exercises.ipynb from solutions/
    python tools/make_exercises.py --check   # write nothing; exit 1 and list stale files (CI)

In code cells, the lines from ``# BEGIN SOLUTION`` to ``# END SOLUTION`` (markers included) become one
line, ``raise NotImplementedError(...)``, at the BEGIN marker's indentation, so the signature and the
docstring stay visible. In markdown cells, ``<!-- BEGIN SOLUTION -->`` ... ``<!-- END SOLUTION -->``
blocks are removed. A nested, unmatched or unclosed marker stops the run (exit 2) and names the file
and the cell: a missing END would leak the answer. The generated notebook starts with a "generated,
do not edit" cell, has no outputs, its Colab badges point at exercises/, and its JSON is stable
(re-running gives no diff).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
STUB = 'raise NotImplementedError("Exercise: write your answer here")'
CODE_BEGIN = re.compile(r"^(\s*)#+\s*BEGIN SOLUTION\s*$")
CODE_END = re.compile(r"^\s*#+\s*END SOLUTION\s*$")
MD_BEGIN = re.compile(r"^\s*<!--\s*BEGIN SOLUTION\s*-->\s*$")
MD_END = re.compile(r"^\s*<!--\s*END SOLUTION\s*-->\s*$")
ANY_MARKER = re.compile(r"(BEGIN|END)\s+SOLUTION")
COLAB_SOLUTIONS = re.compile(r"(colab\.research\.google\.com/github/[^\s)\"']*?/blob/[^/\s]+/)solutions/")
HEADER = (
    "*Generated from `{source}` by `tools/make_exercises.py` — do not edit.* "
    "(Course authors: change the solutions notebook and regenerate. Learners: this copy is yours, "
    "fill in the answers.)"
)


class MarkerError(ValueError):
    """A solution marker is nested, unmatched or unclosed."""


def strip_solutions(source: str, cell_type: str = "code") -> str:
    """Return ``source`` with its solution blocks replaced (code) or removed (markdown).

    Raises :class:`MarkerError` (with a line number) for nested, unmatched or unclosed markers.
    """
    begin, end = (CODE_BEGIN, CODE_END) if cell_type == "code" else (MD_BEGIN, MD_END)
    kept: list[str] = []
    opened_at = None  # line number of the open BEGIN marker, if any
    for number, line in enumerate(source.splitlines(), start=1):
        start = begin.match(line)
        if start:
            if opened_at is not None:
                raise MarkerError(f"line {number}: BEGIN SOLUTION nested inside the one at line {opened_at}")
            opened_at = number
            if cell_type == "code":
                kept.append(start.group(1) + STUB)
        elif end.match(line):
            if opened_at is None:
                raise MarkerError(f"line {number}: END SOLUTION without a BEGIN SOLUTION before it")
            opened_at = None
        elif opened_at is None:
            if ANY_MARKER.search(line):
                raise MarkerError(f"line {number}: unrecognised solution marker {line.strip()!r}")
            kept.append(line)
    if opened_at is not None:
        raise MarkerError(f"line {opened_at}: BEGIN SOLUTION is never closed (the answer would leak)")
    while cell_type != "code" and kept and not kept[-1].strip():  # a removed block left a blank tail
        kept.pop()
    return "\n".join(kept) + ("\n" if source.endswith("\n") else "")


def has_solution(cell) -> bool:
    """True for a code cell holding a ``# BEGIN SOLUTION`` marker: an exercise cell."""
    return cell.cell_type == "code" and any(CODE_BEGIN.match(line) for line in cell.source.splitlines())


def make_exercise(solution_path: Path) -> str:
    """Return the text of the exercise notebook generated from ``solution_path``."""
    nb = nbformat.read(solution_path, as_version=4)
    relative = f"solutions/{solution_path.name}"
    for index, cell in enumerate(nb.cells, start=1):
        try:
            if cell.cell_type in ("code", "markdown"):
                cell.source = strip_solutions(cell.source, cell.cell_type)
        except MarkerError as error:
            first = cell.source.strip().splitlines()[0][:60] if cell.source.strip() else ""
            where = f"{solution_path}, cell {index} ({cell.cell_type}, starting {first!r})"
            raise MarkerError(f"{where}: {error}") from None
        cell.source = COLAB_SOLUTIONS.sub(r"\1exercises/", cell.source)
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    header = nbformat.v4.new_markdown_cell(HEADER.format(source=relative))
    nb.cells.insert(0, header)
    nb.metadata.pop("widgets", None)
    if (nb.nbformat, nb.nbformat_minor) >= (4, 5):  # cell ids: fixed, so the JSON is stable
        for index, cell in enumerate(nb.cells):
            cell.setdefault("id", f"cell-{index}")
        header.id = "generated-header"
    else:
        header.pop("id", None)
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"  # sorted keys, indent 1: stable


def target_for(solution: Path, exercises_dir: Path) -> Path:
    return exercises_dir / solution.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any file is stale")
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions", help="default: solutions/")
    parser.add_argument("--exercises", type=Path, default=ROOT / "exercises", help="default: exercises/")
    args = parser.parse_args(argv)

    solutions = sorted(args.solutions.glob("*_exercises.ipynb"))
    stale: list[str] = []
    for solution in solutions:
        try:
            text = make_exercise(solution)
        except MarkerError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        target = target_for(solution, args.exercises)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            stale.append(str(target))
            if not args.check:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
                print(f"wrote {target}")
    wanted = {target_for(solution, args.exercises) for solution in solutions}
    for orphan in sorted(set(args.exercises.glob("*_exercises.ipynb")) - wanted):
        stale.append(f"{orphan} (no solutions notebook)")
        if not args.check:
            orphan.unlink()
            print(f"removed {orphan}: no solutions notebook for it")
    if args.check and stale:
        print("stale exercise notebooks (run: python tools/make_exercises.py):", file=sys.stderr)
        for name in stale:
            print(f"  {name}", file=sys.stderr)
        return 1
    if args.check:
        print(f"exercises in sync: {len(solutions)} notebook(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
