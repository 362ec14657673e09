"""Time every lesson notebook from top to bottom, in fast mode and/or at full quality.

    .venv/bin/python tools/time_lessons.py                 # fast mode, all lessons
    .venv/bin/python tools/time_lessons.py --full 01 03    # full quality, lessons 01 and 03
    .venv/bin/python tools/time_lessons.py --full --cells 06   # also each code cell's time, as it ends

Prints a Markdown table (lesson, mode, seconds, ok) for the instructor guide's schedule. Each notebook
runs in a fresh kernel in a temporary copy, so nothing in the repository changes. With ``--cells``, each
code cell's time is printed the moment it finishes (to stderr), so a slow or stuck cell is named while
it runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from deepdream_lib.course import kernel_messages

ROOT = Path(__file__).resolve().parent.parent


class _CellClock:
    """nbclient hooks that print each code cell's time when it ends (to stderr, at once)."""

    def __init__(self) -> None:
        self.start = 0.0

    def started(self, cell: nbformat.NotebookNode, cell_index: int, **_) -> None:
        self.start = time.perf_counter()

    def executed(self, cell: nbformat.NotebookNode, cell_index: int, **_) -> None:
        first_line = cell.source.strip().splitlines()[0][:60] if cell.source.strip() else ""
        seconds = time.perf_counter() - self.start
        print(f"  cell {cell_index:2d}: {seconds:7.1f} s  {first_line}", file=sys.stderr, flush=True)


def time_notebook(path: Path, fast: bool, timeout_s: int, cells: bool = False) -> tuple[float, str]:
    """Run one notebook in a temporary copy of its folder; return (seconds, "yes" or what failed)."""
    os.environ["DEEPDREAM_FAST"] = "1" if fast else "0"
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as work:
        shutil.copy(path, work)
        client = NotebookClient(notebook, timeout=timeout_s, kernel_name="python3",
                                resources={"metadata": {"path": work}})
        if cells:
            clock = _CellClock()
            client.on_cell_execute, client.on_cell_executed = clock.started, clock.executed
        start = time.perf_counter()
        try:
            client.execute()
            ok = "yes"
        except CellExecutionError as error:
            cell = next((i for i, c in enumerate(notebook.cells) if any(
                o.get("output_type") == "error" for o in c.get("outputs", []))), "?")
            ok = f"NO, cell {cell}: {error.ename}: {error.evalue}".replace("|", "/").replace("\n", " ")[:300]
        return time.perf_counter() - start, ok


def main(argv: list[str] | None = None) -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("lessons", nargs="*", help="lesson numbers, e.g. 01 03 (default: all)")
    parser.add_argument("--full", action="store_true", help="full quality instead of fast mode")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--cells", action="store_true", help="also print each code cell's time as it ends")
    args = parser.parse_args(argv)
    kernel_messages.install()  # read each reply when it arrives, not when the cell's time limit ends
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.lessons:
        paths = [p for p in paths if p.name[:2] in set(args.lessons)]
    mode = "full" if args.full else "fast"
    print("| lesson | mode | seconds | ok |\n|---|---|---|---|")
    failures = 0
    for path in paths:
        seconds, ok = time_notebook(path, not args.full, args.timeout, args.cells)
        failures += ok != "yes"
        print(f"| {path.stem} | {mode} | {seconds:.0f} | {ok} |", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
