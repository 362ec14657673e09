"""The lesson 01 checks: a blank exercise fails, the solution passes, typical mistakes get their diagnosis."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from checkcases import blank, fails_with
from deepdream_lib.course.checks import lesson01


# --- exercise 1: most_active_channel -----------------------------------------------------------------------
def most_active_channel(activation):
    return int(np.argmax(activation.mean(axis=(0, 1))))


MOST_ACTIVE_MISTAKES = {
    "max instead of mean": (lambda a: int(np.argmax(a.max(axis=(0, 1)))), "largest *mean*"),
    "argmax without axis": (lambda a: int(np.argmax(a)), "np.argmax without an axis"),
    "argmin": (lambda a: int(np.argmin(a.mean(axis=(0, 1)))), "least* active"),
    "argsort, first entry": (lambda a: int(np.argsort(a.mean(axis=(0, 1)))[0]), "least* active"),
    "returns the value": (lambda a: float(a.mean(axis=(0, 1)).max()), "activation value"),
    "hard-coded": (lambda a: 3, "second array"),
    "channels first (axes 1, 2)": (lambda a: int(np.argmax(a.mean(axis=(1, 2)))), "the row with the largest"),
    "axes 0, 2": (lambda a: int(np.argmax(a.mean(axis=(0, 2)))), "the column with the largest"),
    "axis 0 only": (lambda a: int(np.argmax(a.mean(axis=0))), "axis 0 only"),
    "axis 1 only": (lambda a: int(np.argmax(a.mean(axis=1))), "axis 1 only"),
    "mean over channels": (lambda a: int(np.argmax(a.mean(axis=-1))), "averaged over the channels"),
    "counts from 1": (lambda a: int(np.argmax(a.mean(axis=(0, 1)))) + 1, "do not add 1"),
    "returns the means": (lambda a: a.mean(axis=(0, 1)), "one per channel"),
    "position of the largest value": (
        lambda a: np.unravel_index(np.argmax(a), a.shape), "(row, column, channel)"
    ),
}


def test_most_active_channel(capsys):
    fails_with(lesson01.check_most_active_channel, blank, "Not implemented yet")
    lesson01.check_most_active_channel(most_active_channel)
    assert "PASS" in capsys.readouterr().out
    # a TensorFlow answer (a scalar tensor) is fine too
    lesson01.check_most_active_channel(lambda a: tf.argmax(tf.reduce_mean(a, axis=[0, 1])))
    assert "PASS" in capsys.readouterr().out


@pytest.mark.parametrize("mistake", sorted(MOST_ACTIVE_MISTAKES))
def test_most_active_channel_diagnoses(mistake):
    function, phrase = MOST_ACTIVE_MISTAKES[mistake]
    fails_with(lesson01.check_most_active_channel, function, phrase)


# --- exercise 2: layer_objective ---------------------------------------------------------------------------
def layer_objective(activations, name):
    return tf.reduce_mean(activations[name], axis=[1, 2, 3])


LAYER_MISTAKES = {
    "mean over the batch too": (lambda acts, name: tf.reduce_mean(acts[name]), "whole batch"),
    "wrong axes": (lambda acts, name: tf.reduce_mean(acts[name], axis=-1), "Wrong shape"),
    "batch axis instead of channels": (
        lambda acts, name: tf.reduce_mean(acts[name], axis=[0, 1, 2]), "one value per *channel*"
    ),
    "channels not averaged": (
        lambda acts, name: tf.reduce_mean(acts[name], axis=[1, 2]), "average over the channels too"
    ),
    "keepdims": (lambda acts, name: tf.reduce_mean(acts[name], axis=[1, 2, 3], keepdims=True), "keepdims"),
    "no mean at all": (lambda acts, name: acts[name], "the activation itself"),
    "max": (lambda acts, name: tf.reduce_max(acts[name], axis=[1, 2, 3]), "maximum"),
    "squared": (lambda acts, name: tf.reduce_mean(acts[name] ** 2, axis=[1, 2, 3]), "*squared*"),
    "hard-coded layer name": (
        lambda acts, name: tf.reduce_mean(acts["block4_conv3"], axis=[1, 2, 3]), "the `name` argument"
    ),
    "float": (lambda acts, name: float(tf.reduce_mean(acts[name])), "one number"),
    "no return": (lambda acts, name: None, "return"),
    "sum": (lambda acts, name: tf.reduce_sum(acts[name], axis=[1, 2, 3]), "summed"),
    "wrong layer": (lambda acts, name: tf.reduce_mean(acts["block1_conv2"], axis=[1, 2, 3]), "wrong layer"),
    "numpy": (lambda acts, name: np.mean(acts[name].numpy(), axis=(1, 2, 3)), "no gradient"),
}


def test_layer_objective(capsys):
    fails_with(lesson01.check_layer_objective, blank, "Not implemented yet")
    lesson01.check_layer_objective(layer_objective)
    assert "PASS" in capsys.readouterr().out


@pytest.mark.parametrize("mistake", sorted(LAYER_MISTAKES))
def test_layer_objective_diagnoses(mistake):
    function, phrase = LAYER_MISTAKES[mistake]
    fails_with(lesson01.check_layer_objective, function, phrase)


# --- exercise 3: receptive_field ---------------------------------------------------------------------------
def receptive_field(layers):
    field, jump = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return field


def _no_jump(layers):
    return 1 + sum(kernel - 1 for kernel, _ in layers)


def _early_jump(layers):
    field, jump = 1, 1
    for kernel, stride in layers:
        jump *= stride
        field += (kernel - 1) * jump
    return field


def _added_jump(layers):
    field, jump = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump += stride - 1
    return field


def _whole_kernel(layers):
    field, jump = 1, 1
    for kernel, stride in layers:
        field += kernel * jump
        jump *= stride
    return field


def _field_and_jump(layers):
    field, jump = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return field, jump


RECEPTIVE_MISTAKES = {
    "starts at 0": (lambda layers: receptive_field(layers) - 1, "1 too small"),
    "ignores strides": (_no_jump, "ignored the strides"),
    "jump too early": (_early_jump, "before adding"),
    "sums kernels": (lambda layers: sum(kernel for kernel, _ in layers), "added up the kernel sizes"),
    "multiplies kernels": (lambda layers: int(np.prod([k for k, _ in layers])), "multiplied the kernel"),
    "jump adds strides": (_added_jump, "Strides multiply"),
    "k instead of k - 1": (_whole_kernel, "(k - 1) * jump"),
    "output first": (lambda layers: receptive_field(layers[::-1]), "from the last to the first"),
    "returns field and jump": (_field_and_jump, "Return only the field"),
}


def test_receptive_field(capsys):
    fails_with(lesson01.check_receptive_field, blank, "Not implemented yet")
    lesson01.check_receptive_field(receptive_field)
    assert "PASS" in capsys.readouterr().out


@pytest.mark.parametrize("mistake", sorted(RECEPTIVE_MISTAKES))
def test_receptive_field_diagnoses(mistake):
    function, phrase = RECEPTIVE_MISTAKES[mistake]
    fails_with(lesson01.check_receptive_field, function, phrase)


def test_receptive_field_matches_the_measured_vgg16_fields():
    """The check's reference numbers are what measure.receptive_field finds on the real network."""
    for name, end in lesson01.VGG16_BLOCK_ENDS.items():
        assert receptive_field(lesson01.VGG16_STACK[:end]) == lesson01.VGG16_FIELDS[name]
