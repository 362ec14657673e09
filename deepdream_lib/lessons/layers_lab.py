"""Lesson 04's tools: which part of a network makes which pattern (layers, channels, neurons).

* Receptive fields three ways: from the recursion :math:`r_l = r_{l-1} + (k_l - 1) J_{l-1}` read off the
  Keras layers (:func:`deepdream_lib.measure.receptive_field_by_formula`), from the support of a unit's
  gradient (:func:`deepdream_lib.measure.receptive_field`), and the *effective* one, the square that
  holds most of the gradient's energy (:func:`gradient_footprint`).
* Channel atlases dreamed in batches: image ``i`` of a batch dreams channel ``indices[i]``
  (:func:`channel_atlas`), and the channels a photo excites most (:func:`top_channels`).
* Sizes of what a dream changed: the autocorrelation width of the change (:func:`autocorrelation_width`)
  and the period that holds most of its energy per octave of frequency (:func:`dominant_period`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from deepdream_lib.engine import dream
from deepdream_lib.imagenet_classes import top_k
from deepdream_lib.measure import (
    centre_gradient,
    channel_means,
    energy_footprint,
    grayscale,
    radial_spectrum,
    support_box,
)
from deepdream_lib.models import Backbone
from deepdream_lib.objectives import channels


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
    box = support_box(gradient)
    centre = None if box is None else ((box[0] + box[1]) // 2, (box[2] + box[3]) // 2)
    return energy_footprint(gradient, fraction, centre)


def top_channels(backbone: Backbone, image: np.ndarray, layer: str, k: int = 8) -> np.ndarray:
    """The ``k`` channels of ``layer`` with the largest mean activation on ``image``, largest first."""
    means = channel_means(backbone, layer, np.asarray(image, dtype=np.float32)[None])[0]
    return np.array(top_k(means, k))


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


def radial_autocorrelation(change: np.ndarray) -> np.ndarray:
    """Autocorrelation of ``change`` (gray, mean removed) averaged over directions; index = lag in pixels.

    Lag 0 is 1. Computed with the FFT on a zero-padded copy, so the image does not wrap around; each
    lag is normalised by how many pixel pairs it has.
    """
    gray = grayscale(change)
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
    frequencies, power = radial_spectrum(grayscale(change), bins=bins)
    weighted = frequencies**2 * power
    weighted[0] = 0.0
    peak = int(np.argmax(weighted))
    return float(1.0 / frequencies[peak]) if frequencies[peak] > 0 else float("inf")
