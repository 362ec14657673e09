"""normalize: each method gives the statistic it promises, per image; the Laplacian pyramid inverts and
shifts a gradient's energy towards low frequencies."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from deepdream_lib.errors import DeepDreamError
from deepdream_lib.normalize import (
    METHODS,
    laplacian_merge,
    laplacian_pyramid,
    normalize_gradient,
    normalize_laplacian,
    normalize_rms,
)


def _gradients(shape=(3, 24, 40, 3)) -> tf.Tensor:
    """A batch whose images have very different scales (and a non-zero mean), like real gradients."""
    noise = tf.random.stateless_normal(shape, seed=(0, 1)) + 0.3
    return noise * tf.constant([1e-3, 1.0, 1e3][: shape[0]])[:, None, None, None]


def _per_image(values: np.ndarray, reduce) -> np.ndarray:
    return reduce(values.reshape(len(values), -1), axis=1)


def test_std_gives_unit_std_per_image():
    out = normalize_gradient(_gradients(), "std").numpy()
    np.testing.assert_allclose(_per_image(out, np.std), 1.0, rtol=1e-4)


def test_mean_abs_gives_unit_mean_absolute_value_per_image():
    out = normalize_gradient(_gradients(), "mean_abs").numpy()
    np.testing.assert_allclose(_per_image(np.abs(out), np.mean), 1.0, rtol=1e-4)


def test_none_is_the_identity_and_unknown_methods_are_refused():
    gradient = _gradients()
    np.testing.assert_array_equal(normalize_gradient(gradient, "none"), gradient)
    np.testing.assert_array_equal(normalize_gradient(gradient, None), gradient)
    with pytest.raises(DeepDreamError, match="std, mean_abs, laplacian, none"):
        normalize_gradient(gradient, "l2")


@pytest.mark.parametrize("method", METHODS)
def test_a_zero_gradient_stays_finite(method):
    out = normalize_gradient(tf.zeros((2, 20, 20, 3)), method).numpy()
    assert np.all(out == 0.0)


@pytest.mark.parametrize("shape", [(1, 32, 32, 3), (2, 37, 50, 3), (1, 64, 17, 3)])
def test_pyramid_split_and_merge_round_trip(shape):
    image = tf.random.stateless_uniform(shape, seed=(2, 3))
    pyramid = laplacian_pyramid(image, levels=3)
    assert len(pyramid) == 4
    heights = [int(band.shape[1]) for band in pyramid]
    assert heights[-1] == shape[1] and heights == sorted(heights)  # coarsest first, original size last
    assert heights[0] == -(-shape[1] // 8)  # three halvings, rounding up
    np.testing.assert_allclose(laplacian_merge(pyramid), image, atol=1e-5)


def test_laplacian_normalises_each_band_to_unit_rms_before_merging():
    gradient = _gradients((2, 48, 64, 3))
    bands = [normalize_rms(band) for band in laplacian_pyramid(gradient, 4)]
    for band in bands:
        np.testing.assert_allclose(_per_image(np.square(band.numpy()), np.mean), 1.0, rtol=1e-3)
    np.testing.assert_allclose(normalize_laplacian(gradient, 4), laplacian_merge(bands), rtol=1e-5, atol=1e-5)
    same_pattern = tf.concat([gradient[:1] * 1e-3, gradient[:1]], axis=0)
    out = normalize_gradient(same_pattern, "laplacian").numpy()
    # per image: the two images differ by 1000x in scale and come out equal (same noise pattern)
    np.testing.assert_allclose(out[0], out[1], rtol=1e-3, atol=1e-3)


def _low_frequency_share(images: np.ndarray, cutoff: float = 0.125) -> float:
    """Share of spectral power below ``cutoff`` cycles per pixel (mean over images and channels)."""
    spectrum = np.abs(np.fft.fft2(images - images.mean(axis=(1, 2), keepdims=True), axes=(1, 2))) ** 2
    fy = np.fft.fftfreq(images.shape[1])[:, None]
    fx = np.fft.fftfreq(images.shape[2])[None, :]
    low = np.sqrt(fx**2 + fy**2) < cutoff
    return float(spectrum[:, low].sum() / spectrum.sum())


def test_laplacian_moves_energy_of_white_noise_to_low_frequencies():
    noise = tf.random.stateless_normal((4, 128, 128, 3), seed=(4, 5))
    std_share = _low_frequency_share(normalize_gradient(noise, "std").numpy())
    laplacian_share = _low_frequency_share(normalize_gradient(noise, "laplacian").numpy())
    assert std_share == pytest.approx(np.pi * 0.125**2, rel=0.1)  # white: share = area of the disc
    assert laplacian_share > 5 * std_share  # measured: 0.65 vs 0.049
