"""deepdream_lib.lessons.caffe_port: the original Caffe notebook's step and loop, retold in TensorFlow,
agrees with the library's engine where the book's appendix says it does, and differs where it says not."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from deepdream_lib import engine, objectives
from deepdream_lib.engine import DreamConfig
from deepdream_lib.errors import DeepDreamError
from deepdream_lib.lessons import caffe_port
from deepdream_lib.models import CAFFE_MEAN_BGR, Backbone, caffe_preprocess
from tests.conftest import make_tiny_backbone

LAYER = "conv2"


@pytest.fixture(scope="module")
def caffe_tiny() -> Backbone:
    """The tiny random conv net, fed like Caffe: BGR in [0, 255] minus the mean colour."""
    tiny = make_tiny_backbone(seed=3)
    return Backbone(dataclasses.replace(tiny.spec, preprocessing="caffe"), tiny.model)


def test_the_blob_is_caffe_preprocessing_and_converts_back(cat64):
    x = tf.constant(cat64[None])
    np.testing.assert_allclose(caffe_port.to_caffe(x, CAFFE_MEAN_BGR), caffe_preprocess(x), atol=1e-4)
    for mean in (CAFFE_MEAN_BGR, caffe_port.NOTEBOOK_MEAN_BGR):
        np.testing.assert_allclose(caffe_port.from_caffe(caffe_port.to_caffe(x, mean), mean), x, atol=1e-6)
    # the notebook's mean is not Keras': the blobs differ by that much
    gap = caffe_port.to_caffe(x) - caffe_port.to_caffe(x, CAFFE_MEAN_BGR)
    assert float(tf.reduce_max(tf.abs(gap))) == pytest.approx(1.68, abs=1e-3)


def test_one_caffe_step_is_the_library_step_with_mean_abs(caffe_tiny, cat64):
    x = tf.constant(cat64[None])
    shift = (5, -7)
    blob = caffe_port.caffe_step(caffe_tiny, caffe_port.to_caffe(x, CAFFE_MEAN_BGR), LAYER, shift,
                                 mean=CAFFE_MEAN_BGR)
    ported = caffe_port.from_caffe(blob, CAFFE_MEAN_BGR)
    size = tf.constant(caffe_port.NOTEBOOK_STEP_SIZE / 255)
    steps = {method: engine.make_step(caffe_tiny, objectives.layer_l2(LAYER), normalize=method)
             for method in ("mean_abs", "std")}
    same, _ = steps["mean_abs"](x, size, tf.constant(shift))
    other, _ = steps["std"](x, size, tf.constant(shift))
    moved = float(tf.reduce_mean(tf.abs(same - x)))
    assert moved > 1e-3
    assert float(tf.reduce_max(tf.abs(ported - same))) < 1e-5
    # the check can fail: the std-normalised step is another step
    assert float(tf.reduce_mean(tf.abs(ported - other))) > 0.05 * moved


def test_clip_keeps_the_blob_between_minus_mean_and_255_minus_mean(caffe_tiny, cat64):
    blob = caffe_port.to_caffe(tf.constant(cat64[None]))
    stepped = caffe_port.caffe_step(caffe_tiny, blob, LAYER, step_size=400.0)
    bias = np.array(caffe_port.NOTEBOOK_MEAN_BGR, np.float32)
    assert np.all(stepped.numpy() >= -bias - 1e-3) and np.all(stepped.numpy() <= 255 - bias + 1e-3)
    unclipped = caffe_port.caffe_step(caffe_tiny, blob, LAYER, step_size=400.0, clip=False).numpy()
    assert unclipped.min() < -bias.max() or unclipped.max() > 255 - bias.min()


def test_one_octave_of_the_port_is_the_library_dream(caffe_tiny, cat64):
    config = DreamConfig(num_steps=4, step_size=caffe_port.NOTEBOOK_STEP_SIZE / 255, num_octaves=1,
                         jitter=8, normalize="mean_abs", seed=2)
    library = engine.dream(cat64, objectives.layer_l2(LAYER), caffe_tiny, config, progress=False).image
    ported = caffe_port.caffe_dream(caffe_tiny, cat64, LAYER, iter_n=4, octave_n=1, jitter=8,
                                    mean=CAFFE_MEAN_BGR, random_seed=2)
    assert ported.shape == cat64.shape
    assert np.abs(ported - library).max() < 1e-4
    reseeded = caffe_port.caffe_dream(caffe_tiny, cat64, LAYER, iter_n=4, octave_n=1, jitter=8,
                                      mean=CAFFE_MEAN_BGR, random_seed=3)
    assert np.abs(reseeded - library).mean() > 1e-4  # other shifts, another dream


def test_octaves_carry_the_detail_up_and_end_at_full_size(caffe_tiny, cat64):
    ported = caffe_port.caffe_dream(caffe_tiny, cat64, LAYER, iter_n=2, octave_n=3, jitter=4)
    assert ported.shape == cat64.shape and 0 <= ported.min() and ported.max() <= 1
    assert np.abs(ported - cat64).mean() > 1e-3


def test_zoom_interpolates_linearly_with_the_corners_aligned():
    line = tf.reshape(tf.constant([0.0, 10.0, 40.0]), (1, 1, 3, 1))
    zoomed = caffe_port.zoom(line, (1, 5)).numpy().ravel()
    np.testing.assert_allclose(zoomed, [0.0, 5.0, 10.0, 25.0, 40.0], atol=1e-5)


def test_the_guide_seed_is_the_gradient_of_the_guide_objective(caffe_tiny, cat64):
    x = tf.constant(cat64[None])
    guide_image = tf.constant(np.ascontiguousarray(cat64[::-1, ::-1])[None])
    features = caffe_tiny.activations(guide_image, [LAYER])[LAYER]
    _, library = engine.objective_and_gradient(caffe_tiny, objectives.guide(LAYER, features), x)
    blob = caffe_port.to_caffe(x, CAFFE_MEAN_BGR)
    ported = tf.reverse(caffe_port.backward(caffe_tiny, blob, LAYER, caffe_port.guide_seed(features)), [-1])
    cosine = float(tf.reduce_sum(library * ported) / (tf.norm(library) * tf.norm(ported)))
    assert cosine > 0.9999
    _, plain = engine.objective_and_gradient(caffe_tiny, objectives.layer(LAYER), x)
    assert float(tf.reduce_sum(plain * ported) / (tf.norm(plain) * tf.norm(ported))) < 0.999


def test_a_network_not_fed_like_caffe_is_refused(tiny, cat64):
    with pytest.raises(DeepDreamError, match="preprocessing 'caffe'"):
        caffe_port.caffe_dream(tiny, cat64, LAYER, iter_n=1, octave_n=1)
