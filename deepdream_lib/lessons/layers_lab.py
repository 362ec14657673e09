"""Lesson 04's tools: which part of a network makes which pattern (layers, channels, neurons).

* Receptive fields three ways: from the recursion :math:`r_l = r_{l-1} + (k_l - 1) J_{l-1}` read off the
  Keras layers (:func:`deepdream_lib.measure.receptive_field_by_formula`), from the support of a unit's
  gradient (:func:`deepdream_lib.measure.receptive_field`), and the *effective* one, the square that
  holds most of the gradient's energy (:func:`gradient_footprint`).
* Channel atlases dreamed in batches: image ``i`` of a batch dreams channel ``indices[i]``
  (:func:`channel_atlas`, by DeepDream on a photo or by feature visualisation from a neutral start),
  the channels a photo excites most (:func:`top_channels`), and the few of many whose pictures differ
  most (:func:`most_different`).
* Sizes of what a dream changed: the autocorrelation width of the change (:func:`autocorrelation_width`)
  and the period that holds most of its energy per octave of frequency (:func:`dominant_period`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from deepdream_lib.engine import dream
from deepdream_lib.errors import DeepDreamError
from deepdream_lib.imagenet_classes import top_k
from deepdream_lib.measure import (
    centre_gradient,
    channel_means,
    energy_footprint,
    gram_matrix,
    grayscale,
    radial_spectrum,
    support_box,
)
from deepdream_lib.models import Backbone
from deepdream_lib.objectives import channels
from deepdream_lib.parameterization import visualize


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
    method: str = "dream",
    **settings,
) -> np.ndarray:
    """Dream each channel in ``indices`` of ``layer`` on its own copy of ``start``: (N, H, W, 3).

    A batch of B copies dreams B channels in one call (``objectives.channels`` puts channel
    ``indices[i]`` on image ``i``, and each image's update depends on its own channel only), so N
    channels take ``ceil(N / batch_size)`` calls instead of N. ``method="dream"`` runs
    :func:`~deepdream_lib.engine.dream` (DeepDream on a photo); ``method="visualize"`` runs
    :func:`~deepdream_lib.parameterization.visualize` (Adam on a Fourier-parameterised image), which
    from a neutral start such as ``parameterization.empty_image(64)`` shows each channel's own pattern
    rather than what it adds to a photo. ``settings`` go to that function.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    if method not in ("dream", "visualize"):
        raise DeepDreamError(f"method must be 'dream' or 'visualize', got {method!r}.")
    indices = [int(c) for c in indices]
    start = np.asarray(start, dtype=np.float32)
    settings.setdefault("progress", False)
    tiles = []
    for begin in range(0, len(indices), batch_size):
        chunk = indices[begin : begin + batch_size]
        images = np.repeat(start[None], len(chunk), axis=0)
        objective = channels(layer, chunk)
        if method == "dream":
            result = dream(images, objective, backbone, **settings)
        else:
            result = visualize(objective, backbone, images, **settings)
        tiles.append(np.reshape(result.image, images.shape))  # visualize drops a batch axis of 1
    return np.concatenate(tiles) if tiles else np.zeros((0, *start.shape), np.float32)


def texture_descriptors(backbone: Backbone, images: np.ndarray, layer: str = "block2_conv2") -> np.ndarray:
    """What the textures of each image (N, H, W, 3) look like: the Gram matrix of ``layer``, flattened.

    Entry ``(c, d)`` of the Gram matrix is the mean over positions of channel ``c`` times channel ``d``:
    which features occur together, wherever they are. Style transfer matches these to copy a texture
    (Gatys et al. 2015), so two pictures with close Gram matrices of an early layer look alike to the
    eye even when nothing is in the same place. Returns (N, C * C).
    """
    layer = backbone.check_layer(layer)
    features = backbone.activations(tf.constant(np.asarray(images, np.float32)), [layer])[layer]
    gram = gram_matrix(features)  # the core's Gram matrix, as measure.gram_similarity uses it
    return gram.numpy().reshape(len(gram), -1).astype(np.float64)


def most_different(descriptors: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
    """Indices of ``k`` rows of ``descriptors`` (N, D) that differ most from each other, chosen greedily.

    The rows are first centred on their mean, so what every row shares does not make two rows alike;
    two rows are then as far apart as their cosine distance, ``1 - cos``. The first pick is the row
    farthest, on average, from all the others; each next pick is the row whose nearest pick so far is
    farthest (the farthest-point rule of k-centre clustering). ``allowed`` (N booleans) limits the
    choice, e.g. to the channels that woke up. For an atlas, the descriptors can be
    :func:`texture_descriptors` of its pictures.
    """
    vectors = np.asarray(descriptors, dtype=np.float64)
    if vectors.ndim != 2:
        raise DeepDreamError(f"descriptors must be a 2-D array (N, D), got shape {vectors.shape}.")
    allowed = np.ones(len(vectors), bool) if allowed is None else np.asarray(allowed, bool)
    if allowed.shape != (len(vectors),):
        raise DeepDreamError(f"allowed must hold {len(vectors)} booleans, got shape {allowed.shape}.")
    if not 1 <= k <= int(allowed.sum()):
        raise DeepDreamError(f"k must be between 1 and the {int(allowed.sum())} allowed rows, got {k}.")
    vectors = vectors - vectors.mean(axis=0)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms > 0, norms, 1.0)
    distance = 1.0 - unit @ unit.T
    candidates = np.flatnonzero(allowed)
    spread = distance[np.ix_(candidates, candidates)].mean(axis=1)
    picks = [int(candidates[np.argmax(spread)])]
    while len(picks) < k:
        nearest = distance[:, picks].min(axis=1)
        nearest[~allowed] = -np.inf
        nearest[picks] = -np.inf
        picks.append(int(np.argmax(nearest)))
    return np.array(picks)


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
