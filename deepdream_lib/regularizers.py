"""Regularisers: keep a dream (or a feature visualisation) from turning into high-frequency noise.

Two kinds, after Olah et al., *Feature Visualization* (Distill 2017), section "The Enemy of Feature
Visualization":

* **Penalties** are objectives on the image itself (the activations key ``"input"``, RGB in [0, 1]).
  Objectives are *maximised*, so a penalty enters with a minus sign::

      objective = layer("block4_conv3") - 0.05 * total_variation()

  :func:`total_variation` (neighbouring pixels should be alike), :func:`l2` (pixels should stay near
  gray) and :func:`frequency_penalty` (little energy above a cut-off frequency).
* **Transformation robustness**: the network sees a randomly shifted, scaled and rotated copy of the
  image at each step, so only patterns that survive those changes can grow. Lucid-style closures
  composed from plain lists::

      transform = compose([jitter(8), random_scale([0.9, 1.0, 1.1]), random_rotate(range(-10, 11))])
      dream(image, objective, transform=transform)

  Each transform maps images (B, H, W, 3) to images (the size may change), is differentiable, and
  draws its randomness from its own seeded generator, so a fresh run repeats exactly.

And one post-step: :func:`blur_every` blurs the image every k steps (``dream(..., post_step=...)``),
the oldest trick against noise (Yosinski et al. 2015; Mordvintsev's notebooks).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import tensorflow as tf

from deepdream_lib.errors import DeepDreamError
from deepdream_lib.objectives import INPUT, Activations, Objective

Transform = Callable[[tf.Tensor], tf.Tensor]

# --- penalties: objectives on the image ----------------------------------------------------------------


def _per_image_mean(tensor: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(tensor, axis=[1, 2, 3])


def image_total_variation(images: tf.Tensor, squared: bool = False) -> tf.Tensor:
    """Total variation of each image, shape (B,): how much neighbouring pixels differ.

    ``mean |x[i+1, j] - x[i, j]| + mean |x[i, j+1] - x[i, j]|`` (vertical plus horizontal neighbours,
    each averaged over positions and colour channels). With ``squared=True`` the differences are
    squared instead, which punishes big jumps (edges) much more than many small ones.
    """
    images = tf.convert_to_tensor(images, tf.float32)
    down = images[:, 1:, :, :] - images[:, :-1, :, :]
    right = images[:, :, 1:, :] - images[:, :, :-1, :]
    size = tf.square if squared else tf.abs
    return _per_image_mean(size(down)) + _per_image_mean(size(right))


def total_variation(squared: bool = False) -> Objective:
    """Total variation of the image (Mahendran & Vedaldi 2015): subtract it to favour smooth images.

    See :func:`image_total_variation` for the formula.
    """
    text = "total_variation(squared=True)" if squared else "total_variation()"
    return Objective(lambda acts: image_total_variation(acts[INPUT], squared), [INPUT], text)


def l2(center: float = 0.5) -> Objective:
    """Mean squared distance of the pixels from ``center`` (gray): subtract it to keep colours tame."""

    def fn(acts: Activations) -> tf.Tensor:
        return _per_image_mean(tf.square(acts[INPUT] - center))

    return Objective(fn, [INPUT], f"l2(center={center:g})")


def frequency_radius(height: tf.Tensor | int, width: tf.Tensor | int) -> tf.Tensor:
    """Spatial frequency (cycles per pixel, 0 to ~0.71) of each entry of an (unshifted) 2-D FFT."""

    def frequencies(n):
        n = tf.cast(n, tf.int32)
        k = tf.range(n)
        k = tf.where(k < (n + 1) // 2, k, k - n)  # 0, 1, ..., then the negative frequencies
        return tf.cast(k, tf.float32) / tf.cast(n, tf.float32)

    fy, fx = frequencies(height), frequencies(width)
    return tf.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)


def high_frequency_energy(images: tf.Tensor, cutoff: float = 0.25) -> tf.Tensor:
    """Energy of each image above ``cutoff`` cycles per pixel, shape (B,).

    It is the mean squared value of the image's fine detail: by Parseval's theorem,
    ``sum over frequencies f > cutoff of |FFT(x)(f)|^2 / N^2`` with N the number of pixels, averaged over
    the colour channels. 0.5 cycles/pixel is the finest pattern a grid can hold (a checkerboard).
    """
    images = tf.convert_to_tensor(images, tf.float32)
    shape = tf.shape(images)
    channels_first = tf.transpose(images, (0, 3, 1, 2))
    spectrum = tf.signal.fft2d(tf.complex(channels_first, tf.zeros_like(channels_first)))
    power = tf.square(tf.abs(spectrum))  # (B, 3, H, W)
    mask = tf.cast(frequency_radius(shape[1], shape[2]) > cutoff, tf.float32)
    pixels = tf.cast(shape[1] * shape[2], tf.float32)
    return tf.reduce_mean(tf.reduce_sum(power * mask, axis=[2, 3]), axis=1) / pixels**2


def frequency_penalty(cutoff: float = 0.25) -> Objective:
    """Energy of the image above ``cutoff`` cycles/pixel: subtract it to starve the finest patterns.

    See :func:`high_frequency_energy`. Unlike a blur it leaves every frequency below the cut-off free.
    """
    if not 0 < cutoff < 0.5:
        raise DeepDreamError(f"cutoff must be in (0, 0.5) cycles per pixel, got {cutoff!r}.")
    return Objective(
        lambda acts: high_frequency_energy(acts[INPUT], cutoff), [INPUT], f"frequency_penalty({cutoff:g})"
    )


# --- transformation robustness: random transforms as composable closures -----------------------------

_SEEDS = itertools.count(1)


def _generator(seed: int | None) -> tf.random.Generator:
    """A seeded generator per transform: a fresh run repeats, and two transforms draw independently."""
    return tf.random.Generator.from_seed(next(_SEEDS) if seed is None else seed)


def _named(function: Transform, description: str) -> Transform:
    function.description = description  # type: ignore[attr-defined]
    function.__name__ = description
    function.__qualname__ = description
    return function


def describe(transform: Transform | None) -> str:
    """How a transform prints, e.g. ``compose([jitter(8), random_scale([0.9, 1, 1.1])])``."""
    if transform is None:
        return "none"
    return getattr(transform, "description", getattr(transform, "__name__", repr(transform)))


def _choice(generator: tf.random.Generator, values: Sequence[float]) -> tf.Tensor:
    table = tf.constant(list(values), tf.float32)
    index = generator.uniform((), 0, len(values), dtype=tf.int32)
    return table[index]


def pad(width: int, value: float = 0.5) -> Transform:
    """Pad every side with ``width`` pixels of a constant (gray): the border stops being special."""
    _check_pixels(width, "pad width")

    def transform(images: tf.Tensor) -> tf.Tensor:
        return tf.pad(images, [[0, 0], [width, width], [width, width], [0, 0]], constant_values=value)

    return _named(transform, f"pad({width})")


def jitter(distance: int, seed: int | None = None, independent: bool = False) -> Transform:
    """Crop ``distance`` pixels off, at a random offset: a random shift of up to ``distance`` pixels.

    The result is ``distance`` pixels smaller in height and width (Lucid's ``jitter``). One offset
    serves the whole batch, unless ``independent``: then each image gets its own, so a batch dreamed
    from identical starts (or with a term that compares its images, like ``diversity``) can diverge.
    """
    _check_pixels(distance, "jitter distance")
    generator = _generator(seed)

    def transform(images: tf.Tensor) -> tf.Tensor:
        if distance == 0:
            return images
        shape = tf.shape(images)
        if independent:
            return _crop_each(images, generator.uniform(tf.stack([shape[0], 2]), 0, distance + 1,
                                                        dtype=tf.int32), distance)
        dy, dx = tf.unstack(generator.uniform((2,), 0, distance + 1, dtype=tf.int32))
        return images[:, dy : shape[1] - distance + dy, dx : shape[2] - distance + dx, :]

    return _named(transform, f"jitter({distance}{', independent' if independent else ''})")


def _crop_each(images: tf.Tensor, offsets: tf.Tensor, distance: int) -> tf.Tensor:
    """Image i cropped at ``offsets[i] = (dy, dx)`` to ``distance`` pixels less, differentiably: a
    per-image translation (nearest pixel, so exact; the zero fill lies in the part cropped away, which
    also keeps the translation's gradient exact) followed by one common crop."""
    shape = tf.shape(images)
    dy, dx = tf.unstack(tf.cast(offsets, tf.float32), axis=1)
    zero, one = tf.zeros_like(dy), tf.ones_like(dy)
    translations = tf.stack([one, zero, dx, zero, one, dy, zero, zero], axis=1)  # reads (y+dy, x+dx)
    shifted = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.convert_to_tensor(images, tf.float32), transforms=translations,
        output_shape=shape[1:3], fill_value=0.0, interpolation="NEAREST", fill_mode="CONSTANT",
    )
    return shifted[:, : shape[1] - distance, : shape[2] - distance, :]


def random_scale(scales: Iterable[float], seed: int | None = None) -> Transform:
    """Resize by a factor drawn from ``scales`` (bilinear): patterns must work at several sizes."""
    scales = [float(s) for s in scales]
    if not scales or min(scales) <= 0:
        raise DeepDreamError(f"scales must be a non-empty list of positive factors, got {scales!r}.")
    generator = _generator(seed)

    def transform(images: tf.Tensor) -> tf.Tensor:
        scale = _choice(generator, scales)
        size = tf.cast(tf.round(tf.cast(tf.shape(images)[1:3], tf.float32) * scale), tf.int32)
        return tf.image.resize(images, tf.maximum(size, 1), method="bilinear")

    return _named(transform, f"random_scale([{', '.join(f'{s:g}' for s in scales)}])")


def rotate(images: tf.Tensor, degrees: tf.Tensor | float) -> tf.Tensor:
    """Rotate images about their centre (bilinear; corners filled by reflection), differentiably."""
    images = tf.convert_to_tensor(images, tf.float32)
    angle = tf.cast(degrees, tf.float32) * (math.pi / 180.0)
    shape = tf.shape(images)
    cy = (tf.cast(shape[1], tf.float32) - 1.0) / 2.0
    cx = (tf.cast(shape[2], tf.float32) - 1.0) / 2.0
    cos, sin = tf.cos(angle), tf.sin(angle)
    # maps each output pixel (x, y) to the input pixel it reads from: a rotation about (cx, cy)
    matrix = tf.stack([cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy, 0.0, 0.0])
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=tf.tile(matrix[None], [shape[0], 1]),
        output_shape=shape[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="REFLECT",
    )


def random_rotate(degrees: Iterable[float], seed: int | None = None) -> Transform:
    """Rotate by an angle (in degrees) drawn from ``degrees``, e.g. ``range(-10, 11)``."""
    degrees = [float(d) for d in degrees]
    if not degrees:
        raise DeepDreamError("degrees must be a non-empty list of angles.")
    generator = _generator(seed)

    def transform(images: tf.Tensor) -> tf.Tensor:
        return rotate(images, _choice(generator, degrees))

    low, high = min(degrees), max(degrees)
    return _named(transform, f"random_rotate({low:g}..{high:g} deg)")


def compose(transforms: Sequence[Transform]) -> Transform:
    """Chain transforms, first to last: ``compose([jitter(8), random_scale([1, 1.1])])``."""
    transforms = list(transforms)

    def transform(images: tf.Tensor) -> tf.Tensor:
        for step in transforms:
            images = step(images)
        return images

    return _named(transform, f"compose([{', '.join(describe(t) for t in transforms)}])")


def standard_transforms(seed: int | None = None, independent: bool = False) -> list[Transform]:
    """Lucid's default list: pad 12, jitter 8, scale 0.9-1.1, rotate -10..10 degrees, jitter 4
    (each image of a batch shifted by its own jitter if ``independent``)."""
    seeds = [None] * 4 if seed is None else [seed + i for i in range(4)]
    return [
        pad(12),
        jitter(8, seeds[0], independent),
        random_scale([1 + (i - 5) / 50 for i in range(11)], seeds[1]),
        random_rotate(list(range(-10, 11)) + 5 * [0], seeds[2]),
        jitter(4, seeds[3], independent),
    ]


# --- a post-step: blur every k steps ------------------------------------------------------------------


def gaussian_kernel(sigma: float) -> np.ndarray:
    """A normalised 1-D Gaussian of standard deviation ``sigma`` pixels, radius ceil(3 sigma)."""
    radius = max(1, math.ceil(3 * sigma))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    return (kernel / kernel.sum()).astype(np.float32)


def gaussian_blur(images: tf.Tensor, sigma: float) -> tf.Tensor:
    """Blur images (B, H, W, 3) with a Gaussian of ``sigma`` pixels (borders reflected)."""
    if sigma <= 0:
        return tf.convert_to_tensor(images, tf.float32)
    kernel = gaussian_kernel(sigma)
    radius = len(kernel) // 2
    images = tf.convert_to_tensor(images, tf.float32)
    channels = images.shape[-1] or 3
    rows = tf.constant(np.tile(kernel[:, None, None, None], (1, 1, channels, 1)))
    cols = tf.constant(np.tile(kernel[None, :, None, None], (1, 1, channels, 1)))
    padded = tf.pad(images, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="REFLECT")
    blurred = tf.nn.depthwise_conv2d(padded, rows, [1, 1, 1, 1], "VALID")
    return tf.nn.depthwise_conv2d(blurred, cols, [1, 1, 1, 1], "VALID")


def blur_every(k: int, sigma: float = 0.5) -> Callable[[tf.Tensor, int], tf.Tensor]:
    """A ``post_step`` for :func:`~deepdream_lib.engine.dream` that blurs the image after every k-th step.

    Blurring removes the finest detail the ascent keeps adding; only patterns that grow back faster
    than they are blurred away survive.
    """
    if not (isinstance(k, int) and k >= 1):
        raise DeepDreamError(f"k must be an integer >= 1, got {k!r}.")

    def post_step(images: tf.Tensor, step_index: int) -> tf.Tensor:
        return gaussian_blur(images, sigma) if (step_index + 1) % k == 0 else images

    post_step.description = f"blur_every({k}, sigma={sigma:g})"  # type: ignore[attr-defined]
    return post_step


def _check_pixels(value: int, what: str) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
        raise DeepDreamError(f"{what} must be an integer >= 0 pixels, got {value!r}.")


# --- one name per regulariser, for lessons and widgets ----------------------------------------------------

#: Weights at strength 1, chosen on vgg16_hed's block4_conv3 (std-normalised steps); each visibly
#: smooths a dream of an empty image while the layer's objective still rises. Both the penalty's and the
#: layer's gradient shrink like 1 / (number of pixels), so the same weights work at every image size.
DEFAULT_WEIGHTS = {"total variation": 30.0, "L2 (toward gray)": 300.0, "frequency penalty": 1000.0}
#: The names :func:`dream_settings` knows, as the lessons and widgets offer them ("none" first).
REGULARIZERS = (
    "none",
    "total variation",
    "L2 (toward gray)",
    "frequency penalty",
    "blur every 4 steps",
    "transforms",
)


def dream_settings(name: str, objective: Objective, strength: float = 1.0, seed: int = 0) -> dict:
    """Keyword arguments for :func:`~deepdream_lib.engine.dream` that switch on one regulariser.

    ``name`` is one of :data:`REGULARIZERS`; ``strength`` scales it (1 = the default, 0 = off): the
    penalty weight (``objective - strength * weight * penalty``), the blur's sigma (1 px at strength 1),
    or the size of the random transforms (jitter 8 px, scale +-10 %, rotation +-10 degrees at 1).
    Returns ``{"objective": ..., "post_step": ..., "transform": ...}``.
    """
    settings: dict = {"objective": objective, "post_step": None, "transform": None}
    if name not in REGULARIZERS:
        raise DeepDreamError(f"Unknown regulariser {name!r}; choose one of {', '.join(REGULARIZERS)}.")
    if strength < 0:
        raise DeepDreamError(f"strength must be >= 0, got {strength!r}.")
    if name == "none" or strength == 0:
        return settings
    if name in DEFAULT_WEIGHTS:
        penalty = {
            "total variation": total_variation,
            "L2 (toward gray)": l2,
            "frequency penalty": frequency_penalty,
        }[name]()
        settings["objective"] = objective - strength * DEFAULT_WEIGHTS[name] * penalty
    elif name == "blur every 4 steps":
        settings["post_step"] = blur_every(4, sigma=strength)
    else:  # transforms
        distance = max(1, round(8 * strength))
        settings["transform"] = compose(
            [
                pad(distance),
                jitter(distance, seed),
                random_scale([1 + strength * (i - 5) / 50 for i in range(11)], seed + 1),
                random_rotate([strength * d for d in range(-10, 11)], seed + 2),
            ]
        )
    return settings
