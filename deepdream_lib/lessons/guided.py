"""Guided dreams: let a second image choose which features to amplify.

A plain dream amplifies whatever the photo already excites. A guided dream (the original Caffe notebook's
``objective_guide``) scores each position of the dreamed image by its best match among the *guide
image's* feature vectors::

    J(x) = 1/N * sum_i max_j <a_i(x), g_j>

so the gradient at position i is the best-matching guide vector ``g_j*`` (divided by N): each place of
the photo is pushed towards the guide feature it already resembles most. The objective itself is
:func:`deepdream_lib.objectives.guide`; this module builds it from an image and shows which guide
features get used.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from deepdream_lib.images import ImageLike, load_image
from deepdream_lib.models import Backbone, as_backbone
from deepdream_lib.objectives import Objective, guide


def features(image: ImageLike, layer: str, model: Backbone | str, max_size: int | None = None) -> np.ndarray:
    """The activation of ``layer`` for one image: an (h, w, C) array of feature vectors."""
    backbone = as_backbone(model)
    pixels = load_image(image, max_size=max_size)
    return backbone.activations(pixels[None], [backbone.check_layer(layer)])[layer].numpy()[0]


def guide_from_image(
    layer: str, guide_image: ImageLike, model: Backbone | str = "vgg16_hed", max_size: int | None = None
) -> Objective:
    """The guide objective for ``layer``, with the guide's feature vectors taken from ``guide_image``.

    ``max_size`` shrinks the guide first (a smaller guide has fewer vectors to compare: faster).
    """
    guide_features = features(guide_image, layer, model, max_size)
    return guide(layer, guide_features)


def best_match(image_features: np.ndarray, guide_features: np.ndarray) -> np.ndarray:
    """For every image feature vector, the index of the guide vector with the largest dot product.

    ``image_features`` is (h, w, C) or (N, C); ``guide_features`` (gh, gw, C) or (M, C). Returns
    indices into the flattened guide, shaped (h, w) or (N,). This is where the guide objective's
    gradient points: position i is pushed along guide vector ``best_match[i]``.
    """
    image_features = np.asarray(image_features, np.float32)
    guide_flat = np.asarray(guide_features, np.float32).reshape(-1, np.shape(guide_features)[-1])
    if image_features.shape[-1] != guide_flat.shape[-1]:
        raise ValueError(
            f"The image has {image_features.shape[-1]} channels and the guide {guide_flat.shape[-1]}: "
            "take both from the same layer."
        )
    flat = image_features.reshape(-1, image_features.shape[-1])
    scores = tf.linalg.matmul(flat, guide_flat, transpose_b=True).numpy()  # (N, M)
    return scores.argmax(axis=1).reshape(image_features.shape[:-1])


def guide_usage(image_features: np.ndarray, guide_features: np.ndarray) -> np.ndarray:
    """How often each guide position is some image position's best match: a (gh, gw) map summing to 1.

    Bright places of this map are the parts of the guide that the dream will copy features from.
    """
    guide_features = np.asarray(guide_features)
    if guide_features.ndim != 3:
        raise ValueError(f"guide_features must be (gh, gw, C), got shape {guide_features.shape}.")
    matches = best_match(image_features, guide_features).reshape(-1)
    counts = np.bincount(matches, minlength=guide_features.shape[0] * guide_features.shape[1])
    return (counts / counts.sum()).reshape(guide_features.shape[:2]).astype(np.float32)
