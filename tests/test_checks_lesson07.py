"""Lesson 07's checks: a blank exercise fails, the solution passes, typical mistakes get their diagnosis."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from checkcases import table_tests
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


def top_k_ascending(logits, k):
    return list(np.argsort(logits)[-k:])


def top_k_lowest(logits, k):
    return list(np.argsort(logits)[:k])


CASES = [
    (lesson07.check_best_match, best_match, [
        (best_match_cosine, "cosine"),
        (best_match_wrong_axis, "one per \\*guide\\* vector"),
        (best_match_argmin, "argmin"),
    ]),
    (lesson07.check_class_logit_objective, class_logit_objective, [
        (class_logit_softmax, "softmax"),
        (class_logit_mean, "one number for the whole batch"),
        (class_logit_numpy, "not differentiable"),
    ]),
    (lesson07.check_top_k, top_k, [
        (top_k_ascending, "ascending order"),
        (top_k_lowest, "lowest"),
    ]),
]


test_blank_exercise_fails, test_solution_passes, test_typical_mistake_is_diagnosed = table_tests(CASES)
