"""The diversity objective and the Gram similarity it lowers: definitions, gradient, composition, refusals.

``objectives.diversity`` and ``measure.gram_similarity`` share ``measure.gram_cosines``; here they are
checked against NumPy written from the definitions, against finite differences in float64, and by what
they claim to do: a few steps of ascent with the term leave a batch's styles less alike than the same
steps without it.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf

import deepdream_lib as dd
from deepdream_lib import engine, measure
from deepdream_lib.errors import DeepDreamError, ObjectiveError, UnknownLayerError
from deepdream_lib.objectives import channel, diversity, layer


def _features(seed: int = 0, shape: tuple[int, ...] = (4, 5, 6, 7)) -> np.ndarray:
    """ReLU-like random feature maps in float64, a different mix of channels per image."""
    rng = np.random.default_rng(seed)
    mix = rng.uniform(0.2, 2.0, (shape[0], 1, 1, shape[-1]))
    return np.maximum(rng.normal(0.3, 1.0, shape), 0.0) * mix


def _numpy_similarity(features: np.ndarray) -> float:
    """Mean over pairs i < j of cos(G_i, G_j), G = F^T F / positions, written out in NumPy."""
    n, h, w, c = features.shape
    flat = features.reshape(n, h * w, c)
    grams = [(f.T @ f / (h * w)).ravel() for f in flat]
    return float(np.mean([a @ b / np.linalg.norm(a) / np.linalg.norm(b)
                          for a, b in itertools.combinations(grams, 2)]))


def test_gram_matrix_is_the_mean_over_positions_of_channel_products():
    features = _features(1)
    gram = measure.gram_matrix(features).numpy()
    n, h, w, c = features.shape
    flat = features.reshape(n, h * w, c)
    expected = np.einsum("npc,npd->ncd", flat, flat) / (h * w)
    assert gram.shape == (n, c, c) and gram.dtype == np.float64
    np.testing.assert_allclose(gram, expected, rtol=1e-12)


def test_gram_similarity_is_the_mean_pairwise_cosine():
    features = _features(2)
    assert measure.gram_similarity(features) == pytest.approx(_numpy_similarity(features), rel=1e-10)
    cosines = measure.gram_cosines(features).numpy()
    np.testing.assert_allclose(np.diag(cosines), 1.0, rtol=1e-12)
    np.testing.assert_allclose(cosines, cosines.T, rtol=1e-12)


def test_gram_similarity_sees_style_not_place_or_scale():
    """1 for one picture's features shuffled over positions and rescaled; lower for different mixes."""
    features = _features(3, (1, 6, 6, 5))[0]
    rng = np.random.default_rng(0)
    shuffled = rng.permutation(features.reshape(36, 5)).reshape(6, 6, 5)
    same_style = np.stack([features, 3.0 * shuffled, np.roll(features, 2, axis=1)])
    assert measure.gram_similarity(same_style) == pytest.approx(1.0, abs=1e-12)
    assert measure.gram_similarity(_features(4)) < 0.99


def test_diversity_is_minus_each_images_mean_similarity_to_the_others():
    features = _features(5)
    values = diversity("a")({"a": tf.constant(features)}).numpy()
    cosines = measure.gram_cosines(features).numpy()
    expected = -(cosines.sum(axis=1) - 1.0) / (len(features) - 1)
    np.testing.assert_allclose(values, expected, rtol=1e-12)
    assert values.mean() == pytest.approx(-measure.gram_similarity(features), rel=1e-12)


def test_the_gradient_matches_finite_differences_through_a_small_conv_layer():
    """float64 end to end: pixels -> 3x3 convolution -> softplus -> diversity, central differences."""
    rng = np.random.default_rng(6)
    kernel = tf.constant(rng.normal(0.0, 0.5, (3, 3, 3, 5)))
    images = tf.constant(rng.uniform(0.0, 1.0, (3, 6, 7, 3)))
    objective = diversity("conv")

    def total(x: tf.Tensor) -> tf.Tensor:
        features = tf.nn.softplus(tf.nn.conv2d(x, kernel, 1, "SAME"))
        return tf.reduce_sum(objective({"conv": features}))  # what the engine climbs

    with tf.GradientTape() as tape:
        tape.watch(images)
        value = total(images)
    gradient = tape.gradient(value, images).numpy()
    step = 1e-5  # float64: round-off ~1e-16 * |total| / step stays far below the tolerance
    for index in [tuple(rng.integers(0, s) for s in images.shape) for _ in range(12)]:
        bump = np.zeros(images.shape)
        bump[index] = step
        numeric = (float(total(images + bump)) - float(total(images - bump))) / (2 * step)
        assert gradient[index] == pytest.approx(numeric, rel=1e-5, abs=1e-9), index
    assert np.abs(gradient).max() > 1e-4  # the comparison is not between zeros


