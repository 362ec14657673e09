"""measure: spectral slope, grid (checkerboard) peaks, L-infinity, objective values; viz.show_with_spectra."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

import deepdream_lib as dd
from deepdream_lib import measure, viz  # noqa: E402
from deepdream_lib.objectives import layer  # noqa: E402


def _pink(size: int, exponent: float, seed: int = 0) -> np.ndarray:
    """Random image whose power falls like 1 / f ** exponent."""
    rng = np.random.default_rng(seed)
    f = np.sqrt(np.fft.fftfreq(size)[:, None] ** 2 + np.fft.fftfreq(size)[None, :] ** 2)
    f[0, 0] = 1.0
    spectrum = np.fft.fft2(rng.normal(size=(size, size))) / f ** (exponent / 2)
    return np.real(np.fft.ifft2(spectrum))


def test_spectrum_frequencies_follow_the_centred_spectrum():
    frequencies = measure.spectrum_frequencies((6, 5))
    unshifted = np.sqrt(np.fft.fftfreq(6)[:, None] ** 2 + np.fft.fftfreq(5)[None, :] ** 2)
    np.testing.assert_allclose(frequencies, np.fft.fftshift(unshifted))
    power = measure.power_spectrum(np.random.default_rng(0).normal(size=(6, 5)))
    assert frequencies[np.unravel_index(np.argmin(power), power.shape)] == 0.0  # the mean is removed: 0 at DC


def test_spectral_slope():
    assert abs(measure.spectral_slope(np.random.default_rng(0).normal(size=(128, 128)))) < 0.3
    assert measure.spectral_slope(_pink(128, 2.0)) == pytest.approx(-2.0, abs=0.3)
    assert measure.spectral_slope(_pink(128, 1.0)) == pytest.approx(-1.0, abs=0.3)


def test_grid_peak_ratio_finds_the_period():
    rng = np.random.default_rng(1)
    noise = rng.normal(size=(64, 64))
    i, j = np.mgrid[0:64, 0:64]
    grid = np.where((i % 8 == 0) | (j % 8 == 0), 1.0, 0.0)  # lines every 8 px: period 8
    assert 0.3 < measure.grid_peak_ratio(noise, 8) < 3
    assert measure.grid_peak_ratio(noise + grid, 8) > 5
    checkerboard = ((i + j) % 2).astype(float)
    assert measure.grid_peak_ratio(noise + checkerboard, 2) > 50
    assert measure.grid_peak_ratio(noise + grid, 8) > 3 * measure.grid_peak_ratio(noise + grid, 7)
    with pytest.raises(ValueError):
        measure.grid_peak_ratio(noise, 40)


def test_linf():
    change = np.zeros((4, 4, 3))
    change[1, 2, 0] = -0.3
    assert measure.linf(change) == pytest.approx(0.3)


def test_objective_values(tiny):
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(2, 16, 16, 3)).astype(np.float32)
    values = dd.objective_values(tiny, layer("conv2"), images)
    assert values.shape == (2,)
    single = dd.objective_values(tiny, "conv2", images[1])
    assert single.shape == (1,) and single[0] == pytest.approx(values[1], rel=1e-5)


def test_show_with_spectra():
    rng = np.random.default_rng(0)
    images = {
        "a": rng.uniform(size=(32, 32, 3)),
        "b": np.full((32, 32, 3), 0.5) + 0.01 * rng.normal(size=(32, 32, 3)),
    }
    figure = viz.show_with_spectra(images, reference={"pink": _pink(32, 2.0)})
    assert len(figure.axes) == 3  # two pictures and one spectrum plot
    spectra = figure.axes[0]
    assert len(spectra.get_lines()) == 4  # two images, one reference, the cut-off line
    assert "high-freq" in figure.axes[1].get_title()


def test_show_with_spectra_labels_no_minor_ticks():
    rng = np.random.default_rng(1)
    figure = viz.show_with_spectra({"noise": rng.uniform(size=(96, 96, 3))})
    figure.canvas.draw()
    spectra = figure.axes[0]
    minor = [label.get_text() for label in spectra.get_xticklabels(minor=True)]
    major = [label.get_text() for label in spectra.get_xticklabels()]
    assert not any(minor)  # the crowded 3x10^-2 4x10^-2 ... labels are gone
    assert "0.1" in major and "0.2" in major


def test_show_images_colorbar_only_for_maps():
    rng = np.random.default_rng(2)
    maps = {"map": rng.uniform(size=(16, 16)), "picture": rng.uniform(size=(16, 16, 3))}
    assert len(viz.show_images(maps, ncols=2).axes) == 2
    assert len(viz.show_images(maps, ncols=2, colorbar=True).axes) == 3  # one bar, for the map
