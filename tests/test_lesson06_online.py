"""Lesson 06's online branch runs here: the ImageNet models of ``keras.applications``, which it loads
where their weights can be had (Colab, the published build), loaded offline from local weights files.

The files hold random weights of the right shapes (``<name>.weights.h5`` in ``DEEPDREAM_WEIGHTS_DIR``,
which ``deepdream_lib.models.local_weights`` hands to the loaders), so no code path of the lesson runs
for the first time on the published build. The lesson's claims are about the offline networks and
are checked as usual; the ImageNet models only dream and draw (they learned nothing here). Slow (the
five networks are built twice and the lesson runs in a fresh kernel, fast mode): marked ``lessons``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from deepdream_lib.course import kernel_messages
from deepdream_lib.models import ARCHITECTURES

pytestmark = pytest.mark.lessons

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "notebooks" / "06_architectures_compared.ipynb"
IMAGENET = ["vgg16", "inception_v3", "resnet50", "mobilenet_v2", "efficientnet_b0"]


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory) -> Path:
    """A folder with ``<name>.weights.h5`` for each ImageNet entry lesson 06 loads (random, with top)."""
    import keras

    folder = tmp_path_factory.mktemp("imagenet_weights")
    for name in IMAGENET:
        keras.utils.set_random_seed(0)
        build = getattr(keras.applications, ARCHITECTURES[name]["ctor"])
        build(weights=None, include_top=True).save_weights(folder / f"{name}.weights.h5")
        keras.backend.clear_session()
    return folder


def _printed(cell) -> str:
    outputs = cell.get("outputs", [])
    return "".join(out.get("text", "") for out in outputs if out.get("output_type") == "stream")


def test_lesson06_loads_and_dreams_with_every_imagenet_model(weights_dir, monkeypatch):
    monkeypatch.delenv("DEEPDREAM_MODEL", raising=False)
    monkeypatch.setenv("DEEPDREAM_WEIGHTS_DIR", str(weights_dir))
    monkeypatch.setenv("DEEPDREAM_FAST", "1")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    kernel_messages.install()
    nb = nbformat.read(LESSON, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(LESSON.parent)}}).execute()  # fails on any error
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    (line_up,) = [cell for cell in code if "imagenet_models = {" in cell.source]
    assert f"ImageNet models loaded: {IMAGENET}" in _printed(line_up)
    (online,) = [cell for cell in code if cell.source.startswith("if imagenet_models:")]
    assert "Skipped" not in _printed(online)
    pictures = [out for out in online.outputs if "image/png" in out.get("data", {})]
    assert len(pictures) == 1, "the online cell should draw the ImageNet models' dreams"
    everything = "".join(_printed(cell) for cell in code)
    assert "Traceback" not in everything and "✗" not in everything