def test_a_few_steps_with_diversity_leave_the_styles_less_alike(tiny):
    rng = np.random.default_rng(7)
    starts = np.clip(0.5 + 0.1 * rng.normal(size=(3, 64, 64, 3)), 0, 1).astype(np.float32)
    recipe = dict(num_steps=12, num_octaves=1, step_size=0.02, jitter=4, progress=False)
    target = channel("conv3", 5)
    plain = dd.dream(starts, target, tiny, **recipe).image
    diverse = dd.dream(starts, target + 5.0 * diversity("conv3"), tiny, **recipe).image
    before, without, with_term = (measure.gram_similarity(images, tiny, "conv3")
                                  for images in (starts, plain, diverse))
    assert with_term < without - 0.02, (before, without, with_term)
    # the term did not simply stop the dream: the images moved about as far
    assert np.abs(diverse - starts).mean() > 0.5 * np.abs(plain - starts).mean()


def test_diversity_composes_and_prints_like_the_other_objectives():
    combined = channel("block4_conv3", 7) + 0.5 * diversity("block3_conv3")
    assert str(combined) == 'channel("block4_conv3", 7) + 0.5 * diversity("block3_conv3")'
    assert str(layer("a") - diversity("b")) == 'layer("a") - diversity("b")'
    assert combined.layers == {"block4_conv3", "block3_conv3"}
    assert combined.channels == (("block4_conv3", 7),)
    assert combined.batch_terms == ('diversity("block3_conv3")',)
    assert (-combined).batch_terms == combined.batch_terms
    assert sum([layer("a"), 2 * diversity("b")]).batch_terms == ('diversity("b")',)
    assert layer("a").batch_terms == () and (layer("a") + channel("b", 1)).batch_terms == ()
    assert dd.diversity is diversity and "diversity" in dd.__all__
    features = {"a": tf.constant(_features(8), tf.float32), "b": tf.constant(_features(9), tf.float32)}
    mixed = (layer("a") + 2.0 * diversity("b"))(features)
    np.testing.assert_allclose(mixed, layer("a")(features) + 2.0 * diversity("b")(features), rtol=1e-6)


def test_a_tiled_dream_refuses_a_batch_level_term(tiny):
    starts = np.random.default_rng(10).uniform(0, 1, (2, 128, 128, 3)).astype(np.float32)
    objective = channel("conv2", 1) - 0.5 * diversity("conv2")
    with pytest.raises(ObjectiveError, match="cannot be computed tile by tile") as refusal:
        dd.dream(starts, objective, tiny, tile_size=64, num_steps=1, num_octaves=1, progress=False)
    message = str(refusal.value)
    assert "\n" not in message and 'diversity("conv2")' in message and "tile_size=None" in message
    with pytest.raises(ObjectiveError, match="tile by tile"):
        engine.make_step(tiny, objective, tile_size=64)
    with pytest.raises(ObjectiveError, match="tile by tile"):
        engine.tiled_objective_and_gradient(tiny, objective, tf.constant(starts), 64)
    # without tiles the same objective dreams; with tiles an objective without the term still does
    dd.dream(starts, objective, tiny, num_steps=1, num_octaves=1, progress=False)
    dd.dream(starts, channel("conv2", 1), tiny, tile_size=64, num_steps=1, num_octaves=1, progress=False)


def test_one_image_is_refused_by_dream_and_scores_zero(tiny, cat64):
    with pytest.raises(ObjectiveError, match="N >= 2 different images") as refusal:
        dd.dream(cat64, channel("conv2", 1) + diversity("conv2"), tiny, num_steps=1, progress=False)
    assert "\n" not in str(refusal.value)
    one = tf.Variable(_features(11, (1, 4, 4, 3)))
    with tf.GradientTape() as tape:
        value = diversity("a")({"a": one})
    assert value.numpy().tolist() == [0.0]
    gradient = tape.gradient(value, one)
    assert gradient is None or float(tf.reduce_max(tf.abs(gradient))) == 0.0


def test_gram_similarity_rejects_what_it_cannot_compare(tiny, cat64):
    with pytest.raises(DeepDreamError, match="at least two"):
        measure.gram_similarity(_features(12, (1, 4, 4, 3)))
    with pytest.raises(DeepDreamError, match="at least two"):
        measure.gram_similarity(np.ones((4, 4, 3)))
    with pytest.raises(DeepDreamError, match="name the layer"):
        measure.gram_similarity(np.stack([cat64, cat64]), tiny)
    with pytest.raises(DeepDreamError, match="set of images"):
        measure.gram_similarity(cat64, tiny, "conv2")
    with pytest.raises(UnknownLayerError):
        measure.gram_similarity(np.stack([cat64, cat64]), tiny, "conv9")
    with pytest.raises(UnknownLayerError):
        diversity("conv9").validate(tiny)
    assert measure.gram_similarity(np.stack([cat64, cat64]), tiny, "conv2") == pytest.approx(1.0, abs=1e-6)
