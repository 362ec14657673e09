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
    if result.shape == ():
        raise CheckFailed(
            "You returned one number: np.argmax without an axis gives one index into the flattened (N, M) "
            "score table. Take the argmax of each row, axis=1: one guide index per image position."
        )
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
    if not np.issubdtype(result.dtype, np.integer) and np.allclose(result, scores.max(axis=1), atol=1e-5):
        raise CheckFailed(
            "You returned the best *scores* (the max of each row); return *which* guide vector wins, its "
            "index: np.argmax(scores, axis=1)."
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
    if np.array_equal(result, np.abs(scores).argmax(axis=1)) and not np.array_equal(result, expected):
        raise CheckFailed(
            "You ranked the guide vectors by |<a_i, g_j>| (or its square): a large *negative* dot product "
            "is then a winner, but it is the worst match. Use the plain dot product's argmax."
        )
    if np.array_equal(result, expected + 1):
        raise CheckFailed(
            "Every index is one too large: guide vectors are numbered from 0, as np.argmax numbers them; do "
            "not add 1."
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
    try:
        value = class_logit_objective(logits, index)
    except (IndexError, tf.errors.InvalidArgumentError):
        raise CheckFailed(
            f"Your function failed on a batch of 3 images with index {index}: logits[index] picks *image* "
            "number `index` (axis 0, the batch). Index the class axis: logits[:, index]."
        ) from None
    result = returned_array(value, "class_logit_objective")
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
    shapes = {
        (3, 10): "that is every class's logit; keep only class `index`: logits[:, index]",
        (3, 1): "the slice [:, index:index + 1] keeps the class axis; logits[:, index] drops it",
    }
    if result.shape in shapes:
        raise CheckFailed(f"Wrong shape {result.shape}: {shapes[result.shape]}.")
    expect(result.shape == (3,), f"Wrong shape {result.shape}: expected (3,), one value per image.")
    _diagnose_logit(result, logits.numpy().astype(np.float64), index)
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
    other = returned_array(class_logit_objective(logits, 2), "class_logit_objective")
    expect(
        other.shape == (3,) and np.allclose(other, logits.numpy()[:, 2], atol=1e-5),
        "Asked for class 2, your function did not return its logits: you wrote the class into your code. "
        "Use the `index` argument: logits[:, index].",
    )


def _diagnose_logit(result: np.ndarray, logits: np.ndarray, index: int) -> None:
    """Name the mistake of one value per image that is not the raw logit of class ``index``."""
    mistakes = [
        (-logits[:, index], "You returned minus the logit. Objectives are *maximised* (gradient ascent): "
         "return the logit itself, logits[:, index]."),
        (1.0 / (1.0 + np.exp(-logits[:, index])), "You applied a sigmoid; DeepDream maximises the raw "
         "logit, which does not saturate."),
        (logits[:, index - 1], f"You returned class {index - 1}'s logit: classes are numbered from 0, so "
         "class `index` is logits[:, index], no - 1."),
        (logits[:, index + 1], f"You returned class {index + 1}'s logit: class `index` is logits[:, index], "
         "no + 1."),
        (logits.max(axis=1), "You returned each image's largest logit, the top class's. Return the logit of "
         "class `index`, whichever class is on top: logits[:, index]."),
        (logits.argmax(axis=1), "You returned the predicted class (argmax). Return the *score* of class "
         "`index`: logits[:, index]."),
    ]
    right = logits[:, index]
    for candidate, message in mistakes:
        if np.allclose(result, candidate, atol=1e-5) and not np.allclose(candidate, right, atol=1e-5):
            raise CheckFailed(message)


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
    if indices == [expected[0]] * 5:
        raise CheckFailed(
            "You returned the top class 5 times: np.argmax finds only the largest. Sort the indices by "
            "score (np.argsort) and take the first k of the reversed order."
        )
    if indices == np.argsort(-np.abs(scores), kind="stable")[:5].tolist():
        raise CheckFailed(
            "You ranked by the absolute value, so a very negative score (-7) made the list. Rank by the "
            "score itself: the highest scores first."
        )
    expect(indices == expected, f"For scores {scores.tolist()} and k=5 expected {expected}, got {indices}.")
    one = [int(v) for v in returned_array(top_k(scores, 1), "top_k", dtype=None).reshape(-1)]
    expect(len(one) == 1, f"top_k(scores, 1) returned {len(one)} indices: use the k argument.")
    expect(one == [4], f"top_k(scores, 1) should be [4], got {one}.")
    # scores whose ranks differ from their order, so that ranks (argsort of argsort) fail
    more = np.array([1.0, 5.0, 3.0, -2.0, 4.0, 0.5], np.float32)
    three = [int(v) for v in returned_array(top_k(more, 3), "top_k", dtype=None).reshape(-1)]
    if three == np.argsort(np.argsort(-more))[:3].tolist():
        raise CheckFailed(
            f"For scores {more.tolist()} you returned {three}: the *ranks* of the first scores (argsort of "
            "argsort). top_k needs the *order*: the indices of the highest scores, np.argsort(scores)[::-1]."
        )
    expect(three == [1, 4, 2], f"For scores {more.tolist()} and k=3 expected [1, 4, 2], got {three}.")
