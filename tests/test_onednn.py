"""Runs on every CPU: the op configuration that crashes oneDNN is never run by the library (issue 10).

With oneDNN on (TensorFlow's default on Intel CPUs, and on Colab), the *kernel* gradient of a
convolution whose kernel is smaller than its stride (1x1, stride 2) crashed the process (segmentation
fault, "corrupted double-linked list") on an Intel Xeon when the convolution had few channels. An
eager ``tf.GradientTape`` computes that kernel gradient even when only the pixels' gradient is asked
for; a compiled function prunes it. These tests run that configuration through the library's own
routes: eagerly (``objective_and_gradient``, which then runs compiled) and in a dream (compiled step).
``tools/check.sh`` runs them with ``TF_ENABLE_ONEDNN_OPTS=1`` and ``=0``. A regression here does not
fail politely: the test process dies.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import make_tiny_backbone
from deepdream_lib import engine
from deepdream_lib.models import Backbone, ModelSpec
from deepdream_lib.objectives import layer


def _thin_backbone(strided: bool = True) -> Backbone:
    """3 -> 4 channels by a 1x1 convolution with stride 2 (the crashing configuration), then a 3x3 one.

    ``strided=False`` builds the same function without it: keep every second row and column, then a
    1x1 convolution with stride 1 (same weights), whose gradient the eager tape computes safely.
    """
    inputs = keras.Input((None, None, 3))
    if strided:
        x = keras.layers.Conv2D(4, 1, strides=2, name="shortcut")(inputs)
    else:
        x = keras.layers.Lambda(lambda t: t[:, ::2, ::2, :], name="every_second")(inputs)
        x = keras.layers.Conv2D(4, 1, name="shortcut")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(x)
    model = keras.Model(inputs, x)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0.0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    model.trainable = False
    spec = ModelSpec(name=f"thin_{strided}", architecture="thin", weights="random", description="a thin net",
                     preprocessing="tf", layers=("shortcut", "conv"), default_layer="conv")  # fmt: skip
    return Backbone(spec, model)


@pytest.fixture(scope="module")
def thin() -> Backbone:
    return _thin_backbone()


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return np.random.default_rng(1).uniform(0.2, 0.8, (32, 32, 3)).astype(np.float32)


def test_the_kernel_smaller_than_the_stride_is_found():
    assert engine.has_kernel_smaller_than_stride(_thin_backbone().model)
    assert not engine.has_kernel_smaller_than_stride(_thin_backbone(strided=False).model)
    assert not engine.has_kernel_smaller_than_stride(make_tiny_backbone().model)  # 3x3 kernels, pooling
    nested = keras.Sequential([keras.Input((None, None, 3)), _thin_backbone().model])
    assert engine.has_kernel_smaller_than_stride(nested)


def test_an_eager_gradient_through_a_strided_1x1_convolution(thin, image):
    """Formerly a crash with oneDNN on (2 of 3 runs here); now compiled, with the same values."""
    values, gradient = engine.objective_and_gradient(thin, layer("conv"), tf.constant(image[None]))
    ref_values, reference = engine.objective_and_gradient(
        _thin_backbone(strided=False), layer("conv"), tf.constant(image[None])
    )
    assert gradient.shape == (1, 32, 32, 3)
    np.testing.assert_allclose(values, ref_values, rtol=1e-5)
    np.testing.assert_allclose(gradient, reference, rtol=1e-4, atol=1e-7)
    assert np.count_nonzero(gradient.numpy()[0, 1::2]) == 0  # odd rows: never read by the stride-2 window
    again = engine.objective_and_gradient(thin, layer("conv"), tf.constant(image[None, :24, :20]))[1]
    assert again.shape == (1, 24, 20, 3)  # another size, the same compiled function


def test_a_dream_through_a_strided_1x1_convolution(thin, image):
    result = engine.dream(image, "conv", thin, num_steps=3, num_octaves=1, jitter=0, progress=False)
    assert result.history[-1] > result.history[0]
    assert not np.allclose(result.image, image)


def test_a_receptive_field_through_a_strided_1x1_convolution(thin, monkeypatch):
    """measure.centre_gradient takes the engine's gradient, so this net is differentiated compiled."""
    from deepdream_lib import measure

    compiled = []
    original = engine.compiled_gradient
    monkeypatch.setattr(engine, "compiled_gradient", lambda *a, **k: compiled.append(a) or original(*a, **k))
    gradient = measure.centre_gradient(thin, "conv", size=32)
    assert compiled, "the centre gradient of a kernel-smaller-than-stride net ran an eager tape"
    reference = measure.centre_gradient(_thin_backbone(strided=False), "conv", size=32)
    np.testing.assert_allclose(gradient, reference, rtol=1e-4, atol=1e-7)
    box = measure.support_box(gradient)
    assert box is not None and box == measure.support_box(reference)
