"""Figures: image grids, before/after, objective curves, feature maps, spectra, GIFs.

Every plotting function draws a matplotlib figure and returns it (end the notebook line with ``;``
to avoid a second copy). Saving and display stay with the caller.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, NullFormatter

from deepdream_lib.images import to_uint8
from deepdream_lib.measure import radial_spectrum


def show_images(
    images: Sequence[np.ndarray] | Mapping[str, np.ndarray],
    titles: Sequence[str] | None = None,
    ncols: int | None = None,
    size: float = 3.0,
    suptitle: str | None = None,
    cmap: str | None = None,
    colorbar: bool = False,
) -> Figure:
    """A grid of images with optional titles; a dict gives ``{title: image}``.

    With ``colorbar``, each 2-D map (drawn with ``cmap``) gets a colour bar that reads off its values.
    """
    if isinstance(images, Mapping):
        titles, images = list(images.keys()), list(images.values())
    images = list(images)
    ncols = ncols or min(len(images), 4)
    nrows = math.ceil(len(images) / ncols)
    figure, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index < len(images):
            image = np.asarray(images[index])
            drawn = axis.imshow(image if image.ndim == 2 else np.clip(image, 0, 1), cmap=cmap)
            if colorbar and image.ndim == 2:
                figure.colorbar(drawn, ax=axis, fraction=0.046, pad=0.03)
            if titles is not None:
                axis.set_title(titles[index], fontsize=9)
    if suptitle:
        figure.suptitle(suptitle)
    figure.tight_layout()
    return figure


def compare(
    before: np.ndarray, after: np.ndarray, titles: tuple[str, str] = ("original", "dream"), size: float = 4.0
) -> Figure:
    """Side-by-side before and after."""
    return show_images([before, after], titles=list(titles), ncols=2, size=size)


def plot_history(
    history: Sequence[float], octaves: Sequence[int] | None = None, ax=None, label: str | None = None
) -> Figure:
    """The objective at each step; dotted lines mark where a new octave starts."""
    figure = ax.figure if ax is not None else plt.figure(figsize=(6, 3.2))
    ax = ax or figure.add_subplot()
    ax.plot(range(len(history)), history, label=label)
    if octaves is not None:
        for step in range(1, len(octaves)):
            if octaves[step] != octaves[step - 1]:
                ax.axvline(step, color="gray", linestyle=":", linewidth=1)
    ax.set_xlabel("step")
    ax.set_ylabel("objective")
    if label:
        ax.legend()
    figure.tight_layout()
    return figure


def show_feature_maps(
    activation: np.ndarray, num: int = 16, ncols: int = 8, size: float = 1.4, title: str | None = None
) -> Figure:
    """The ``num`` most active channels of one image's activation (h, w, C) or (1, h, w, C)."""
    activation = np.asarray(activation)
    activation = activation[0] if activation.ndim == 4 else activation
    order = np.argsort(activation.mean(axis=(0, 1)))[::-1][:num]
    maps = [activation[..., c] for c in order]
    figure = show_images(maps, titles=[f"ch {c}" for c in order], ncols=ncols, size=size, cmap="magma")
    if title:
        figure.suptitle(title)
        figure.tight_layout()
    return figure


def plot_spectra(images: Mapping[str, np.ndarray], ax=None, bins: int = 32) -> Figure:
    """Radially averaged power spectra, log scale: where the energy of each image sits."""
    figure = ax.figure if ax is not None else plt.figure(figsize=(6, 3.5))
    ax = ax or figure.add_subplot()
    for name, image in images.items():
        frequencies, power = radial_spectrum(image, bins=bins)
        ax.semilogy(frequencies, power + 1e-12, label=name)
    ax.set_xlabel("spatial frequency (cycles / pixel)")
    ax.set_ylabel("power")
    ax.legend(fontsize=8)
    figure.tight_layout()
    return figure


def draw_receptive_field(
    image: np.ndarray, size: int, centre: tuple[int, int] | None = None, title: str | None = None, ax=None
) -> Figure:
    """Outline a ``size`` x ``size`` square (a unit's receptive field) on the image."""
    figure = ax.figure if ax is not None else plt.figure(figsize=(4, 4))
    ax = ax or figure.add_subplot()
    height, width = image.shape[:2]
    row, col = centre or (height // 2, width // 2)
    ax.imshow(np.clip(image, 0, 1))
    ax.add_patch(
        plt.Rectangle((col - size / 2, row - size / 2), size, size, fill=False, color="yellow", linewidth=2)
    )
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    ax.set_title(title or f"receptive field: {size} px")
    return figure


def save_gif(
    frames: Sequence[np.ndarray], path: str | Path, fps: float = 8.0, overwrite: bool = False
) -> Path:
    """Write frames (H, W, 3) in [0, 1] as a looping GIF; refuses to overwrite unless asked."""
    from PIL import Image

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
    if not frames:
        raise ValueError("No frames to save: record some with dream(..., record_every=k).")
    pictures = [Image.fromarray(to_uint8(frame)) for frame in frames]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=int(1000 / fps), loop=0)
    return path


