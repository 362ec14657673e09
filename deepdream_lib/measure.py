"""Measurements that turn "look, it changed" into numbers: spectra, pattern size, receptive fields.

Lessons use these to back their claims with ``assert``s: deeper layers change coarser structure,
unregularised dreams pile energy into high frequencies, strides leave spectral peaks.
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from deepdream_lib.models import Backbone


def _gray(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float64)
    return image.mean(axis=-1) if image.ndim == 3 else image


def power_spectrum(image: np.ndarray) -> np.ndarray:
    """Centred 2-D power spectrum |FFT|^2 of the grayscale image, mean removed."""
    gray = _gray(image)
    return np.abs(np.fft.fftshift(np.fft.fft2(gray - gray.mean()))) ** 2


def _frequency_radius(shape: tuple[int, int]) -> np.ndarray:
    """Spatial frequency (cycles per pixel) of each entry of a centred spectrum."""
    fy = np.fft.fftshift(np.fft.fftfreq(shape[0]))[:, None]
    fx = np.fft.fftshift(np.fft.fftfreq(shape[1]))[None, :]
    return np.sqrt(fx**2 + fy**2)


def radial_spectrum(image: np.ndarray, bins: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Power averaged over rings of equal spatial frequency.

    Returns ``(frequencies, power)``: frequencies in cycles per pixel from 0 to 0.5 (bin centres).
    """
    power = power_spectrum(image)
    radius = _frequency_radius(power.shape)
    edges = np.linspace(0.0, 0.5, bins + 1)
    index = np.clip(np.digitize(radius, edges) - 1, 0, bins - 1)
    inside = radius <= 0.5
    totals = np.bincount(index[inside], weights=power[inside], minlength=bins)
    counts = np.maximum(np.bincount(index[inside], minlength=bins), 1)
    return (edges[:-1] + edges[1:]) / 2, totals / counts


def high_frequency_fraction(image: np.ndarray, cutoff: float = 0.25) -> float:
    """Share of the image's spectral energy above ``cutoff`` cycles/pixel (0.5 is the finest)."""
    power = power_spectrum(image)
    radius = _frequency_radius(power.shape)
    total = power.sum()
    return float(power[radius > cutoff].sum() / total) if total > 0 else 0.0


def spectral_centroid(image: np.ndarray) -> float:
    """Power-weighted mean spatial frequency, in cycles per pixel."""
    power = power_spectrum(image)
    radius = _frequency_radius(power.shape)
    total = power.sum()
    return float((radius * power).sum() / total) if total > 0 else 0.0


def pattern_size(change: np.ndarray) -> float:
    """Typical size in pixels of the patterns in ``change`` (e.g. dream minus original): 1 / centroid."""
    centroid = spectral_centroid(change)
    return float("inf") if centroid == 0 else 1.0 / centroid


def receptive_field(backbone: Backbone, layer: str, seed: int = 0) -> int:
    """Measured receptive field, in input pixels, of a unit at the centre of ``layer``.

    The gradient of that unit with respect to the input is non-zero exactly on the pixels it can see;
    we measure the side of that square on a random image (grown until the field fits inside).
    """
    return _receptive_field_cached(backbone, backbone.check_layer(layer), seed)


@functools.lru_cache(maxsize=64)
def _receptive_field_cached(backbone: Backbone, layer: str, seed: int) -> int:
    size = 64
    while True:
        images = tf.random.stateless_uniform((1, size, size, 3), seed=(seed, size))
        with tf.GradientTape() as tape:
            tape.watch(images)
            feature_map = backbone.activations(images, [layer])[layer]
            row, col = feature_map.shape[1] // 2, feature_map.shape[2] // 2
            unit = tf.reduce_sum(tf.abs(feature_map[0, row, col, :]))
        support = np.abs(tape.gradient(unit, images).numpy()[0]).sum(axis=-1) > 0
        rows, cols = np.nonzero(support.any(axis=1))[0], np.nonzero(support.any(axis=0))[0]
        touches = rows.size and (rows[0] == 0 or rows[-1] == size - 1 or cols[0] == 0 or cols[-1] == size - 1)
        if not touches or size >= 1024:
            return int(max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)) if rows.size else 0
        size *= 2


def relative_gain(history: list[float]) -> float:
    """How much the objective rose over a dream: (last - first) / |first|."""
    first, last = history[0], history[-1]
    return (last - first) / max(abs(first), 1e-12)
