"""deepdream_lib.lessons.layers_lab: the effective receptive field, batched atlases, sizes of a change.

The receptive field by formula and by gradient support are the core's
(tests/test_measure_receptive_fields.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

import deepdream_lib as dd
from deepdream_lib.lessons import layers_lab
from deepdream_lib.parameterization import empty_image


@pytest.fixture(scope="module")
def backbone():
    return dd.load_model("vgg16_random")


def test_the_effective_field_is_smaller_than_the_field_and_grows_with_depth(backbone):
    footprints = [layers_lab.gradient_footprint(backbone, name, 96)
                  for name in ("block1_conv2", "block3_conv3")]
    assert footprints[0] <= 5 and footprints[1] <= 40
    assert footprints[1] > footprints[0]


def test_top_channels(backbone):
    image = empty_image(32, noise=0.2, seed=1)
    top = layers_lab.top_channels(backbone, image, "block1_conv2", k=5)
    means = backbone.activations(image[None], ["block1_conv2"])["block1_conv2"].numpy()[0].mean(axis=(0, 1))
    assert top.shape == (5,)
    assert np.array_equal(top, np.argsort(-means, kind="stable")[:5])
    assert np.all(np.diff(means[top]) <= 0)


def test_channel_atlas_batched_equals_one_by_one(backbone):
    start = empty_image(32, noise=0.1, seed=0)
    settings = dict(num_steps=2, num_octaves=1, jitter=2, step_size=0.01)
    batched = layers_lab.channel_atlas(backbone, "block2_conv2", [3, 5, 7], start, batch_size=2, **settings)
    single = layers_lab.channel_atlas(backbone, "block2_conv2", [3, 5, 7], start, batch_size=1, **settings)
    assert batched.shape == (3, 32, 32, 3)
    assert np.abs(batched - start).max() > 1e-3  # the dreams changed the start image
    np.testing.assert_allclose(batched, single, atol=1e-4)  # a batch is the same as one at a time
    assert np.abs(batched[0] - batched[1]).max() > 1e-3  # different channels, different dreams
    with pytest.raises(ValueError):
        layers_lab.channel_atlas(backbone, "block2_conv2", [1], start, batch_size=0)


def test_autocorrelation_width_grows_with_blob_size():
    noise = np.random.default_rng(0).normal(size=(96, 96))
    radial = layers_lab.radial_autocorrelation(noise)
    assert radial[0] == pytest.approx(1.0)
    widths = [layers_lab.autocorrelation_width(gaussian_filter(noise, sigma)) for sigma in (0.01, 2, 4, 8)]
    assert widths[0] < 1.0  # white noise decorrelates within a pixel
    assert widths == sorted(widths) and widths[-1] > 3 * widths[1] / 2
    # for a Gaussian blur of width s, the autocorrelation is exp(-d^2 / 4 s^2): 0.5 at d = 2 s sqrt(ln 2)
    assert widths[2] == pytest.approx(2 * 4 * np.sqrt(np.log(2)), rel=0.2)


def test_dominant_period_of_stripes():
    rows = np.arange(128)
    stripes = np.sin(2 * np.pi * rows / 8.0)[:, None] * np.ones((1, 128))
    assert layers_lab.dominant_period(stripes) == pytest.approx(8.0, rel=0.1)
    coarse = np.sin(2 * np.pi * rows / 32.0)[:, None] * np.ones((1, 128))
    assert layers_lab.dominant_period(coarse) > 3 * layers_lab.dominant_period(stripes)


def test_channels_objective_equals_the_sum_of_batched_channels():
    import tensorflow as tf

    from deepdream_lib.objectives import batched, channels

    a = tf.constant(np.random.default_rng(2).normal(size=(3, 4, 5, 6)).astype(np.float32))
    fast = channels("a", [4, 0])  # image 2 is beyond the list: 0
    slow = batched([dd.channel("a", 4, batch=0), dd.channel("a", 0, batch=1)])
    np.testing.assert_allclose(fast({"a": a}), slow({"a": a}), rtol=1e-6)
    assert float(fast({"a": a})[2]) == 0.0
    assert fast.channels == (("a", 4), ("a", 0)) and str(fast) == 'channels("a", [4, 0])'
    with pytest.raises(dd.DeepDreamError):
        channels("a", [1, -2])


def test_channel_atlas_by_feature_visualisation_from_one_neutral_start(backbone):
    start = empty_image(32, noise=0.01, seed=0)
    settings = dict(num_steps=3, learning_rate=0.1)
    batched = layers_lab.channel_atlas(backbone, "block2_conv2", [3, 5, 7], start, batch_size=2,
                                       method="visualize", **settings)
    single = layers_lab.channel_atlas(backbone, "block2_conv2", [3, 5, 7], start, batch_size=1,
                                      method="visualize", **settings)
    assert batched.shape == (3, 32, 32, 3)
    assert np.abs(batched - start).max() > 1e-3  # the pictures moved away from the grey start
    np.testing.assert_allclose(batched, single, atol=1e-4)  # every channel started from the same image
    assert np.abs(batched[0] - batched[1]).max() > 1e-3  # different channels, different pictures
    with pytest.raises(dd.DeepDreamError, match="method"):
        layers_lab.channel_atlas(backbone, "block2_conv2", [1], start, method="lucid")


def test_most_different_picks_one_of_each_kind():
    rng = np.random.default_rng(0)
    kinds = np.eye(3)[[0, 0, 0, 1, 1, 2]] + 0.01 * rng.normal(size=(6, 3))  # three of one, two, one
    picks = layers_lab.most_different(kinds, 3)
    assert sorted(np.argmax(kinds[picks], axis=1)) == [0, 1, 2]  # never two of the same kind
    shared = kinds + np.array([10.0, 10.0, 10.0])  # what every row shares does not count
    np.testing.assert_array_equal(layers_lab.most_different(shared, 3), picks)
    allowed = np.array([True, True, True, True, True, False])
    assert 5 not in layers_lab.most_different(kinds, 2, allowed)
    assert len(set(layers_lab.most_different(kinds, 6))) == 6


@pytest.mark.parametrize("k, allowed, message", [
    (0, None, "k must be between 1 and the 4"),
    (3, [True, False, False, True], "k must be between 1 and the 2"),
    (1, [True, False], "allowed must hold 4 booleans"),
])
def test_most_different_refuses_bad_requests(k, allowed, message):
    with pytest.raises(dd.DeepDreamError, match=message):
        layers_lab.most_different(np.eye(4), k, None if allowed is None else np.array(allowed))


def test_texture_descriptors_see_textures_not_places(backbone):
    stripes = np.zeros((32, 32, 3), np.float32)
    stripes[::4] = 1.0
    shifted, dots = np.roll(stripes, 2, axis=0), np.zeros_like(stripes)
    dots[::4, ::4] = 1.0
    d = layers_lab.texture_descriptors(backbone, np.stack([stripes, shifted, dots]), "block1_conv2")
    assert d.shape == (3, 64 * 64)
    assert np.abs(d[0] - d[1]).sum() < 0.2 * np.abs(d[0] - d[2]).sum()  # a shift keeps the texture
