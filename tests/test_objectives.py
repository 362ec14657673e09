"""objectives: exact values on fixed activations, the algebra, batching, the guide's gradient, validation."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from deepdream_lib.errors import DeepDreamError, UnknownLayerError
from deepdream_lib.objectives import (
    INPUT,
    Objective,
    as_objective,
    channel,
    channels,
    class_logit,
    guide,
    layer,
    layer_l2,
    neuron,
)


@pytest.fixture(scope="module")
def acts() -> dict[str, tf.Tensor]:
    """Fixed activations for a batch of 2: two layers, class logits and the image itself."""
    rng = np.random.default_rng(0)
    return {
        "a": tf.constant(rng.normal(size=(2, 5, 7, 4)), tf.float32),
        "b": tf.constant(rng.normal(size=(2, 3, 3, 6)), tf.float32),
        "logits": tf.constant(rng.normal(size=(2, 10)), tf.float32),
        INPUT: tf.constant(rng.random((2, 8, 8, 3)), tf.float32),
    }


def test_basic_objectives_equal_their_definitions(acts):
    a, b = acts["a"].numpy(), acts["b"].numpy()
    np.testing.assert_allclose(layer("a")(acts), a.mean(axis=(1, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(layer_l2("a")(acts), (a**2).mean(axis=(1, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(channel("b", 4)(acts), b[..., 4].mean(axis=(1, 2)), rtol=1e-5)
    np.testing.assert_allclose(neuron("a", 2)(acts), a[:, 2, 3, 2], rtol=1e-6)  # centre of 5 x 7
    np.testing.assert_allclose(neuron("a", 1, x=6, y=0)(acts), a[:, 0, 6, 1], rtol=1e-6)
    np.testing.assert_allclose(class_logit(3)(acts), acts["logits"].numpy()[:, 3], rtol=1e-6)
    assert layer("a")(acts).shape == (2,)


def test_algebra_sums_correctly(acts):
    a, b, c = layer("a"), channel("b", 1), neuron("a", 3)
    np.testing.assert_allclose((a + 0.5 * b)(acts), a(acts) + 0.5 * b(acts), rtol=1e-6)
    np.testing.assert_allclose((a - b)(acts), a(acts) - b(acts), rtol=1e-6)
    np.testing.assert_allclose((-a)(acts), -a(acts), rtol=1e-6)
    np.testing.assert_allclose((a / 4)(acts), a(acts) / 4, rtol=1e-6)
    np.testing.assert_allclose((2 * (a - b) + c)(acts), 2 * (a(acts) - b(acts)) + c(acts), rtol=1e-5)
    np.testing.assert_allclose((a + 1.5)(acts), a(acts) + 1.5, rtol=1e-6)
    np.testing.assert_allclose((a * np.float32(3.0))(acts), 3 * a(acts), rtol=1e-6)
    total = sum([a, b, c])
    assert isinstance(total, Objective)
    np.testing.assert_allclose(total(acts), a(acts) + b(acts) + c(acts), rtol=1e-6)
    assert total.layers == {"a", "b"} and set(total.channels) == {("b", 1), ("a", 3)}


def test_repr_reads_as_what_it_means():
    a, b, c = layer("a"), channel("b", 7), layer("c")
    assert repr(a + 0.5 * b) == 'layer("a") + 0.5 * channel("b", 7)'
    assert repr(0.2 * a - b) == '0.2 * layer("a") - channel("b", 7)'
    assert repr(a - (b + c)) == 'layer("a") - (channel("b", 7) + layer("c"))'
    assert repr(2 * (a + b)) == '2 * (layer("a") + channel("b", 7))'
    assert repr(-a) == '-layer("a")'
    assert repr(sum([a, b])) == 'layer("a") + channel("b", 7)'
    assert repr(neuron("a", 1)) == 'neuron("a", 1, centre)'
    assert repr(channel("a", 2, batch=1)) == 'channel("a", 2, batch=1)'


def test_multiplying_by_a_non_number_raises_type_error():
    a = layer("a")
    for other in (a, "2", np.ones(3), [2.0], True, None):
        with pytest.raises(TypeError):
            a * other
        with pytest.raises(TypeError):
            other * a
    with pytest.raises(TypeError):
        a / 0
    with pytest.raises(TypeError):
        a + "b"


def test_batched_channel_objectives_give_per_image_values(acts):
    atlas = channels("a", [3, 1])  # image 0 dreams channel 3, image 1 dreams channel 1
    a = acts["a"].numpy()
    expected = [a[0, ..., 3].mean(), a[1, ..., 1].mean()]
    np.testing.assert_allclose(atlas(acts), expected, rtol=1e-5)
    activations = tf.Variable(acts["a"])
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(atlas({"a": activations}))
    gradient = tape.gradient(total, activations).numpy()
    expected_gradient = np.zeros_like(a)
    expected_gradient[0, ..., 3] = expected_gradient[1, ..., 1] = 1.0 / 35  # mean over 5 x 7 positions
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-6)


def test_guide_gradient_is_the_best_matching_guide_vector():
    """Caffe notebook: d/dx_i mean_i max_j <x_i, g_j> = g_{j*(i)} / N, the best match at each position."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 4, 5, 6)).astype(np.float32)
    guide_acts = rng.normal(size=(1, 3, 3, 6)).astype(np.float32)
    objective = guide("a", guide_acts)
    variable = tf.Variable(x)
    with tf.GradientTape() as tape:
        value = objective({"a": variable})
    gradient = tape.gradient(value, variable).numpy().reshape(-1, 6)
    vectors = guide_acts.reshape(-1, 6)
    flat = x.reshape(-1, 6)
    best = np.argmax(flat @ vectors.T, axis=1)
    np.testing.assert_allclose(value.numpy(), [np.max(flat @ vectors.T, axis=1).mean()], rtol=1e-5)
    np.testing.assert_allclose(gradient * len(flat), vectors[best], rtol=1e-5, atol=1e-6)
    assert len(set(best)) > 1  # the test exercises several different matches
    assert objective.key != guide("a", guide_acts).key  # two guide images never share a compiled step


def test_as_objective_and_keys():
    assert repr(as_objective("block4_conv3")) == 'layer("block4_conv3")'
    assert as_objective(layer("x")).key == layer("x").key
    assert (layer("x") + channel("y", 1)).key == (layer("x") + channel("y", 1)).key
    assert (layer("x") + channel("y", 1)).key != (layer("x") + channel("y", 2)).key
    with pytest.raises(TypeError):
        as_objective(3)


def test_bad_indices_are_refused():
    for bad in (-1, 1.5, "3", True):
        with pytest.raises(DeepDreamError, match="non-negative integer"):
            channel("a", bad)
    assert repr(channel("a", np.int64(3))) == 'channel("a", 3)'


def test_validate_against_a_network(vgg):
    (layer("block4_conv3") + channel("block5_conv3", 511)).validate(vgg)
    with pytest.raises(DeepDreamError, match=r"block4_conv3 has 512 channels \(0..511\)"):
        channel("block4_conv3", 512).validate(vgg)
    with pytest.raises(UnknownLayerError, match="Suggested layers"):
        (layer("block4_conv3") + layer("mixed3")).validate(vgg)