def show_signed(maps: Mapping[str, np.ndarray], ncols: int | None = None, size: float = 2.4) -> Figure:
    """2-D arrays with signs (gradients, pre-activations): red positive, blue negative, white exactly 0.

    Each panel gets its own symmetric colour scale, so zeros always look white and "no gradient here"
    is visible at a glance.
    """
    ncols = ncols or min(len(maps), 5)
    nrows = math.ceil(len(maps) / ncols)
    figure, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, (title, values) in zip(axes.flat, maps.items(), strict=False):  # more axes than maps
        values = np.asarray(values, dtype=np.float64)
        limit = float(np.abs(values).max()) or 1.0
        axis.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit)
        axis.set_title(title, fontsize=9)
    figure.tight_layout()
    return figure


def show_with_spectra(
    images: Mapping[str, np.ndarray],
    reference: Mapping[str, np.ndarray] | None = None,
    size: float = 2.6,
    bins: int = 24,
    cutoff: float | None = 0.25,
) -> Figure:
    """Pictures in a row, and below them their radially averaged power spectra on one log-log plot.

    ``reference`` images (e.g. a natural photo) are drawn as dashed spectra without a picture. Each
    title gives the image's high-frequency fraction (energy above ``cutoff`` cycles/pixel), and the
    plot marks the cut-off, so "more noise" reads as "more energy right of the dotted line".
    """
    from deepdream_lib.measure import high_frequency_fraction

    reference = dict(reference or {})
    ncols = max(len(images), 1)
    figure = plt.figure(figsize=(max(size * ncols, 6.0), size + 3.2))
    grid = figure.add_gridspec(2, ncols, height_ratios=[size, 3.0])
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    spectra = figure.add_subplot(grid[1, :])
    for index, (title, image) in enumerate(images.items()):
        axis = figure.add_subplot(grid[0, index])
        axis.imshow(np.clip(np.asarray(image), 0, 1))
        axis.axis("off")
        hff = f"\nhigh-freq {high_frequency_fraction(image, cutoff):.2f}" if cutoff else ""
        axis.set_title(f"{title}{hff}", fontsize=8, color=colours[index % len(colours)])
        frequencies, power = radial_spectrum(image, bins=bins)
        spectra.loglog(frequencies[1:], power[1:] + 1e-12, color=colours[index % len(colours)], label=title)
    for title, image in reference.items():
        frequencies, power = radial_spectrum(image, bins=bins)
        spectra.loglog(frequencies[1:], power[1:] + 1e-12, "k--", linewidth=1, label=f"{title} (reference)")
    if cutoff:
        spectra.axvline(cutoff, color="gray", linestyle=":", linewidth=1)
    low, high = spectra.get_xlim()  # plain numbers at a few ticks; no crowded minor-tick labels
    spectra.set_xticks([t for t in (0.02, 0.05, 0.1, 0.2, 0.5) if low <= t <= high])
    spectra.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    spectra.xaxis.set_minor_formatter(NullFormatter())
    spectra.set_xlabel("spatial frequency (cycles / pixel)")
    spectra.set_ylabel("power")
    spectra.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    return figure


def show_power_spectra(
    images: Mapping[str, np.ndarray], period: int | None = None, size: float = 3.2
) -> Figure:
    """2-D power spectra (log scale, zero frequency in the middle), one panel per image.

    A pattern that repeats every ``period`` pixels shows up as bright dots on a grid of spacing
    1/period cycles/pixel; with ``period`` given, that grid is drawn as dotted lines, so the dots (a
    stride artefact) either sit on it or are absent.
    """
    from deepdream_lib.measure import power_spectrum

    figure, axes = plt.subplots(1, len(images), figsize=(size * len(images), size), squeeze=False)
    for axis, (title, image) in zip(axes[0], images.items(), strict=True):
        power = power_spectrum(image)
        axis.imshow(np.log10(power + 1e-12), cmap="magma", extent=(-0.5, 0.5, 0.5, -0.5))
        if period:
            for k in range(-(period // 2), period // 2 + 1):
                axis.axvline(k / period, color="white", linestyle=":", linewidth=0.6, alpha=0.6)
                axis.axhline(k / period, color="white", linestyle=":", linewidth=0.6, alpha=0.6)
        axis.set_title(title, fontsize=9)
        axis.set_xlabel("cycles / pixel")
    axes[0, 0].set_ylabel("cycles / pixel")
    figure.tight_layout()
    return figure
