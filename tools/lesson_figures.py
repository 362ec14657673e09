"""Run one lesson and save every figure it shows as a PNG, to look at each one as a reader would.

    .venv/bin/python tools/lesson_figures.py 03 /tmp/figs            # fast mode (as CI builds the book)
    .venv/bin/python tools/lesson_figures.py 03 /tmp/figs --full     # full quality
    DEEPDREAM_MODEL=vgg16 .venv/bin/python tools/lesson_figures.py 01 /tmp/figs

Writes ``NN-cellKK-I.png`` or ``.gif`` (cell index, figure index within the cell) and ``NN.ipynb`` (the
executed notebook) into the folder, and prints each figure's path with the cell's tags and the lines the cell
printed, so a figure can be read beside its caption. Runs in a temporary copy of the notebook's folder.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from deepdream_lib.course import kernel_messages

ROOT = Path(__file__).resolve().parent.parent


def export(lesson: str, out: Path, full: bool) -> list[Path]:
    """Execute lesson ``NN`` and write its figures to ``out``; return their paths."""
    (path,) = sorted((ROOT / "notebooks").glob(f"{lesson}_*.ipynb")) or [None]
    if path is None:
        raise SystemExit(f"no lesson {lesson!r} in notebooks/")
    os.environ["DEEPDREAM_FAST"] = "0" if full else "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    kernel_messages.install()
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as work:
        shutil.copytree(path.parent, work, dirs_exist_ok=True)
        NotebookClient(nb, timeout=1800, kernel_name="python3",
                       resources={"metadata": {"path": work}}).execute()
    out.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out / f"{lesson}.ipynb")
    written = []
    for index, cell in enumerate(nb.cells):
        outputs = cell.get("outputs", [])
        pictures = [(kind.split("/")[1], o["data"][kind]) for o in outputs
                    for kind in ("image/png", "image/gif") if kind in o.get("data", {})]
        printed = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
        for number, (suffix, picture) in enumerate(pictures):
            target = out / f"{lesson}-cell{index:02d}-{number}.{suffix}"
            target.write_bytes(base64.b64decode(picture))
            written.append(target)
            tags = ",".join(cell.metadata.get("tags", [])) or "-"
            print(f"{target}  [tags: {tags}]")
            for line in printed.strip().splitlines()[-6:]:
                print(f"    | {line}")
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lesson", help="the lesson's number, e.g. 03")
    parser.add_argument("out", type=Path, help="folder for the PNGs and the executed notebook")
    parser.add_argument("--full", action="store_true", help="full quality instead of fast mode")
    args = parser.parse_args(argv)
    print(f"{len(export(args.lesson, args.out, args.full))} figures in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
