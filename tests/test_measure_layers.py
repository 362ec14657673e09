"""measure.edge_correlation, measure.gradient_std and measure.clipped_fraction (used by lessons 01-02)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from skimage.filters import sobel

from deepdream_lib import measure
from deepdream_lib.engine import objective_and_gradient
from deepdream_lib.objectives import layer


def test_edge_correlation_is_one_for_an_edge_map_and_small_for_noise(cat64):
    edges = sobel(cat64.mean(axis=-1))
    assert measure.edge_correlation(cat64, np.stack([edges, 2 * edges], axis=-1)) > 0.99
    assert measure.edge_correlation(cat64, -edges[..., None]) < -0.99
    noise = np.random.default_rng(0).uniform(size=(*cat64.shape[:2], 4))
    assert abs(measure.edge_correlation(cat64, noise)) < 0.2
    assert measure.edge_correlation(cat64, np.ones((10, 10, 3))) == 0.0


def test_edge_correlation_averages_the_edges_down_to_the_map_size(cat64):
    half = sobel(cat64.mean(axis=-1))[:42:2, :64:2] + 0.0
    value = measure.edge_correlation(cat64, half[None, :, :, None])  # a batch of one is fine too
    assert 0.5 < value <= 1.0


def test_edge_correlation_of_vgg_block1_is_high(vgg, cat128):
    activation = vgg.activations(cat128[None], ["block1_conv2"])["block1_conv2"]
    assert measure.edge_correlation(cat128, activation) > 0.4


def test_gradient_std_is_the_raw_gradients_std_and_shrinks_with_area(tiny, cat64, cat128):
    _, gradient = objective_and_gradient(tiny, layer("conv2"), tf.constant(cat64[None]))
    assert np.isclose(measure.gradient_std(tiny, cat64, "conv2"), float(np.std(gradient.numpy())), rtol=1e-4)
    small, large = measure.gradient_std(tiny, cat64, "conv2"), measure.gradient_std(tiny, cat128, "conv2")
    assert 2.0 < small / large < 8.0  # 4x the pixels: each pixel's share of the mean is about 4x smaller


def test_clipped_fraction():
    image = np.full((4, 4, 3), 0.5)
    assert measure.clipped_fraction(image) == 0.0
    image[0] = 0.0
    image[1, :2] = 1.0
    assert np.isclose(measure.clipped_fraction(image), (12 + 6) / 48)
    assert measure.clipped_fraction(np.full((2, 2, 3), 0.999)) == 1.0  # within half a grey level of 1
