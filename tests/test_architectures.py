"""deepdream_lib.lessons.architectures: loading or skipping, building blocks, costs, coverage.

Receptive fields by formula are the core's (tests/test_measure_receptive_fields.py).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from deepdream_lib.errors import DeepDreamError, UnknownModelError
from deepdream_lib.lessons import architectures as arch
from deepdream_lib.models import Backbone, get_spec, load_model


def _tiny_backbone() -> Backbone:
    """A small network with one of every building block: branch merge, skip, depthwise, batch norm, stride."""
    inputs = keras.Input((None, None, 3))
    stem = keras.layers.Conv2D(8, 3, strides=2, padding="same", name="stem")(inputs)
    left = keras.layers.Conv2D(4, 1, padding="same", name="left")(stem)
    right = keras.layers.DepthwiseConv2D(3, padding="same", name="right_dw")(stem)
    right = keras.layers.Conv2D(4, 1, padding="same", name="right_pw")(right)
    merged = keras.layers.Concatenate(name="merge")([left, right])
    normed = keras.layers.BatchNormalization(name="bn")(merged)
    skip = keras.layers.Add(name="skip")([normed, stem])
    pooled = keras.layers.MaxPooling2D(2, name="pool")(skip)
    return Backbone(get_spec("vgg16_random"), keras.Model(inputs, pooled))


def test_structure_counts_each_building_block():
    counted = arch.structure(_tiny_backbone())
    assert (counted.convolutions, counted.depthwise, counted.merges, counted.skips) == (3, 1, 1, 1)
    assert counted.batch_norms == 1 and counted.strided == 2  # the stride-2 stem and the pooling
    assert counted.parameters == _tiny_backbone().model.count_params()


def test_structure_of_vgg16_is_a_plain_stack():
    counted = arch.structure(load_model("vgg16_random"))
    assert (counted.convolutions, counted.skips, counted.merges, counted.depthwise) == (13, 0, 0, 0)
    assert counted.strided == 5 and counted.parameters == 14_714_688


def test_layer_at_depth():
    backbone = load_model("vgg16_random")
    assert arch.layer_at_depth(backbone, 0.0) == "block1_conv2"
    assert arch.layer_at_depth(backbone, 1.0) == "block5_conv3"
    assert arch.layer_at_depth(backbone, 0.5) == "block3_conv3"
    with pytest.raises(DeepDreamError, match="between 0 and 1"):
        arch.layer_at_depth(backbone, 1.5)


def test_conv_cost_plain_and_separable():
    assert arch.conv_cost(3, 2, 4, 5, 5) == (72, 72 * 25)
    weights, macs = arch.conv_cost(3, 2, 4, 5, 5, separable=True)
    assert (weights, macs) == (3 * 3 * 2 + 2 * 4, (3 * 3 * 2 + 2 * 4) * 25)
    plain, separable = arch.conv_cost(3, 512, 512, 7, 7), arch.conv_cost(3, 512, 512, 7, 7, separable=True)
    assert separable[0] / plain[0] == pytest.approx(1 / 512 + 1 / 9)


@pytest.mark.parametrize(("kernel_size", "stride", "even"), [(2, 2, True), (4, 2, True), (3, 2, False),
                                                             (1, 2, False), (3, 3, True), (5, 3, False)])
def test_coverage_map_is_even_only_when_the_kernel_is_a_multiple_of_the_stride(kernel_size, stride, even):
    coverage = arch.coverage_map(kernel_size, stride, size=24)
    assert (np.ptp(coverage) == 0) == even
    assert coverage.min() >= 0 and coverage.max() == np.ceil(kernel_size / stride) ** 2


@tf.function(reduce_retracing=True)
def _gradient_of_a_strided_sum(image: tf.Tensor, kernel: tf.Tensor, stride: int) -> tf.Tensor:
    """d sum(conv2d(image, kernel, stride)) / d image, compiled: the kernel's gradient is never run.

    Eagerly, a tape also runs the kernel's gradient (Conv2DBackpropFilter), which crashes the process
    with oneDNN on when the kernel is smaller than the stride (1x1, stride 2; issue 10).
    """
    with tf.GradientTape() as tape:
        tape.watch(image)
        total = tf.reduce_sum(tf.nn.conv2d(image, kernel, stride, "VALID"))
    return tape.gradient(total, image)


@pytest.mark.parametrize(("kernel_size", "stride"), [(1, 2), (1, 3), (2, 2), (3, 2), (4, 2), (3, 3), (5, 3)])
def test_coverage_map_is_the_gradient_of_a_strided_convolution(kernel_size, stride):
    """The count equals TensorFlow's gradient through the convolution, kernels smaller than strides too."""
    size = 24
    kernel = tf.ones((kernel_size, kernel_size, 1, 1))
    gradient = _gradient_of_a_strided_sum(tf.ones((1, size, size, 1)), kernel, stride)
    cropped = gradient.numpy()[0, kernel_size : size - kernel_size, kernel_size : size - kernel_size, 0]
    coverage = arch.coverage_map(kernel_size, stride, size=size)
    assert coverage.dtype == cropped.dtype == np.float32
    np.testing.assert_array_equal(coverage, cropped)


@pytest.mark.parametrize(("kernel_size", "stride", "size"), [(0, 2, 16), (3, 0, 16), (3, 2, 6)])
def test_coverage_map_refuses_impossible_settings(kernel_size, stride, size):
    with pytest.raises(DeepDreamError, match="coverage_map needs"):
        arch.coverage_map(kernel_size, stride, size=size)


def test_try_load_skips_download_models_offline(monkeypatch, capsys):
    monkeypatch.setattr(arch, "imagenet_reachable", lambda: False)
    assert arch.try_load("resnet50") is None
    assert "Skipped resnet50" in capsys.readouterr().out
    assert arch.try_load("vgg16_random") is load_model("vgg16_random")  # offline models load as usual
    with pytest.raises(UnknownModelError):
        arch.try_load("no_such_model")



def test_architecture_family_describes_without_loading():
    assert "Inception" in arch.architecture_family("inception_v3_random")
    assert "edge detection" in arch.architecture_family("vgg16_hed")
