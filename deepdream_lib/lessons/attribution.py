"""Attribution: which pixels of *this* image matter for a class - the opposite question to a dream.

A dream (or a feature visualisation) asks "what input would this unit like?"; attribution asks "which
parts of this input did the network use?". The simplest answer is the **saliency map** (Simonyan et
al. 2013): the size of the gradient of a class logit with respect to each pixel, the largest of the
three colour channels. SmoothGrad (Smilkov et al. 2017) averages it over noisy copies of the image.
Occlusion (Zeiler & Fergus 2014) hides one patch at a time and records how much the score falls.

The functions to judge such maps come with it: :func:`spearman` and :func:`cosine_similarity` compare
two maps (Adebayo et al. 2018 compare a trained network's map with a randomised one's: a method whose
map barely changes cannot be explaining what the network learned), and :func:`shuffle_tiles` makes a
controlled image that keeps local texture but destroys global shape.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from deepdream_lib.engine import objective_and_gradient
from deepdream_lib.imagenet_classes import logits_of, probabilities
from deepdream_lib.images import load_image
from deepdream_lib.measure import grayscale
from deepdream_lib.models import Backbone, as_backbone
from deepdream_lib.objectives import class_logit


def _backbone(model: Backbone | str) -> Backbone:
    backbone = as_backbone(model)
    backbone.check_layer("logits")  # a clear error for networks without a classifier
    return backbone


def _image(image: np.ndarray) -> np.ndarray:
    return load_image(np.asarray(image))


def logit_gradient(
    image: np.ndarray, model: Backbone | str, class_index: int, as_given: bool = False
) -> tuple[np.ndarray, float]:
    """The gradient of class ``class_index``'s logit with respect to the pixels (H, W, 3), and the logit.

    The image is checked like any other (RGB in [0, 1]); ``as_given=True`` feeds its values as they
    are instead, as SmoothGrad's noisy copies need (they stray a little outside [0, 1]).
    """
    backbone = _backbone(model)
    pixels = np.asarray(image, np.float32) if as_given else _image(image)
    objective = class_logit(int(class_index))
    logit, gradient = objective_and_gradient(backbone, objective, tf.constant(pixels[None]))
    return gradient.numpy()[0], float(logit[0])


def top_class(image: np.ndarray, model: Backbone | str) -> int:
    """The index of the class with the largest logit for an (H, W, 3) image (fed at its own size)."""
    return int(np.argmax(logits_of(_image(image), _backbone(model), size=None)[0]))


def saliency_from_gradient(gradient: np.ndarray) -> np.ndarray:
    """|gradient|, then the largest of the colour channels: (H, W, 3) -> (H, W) (Simonyan et al. 2013)."""
    gradient = np.asarray(gradient)
    if gradient.ndim != 3 or gradient.shape[-1] != 3:
        raise ValueError(f"Expected a gradient of shape (H, W, 3), got {gradient.shape}.")
    return np.abs(gradient).max(axis=-1)


def saliency(
    image: np.ndarray,
    model: Backbone | str = "efficientnet_lite0",
    class_index: int | None = None,
    smooth_samples: int = 0,
    noise: float = 0.15,
    seed: int = 0,
) -> np.ndarray:
    """A saliency map (H, W): how strongly each pixel can change the class logit.

    ``class_index`` defaults to the image's top class. With ``smooth_samples=n > 0`` it is SmoothGrad:
    the mean of the saliency maps of ``n`` copies of the image with Gaussian noise of standard deviation
    ``noise`` (in units of the pixel range 0..1) added, which removes much of the speckle.
    The map is large where a small change of the pixels would move the logit most: it shows
    *sensitivity*, not necessarily "where the object is".
    """
    backbone = _backbone(model)
    image = _image(image)
    if class_index is None:
        class_index = top_class(image, backbone)
    if smooth_samples <= 0:
        return saliency_from_gradient(logit_gradient(image, backbone, class_index)[0])
    rng = np.random.default_rng(seed)
    total = np.zeros(image.shape[:2], np.float64)
    for _ in range(smooth_samples):
        noisy = image + rng.normal(0.0, noise, image.shape).astype(np.float32)
        # the network sees the noisy copy as it is (values slightly outside [0, 1] are fine for a gradient)
        total += saliency_from_gradient(logit_gradient(noisy, backbone, class_index, as_given=True)[0])
    return (total / smooth_samples).astype(np.float32)


def occlusion_map(
    image: np.ndarray,
    model: Backbone | str = "efficientnet_lite0",
    class_index: int | None = None,
    patch: int = 32,
    stride: int | None = None,
    fill: float = 0.5,
    batch_size: int = 16,
) -> np.ndarray:
    """How much the class's probability falls when a gray ``patch`` hides each place (Zeiler & Fergus 2014).

    Returns an (H, W) map: at each pixel, the mean drop in probability over the patches that covered
    it (positive = hiding it hurts the class). An *ablation*: it tests what the network uses, at the
    cost of one forward pass per patch position.
    """
    backbone = _backbone(model)
    image = _image(image)
    height, width = image.shape[:2]
    stride = stride or max(1, patch // 2)
    if class_index is None:
        class_index = top_class(image, backbone)

    def probability(batch: np.ndarray) -> np.ndarray:
        return probabilities(batch, backbone, size=None)[:, class_index]

    base = float(probability(image[None])[0])
    corners = [
        (top, left)
        for top in range(0, max(height - patch, 0) + 1, stride)
        for left in range(0, max(width - patch, 0) + 1, stride)
    ]
    drops = np.zeros((height, width), np.float64)
    counts = np.zeros((height, width), np.float64)
    for start in range(0, len(corners), batch_size):
        chunk = corners[start : start + batch_size]
        batch = np.repeat(image[None], len(chunk), axis=0)
        for item, (top, left) in enumerate(chunk):
            batch[item, top : top + patch, left : left + patch] = fill
        for (top, left), value in zip(chunk, probability(batch), strict=True):
            drops[top : top + patch, left : left + patch] += base - value
            counts[top : top + patch, left : left + patch] += 1
    return (drops / np.maximum(counts, 1)).astype(np.float32)


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of the angle between two maps seen as long vectors: 1 = same pattern up to scale."""
    a = np.asarray(a, np.float64).reshape(-1)
    b = np.asarray(b, np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"The maps differ in size: {a.size} vs {b.size} values.")
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / norm) if norm > 0 else 0.0


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(values.size, np.float64)
    ranks[order] = np.arange(values.size)
    return ranks


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps: do they order the pixels alike? (Adebayo et al. 2018).

    1 = same ordering, 0 = unrelated, -1 = reversed. Unlike the cosine it ignores how bright each map
    is overall, which makes maps of different networks comparable.
    """
    a = np.asarray(a, np.float64).reshape(-1)
    b = np.asarray(b, np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"The maps differ in size: {a.size} vs {b.size} values.")
    ra, rb = _ranks(a), _ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    norm = np.sqrt((ra**2).sum() * (rb**2).sum())
    return float((ra * rb).sum() / norm) if norm > 0 else 0.0


def edge_map(image: np.ndarray) -> np.ndarray:
    """Gradient magnitude of the grayscale image (Sobel-like finite differences), shape (H, W).

    The baseline a saliency map should beat: Adebayo et al. found some methods' maps look like this
    whatever the network has learned.
    """
    dy, dx = np.gradient(grayscale(image))
    return np.hypot(dx, dy).astype(np.float32)


def shuffle_tiles(image: np.ndarray, grid: int, seed: int = 0) -> np.ndarray:
    """Cut the image into ``grid`` x ``grid`` tiles and shuffle them: local texture kept, shape destroyed.

    A controlled image for testing what a classifier relies on (cf. Brendel & Bethge 2019, Geirhos et
    al. 2019): if it still says "cat" for shuffled cat tiles, texture alone is enough for it. The image
    is cropped to a multiple of ``grid`` first.
    """
    image = _image(image)
    if not isinstance(grid, int) or grid < 1:
        raise ValueError(f"grid must be a positive integer, got {grid!r}.")
    tile_h, tile_w = image.shape[0] // grid, image.shape[1] // grid
    if min(tile_h, tile_w) < 1:
        raise ValueError(f"A {image.shape[1]}x{image.shape[0]} image cannot be cut into {grid}x{grid} tiles.")
    tiles = [
        image[row * tile_h : (row + 1) * tile_h, col * tile_w : (col + 1) * tile_w]
        for row in range(grid)
        for col in range(grid)
    ]
    order = np.random.default_rng(seed).permutation(len(tiles))
    rows = [
        np.concatenate([tiles[order[row * grid + col]] for col in range(grid)], axis=1) for row in range(grid)
    ]
    return np.concatenate(rows, axis=0)
