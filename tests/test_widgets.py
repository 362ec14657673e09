"""widgets: a dream shows itself as it runs (DreamView), Stop keeps the picture so far, and StopDream ends a
dream from its post_step. The same panel driven through a real kernel is in test_widgets_kernel.py."""

from __future__ import annotations

import io
import threading
import warnings

import numpy as np
import pytest
from PIL import Image

from deepdream_lib import widgets
from deepdream_lib.engine import DreamConfig, StopDream, dream
from deepdream_lib.errors import DeepDreamError

CONFIG = DreamConfig(num_steps=5, num_octaves=2, jitter=0, step_size=0.02)


def decoded(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)), dtype=np.float32) / 255.0


def test_stop_dream_raised_in_post_step_ends_the_dream_with_the_picture_so_far_and_no_warning(tiny, cat64):
    seen = []

    def stop_after_three(images, index):
        seen.append(images.numpy()[0])
        if index == 2:
            raise StopDream
        return images

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Ctrl-C warns; a Stop does not
        result = dream(cat64, "conv2", tiny, CONFIG, post_step=stop_after_three, progress=False)
    assert result.interrupted and len(seen) == 3
    assert len(result.history) == 2  # the third step ran, but its objective value is not kept
    assert result.image.shape == cat64.shape  # the small octave, brought to the full size
    full = dream(cat64, "conv2", tiny, CONFIG, progress=False)
    assert not full.interrupted and np.abs(result.image - cat64).max() > 0.01
    assert np.abs(result.image - full.image).max() > 0.01  # the partial dream, not the whole one


def test_a_view_shows_the_first_step_every_few_steps_and_each_octave_then_the_result(tiny, cat64):
    view = widgets.DreamView(cat64)
    pictures = []
    view.picture.observe(lambda change: pictures.append(decoded(change["new"])), names="value")

    def run(post_step):
        return dream(cat64, "conv2", tiny, CONFIG, post_step=post_step, progress=False)

    view.start(run, CONFIG.num_steps, CONFIG.num_octaves, "conv2")
    done = [n for n in range(1, 11) if n == 1 or n % widgets.PREVIEW_EVERY == 0 or n % CONFIG.num_steps == 0]
    assert view.updates == len(done) == len(pictures)  # the finished picture is the last step's: not resent
    assert pictures[0].shape[0] < cat64.shape[0] == pictures[-1].shape[0]  # octave 1 is smaller
    assert np.allclose(pictures[-1], view.result.image, atol=1 / 255)
    assert view.progress.value == view.progress.max == 10
    assert view.caption.value.startswith("conv2, ") and "stopped" not in view.caption.value
    assert view.stop_button.disabled  # nothing to stop any more


def test_stop_in_a_background_dream_keeps_the_picture_so_far(tiny, cat64):
    view = widgets.DreamView(cat64)
    first_picture = threading.Event()
    view.picture.observe(lambda _change: first_picture.set(), names="value")
    config = DreamConfig(num_steps=100, num_octaves=2, jitter=0)

    def run(post_step):
        return dream(cat64, "conv2", tiny, config, post_step=post_step, progress=False)

    view.start(run, config.num_steps, config.num_octaves, "conv2", background=True)
    assert first_picture.wait(30)
    view.stop_button.click()
    view.wait(30)
    assert view.result.interrupted and 0 < len(view.result.history) < 200
    steps = len(view.result.history) + 1  # the step after which it stopped is in the picture, not its value
    assert view.progress.value == steps and f"stopped after {steps} of 200 steps" in view.caption.value
    assert np.allclose(decoded(view.picture.value), view.result.image, atol=1 / 255)
    assert np.abs(view.result.image - cat64).max() > 1 / 255  # dreamed a little: not the original


def test_a_new_start_stops_the_dream_still_running_in_the_view(tiny, cat64):
    view = widgets.DreamView(cat64)
    started, results = threading.Event(), []
    long = DreamConfig(num_steps=100, num_octaves=1, jitter=0)

    def slow(post_step):
        def signal(images, index):
            started.set()
            return post_step(images, index)

        result = dream(cat64, "conv2", tiny, long, post_step=signal, progress=False)
        results.append(result)
        return result

    view.start(slow, 100, 1, "first", background=True)
    assert started.wait(30)
    view.start(lambda post_step: dream(cat64, "conv2", tiny, CONFIG, post_step=post_step, progress=False),
               CONFIG.num_steps, CONFIG.num_octaves, "second", background=True)
    view.wait(30)
    assert results[0].interrupted and len(results[0].history) < 100  # the first was stopped...
    assert view.caption.value.startswith("second, ") and not view.result.interrupted  # ...the second ran


def test_a_bad_setting_is_one_line_in_the_view_in_the_background_and_raises_in_the_cell(tiny, cat64):
    view = widgets.DreamView(cat64)

    def run(post_step):
        return dream(cat64, "conv2", tiny, CONFIG, num_octaves=5, octave_scale=2.0, post_step=post_step)

    view.start(run, 5, 5, "conv2", background=True)
    view.wait(30)
    assert "smallest octave" in view.caption.value and "Traceback" not in view.caption.value
    assert view.result is None and view.stop_button.disabled
    with pytest.raises(DeepDreamError, match="smallest octave"):
        view.start(run, 5, 5, "conv2")


def test_dream_panel_keeps_its_views_and_runs_clicks_in_the_background_when_asked(tiny, cat64):
    panel = widgets.dream_panel(cat64, tiny, preview_size=32, full_size=64, config=CONFIG, background=True)
    preview, full = panel.views["preview"], panel.views["full"]
    assert preview.result is not None and full.result is None  # built: the preview ran in the cell
    assert max(preview.result.image.shape[:2]) == 32
    panel.children[1].click()  # render full size
    full.wait(30)
    assert max(full.result.image.shape[:2]) == 64 and full.updates > 1
