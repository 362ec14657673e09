"""measure.activation_memory, measure.tile_border_distance and measure.energy_footprint (lessons 03-04)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import deepdream_lib as dd
from deepdream_lib import measure
from deepdream_lib.engine import dream, tile_starts
from deepdream_lib.objectives import neuron


def test_activation_memory_adds_up_the_feature_maps_up_to_the_layer(tiny):
    # tiny: conv1 (8 ch) -> pool1 -> conv2 (16 ch) -> pool2 -> conv3 (16 ch), 'same' convs, 2x2 pools
    h, w = 32, 48
    upto_conv2 = h * w * 3 + h * w * 8 + (h // 2) * (w // 2) * 8 + (h // 2) * (w // 2) * 16
    assert measure.activation_memory(tiny, "conv2", h, w) == 4 * upto_conv2
    upto_conv3 = upto_conv2 + (h // 4) * (w // 4) * 16 * 2
    assert measure.activation_memory(tiny, "conv3", h, w) == 4 * upto_conv3
    assert measure.activation_memory(tiny, "conv3", h, w, batch=3) == 3 * 4 * upto_conv3


def test_activation_memory_matches_the_real_activations_of_vgg(vgg):
    names = list(vgg.layer_names)[1:]
    names = names[: names.index("block3_conv3") + 1]
    real = vgg.activations(tf.zeros((1, 50, 70, 3)), names)
    expected = 4 * (50 * 70 * 3 + sum(int(np.prod(tensor.shape)) for tensor in real.values()))
    assert measure.activation_memory(vgg, "block3_conv3", 50, 70) == expected
    # a 4x larger area needs about 4x the memory; the whole image vs a quarter tile
    ratio = measure.activation_memory(vgg, "block4_conv3", 2048, 2048) / measure.activation_memory(
        vgg, "block4_conv3", 512, 512
    )
    assert 15.9 < ratio < 16.1


def test_activation_memory_rejects_unknown_layers(tiny):
    with pytest.raises(Exception, match="no layer"):
        measure.activation_memory(tiny, "conv9", 32, 32)


def test_tile_border_distance_follows_the_dream_tiles():
    assert np.all(np.isinf(measure.tile_border_distance(40, 50, 64)))  # one tile: no inner border
    distance = measure.tile_border_distance(64, 128, 64)  # two tiles side by side, border at column 64
    assert distance.shape == (64, 128)
    assert distance[0, 63] == 0.5 and distance[0, 64] == 0.5
    assert distance[10, 0] == 63.5 and distance[10, 127] == 63.5
    starts, _ = tile_starts(tf.constant(200), 64)
    borders = starts.numpy()[1:]
    column = measure.tile_border_distance(10, 200, 64)[0]
    assert np.allclose(column[borders], 0.5) and np.allclose(column[borders - 1], 0.5)


def test_energy_footprint_of_squares_and_points():
    change = np.zeros((21, 31, 3))
    assert measure.energy_footprint(change) == 0
    change[10, 15] = 1.0
    assert measure.energy_footprint(change) == 1
    change[8:13, 13:18] = 1.0  # a 5x5 square around the centre
    assert measure.energy_footprint(change, fraction=1.0) == 5
    assert measure.energy_footprint(change, fraction=0.3) == 3  # 9 of 25 pixels inside 3x3
    assert measure.energy_footprint(change[..., 0], centre=(10, 15)) == measure.energy_footprint(change)
    with pytest.raises(ValueError):
        measure.energy_footprint(change, fraction=0.0)


def test_a_neuron_dream_stays_inside_the_receptive_field(tiny):
    rng = np.random.default_rng(0)
    image = rng.uniform(0.3, 0.7, (48, 48, 3)).astype(np.float32)
    result = dream(image, neuron("conv3", 3), tiny, num_steps=3, num_octaves=1, jitter=0, progress=False)
    change = result.image - image
    rows, cols = np.nonzero(np.abs(change).sum(axis=-1) > 0)
    field = measure.receptive_field(tiny, "conv3")
    assert rows.size and np.ptp(rows) + 1 <= field and np.ptp(cols) + 1 <= field
    footprint = measure.energy_footprint(change, fraction=1.0, centre=(int(rows.mean()), int(cols.mean())))
    assert 1 < footprint <= field + 2


def test_detail_kept_is_one_for_the_same_picture_and_low_after_a_resize(cat128):
    assert measure.detail_kept(cat128, cat128) > 0.999
    small = tf.image.resize(cat128[None], (cat128.shape[0] // 2, cat128.shape[1] // 2))
    blurred = tf.image.resize(small, cat128.shape[:2]).numpy()[0]
    assert measure.detail_kept(cat128, blurred) < 0.8  # a 2x shrink loses part of the finest detail
    quarter = tf.image.resize(tf.image.resize(cat128[None], (21, 32)), cat128.shape[:2]).numpy()[0]
    assert measure.detail_kept(cat128, quarter) < measure.detail_kept(cat128, blurred)
    assert measure.detail_kept(cat128, np.full_like(cat128, 0.5)) == 0.0


def test_dream_stats_measures_a_dream(tiny, cat64):
    result = dream(cat64, "conv2", tiny, num_steps=4, num_octaves=1, jitter=0, step_size=0.02, progress=False)
    stats = measure.dream_stats(tiny, "conv2", cat64, result)
    before = dd.objective_values(tiny, "conv2", cat64)[0]
    after = dd.objective_values(tiny, "conv2", result.image)[0]
    assert np.isclose(stats["gain"], after / before - 1, rtol=1e-5) and stats["gain"] > 0
    assert 0 < stats["high_freq"] < 1 and 0 < stats["low_freq"] < 1
    assert np.isclose(stats["mean_change"], np.abs(result.image - cat64).mean(), rtol=1e-5)
    assert 0 < stats["detail_kept"] < 1
    assert stats["seconds_per_step"] == pytest.approx(result.seconds / 4)
    assert 0.0 <= stats["min"] and stats["max"] <= 1.0
    pair = np.stack([cat64, cat64])
    batch = dream(pair, "conv2", tiny, num_steps=2, num_octaves=1, jitter=0, progress=False)
    assert measure.dream_stats(tiny, "conv2", cat64, batch)["gain"] > 0  # the original is broadcast


def test_show_power_spectra_draws_one_panel_per_image(cat64):
    import matplotlib.pyplot as plt

    from deepdream_lib import viz

    noise = np.random.default_rng(0).uniform(size=(32, 32))
    figure = viz.show_power_spectra({"cat": cat64, "noise": noise}, period=8)
    assert len(figure.axes) == 2
    plt.close(figure)
