"""tools/time_lessons.py: the lesson timer the instructor guide's schedule comes from.

It must time a notebook without changing it, say which cell failed and why, and (with --cells) name each
cell's time as it ends, so a slow or stuck cell can be found.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "time_lessons.py"


@pytest.fixture
def time_lessons(monkeypatch):
    monkeypatch.setenv("DEEPDREAM_FAST", "1")  # the tool sets it for its kernels; restored afterwards
    spec = importlib.util.spec_from_file_location("time_lessons", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_notebook(path: Path, *sources: str) -> bytes:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbformat.write(notebook, path)
    return path.read_bytes()


def test_a_notebook_that_runs_is_timed_its_cells_named_and_it_is_unchanged(time_lessons, tmp_path, capsys):
    path = tmp_path / "ok.ipynb"
    before = write_notebook(path, "import time\ntime.sleep(0.3)", "x = 1 + 1")
    seconds, ok = time_lessons.time_notebook(path, fast=True, timeout_s=60, cells=True)
    assert ok == "yes"
    assert seconds >= 0.3
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip().startswith("cell")]
    assert [line.split(":")[0].strip() for line in lines] == ["cell  0", "cell  1"]
    assert "import time" in lines[0] and float(lines[0].split(":")[1].split("s")[0]) >= 0.3
    assert path.read_bytes() == before  # the notebook ran in a copy


def test_a_failing_notebook_is_reported_with_its_cell_and_error(time_lessons, tmp_path, capsys):
    path = tmp_path / "bad.ipynb"
    write_notebook(path, "x = 1", "raise ValueError('the dream got darker')", "y = 2")
    _, ok = time_lessons.time_notebook(path, fast=True, timeout_s=60)
    assert ok == "NO, cell 1: ValueError: the dream got darker"
    assert "cell" not in capsys.readouterr().err  # without cells=True, no per-cell lines
