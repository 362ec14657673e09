"""deepdream_lib.lessons.loop_lab (lesson 03's ablation lab) and the live preview of widgets.dream_panel."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from deepdream_lib import measure, widgets
from deepdream_lib.engine import DreamConfig, DreamResult, tile_starts
from deepdream_lib.errors import DeepDreamError
from deepdream_lib.lessons import loop_lab


def test_ablate_changes_one_setting_per_variant_and_measures_each_dream(tiny, cat64):
    base = DreamConfig(num_steps=3, num_octaves=1, jitter=0, step_size=0.02)
    trials = loop_lab.ablate(
        cat64, "conv2", tiny, base,
        {"plain": {}, "no normalisation": {"normalize": "none"}, "jitter": {"jitter": 8},
         "clip [-1, 1]": {"clip": False, "post_step": lambda images, _: tf.clip_by_value(images, -1.0, 1.0)}},
    )
    assert list(trials) == ["plain", "no normalisation", "jitter", "clip [-1, 1]"]
    assert trials["jitter"].config == DreamConfig(num_steps=3, num_octaves=1, jitter=8, step_size=0.02)
    assert trials["no normalisation"].config.normalize == "none"
    for trial in trials.values():
        assert len(trial.result.history) == 3  # the warm-up step is not part of the dream
        assert {"gain", "high_freq", "low_freq", "mean_change", "seconds_per_step"} <= set(trial.stats)
        assert trial.stats["seconds_per_step"] > 0
    assert trials["plain"].stats["gain"] > 0
    # the raw gradient of a mean activation is tiny: without normalisation the picture hardly moves
    assert trials["no normalisation"].stats["mean_change"] < 0.1 * trials["plain"].stats["mean_change"]
    assert trials["clip [-1, 1]"].config.clip is False and trials["clip [-1, 1]"].stats["min"] >= -1.0
    table = loop_lab.trial_table(trials, ("gain", "mean_change"))
    assert table.splitlines()[0].split() == ["variant", "gain", "mean_change"]
    assert len(table.splitlines()) == 5


def test_tiling_error_is_zero_far_from_tile_borders(vgg, cat128):
    error, distance = loop_lab.tiling_error(vgg, "block3_conv3", cat128, 64)
    assert error.shape == distance.shape == cat128.shape[:2]
    far = distance > measure.receptive_field(vgg, "block3_conv3")
    assert far.any() and (~far).any()
    assert error[far].max() < 1e-4  # the same gradient away from the borders...
    assert error[distance < 4].max() > 1e-3  # ...and a different one right at them


def test_tiling_error_with_one_tile_is_zero(tiny, cat64):
    error, distance = loop_lab.tiling_error(tiny, "conv2", cat64, 128)
    assert np.isinf(distance).all()
    assert error.max() < 1e-5


def test_memory_by_size_stops_growing_with_tiles(vgg):
    table = loop_lab.memory_by_size(vgg, "block4_conv3", [256, 512, 1024, 2048], tile_size=512)
    untiled = [table[size][0] for size in (256, 512, 1024, 2048)]
    tiled = [table[size][1] for size in (256, 512, 1024, 2048)]
    assert untiled == [measure.activation_memory(vgg, "block4_conv3", s, s) for s in (256, 512, 1024, 2048)]
    assert 15.9 < untiled[3] / untiled[1] < 16.1  # 4x the side, 16x the memory
    assert tiled[0] == untiled[0] and tiled[1] == tiled[2] == tiled[3] == untiled[1]
    assert int(tile_starts(tf.constant(2048), 512)[1]) == 512  # the tiles really are 512 px there


def test_dream_panel_live_preview_re_renders_when_a_control_changes(tiny, cat64, monkeypatch):
    calls = []

    def fake_dream(image, layer, backbone, config, progress=False, **settings):
        calls.append((image.shape[:2], layer, progress, settings))
        return DreamResult(image=image, history=[0.0], seconds=0.0)

    monkeypatch.setattr(widgets, "dream", fake_dream)
    box = widgets.dream_panel(cat64, tiny, preview_size=32, full_size=64, live=True)
    preview, render_button, _ = box.children
    assert render_button.description == "render full size"
    assert len(calls) == 1 and max(calls[0][0]) == 32 and calls[0][2] is False  # preview at build time

    controls = preview.children[0].children
    jitter = next(control for control in controls if control.description == "jitter")
    assert jitter.continuous_update is False
    jitter.value = 8
    assert len(calls) == 2 and calls[1][3]["jitter"] == 8  # the preview re-rendered by itself

    render_button.click()
    assert len(calls) == 3 and max(calls[2][0]) == 64 and callable(calls[2][3]["post_step"])  # full, live


def test_dream_panel_is_not_live_by_default(tiny, cat64, monkeypatch):
    calls = []
    fake = lambda image, *args, **kwargs: calls.append(1) or DreamResult(image=image, history=[0.0])  # noqa: E731
    monkeypatch.setattr(widgets, "dream", fake)
    box = widgets.dream_panel(cat64, tiny, preview_size=32, full_size=64)
    next(c for c in box.children[0].children[0].children if c.description == "jitter").value = 8
    assert len(calls) == 1


def test_a_panel_that_waits_for_its_button_says_so_and_the_hint_goes_when_it_runs(tiny, cat64, monkeypatch):
    fake = lambda image, *args, **kwargs: DreamResult(image=image, history=[0.0])  # noqa: E731
    monkeypatch.setattr(widgets, "dream", fake)
    box = widgets.dream_panel(cat64, tiny, preview_size=32, full_size=64)
    _, render_button, full_output = box.children
    hint = "Press 'render full size' to run it with the settings above.\n"
    assert [o["text"] for o in full_output.outputs] == [hint]
    render_button.click()
    assert not any("Press" in o.get("text", "") for o in full_output.outputs)


def test_repeating_cell_keeps_a_grid_and_cancels_what_does_not_repeat():
    rng = np.random.default_rng(0)
    grid = np.tile(rng.normal(size=(4, 4, 3)), (16, 16, 1))  # repeats every 4 px
    noise = rng.normal(size=grid.shape)
    found = loop_lab.repeating_cell(grid + noise, 4)
    assert found.shape == (4, 4, 3)
    expected = grid[:4, :4] - grid[:4, :4].mean(axis=(0, 1))
    assert np.abs(found - expected).max() < 0.5  # the noise averages down to 1 / 16 in each cell
    assert np.abs(loop_lab.repeating_cell(noise, 4)).mean() < 0.2 * np.abs(found).mean()
    with pytest.raises(DeepDreamError, match="twice the period"):
        loop_lab.repeating_cell(noise[:6], 4)
