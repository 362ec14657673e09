"""Lesson 04's tools: which part of a network makes which pattern (layers, channels, neurons).

* Receptive fields three ways: from the recursion :math:`r_l = r_{l-1} + (k_l - 1) J_{l-1}` read off the
  Keras layers (:func:`receptive_field_by_formula`), from the support of a unit's gradient
  (:func:`deepdream_lib.measure.receptive_field`), and the *effective* one, the square that holds most
  of the gradient's energy (:func:`gradient_footprint`).
* Channel atlases dreamed in batches: image ``i`` of a batch dreams channel ``indices[i]``
  (:func:`channel_atlas`), and the channels a photo excites most (:func:`top_channels`).
* Sizes of what a dream changed: the autocorrelation width of the change (:func:`autocorrelation_width`)
  and the period that holds most of its energy per octave of frequency (:func:`dominant_period`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from deepdream_lib.engine import dream
from deepdream_lib.measure import energy_footprint
from deepdream_lib.models import Backbone
from deepdream_lib.objectives import channels


def _pair(value: object) -> int:
    """The first entry of a Keras (k, k) size or stride (the lessons' networks are square)."""
    return int(value[0]) if isinstance(value, (tuple, list)) else int(value)


def conv_stack(backbone: Backbone, layer: str) -> list[tuple[str, int, int]]:
    """``(name, kernel_size, stride)`` of every convolution and pooling layer from the input to ``layer``.

    Read from the Keras layers themselves (``kernel_size`` or ``pool_size``, and ``strides``), in
    network order. Layers without a window (ReLU, batch norm, additions) do not change the field and
    are left out. Meant for plain stacks like VGG16; branching networks need a graph walk instead.
    """
    layer = backbone.check_layer(layer)
    stack = []
    for keras_layer in backbone.model.layers:
        config = keras_layer.get_config()
        window = config.get("kernel_size", config.get("pool_size"))
        if window is not None and "strides" in config:
            stride = config["strides"] if config["strides"] is not None else window
            stack.append((keras_layer.name, _pair(window), _pair(stride)))
        if keras_layer.name == layer:
            return stack
    raise ValueError(f"{layer} is not in {backbone.name}'s layer list.")  # pragma: no cover


def receptive_field_by_formula(stack: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """Receptive field and jump after a stack of ``(kernel_size, stride)`` layers, input first.

    :math:`r_l = r_{l-1} + (k_l - 1) J_{l-1}`, :math:`J_l = J_{l-1} s_l`, :math:`r_0 = J_0 = 1`, where
    :math:`J_{l-1} = \\prod_{i<l} s_i` is how many input pixels apart neighbouring units of layer
    :math:`l - 1` sit. Returns ``(r, J)`` of the last layer.
    """
    field, jump = 1, 1
    for kernel_size, stride in stack:
        field += (int(kernel_size) - 1) * jump
        jump *= int(stride)
    return field, jump


def centre_gradient(backbone: Backbone, layer: str, size: int = 224, index: int | None = None,
                    seed: int = 0) -> np.ndarray:
    """Gradient of one centre unit of ``layer`` with respect to a random ``size`` x ``size`` image.

    The unit is channel ``index`` at the centre of the feature map, or (``index=None``) the sum of all
    channels there. Returns (size, size, 3): non-zero exactly on the pixels the unit can see.
    """
    layer = backbone.check_layer(layer)
    images = tf.random.stateless_uniform((1, size, size, 3), seed=(seed, size))
    with tf.GradientTape() as tape:
        tape.watch(images)
        feature_map = backbone.activations(images, [layer])[layer]
        row, col = feature_map.shape[1] // 2, feature_map.shape[2] // 2
        unit = feature_map[0, row, col, :]
        value = tf.reduce_sum(unit) if index is None else unit[index]
    return tape.gradient(value, images).numpy()[0]


def gradient_footprint(backbone: Backbone, layer: str, size: int = 224, fraction: float = 0.9,
                       seed: int = 0) -> int:
    """Effective receptive field: the side of the square, centred on the unit, that holds ``fraction``
    of the energy of a centre unit's gradient (all channels summed).

    The theoretical field counts every pixel a unit *can* see; most of the gradient's energy sits in a
    smaller square in the middle (Luo et al. 2016, "Understanding the effective receptive field").
    The unit's field is centred on the feature map's centre unit, ``(J / 2)`` px from the image centre
    at most, which a square of odd side absorbs.
    """
    gradient = centre_gradient(backbone, layer, size, seed=seed)
    support = np.abs(gradient).sum(axis=-1) > 0
    rows, cols = np.nonzero(support.any(axis=1))[0], np.nonzero(support.any(axis=0))[0]
    centre = ((rows[0] + rows[-1]) // 2, (cols[0] + cols[-1]) // 2) if rows.size else None
    return energy_footprint(gradient, fraction, centre)


def top_channels(backbone: Backbone, image: np.ndarray, layer: str, k: int = 8) -> np.ndarray:
    """The ``k`` channels of ``layer`` with the largest mean activation on ``image``, largest first."""
    layer = backbone.check_layer(layer)
    batch = tf.constant(np.asarray(image, dtype=np.float32)[None])
    means = tf.reduce_mean(backbone.activations(batch, [layer])[layer][0], axis=[0, 1]).numpy()
    return np.argsort(-means, kind="stable")[:k]


def neutral_start(size: int, seed: int = 0, noise: float = 0.02) -> np.ndarray:
    """A gray image with a whisper of noise, (size, size, 3) in [0, 1]: a canvas with no content."""
    rng = np.random.default_rng(seed)
    return np.clip(0.5 + noise * rng.normal(size=(size, size, 3)), 0.0, 1.0).astype(np.float32)


def channel_atlas(
    backbone: Backbone,
    layer: str,
    indices: Sequence[int],
    start: np.ndarray,
    batch_size: int = 16,
    **settings,
) -> np.ndarray:
    """Dream each channel in ``indices`` of ``layer`` on its own copy of ``start``: (N, H, W, 3).

    A batch of B copies dreams B channels in one ``dream()`` call (``objectives.channels`` puts channel
    ``indices[i]`` on image ``i``, and the gradient is normalised per image), so N channels take
    ``ceil(N / batch_size)`` calls instead of N. ``settings`` go to :func:`~deepdream_lib.engine.dream`.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    indices = [int(c) for c in indices]
    start = np.asarray(start, dtype=np.float32)
    settings.setdefault("progress", False)
    tiles = []
    for begin in range(0, len(indices), batch_size):
        chunk = indices[begin : begin + batch_size]
        images = np.repeat(start[None], len(chunk), axis=0)
        tiles.append(dream(images, channels(layer, chunk), backbone, **settings).image)
    return np.concatenate(tiles) if tiles else np.zeros((0, *start.shape), np.float32)


def _gray(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float64)
    return image.mean(axis=-1) if image.ndim == 3 else image


def radial_autocorrelation(change: np.ndarray) -> np.ndarray:
    """Autocorrelation of ``change`` (gray, mean removed) averaged over directions; index = lag in pixels.

    Lag 0 is 1. Computed with the FFT on a zero-padded copy, so the image does not wrap around; each
    lag is normalised by how many pixel pairs it has.
    """
    gray = _gray(change)
    gray = gray - gray.mean()
    height, width = gray.shape
    padded = np.zeros((2 * height, 2 * width))
    padded[:height, :width] = gray
    ones = np.zeros_like(padded)
    ones[:height, :width] = 1.0
    spectrum = np.fft.fft2(padded)
    counts = np.real(np.fft.ifft2(np.abs(np.fft.fft2(ones)) ** 2))
    correlation = np.real(np.fft.ifft2(np.abs(spectrum) ** 2)) / np.maximum(counts, 1.0)
    correlation = np.fft.fftshift(correlation)
    rows, cols = np.indices(correlation.shape)
    lag = np.hypot(rows - height, cols - width)
    limit = min(height, width) // 2
    bins = np.rint(lag).astype(int)
    keep = bins <= limit
    radial = np.bincount(bins[keep], weights=correlation[keep], minlength=limit + 1)
    radial /= np.maximum(np.bincount(bins[keep], minlength=limit + 1), 1)
    return radial / radial[0] if radial[0] > 0 else radial


def autocorrelation_width(change: np.ndarray, level: float = 0.5) -> float:
    """Lag in pixels at which the change's autocorrelation first falls below ``level``: its pattern size.

    A change made of fine speckle decorrelates after a pixel or two; blobs 20 px wide stay correlated
    over about 10 px. Linearly interpolated between whole-pixel lags.
    """
    radial = radial_autocorrelation(change)
    below = np.nonzero(radial < level)[0]
    if below.size == 0:
        return float(len(radial) - 1)
    lag = int(below[0])
    before, after = radial[lag - 1], radial[lag]
    return float(lag - 1 + (before - level) / (before - after))


def dominant_period(change: np.ndarray, bins: int = 48) -> float:
    """Period in pixels (1 / frequency) of the band that holds the most of the change's energy per octave.

    The radially averaged power :math:`P(f)` is weighted by :math:`f^2` (energy per octave of frequency
    in 2-D) and the peak's frequency is inverted. Natural images spread energy evenly over octaves;
    a dream layer's patterns put a bump where their size is.
    """
    from deepdream_lib.measure import radial_spectrum

    frequencies, power = radial_spectrum(_gray(change), bins=bins)
    weighted = frequencies**2 * power
    weighted[0] = 0.0
    peak = int(np.argmax(weighted))
    return float(1.0 / frequencies[peak]) if frequencies[peak] > 0 else float("inf")
