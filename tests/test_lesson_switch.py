"""Every lesson runs with the other network too: ``DEEPDREAM_MODEL=vgg16`` (ImageNet VGG16, the classic look
on Colab), offline, with a locally written weights file of the right shapes.

The weights are random, so claims about what a network *learned* cannot hold: the lessons report them
(``show.claim(..., learned_by="vgg16_hed")``) instead of failing. What this test proves is that every
code path the switch opens runs end to end here before it runs on Colab or the published build.
Slow (each lesson in a fresh kernel, fast mode): marked ``lessons`` and run by ``tools/check.sh``'s
notebook stage, not by the library tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from deepdream_lib.course import kernel_messages

pytestmark = pytest.mark.lessons

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import lesson_stats  # noqa: E402  (PENDING_REWRITE: lessons expected to fail until rewritten)

LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory) -> Path:
    """A folder holding ``vgg16.weights.h5``: keras.applications VGG16 (with its classifier), random."""
    import keras

    folder = tmp_path_factory.mktemp("weights")
    keras.utils.set_random_seed(0)
    keras.applications.VGG16(weights=None, include_top=True).save_weights(folder / "vgg16.weights.h5")
    keras.backend.clear_session()
    return folder


def test_there_are_nine_lessons():
    assert len(LESSONS) == 9, [path.name for path in LESSONS]


@pytest.mark.parametrize("lesson", lesson_stats.lesson_params(LESSONS))
def test_lesson_runs_with_vgg16(lesson, weights_dir, monkeypatch):
    nb = nbformat.read(lesson, as_version=4)
    assert any("dd.lesson_model(" in cell.source for cell in nb.cells if cell.cell_type == "code"), (
        f"{lesson.name} has no MODEL = dd.lesson_model(...) setting"
    )
    monkeypatch.setenv("DEEPDREAM_MODEL", "vgg16")
    monkeypatch.setenv("DEEPDREAM_WEIGHTS_DIR", str(weights_dir))
    monkeypatch.setenv("DEEPDREAM_FAST", "1")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    kernel_messages.install()
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(lesson.parent)}})
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    printed = "".join(
        output.get("text", "") for cell in nb.cells for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )
    assert "Traceback" not in printed, printed[-2000:]
