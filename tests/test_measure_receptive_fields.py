"""measure: receptive fields by formula (chain_of, receptive_field_by_formula) and by gradient
(centre_gradient, support_box, receptive_field), and the channel means shared by lessons 04 and 09."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import deepdream_lib as dd
from deepdream_lib import measure
from deepdream_lib.models import Backbone, get_spec

CONV, POOL = (3, 1), (2, 2)
VGG16_TO_BLOCK5 = [CONV] * 2 + [POOL] + [CONV] * 2 + [POOL] + [CONV] * 3 + [POOL] + [CONV] * 3 + [POOL]
VGG16_TO_BLOCK5 += [CONV] * 3


@pytest.fixture(scope="module")
def vgg_random() -> Backbone:
    return dd.load_model("vgg16_random")


def _branching_backbone() -> Backbone:
    """Two branches that meet in an Add: not a plain stack."""
    inputs = keras.Input((None, None, 3))
    stem = keras.layers.Conv2D(4, 3, strides=2, padding="same", name="stem")(inputs)
    side = keras.layers.Conv2D(4, 1, padding="same", name="side")(stem)
    merged = keras.layers.Add(name="skip")([stem, side])
    return Backbone(get_spec("vgg16_random"), keras.Model(inputs, merged))


def test_formula_by_hand():
    assert measure.receptive_field_by_formula([]) == (1, 1)
    assert measure.receptive_field_by_formula([CONV]) == (3, 1)
    assert measure.receptive_field_by_formula([CONV, POOL, CONV]) == (8, 2)  # 3, +1, +2*2
    assert measure.receptive_field_by_formula([(3, 1), (3, 1)]) == (5, 1)
    assert measure.receptive_field_by_formula([(7, 2), (3, 2)]) == (11, 4)  # ResNet's stem
    assert measure.receptive_field_by_formula([(3, 2), (3, 1)]) == (7, 2)  # the second layer's steps are 2 px
    assert measure.receptive_field_by_formula(VGG16_TO_BLOCK5) == (196, 16)


def test_chain_of_reads_the_keras_layers(vgg_random):
    assert measure.chain_of(vgg_random, "block3_conv3") == VGG16_TO_BLOCK5[:9]
    fields = [measure.receptive_field_by_formula(measure.chain_of(vgg_random, name))
              for name in vgg_random.spec.layers]
    assert [field for field, _ in fields] == [5, 14, 40, 92, 196]
    assert [jump for _, jump in fields] == [1, 2, 4, 8, 16]
    with pytest.raises(dd.UnknownLayerError):
        measure.chain_of(vgg_random, "block9_conv1")


def test_chain_of_refuses_branching_networks():
    with pytest.raises(dd.DeepDreamError, match="branches"):
        measure.chain_of(_branching_backbone(), "skip")


def test_formula_matches_the_gradient_support(vgg_random, tiny):
    for name in ("block1_conv2", "block2_conv2", "block3_conv3"):
        formula = measure.receptive_field_by_formula(measure.chain_of(vgg_random, name))[0]
        assert measure.receptive_field(vgg_random, name) == formula
    # the tiny net: 3, pool, 3, pool, 3 with 'same' padding -> 3, 4, 8, 10, 18
    assert measure.receptive_field(tiny, "conv3") == measure.receptive_field_by_formula(
        measure.chain_of(tiny, "conv3"))[0] == 18


def test_centre_gradient_is_zero_outside_the_field(vgg_random):
    gradient = measure.centre_gradient(vgg_random, "block2_conv2", size=64)
    top, bottom, left, right = measure.support_box(gradient)
    assert bottom - top + 1 <= 14 and right - left + 1 <= 14
    one = measure.centre_gradient(vgg_random, "block2_conv2", size=64, index=5)
    assert one.shape == (64, 64, 3) and not np.allclose(one, gradient)  # one channel is not all of them


def test_support_box():
    values = np.zeros((8, 9))
    assert measure.support_box(values) is None
    values[2, 3] = -1.0
    values[5, 7] = 2.0
    assert measure.support_box(values) == (2, 5, 3, 7)
    assert measure.support_box(np.repeat(values[..., None], 3, axis=-1)) == (2, 5, 3, 7)


def test_channel_means(tiny, cat64):
    images = np.stack([cat64, 1 - cat64])
    means = measure.channel_means(tiny, "conv2", images, batch_size=1)
    direct = tf.reduce_mean(tiny.activations(images, ["conv2"])["conv2"], axis=[1, 2]).numpy()
    assert means.shape == (2, 16)
    np.testing.assert_allclose(means, direct, rtol=1e-5)
    assert not np.allclose(means[0], means[1])
    with pytest.raises(dd.UnknownLayerError):
        measure.channel_means(tiny, "conv9", images)


def test_grayscale():
    image = np.stack([np.zeros((2, 3)), np.ones((2, 3)), np.full((2, 3), 0.5)], axis=-1)
    np.testing.assert_allclose(measure.grayscale(image), np.full((2, 3), 0.5))
    plane = np.arange(6.0).reshape(2, 3)
    assert np.array_equal(measure.grayscale(plane), plane)
