"""Shared fixtures: the default backbone, a tiny random conv net, small test images.

Everything heavy is session-scoped and every image is tiny (<= 128 px), so the library suite runs in a
few minutes on a 2-core CPU.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from deepdream_lib.images import sample  # noqa: E402
from deepdream_lib.models import Backbone, ModelSpec, load_model  # noqa: E402

TINY_LAYERS = ("conv1", "conv2", "conv3")


def make_tiny_backbone(seed: int = 0) -> Backbone:
    """A 3-layer conv net with random weights, wrapped like a registry model (fast, deterministic).

    conv1 (8 ch, stride 1) -> pool -> conv2 (16 ch, stride 2) -> pool -> conv3 (16 ch, stride 4).
    """
    inputs = keras.Input((None, None, 3), name="image")
    x = inputs
    for index, (name, width) in enumerate(zip(TINY_LAYERS, (8, 16, 16), strict=True)):
        if index:
            x = keras.layers.MaxPooling2D(name=f"pool{index}")(x)
        x = keras.layers.Conv2D(
            width,
            3,
            padding="same",
            activation="relu",
            name=name,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed + index),
            bias_initializer=keras.initializers.Constant(0.05),
        )(x)
    model = keras.Model(inputs, x, name="tiny")
    model.trainable = False
    spec = ModelSpec(
        name="tiny_test",
        architecture="tiny",
        weights="random",
        description="a tiny random conv net for tests",
        preprocessing="tf",
        layers=TINY_LAYERS,
        default_layer="conv2",
    )
    return Backbone(spec, model)


@pytest.fixture(scope="session")
def vgg() -> Backbone:
    """The default offline backbone (VGG16 trunk with the HED weights)."""
    return load_model("vgg16_hed")


@pytest.fixture(scope="session")
def tiny() -> Backbone:
    return make_tiny_backbone()


@pytest.fixture(scope="session")
def cat64() -> np.ndarray:
    """Chelsea the cat, 64 x 43 px."""
    return sample("chelsea", max_size=64)


@pytest.fixture(scope="session")
def cat128() -> np.ndarray:
    """Chelsea the cat, 128 x 85 px."""
    return sample("chelsea", max_size=128)
