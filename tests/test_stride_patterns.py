"""deepdream_lib.lessons.architectures: how much of a dream is its stride grid, drawn (lesson 06).

The folding itself is lesson 03's ``loop_lab.repeating_cell`` (tests/test_loop_lab.py).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from deepdream_lib.lessons import architectures as arch  # noqa: E402


def _noise(seed: int = 0, size: int = 64) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(size, size, 3))


def _corners(size: int = 64) -> np.ndarray:
    rows, cols = np.indices((size, size))
    return np.where((rows % 2 == 0) & (cols % 2 == 0), 1.0, 0.0)[..., None] * np.ones(3)


def test_a_pure_grid_is_all_grid_and_noise_almost_none():
    assert arch.grid_share(0.3 + _corners(), 2) == pytest.approx(1.0)  # an offset is not a grid
    assert arch.grid_share(_noise(), 2) < 3 * 4 / 1024  # about one over the 1024 cells
    assert arch.grid_share(np.zeros((64, 64, 3)), 2) == 0.0


def test_the_share_of_a_grid_in_noise():
    mixed = _corners() + 0.5 * _noise(1)
    share = arch.grid_share(mixed, 2)
    assert share == pytest.approx(np.var(_corners()) / (np.var(_corners()) + 0.25), rel=0.1)
    assert arch.grid_share(mixed, 4) >= share  # a period-2 grid repeats every 4 pixels too
    assert arch.grid_share(mixed[:63, :61], 2) == pytest.approx(share, rel=0.1)  # ragged: whole cells


def test_show_stride_patterns_one_panel_per_dream_on_one_scale():
    figure = arch.show_stride_patterns({"grid": _corners() + 0.1 * _noise(2), "noise": 0.1 * _noise(3)},
                                       period=2, repeats=3)
    axes = [axis for axis in figure.axes if axis.images]
    assert len(axes) == 2
    pictures = [axis.images[0].get_array() for axis in axes]
    assert pictures[0].shape == (6, 6, 3)
    assert np.ptp(pictures[0]) > 5 * np.ptp(pictures[1])  # one scale: the grid bright, the noise grey
    assert "grid:" in axes[0].get_title()


def test_show_stride_patterns_can_title_with_the_peak_ratio():
    from deepdream_lib.measure import grid_peak_ratio

    grid = _corners() + 0.1 * _noise(4)
    figure = arch.show_stride_patterns({"grid": grid}, period=2, peak_ratio=True)
    (axis,) = [axis for axis in figure.axes if axis.images]
    assert f"peak ratio {grid_peak_ratio(grid, 2):.1f}\n" in axis.get_title()
    assert "grid:" in axis.get_title()
    plain = arch.show_stride_patterns({"grid": grid}, period=2)
    assert "peak ratio" not in [a for a in plain.axes if a.images][0].get_title()
