"""Checks for the exercises of lesson 07, "Guided and class dreams".

Each check builds tiny inputs (a handful of feature vectors, a batch of made-up logits) and diagnoses
the usual mistakes: cosine similarity or distance instead of the dot product, argmax over the wrong
axis, a softmax probability instead of the logit, a numpy detour that kills the gradient, a ranking
in ascending order.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from deepdream_lib.course.checks import CheckFailed, check, expect, returned_array

# --- exercise 1: the guide's best match ------------------------------------------------------------


def _guide_case() -> tuple[np.ndarray, np.ndarray]:
    """6 image vectors and 5 guide vectors (C = 4) where dot product, cosine and distance disagree."""
    rng = np.random.default_rng(11)
    guide = rng.normal(0.0, 1.0, (5, 4))
    guide[2] *= 6.0  # one loud guide vector: it wins many dot products but not the cosine
    image = rng.normal(0.0, 1.0, (6, 4))
    return image.astype(np.float32), guide.astype(np.float32)


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


@check("best_match picks, for every position, the guide vector with the largest dot product")
def check_best_match(best_match: Callable) -> None:
    image, guide = _guide_case()
    scores = image @ guide.T
    expected = scores.argmax(axis=1)
    result = returned_array(best_match(image, guide), "best_match", dtype=None)
    if result.shape == scores.shape:
        raise CheckFailed(
            f"You returned the whole score matrix {result.shape}; return one index per image vector: the "
            "argmax over the guide vectors (shape (N,))."
        )
    if result.shape == (guide.shape[0],):
        raise CheckFailed(
            f"You returned {result.shape[0]} indices, one per *guide* vector; we need one per image "
            f"position ({image.shape[0]}): take the argmax over the guide axis (axis=1 of the (N, M) scores)."
        )
    if result.shape == image.shape:
        raise CheckFailed(
            "You returned vectors; return the *index* of the best guide vector for each position."
        )
    expect(
        result.shape == (image.shape[0],),
        f"Wrong shape {result.shape}: expected ({image.shape[0]},), one guide index per image position.",
    )
    expect(
        np.issubdtype(result.dtype, np.integer),
        f"The result has dtype {result.dtype}; it should hold integer indices (np.argmax gives them).",
    )
    if np.array_equal(result, scores.argmin(axis=1)) and not np.array_equal(result, expected):
        raise CheckFailed(
            "You took argmin: that is the *worst* match. The guide objective uses the best (argmax)."
        )
    cosine = (_unit(image) @ _unit(guide).T).argmax(axis=1)
    if np.array_equal(result, cosine) and not np.array_equal(result, expected):
        raise CheckFailed(
            "You normalised the vectors (cosine similarity). The guide objective uses the plain dot product "
            "<a_i, g_j>, so a long (loud) guide vector can win even if its direction fits less well."
        )
    distances = ((image[:, None, :] - guide[None, :, :]) ** 2).sum(-1)
    if np.array_equal(result, distances.argmin(axis=1)) and not np.array_equal(result, expected):
        raise CheckFailed(
            "You picked the nearest guide vector by distance. The objective maximises the dot product "
            "<a_i, g_j>: compute image @ guide.T and take the argmax of each row."
        )
    wrong = np.flatnonzero(result != expected)
    if wrong.size:
        first = wrong[0]
        raise CheckFailed(
            f"Position {first} should match guide vector {expected[first]} (the largest dot product); "
            f"you gave {result[first]}."
        )


# --- exercise 2: a class-logit objective -----------------------------------------------------------


@check("class_logit_objective returns each image's raw logit of the class, differentiably")
def check_class_logit_objective(class_logit_objective: Callable) -> None:
    rng = np.random.default_rng(5)
    logits = tf.constant(rng.normal(0.0, 3.0, (3, 10)), tf.float32)  # batch of 3, 10 classes
    index = 7
    result = returned_array(class_logit_objective(logits, index), "class_logit_objective")
    expected = logits.numpy()[:, index]
    if result.shape == ():
        raise CheckFailed(
            "You returned one number for the whole batch; return one value per image, shape (B,) "
            "(here (3,)): the logit of the class for each image."
        )
    if result.shape == (logits.shape[1],):
        raise CheckFailed(
            "You returned the scores of one image for every class (logits[index]?); index the *class* axis: "
            "logits[:, index]."
        )
    expect(result.shape == (3,), f"Wrong shape {result.shape}: expected (3,), one value per image.")
    if np.allclose(result, tf.nn.softmax(logits).numpy()[:, index], atol=1e-5):
        raise CheckFailed(
            "You applied a softmax: that is the probability. DeepDream maximises the raw logit, because a "
            "probability can also rise by pushing the *other* classes down, and it saturates near 1."
        )
    if np.allclose(result, tf.nn.log_softmax(logits).numpy()[:, index], atol=1e-5):
        raise CheckFailed(
            "You returned the log-probability (log_softmax). Its gradient has an extra term, "
            "-sum_k p_k grad z_k, that pushes other classes down; return the raw logit."
        )
    expect(
        np.allclose(result, expected, atol=1e-5),
        f"For image 0 you returned {result[0]:.3f}; its logit of class {index} is {expected[0]:.3f}.",
    )
    variable = tf.Variable(logits)
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(class_logit_objective(variable, index))
    gradient = tape.gradient(value, variable)
    if gradient is None:
        raise CheckFailed(
            "Your objective is not differentiable: no gradient flows back (did you convert to numpy with "
            ".numpy() or np.asarray?). Index the tensor directly: logits[:, index]."
        )
    expect(
        np.allclose(gradient.numpy(), np.eye(10)[[index] * 3], atol=1e-6),
        "The gradient with respect to the logits should be 1 at the class and 0 elsewhere.",
    )


# --- exercise 3: top-k classes ---------------------------------------------------------------------


@check("top_k returns the indices of the k largest scores, highest first")
def check_top_k(top_k: Callable) -> None:
    scores = np.array([0.3, 4.0, -1.0, 2.5, 9.0, 0.0, 3.1, -7.0], np.float32)
    expected = [4, 1, 6, 3, 0]
    result = top_k(scores, 5)
    values = returned_array(result, "top_k", dtype=None).reshape(-1)
    if values.size and not np.issubdtype(values.dtype, np.integer):
        if np.allclose(np.sort(values.astype(np.float64)), np.sort(scores[expected])):
            raise CheckFailed(
                "You returned the scores themselves; return the class *indices* (argsort gives them)."
            )
        raise CheckFailed(f"top_k should return integer class indices, got dtype {values.dtype}.")
    indices = [int(v) for v in values]
    expect(len(indices) == 5, f"You returned {len(indices)} indices for k=5.")
    if indices == expected[::-1]:
        raise CheckFailed("Your list is in ascending order: the first entry must be the *highest* score.")
    if sorted(indices) == sorted(np.argsort(scores)[:5].tolist()):
        raise CheckFailed("You returned the k *lowest* scores (np.argsort sorts ascending: reverse it).")
    if indices == sorted(expected):
        raise CheckFailed(
            "You have the right classes, but sorted by index; sort them by score, highest first."
        )
    expect(indices == expected, f"For scores {scores.tolist()} and k=5 expected {expected}, got {indices}.")
    one = [int(v) for v in returned_array(top_k(scores, 1), "top_k", dtype=None).reshape(-1)]
    expect(one == [4], f"top_k(scores, 1) should be [4], got {one}.")
