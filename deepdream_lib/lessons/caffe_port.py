"""The original Caffe DeepDream notebook, retold in TensorFlow 2 in its own order of operations.

Google's ``google/deepdream`` repository (``dream.ipynb``, 2015) dreams with Caffe. Its image lives in the
network's input blob as BGR values in [0, 255] minus a mean colour; an "objective" is not a value but the
gradient it writes into a layer's ``diff`` blob; ``net.backward`` turns that seed into the gradient of the
pixels; the step is taken in place, normalised by the mean absolute gradient, and clipped in the
mean-subtracted space. This module does the same things in the same order, on a backbone of the library
whose preprocessing is Caffe-style, so the book's appendix (``research/caffe_to_tf2.ipynb``) can measure how
far the library's own :func:`~deepdream_lib.engine.dream` is from the original recipe, step by step.

It is a reference for that comparison, not a second engine: dream with :func:`~deepdream_lib.engine.dream`
(``normalize="mean_abs"``, :func:`~deepdream_lib.objectives.layer_l2`,
:func:`~deepdream_lib.objectives.guide`). Images are NHWC here (Caffe's blobs are NCHW), so the original's
rolls over its last two axes are rolls over axes 1 and 2.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from deepdream_lib.errors import DeepDreamError
from deepdream_lib.models import CAFFE_MEAN_BGR, Backbone

NOTEBOOK_MEAN_BGR = (104.0, 116.0, 122.0)  #: the mean colour the original notebook subtracts (BGR)
NOTEBOOK_STEP_SIZE = 1.5  #: its step, in units of the [0, 255] pixel scale
Seed = Callable[[tf.Tensor], tf.Tensor]  # a layer's activation (B, h, w, C) -> its diff, same shape


def to_caffe(images: tf.Tensor, mean: Sequence[float] = NOTEBOOK_MEAN_BGR) -> tf.Tensor:
    """``preprocess``: RGB in [0, 1], (B, H, W, 3) -> the input blob, BGR in [0, 255] minus ``mean``."""
    bgr = tf.reverse(tf.convert_to_tensor(images, tf.float32) * 255.0, axis=[-1])
    return bgr - tf.constant(mean, tf.float32)


def from_caffe(data: tf.Tensor, mean: Sequence[float] = NOTEBOOK_MEAN_BGR) -> tf.Tensor:
    """The input blob -> RGB images in [0, 1] (the original's ``deprocess``, divided by 255)."""
    return tf.reverse(data + tf.constant(mean, tf.float32), axis=[-1]) / 255.0


def l2_seed(activation: tf.Tensor) -> tf.Tensor:
    """``objective_L2``: the layer's diff is its own activation (the gradient of half its squared norm)."""
    return activation


def guide_seed(guide_features: tf.Tensor | np.ndarray) -> Seed:
    """``objective_guide``: each position's diff is the guide feature vector with the largest dot product.

    ``guide_features`` is the guide image's activation at the layer, (1, h, w, C) or (h, w, C).
    """
    features = tf.convert_to_tensor(guide_features, tf.float32)
    features = tf.reshape(features, (-1, features.shape[-1]))  # (M, C)

    def seed(activation: tf.Tensor) -> tf.Tensor:
        scores = tf.einsum("bhwc,mc->bhwm", activation, features)
        return tf.gather(features, tf.argmax(scores, axis=-1))  # (B, h, w, C)

    return seed


def backward(backbone: Backbone, data: tf.Tensor, layer: str, seed: Seed = l2_seed) -> tf.Tensor:
    """``net.forward``, ``objective(dst)``, ``net.backward``: the gradient of the input blob ``data``.

    ``seed`` gives the layer's diff; the result is the vector-Jacobian product of the network with it,
    what Caffe leaves in the input blob's ``diff``. ``data`` is a blob as :func:`to_caffe` makes it.
    """
    _check_caffe(backbone)
    extractor = backbone.extractor([layer])
    with tf.GradientTape() as tape:
        tape.watch(data)
        activation = extractor(data)[layer]
    return tape.gradient(activation, data, output_gradients=seed(activation))


def caffe_step(
    backbone: Backbone,
    data: tf.Tensor,
    layer: str,
    shift: Sequence[int] | tf.Tensor = (0, 0),
    step_size: float = NOTEBOOK_STEP_SIZE,
    seed: Seed = l2_seed,
    clip: bool = True,
    mean: Sequence[float] = NOTEBOOK_MEAN_BGR,
) -> tf.Tensor:
    """One ``make_step`` of the original on the input blob: roll, backward, step, roll back, clip.

    The blob itself is rolled by ``shift`` = (dy, dx), the step is added to the rolled blob, and that
    is rolled back (the library rolls the gradient back instead). The step is
    ``step_size / mean(|g|) * g``; the clip keeps every pixel in [0, 255] in the mean-subtracted
    space, between ``-mean`` and ``255 - mean``. Returns the new blob.
    """
    shift = tf.convert_to_tensor(shift, tf.int32)
    rolled = tf.roll(data, shift, axis=[1, 2])
    gradient = backward(backbone, rolled, layer, seed)
    rolled = rolled + step_size / tf.reduce_mean(tf.abs(gradient)) * gradient
    data = tf.roll(rolled, -shift, axis=[1, 2])
    if clip:
        bias = tf.constant(mean, tf.float32)
        data = tf.clip_by_value(data, -bias, 255.0 - bias)
    return data


def zoom(data: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """Linear resampling with corner pixels aligned, as ``scipy.ndimage.zoom(..., order=1)`` does."""
    return tf.raw_ops.ResizeBilinear(images=data, size=list(size), align_corners=True,
                                     half_pixel_centers=False)


def caffe_dream(
    backbone: Backbone,
    image: np.ndarray,
    layer: str,
    iter_n: int = 10,
    octave_n: int = 4,
    octave_scale: float = 1.4,
    jitter: int = 32,
    step_size: float = NOTEBOOK_STEP_SIZE,
    seed: Seed = l2_seed,
    clip: bool = True,
    mean: Sequence[float] = NOTEBOOK_MEAN_BGR,
    random_seed: int = 0,
) -> np.ndarray:
    """The original ``deepdream`` loop: octave bases by repeated shrinking, detail carried up, steps.

    Each base is the previous one shrunk by ``octave_scale`` (sizes rounded as ``zoom`` rounds them); the
    smallest is dreamed first, and between octaves only the detail (dream minus base) is enlarged and
    added to the next base. Shifts are drawn as :func:`~deepdream_lib.engine.dream` draws them (the same
    generator and seed), so both see the same jitter. Returns RGB in [0, 1], (H, W, 3); without ``clip``
    values may leave [0, 1].
    """
    _check_caffe(backbone)
    bases = [to_caffe(np.asarray(image, np.float32)[None], mean)]
    for _ in range(octave_n - 1):
        height, width = bases[-1].shape[1:3]
        bases.append(zoom(bases[-1], (round(height / octave_scale), round(width / octave_scale))))

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3]), tf.TensorSpec([2], tf.int32)])
    def step(blob: tf.Tensor, shift: tf.Tensor) -> tf.Tensor:
        return caffe_step(backbone, blob, layer, shift, step_size, seed, clip, mean)

    rng = np.random.default_rng(random_seed)
    detail = tf.zeros_like(bases[-1])
    for octave, base in enumerate(reversed(bases)):
        if octave > 0:
            detail = zoom(detail, base.shape[1:3])
        data = base + detail
        for _ in range(iter_n):
            shift = rng.integers(-jitter, jitter + 1, size=2) if jitter else np.zeros(2, int)
            data = step(data, tf.constant(shift, tf.int32))
        detail = data - base
    return from_caffe(data, mean).numpy()[0]


def _check_caffe(backbone: Backbone) -> None:
    if backbone.spec.preprocessing != "caffe":
        raise DeepDreamError(
            f"The Caffe port needs a network fed BGR minus a mean colour (preprocessing 'caffe', like "
            f"vgg16_hed); {backbone.name} uses '{backbone.spec.preprocessing}'."
        )


__all__ = ["CAFFE_MEAN_BGR", "NOTEBOOK_MEAN_BGR", "NOTEBOOK_STEP_SIZE", "backward", "caffe_dream",
           "caffe_step", "from_caffe", "guide_seed", "l2_seed", "to_caffe", "zoom"]
