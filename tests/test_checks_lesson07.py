"""Lesson 07's checks: a blank exercise fails, the solution passes, typical mistakes get their diagnosis."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from checkcases import passes, table_tests
from deepdream_lib.course.checks import lesson07


# --- solutions ---------------------------------------------------------------------------------------
def best_match(features, guide):
    return np.argmax(features @ guide.T, axis=1)


def class_logit_objective(logits, index):
    return logits[:, index]


def top_k(logits, k):
    return [int(i) for i in np.argsort(logits)[::-1][:k]]


# --- typical mistakes --------------------------------------------------------------------------------
def best_match_cosine(features, guide):
    unit = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)  # noqa: E731
    return np.argmax(unit(features) @ unit(guide).T, axis=1)


def best_match_wrong_axis(features, guide):
    return np.argmax(features @ guide.T, axis=0)


def best_match_argmin(features, guide):
    return np.argmin(features @ guide.T, axis=1)


def class_logit_softmax(logits, index):
    return tf.nn.softmax(logits)[:, index]


def class_logit_mean(logits, index):
    return tf.reduce_mean(logits[:, index])


def class_logit_numpy(logits, index):
    return np.asarray(logits)[:, index]


def best_match_scores(features, guide):
    return (features @ guide.T).max(axis=1)


def best_match_flat(features, guide):
    return np.argmax(features @ guide.T)


def best_match_absolute(features, guide):
    return np.argmax(np.abs(features @ guide.T), axis=1)


def best_match_squared(features, guide):
    return np.argmax((features @ guide.T) ** 2, axis=1)


def best_match_from_one(features, guide):
    return np.argmax(features @ guide.T, axis=1) + 1


def class_logit_batch_axis(logits, index):
    return logits[index]


def class_logit_all(logits, index):
    return logits


def class_logit_kept_axis(logits, index):
    return logits[:, index : index + 1]


def class_logit_negated(logits, index):
    return -logits[:, index]


def class_logit_sigmoid(logits, index):
    return tf.sigmoid(logits)[:, index]


def class_logit_minus_one(logits, index):
    return logits[:, index - 1]


def class_logit_top(logits, index):
    return tf.reduce_max(logits, axis=1)


def class_logit_argmax(logits, index):
    return tf.cast(tf.argmax(logits, axis=1), tf.float32)


def class_logit_fixed(logits, index):
    return logits[:, 7]


def best_match_float(features, guide):
    return np.argmax(features @ guide.T, axis=1).astype(float)


def best_match_products(features, guide):
    return np.argmax(features[:, None, :] * guide[None], axis=1)  # no sum over C: vectors, not scores


def top_k_negated_and_reversed(logits, k):
    return list(np.argsort(-np.asarray(logits))[::-1][:k])


def top_k_argmax(logits, k):
    return [int(np.argmax(logits))] * k


def top_k_absolute(logits, k):
    return list(np.argsort(np.abs(logits))[::-1][:k])


def top_k_fixed(logits, k):
    return list(np.argsort(logits)[::-1][:5])


def top_k_ranks(logits, k):
    return list(np.argsort(np.argsort(-np.asarray(logits)))[:k])


def top_k_ascending(logits, k):
    return list(np.argsort(logits)[-k:])


def top_k_lowest(logits, k):
    return list(np.argsort(logits)[:k])


CASES = [
    (lesson07.check_best_match, best_match, [
        (best_match_cosine, "cosine"),
        (best_match_wrong_axis, "one per *guide* vector"),
        (best_match_argmin, "argmin"),
        (best_match_scores, "best *scores*"),
        (best_match_flat, "flattened"),
        (best_match_absolute, "worst match"),
        (best_match_squared, "worst match"),
        (best_match_from_one, "do not add 1"),
        (best_match_float, "integer indices"),
        (best_match_products, "You returned vectors"),
    ]),
    (lesson07.check_class_logit_objective, class_logit_objective, [
        (class_logit_softmax, "softmax"),
        (class_logit_mean, "one number for the whole batch"),
        (class_logit_numpy, "not differentiable"),
        (class_logit_batch_axis, "picks *image*"),
        (class_logit_all, "every class's logit"),
        (class_logit_kept_axis, "keeps the class axis"),
        (class_logit_negated, "minus the logit"),
        (class_logit_sigmoid, "sigmoid"),
        (class_logit_minus_one, "no - 1"),
        (class_logit_top, "largest logit"),
        (class_logit_argmax, "predicted class"),
        (class_logit_fixed, "the `index` argument"),
    ]),
    (lesson07.check_top_k, top_k, [
        (top_k_ascending, "ascending order"),
        (top_k_lowest, "lowest"),
        (top_k_argmax, "top class 5 times"),
        (top_k_absolute, "absolute value"),
        (top_k_fixed, "use the k argument"),
        (top_k_ranks, "*ranks*"),
        (top_k_negated_and_reversed, "*lowest*"),
    ]),
]


test_blank_exercise_fails, test_solution_passes, test_typical_mistake_is_diagnosed = table_tests(CASES)


def test_other_right_answers_pass(capsys):
    """Right answers written another way pass too: TensorFlow ops, lists, the transposed product."""
    passes(lesson07.check_best_match, lambda f, g: tf.argmax(tf.matmul(f, g, transpose_b=True), 1), capsys)
    passes(lesson07.check_best_match, lambda f, g: np.argmax(g @ f.T, axis=0), capsys)
    passes(lesson07.check_top_k, lambda s, k: tf.math.top_k(s, k).indices.numpy().tolist(), capsys)
    passes(lesson07.check_top_k, lambda s, k: list(np.argsort(s)[-k:][::-1]), capsys)
