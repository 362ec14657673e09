"""Recompute the book's Findings chapter: run research/findings.ipynb and write its figures and numbers.

    .venv/bin/python tools/findings.py OUT/            # full quality (DEEPDREAM_FAST=0), as on the Pages site
    .venv/bin/python tools/findings.py OUT/ --fast     # fast mode, the budget CI builds the book with

The notebook runs in a fresh kernel in a temporary copy of book/ (nothing in the repository changes),
through nbclient with the course's kernel waits (``deepdream_lib.course.kernel_messages``), as
``tools/time_lessons.py`` and the book build do. OUT then holds:

- one PNG per figure the chapter glues (``fig_jitter.png``, ``fig_octaves.png``, ...);
- ``numbers.json``: every number and text the chapter glues into its prose (``{"f4_trained": "+201.0%",
  ...}``), with the mode, the run time, the CPU and whether every finding reproduced;
- ``findings.ipynb``: the executed notebook, outputs included.

The run time is printed at the end (name the CPU when you quote it). Exit status 1 when the notebook
fails; a finding that does not reproduce is reported in numbers.json, not an error.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
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
CHAPTER = ROOT / "research" / "findings.ipynb"
RECORD = "application/papermill.record/"  # how MyST-NB's glue stores a value in an output


def glued(notebook: nbformat.NotebookNode) -> dict[str, dict[str, str]]:
    """Every value the notebook glued: ``{name: {mime type: data}}``, in the order of the notebook."""
    values: dict[str, dict[str, str]] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                data = output.get("data", {})
                values[name] = {key.removeprefix(RECORD): value for key, value in data.items()
                                if key.startswith(RECORD)}
    return values


def cpu_name() -> str:
    """The CPU's model name and core count, for the run time's context."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def write_outputs(
    notebook: nbformat.NotebookNode, out: Path, seconds: float, fast: bool
) -> dict[str, object]:
    """Write the glued figures as PNG files and the glued text as numbers.json; return its content."""
    out.mkdir(parents=True, exist_ok=True)
    numbers: dict[str, str] = {}
    figures = []
    for name, data in glued(notebook).items():
        if "image/png" in data:
            (out / f"{name}.png").write_bytes(base64.b64decode(data["image/png"]))
            figures.append(f"{name}.png")
        elif "text/plain" in data:
            numbers[name] = str(data["text/plain"]).strip()
    verdicts = {key.removesuffix("_verdict"): value for key, value in numbers.items()
                if key.endswith("_verdict")}
    report = {
        "mode": "fast" if fast else "full",
        "seconds": round(seconds, 1),
        "cpu": cpu_name(),
        "figures": figures,
        "verdicts": verdicts,
        "numbers": numbers,
    }
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    (out / "numbers.json").write_text(text, encoding="utf-8")
    nbformat.write(notebook, out / "findings.ipynb")
    return report


def run_chapter(fast: bool, timeout_s: int) -> tuple[nbformat.NotebookNode, float]:
    """Execute the chapter in a temporary copy of book/; return the executed notebook and its run time."""
    os.environ["DEEPDREAM_FAST"] = "1" if fast else "0"
    notebook = nbformat.read(CHAPTER, as_version=4)
    with tempfile.TemporaryDirectory() as work:
        shutil.copy(CHAPTER, work)
        client = NotebookClient(notebook, timeout=timeout_s, kernel_name="python3",
                                resources={"metadata": {"path": work}})
        start = time.perf_counter()
        client.execute()
        return notebook, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("out", type=Path, help="folder for the figures (PNG) and numbers.json")
    parser.add_argument("--fast", action="store_true",
                        help="fast mode (the CI budget) instead of full quality")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell (default 3600)")
    args = parser.parse_args(argv)
    kernel_messages.install()  # read each reply when it arrives, not when the cell's time limit ends
    mode = "fast mode" if args.fast else "full quality"
    print(f"running {CHAPTER.relative_to(ROOT)} at {mode} on {cpu_name()} ...", flush=True)
    try:
        notebook, seconds = run_chapter(args.fast, args.timeout)
    except CellExecutionError as error:
        print(f"the chapter failed: {error.ename}: {error.evalue}", file=sys.stderr)
        return 1
    report = write_outputs(notebook, args.out, seconds, args.fast)
    held = sum(value == "reproduced" for value in report["verdicts"].values())
    print(f"{len(report['figures'])} figures and {len(report['numbers'])} numbers in {args.out}/; "
          f"{held} of {len(report['verdicts'])} findings reproduced")
    print(f"run time: {seconds:.0f} s at {mode} ({report['cpu']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
