"""Measuring interpretability pictures (lesson 09): compare maps, find exemplars, quantify structure.

:mod:`deepdream_lib.lessons.attribution` makes saliency and occlusion maps; this module holds the small tools
that *judge* them and the pictures of feature visualisation:

* :func:`coarsen` and :func:`map_agreement` compare two maps at a coarse scale (raw gradient maps are
  speckled pixel by pixel, so two methods are fairer compared on a grid of cells);
* :func:`image_patches`, with :func:`deepdream_lib.measure.channel_means` and
  :func:`deepdream_lib.imagenet_classes.top_k` (imported here as ``interpret.top_k``), finds the natural
  image patches that excite a channel most: the "exemplars" that Borowski et al. (2021) found more
  helpful to people than feature visualisations;
* :func:`orientation_coherence` and :func:`mean_pairwise_correlation` put numbers on what a picture
  looks like (oriented stripes or isotropic clouds; do several seeds agree?);
* :func:`deletion_drop` tests a map by hiding the pixels it calls important (against random pixels);
* :func:`activation_scale` measures how large a layer's activations are, so an objective can be put in
  units of it (a randomly initialised network's activations can be a million times smaller than a
  trained one's, which stalls an optimiser like Adam whose epsilon then dominates).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from deepdream_lib.engine import objective_values
from deepdream_lib.imagenet_classes import top_k
from deepdream_lib.images import load_image
from deepdream_lib.lessons.attribution import logit_gradient, spearman
from deepdream_lib.measure import grayscale, power_spectrum, spectrum_frequencies
from deepdream_lib.models import Backbone, as_backbone
from deepdream_lib.objectives import class_logit


def coarsen(values: np.ndarray, grid: int) -> np.ndarray:
    """Average an (H, W) map over a ``grid`` x ``grid`` array of equal cells: (grid, grid).

    The map is cropped (bottom and right) to a multiple of ``grid`` first.
    """
    values = np.asarray(values, np.float64)
    if values.ndim != 2:
        raise ValueError(f"Expected a map of shape (H, W), got {values.shape}.")
    if not isinstance(grid, (int, np.integer)) or grid < 1 or grid > min(values.shape):
        raise ValueError(f"grid must be an integer from 1 to {min(values.shape)}, got {grid!r}.")
    cell_h, cell_w = values.shape[0] // grid, values.shape[1] // grid
    cropped = values[: cell_h * grid, : cell_w * grid]
    return cropped.reshape(grid, cell_h, grid, cell_w).mean(axis=(1, 3))


def map_agreement(a: np.ndarray, b: np.ndarray, grid: int | None = None) -> float:
    """Spearman rank correlation of two (H, W) maps, on a ``grid`` x ``grid`` of cells (None: per pixel)."""
    if grid is not None:
        a, b = coarsen(a, grid), coarsen(b, grid)
    return spearman(a, b)


def orientation_coherence(image: np.ndarray) -> float:
    """How strongly the image's edges share one orientation: 0 = no preferred direction, 1 = parallel stripes.

    From the structure tensor of the grayscale image summed over the whole image,
    ``J = [[sum gx^2, sum gx gy], [sum gx gy, sum gy^2]]``: ``(l1 - l2) / (l1 + l2)`` for its eigenvalues.
    """
    dy, dx = np.gradient(grayscale(image))
    jxx, jyy, jxy = (dx * dx).sum(), (dy * dy).sum(), (dx * dy).sum()
    trace = jxx + jyy
    if trace <= 0:
        return 0.0
    return float(np.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / trace)


def mean_pairwise_correlation(images: np.ndarray, spectra: bool = False) -> float:
    """The mean correlation between every pair of images (B, H, W, 3): do several runs agree?

    Pixel by pixel (Pearson), or with ``spectra=True`` by :func:`spectrum_correlation`, which forgives
    the same pattern drawn at a different place.
    """
    images = np.asarray(images, np.float64)
    if len(images) < 2:
        raise ValueError("Need at least two images to compare.")
    if spectra:
        pairs = [(i, j) for i in range(len(images)) for j in range(i + 1, len(images))]
        return float(np.mean([spectrum_correlation(images[i], images[j]) for i, j in pairs]))
    correlations = np.corrcoef(images.reshape(len(images), -1))
    upper = np.triu_indices(len(images), k=1)
    return float(np.mean(correlations[upper]))


def image_patches(
    images: np.ndarray | Sequence[np.ndarray], size: int, stride: int | None = None
) -> np.ndarray:
    """Cut every image (H, W, 3) into ``size`` x ``size`` patches, ``stride`` apart: (N, size, size, 3).

    ``images`` is one image, a batch, or a list of images of different sizes. Patches are read row by
    row, image after image; ``stride`` defaults to ``size`` (no overlap).
    """
    if isinstance(images, np.ndarray) and images.ndim == 3:
        images = [images]
    stride = stride or size
    if size < 1 or stride < 1:
        raise ValueError(f"size and stride must be positive, got {size} and {stride}.")
    patches = []
    for image in images:
        image = load_image(np.asarray(image))
        height, width = image.shape[:2]
        for top in range(0, height - size + 1, stride):
            for left in range(0, width - size + 1, stride):
                patches.append(image[top : top + size, left : left + size])
    if not patches:
        raise ValueError(f"The images are smaller than one {size} x {size} patch.")
    return np.stack(patches).astype(np.float32)


def activation_scale(model: Backbone | str, layer: str, image: np.ndarray) -> float:
    """The standard deviation of ``layer``'s activations on ``image`` (H, W, 3): the layer's typical size."""
    backbone = as_backbone(model)
    activations = backbone.activations(tf.constant(load_image(image)[None]), [layer])[layer]
    return float(tf.math.reduce_std(activations))


def deletion_drop(
    image: np.ndarray,
    importance: np.ndarray,
    model: Backbone | str,
    class_index: int,
    fraction: float = 0.1,
    fill: float = 0.5,
    seed: int | None = None,
) -> float:
    """How much the class logit falls when the ``fraction`` most important pixels are set to gray.

    ``importance`` is an (H, W) map (saliency, occlusion...). With ``seed`` given, that many pixels are
    chosen at random instead: the baseline a useful map must beat. Positive = the logit fell.
    """
    image = load_image(image)
    importance = np.asarray(importance, np.float64)
    if importance.shape != image.shape[:2]:
        raise ValueError(f"The map is {importance.shape}; the image is {image.shape[:2]}.")
    count = max(1, int(round(fraction * importance.size)))
    if seed is None:
        chosen = top_k(importance, count)
    else:
        chosen = np.random.default_rng(seed).choice(importance.size, count, replace=False)
    hidden = image.reshape(-1, 3).copy()
    hidden[chosen] = fill
    pair = np.stack([image, hidden.reshape(image.shape)])
    logits = objective_values(model, class_logit(int(class_index)), pair)
    return float(logits[0] - logits[1])


def spectrum_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two images' power spectra, each with its radial average removed: alike *textures*
    (same orientations and periods), wherever they sit in the image.

    Shifting a pattern changes every pixel but not its power spectrum, so two runs that drew the same
    stripes at different places score near 0 by pixel correlation and high here. The log power at each
    frequency minus the mean log power at that distance from the centre is compared, so the 1/f fall-off
    that every smooth image shares does not count as agreement.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"The images differ in shape: {a.shape} vs {b.shape}.")
    height, width = a.shape[:2]
    radius = np.round(spectrum_frequencies((height, width)) * max(height, width)).astype(int).reshape(-1)
    keep = radius > 0
    spectra = []
    for image in (a, b):
        power = np.log(power_spectrum(image).reshape(-1) + 1e-12)  # centred, like the radius
        radial = np.bincount(radius, power) / np.maximum(np.bincount(radius), 1)
        spectra.append((power - radial[radius])[keep])
    return float(np.corrcoef(spectra[0], spectra[1])[0, 1])


def logit_gradient_fn(model: Backbone | str, class_index: int):
    """A function ``image (H, W, 3) -> gradient of the class logit (H, W, 3)`` for SmoothGrad-style use.

    It is :func:`~deepdream_lib.lessons.attribution.logit_gradient` with ``as_given=True``: it accepts
    values slightly outside [0, 1], as noisy copies of an image have them (the network sees them as
    they are).
    """
    backbone = as_backbone(model)
    backbone.check_layer("logits")

    def gradient(image: np.ndarray) -> np.ndarray:
        return logit_gradient(image, backbone, class_index, as_given=True)[0]

    return gradient
