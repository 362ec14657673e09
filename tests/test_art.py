"""art: colour preservation, zoom crop, layer schedules, zoom videos, balanced mixes and video export."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import tensorflow as tf

import deepdream_lib as dd
from deepdream_lib.engine import objective_and_gradient
from deepdream_lib.lessons import art
from deepdream_lib.objectives import layer


def _ramp(height: int = 20, width: int = 30) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.stack([xs / (width - 1), ys / (height - 1), np.full_like(xs, 0.5)], axis=-1)


def test_ycbcr_round_trip_and_luminance():
    image = np.random.default_rng(0).uniform(0, 1, (5, 7, 3)).astype(np.float32)
    np.testing.assert_allclose(art.ycbcr_to_rgb(art.rgb_to_ycbcr(image)), image, atol=1e-5)
    np.testing.assert_allclose(art.rgb_to_ycbcr(image)[..., 0], art.luminance(image), atol=1e-6)
    gray = np.full((2, 2, 3), 0.3, np.float32)
    np.testing.assert_allclose(art.rgb_to_ycbcr(gray)[..., 1:], 0.0, atol=1e-6)  # no colour in gray


def test_preserve_colors_takes_brightness_from_dream_and_colour_from_original():
    rng = np.random.default_rng(1)
    original = rng.uniform(0.3, 0.7, (16, 16, 3)).astype(np.float32)
    dreamed = rng.uniform(0.3, 0.7, (16, 16, 3)).astype(np.float32)
    result = art.preserve_colors(original, dreamed)
    np.testing.assert_allclose(art.luminance(result), art.luminance(dreamed), atol=1e-4)
    chroma = art.rgb_to_ycbcr(result)[..., 1:]
    np.testing.assert_allclose(chroma, art.rgb_to_ycbcr(original)[..., 1:], atol=1e-4)
    saturated = art.preserve_colors(np.tile([1.0, 0.0, 0.0], (16, 16, 1)), np.ones((16, 16, 3)))
    assert saturated.min() >= 0.0 and saturated.max() <= 1.0  # clipped
    bigger = art.preserve_colors(rng.uniform(0, 1, (32, 32, 3)), dreamed)  # resized to the dream's size
    assert bigger.shape == dreamed.shape


def test_zoom_crop_is_a_centred_crop_resized_back():
    image = _ramp()
    zoomed = art.zoom_crop(image, 2.0)
    assert zoomed.shape == image.shape
    assert zoomed[..., 0].min() > 0.2 and zoomed[..., 0].max() < 0.8  # the middle half of x
    assert abs(zoomed[..., 0].mean() - 0.5) < 0.02 and abs(zoomed[..., 1].mean() - 0.5) < 0.02
    np.testing.assert_allclose(art.zoom_crop(image, 1.0), image, atol=1e-6)
    with pytest.raises(ValueError):
        art.zoom_crop(image, 0.9)


def test_objective_at_follows_the_schedule():
    schedule = [(3, "conv2"), (0, "conv1"), (6, "conv3")]  # order does not matter
    names = [str(art.objective_at(schedule, frame)) for frame in range(8)]
    assert names == ['layer("conv1")'] * 3 + ['layer("conv2")'] * 3 + ['layer("conv3")'] * 2
    with pytest.raises(ValueError, match="frame 0"):
        art.objective_at([(2, "conv1")], 0)
    with pytest.raises(ValueError, match="empty"):
        art.objective_at([], 0)


def test_zoom_frames_follows_the_schedule_and_records_it(tiny, cat64):
    video = art.zoom_frames(cat64, tiny, [(0, "conv1"), (2, "conv3")], num_frames=3, zoom=1.1,
                            num_steps=2, step_size=0.01, progress=False)
    assert len(video.frames) == 3 and all(frame.shape == cat64.shape for frame in video.frames)
    assert video.objectives == ['layer("conv1")', 'layer("conv1")', 'layer("conv3")']
    assert all(gain > 0 for gain in video.gains)  # every frame's dream raised its objective
    before, after = dd.objective_values(tiny, "conv1", cat64)[0], dd.objective_values(
        tiny, "conv1", video.frames[0])[0]  # the gain is measured on the pictures, without jitter
    assert video.gains[0] == pytest.approx((after - before) / before, rel=1e-5)
    assert video.metadata["deepdream:schedule"] == '0: layer("conv1"); 2: layer("conv3")'
    assert video.metadata["deepdream:num_steps"] == "2"
    assert video.metadata["Software"].startswith("deepdream_lib ")  # the engine's recipe, as a dream's
    kept = art.zoom_frames(cat64, tiny, "conv2", num_frames=2, keep_colors=True, num_steps=2, progress=False)
    np.testing.assert_allclose(art.rgb_to_ycbcr(kept.frames[0])[..., 1:], art.rgb_to_ycbcr(cat64)[..., 1:],
                               atol=0.02)
    with pytest.raises(ValueError):
        art.zoom_frames(cat64, tiny, "conv2", num_frames=0)


def test_balanced_mix_gives_each_layer_the_same_pull(tiny, cat64):
    mix = art.balanced_mix({"conv1": 1.0, "conv3": 1.0, "conv2": 0.0}, cat64, tiny)
    assert "conv2" not in str(mix)
    pixels = tf.constant(cat64[None])
    pulls = {}
    for name in ("conv1", "conv3"):
        gradient = objective_and_gradient(tiny, layer(name), pixels)[1]
        pulls[name] = float(tf.norm(gradient))
    mixed = objective_and_gradient(tiny, mix, pixels)[1]
    cosines = [float(tf.reduce_sum(mixed * objective_and_gradient(tiny, layer(n), pixels)[1]))
               / (float(tf.norm(mixed)) * pulls[n]) for n in ("conv1", "conv3")]
    assert abs(cosines[0] - cosines[1]) < 1e-3  # equal weights: the mix leans on neither layer
    with pytest.raises(ValueError):
        art.balanced_mix({"conv1": 0.0}, cat64, tiny)


def test_save_video_gif_mp4_and_no_overwrite(tmp_path):
    import imageio.v2 as imageio

    frames = [np.full((9, 11, 3), value, np.float32) for value in (0.1, 0.5, 0.9)]
    gif = art.save_video(frames, tmp_path / "a.gif", fps=5)
    assert gif.suffix == ".gif" and len(imageio.mimread(gif)) == 3
    with pytest.raises(FileExistsError):
        art.save_video(frames, gif)
    with pytest.raises(ValueError):
        art.save_video(frames, tmp_path / "a.avi")
    with pytest.raises(ValueError):
        art.save_video([], tmp_path / "b.gif")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        written = art.save_video(frames, tmp_path / "a.mp4", fps=5, comment="schedule")
    if art.ffmpeg_path() is None:
        assert written.suffix == ".gif"
    else:
        assert written.suffix == ".mp4"
        video = imageio.mimread(written)
        assert len(video) == 3 and video[0].shape == (8, 10, 3)  # cropped to even sides for H.264


def test_caption_frames_adds_a_readable_strip_and_keeps_the_picture():
    frames = [np.full((40, 160, 3), 0.5, np.float32), np.zeros((40, 160, 3), np.float32)]
    captioned = art.caption_frames(frames, ["frame 0: block2_conv2", "frame 1: block4_conv3"])
    assert [f.shape for f in captioned] == [(53, 160, 3)] * 2
    assert np.allclose(captioned[0][:40], frames[0], atol=1 / 255)  # the frame itself is unchanged
    strip = captioned[0][40:]
    assert strip.max() > 0.8 and strip.min() < 0.1  # light text on a dark strip
    assert not np.allclose(captioned[0][40:], captioned[1][40:])  # each frame its own caption
    with pytest.raises(ValueError, match="one caption per frame"):
        art.caption_frames(frames, ["only one"])
