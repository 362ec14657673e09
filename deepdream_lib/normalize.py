"""Gradient normalisation: make the step size mean the same thing for every layer and image.

The raw gradient's scale varies by orders of magnitude between layers and images, so a fixed step
size would do nothing at one layer and saturate the image at another. Dividing by a statistic of the
gradient fixes the scale; the Laplacian-pyramid version also evens out frequencies, so low-frequency
structure grows as fast as fine detail (Mordvintsev's ``lap_normalize``, TensorFlow DeepDream notebook).
All functions normalise each image of a batch on its own.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from deepdream_lib.errors import DeepDreamError

EPSILON = 1e-8
METHODS = ("std", "mean_abs", "laplacian", "none")


def _per_image(reduce, tensor: tf.Tensor) -> tf.Tensor:
    return reduce(tensor, axis=[1, 2, 3], keepdims=True)


def normalize_std(gradient: tf.Tensor) -> tf.Tensor:
    """Divide by the standard deviation (TensorFlow tutorial): the result has std 1 per image."""
    return gradient / (_per_image(tf.math.reduce_std, gradient) + EPSILON)


def normalize_mean_abs(gradient: tf.Tensor) -> tf.Tensor:
    """Divide by the mean absolute value (Caffe notebook, Keras example): mean ``|g|`` becomes 1."""
    return gradient / (_per_image(tf.reduce_mean, tf.abs(gradient)) + EPSILON)


def normalize_rms(gradient: tf.Tensor) -> tf.Tensor:
    """Divide by the root mean square: mean g^2 becomes 1 (used on each pyramid level)."""
    return gradient / tf.maximum(tf.sqrt(_per_image(tf.reduce_mean, tf.square(gradient))), EPSILON)


_K = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]).astype(np.float32)
_KERNEL = tf.constant((_K / _K.sum())[:, :, None, None] * np.eye(3, dtype=np.float32))  # (5, 5, 3, 3)


def laplacian_split(image: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Split into a blurred half-size image and the detail it lost: ``image = upsample(low) + high``."""
    low = tf.nn.conv2d(image, _KERNEL, strides=2, padding="SAME")
    high = image - tf.nn.conv2d_transpose(low, _KERNEL * 4.0, tf.shape(image), strides=2, padding="SAME")
    return low, high


def laplacian_pyramid(image: tf.Tensor, levels: int) -> list[tf.Tensor]:
    """The Laplacian pyramid, coarsest level first: ``levels`` detail bands plus the residual."""
    bands = []
    for _ in range(levels):
        image, high = laplacian_split(image)
        bands.append(high)
    return [image, *reversed(bands)]


def laplacian_merge(pyramid: list[tf.Tensor]) -> tf.Tensor:
    """Inverse of :func:`laplacian_pyramid`."""
    image = pyramid[0]
    for high in pyramid[1:]:
        image = tf.nn.conv2d_transpose(image, _KERNEL * 4.0, tf.shape(high), strides=2, padding="SAME") + high
    return image


def normalize_laplacian(gradient: tf.Tensor, levels: int = 4) -> tf.Tensor:
    """Normalise each band of the gradient's Laplacian pyramid to unit RMS, then merge the bands."""
    return laplacian_merge([normalize_rms(band) for band in laplacian_pyramid(gradient, levels)])


def normalize_gradient(gradient: tf.Tensor, method: str | None = "std") -> tf.Tensor:
    """Normalise a (B, H, W, 3) gradient: ``"std"``, ``"mean_abs"``, ``"laplacian"`` or ``"none"``."""
    method = "none" if method is None else method
    if method == "std":
        return normalize_std(gradient)
    if method == "mean_abs":
        return normalize_mean_abs(gradient)
    if method == "laplacian":
        return normalize_laplacian(gradient)
    if method == "none":
        return gradient
    raise DeepDreamError(f"Unknown normalisation {method!r}; choose one of {', '.join(METHODS)}.")
