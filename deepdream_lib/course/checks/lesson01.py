"""Checks for the exercises of lesson 01, "What does a network see?".

Each check builds its own small inputs (random arrays, a made-up VGG-like layer list), runs the
learner's function on them, and says what is wrong when the answer is not right.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from deepdream_lib.course.checks import CheckFailed, check, expect

# VGG16 up to each block's last convolution, as (kernel_size, stride) pairs, and the receptive fields
# that measure.receptive_field finds on the real network.
VGG16_STACK = [(3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (3, 1), (2, 2),
               (3, 1), (3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (3, 1)]
VGG16_BLOCK_ENDS = {"block1_conv2": 2, "block2_conv2": 5, "block3_conv3": 9, "block4_conv3": 13,
                    "block5_conv3": 17}
VGG16_FIELDS = {"block1_conv2": 5, "block2_conv2": 14, "block3_conv3": 40, "block4_conv3": 92,
                "block5_conv3": 196}


def _as_int(value: object, what: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise CheckFailed(f"{what} returned {value!r}, a True/False; return a whole number.")
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    if isinstance(value, tf.Tensor) and value.shape.rank == 0:
        value = value.numpy().item()
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    raise CheckFailed(f"{what} returned {value!r} ({type(value).__name__}); return a whole number.")


# --- exercise 1 --------------------------------------------------------------------------------------


@check("most_active_channel finds the channel with the largest mean activation")
def check_most_active_channel(most_active_channel: Callable[[np.ndarray], int]) -> None:
    rng = np.random.default_rng(1)
    height, width, depth = 6, 7, 10
    activation = rng.uniform(0.0, 1.0, (height, width, depth)).astype(np.float32)
    activation[..., 3] += 1.5  # channel 3: active everywhere, the largest mean
    activation[2, 4, 7] = 30.0  # channel 7: one huge spike, but a smaller mean than channel 3
    activation[..., 5] = 0.0  # channel 5: silent
    means = activation.mean(axis=(0, 1))
    assert int(means.argmax()) == 3 and int(activation.max(axis=(0, 1)).argmax()) == 7
    original = activation.copy()

    answer = most_active_channel(activation)
    if isinstance(answer, (float, np.floating)) and not float(answer).is_integer():
        raise CheckFailed(
            f"You returned {answer!r}: that looks like an activation value. Return the channel's index "
            "(a whole number from 0 to C - 1), e.g. with np.argmax."
        )
    index = _as_int(answer, "most_active_channel")
    expect(np.array_equal(activation, original), "Your function changed the activation array it was given.")
    if index == 3:
        pass
    elif index == 7:
        raise CheckFailed(
            "You returned channel 7, which has the largest single value (one bright spot). The most active "
            "channel is the one with the largest *mean* over all positions: average over height and width "
            "(axis=(0, 1)) before taking the argmax."
        )
    elif index == int(means.argmin()):
        raise CheckFailed(f"You returned channel {index}, the *least* active one: use argmax, not argmin.")
    elif index == int(activation.mean(axis=-1).argmax()) or index >= depth:
        raise CheckFailed(
            f"You returned {index}, not the channel with the largest mean (3): it looks like a position in "
            "the image (argmax without an axis, or after averaging over the channels). Average over height "
            "and width, activation.mean(axis=(0, 1)), then take the argmax of the C means."
        )
    else:
        raise CheckFailed(f"You returned channel {index}; the channel with the largest mean is 3.")

    # a second array, so a hard-coded answer fails
    other = rng.uniform(0.0, 1.0, (4, 5, 12)).astype(np.float32)
    other[..., 9] += 2.0
    index = _as_int(most_active_channel(other), "most_active_channel")
    expect(index == 9, f"On a second array (4 x 5 x 12) you returned {index}; the most active channel is 9.")


# --- exercise 2 --------------------------------------------------------------------------------------


@check("layer_objective is the mean activation of the layer, one value per image, and has a gradient")
def check_layer_objective(layer_objective: Callable[[dict, str], tf.Tensor]) -> None:
    rng = np.random.default_rng(2)
    activations = {
        "block1_conv2": tf.constant(rng.uniform(0.0, 1.0, (2, 8, 8, 4)), tf.float32),
        "block4_conv3": tf.constant(rng.uniform(0.0, 5.0, (2, 3, 5, 6)), tf.float32),
    }
    activations["block4_conv3"] += tf.constant([0.0, 2.0])[:, None, None, None]  # image 1 is more active
    target = activations["block4_conv3"]
    expected = tf.reduce_mean(target, axis=[1, 2, 3]).numpy()

    with tf.GradientTape() as tape:
        tape.watch(target)
        value = layer_objective(activations, "block4_conv3")
    gradient = tape.gradient(value, target) if isinstance(value, (tf.Tensor, tf.Variable)) else None
    result = np.asarray(value, dtype=np.float64)

    if result.shape != expected.shape:
        if result.shape == ():
            if np.isclose(result, expected.mean(), rtol=1e-4):
                problem = "one number for the whole batch (the mean over the batch axis too)"
            else:
                problem = "one number"
            raise CheckFailed(
                f"You returned {problem}; DeepDream needs one value per image, shape (B,) = "
                f"{expected.shape}. Average over height, width and channels only: axis=[1, 2, 3]."
            )
        raise CheckFailed(
            f"Wrong shape {result.shape}: expected one value per image, shape (B,) = {expected.shape}. The "
            "activation has shape (B, h, w, C); average over axes 1, 2 and 3 (height, width, channels)."
        )
    other = tf.reduce_mean(activations["block1_conv2"], axis=[1, 2, 3]).numpy()
    if np.allclose(result, other, rtol=1e-4):
        raise CheckFailed(
            "You averaged the wrong layer: use activations[name], the layer the caller asked for."
        )
    size = int(np.prod(target.shape[1:]))
    if np.allclose(result, expected * size, rtol=1e-4):
        raise CheckFailed(
            f"You summed the activations (your values are {size} times too large). Take the mean, so the "
            "objective does not grow with the image size."
        )
    expect(
        np.allclose(result, expected, rtol=1e-4),
        f"For image 0 you returned {result[0]:.4f}; the mean activation of the layer is {expected[0]:.4f}.",
    )
    expect(
        gradient is not None,
        "Your objective has no gradient: it left TensorFlow (np.mean, .numpy() or float()), so DeepDream "
        "could not differentiate it. Use tf.reduce_mean on the tensor.",
    )


# --- exercise 3 --------------------------------------------------------------------------------------


def _field(
    layers: list[tuple[int, int]], start: int = 1, use_jump: bool = True, early_jump: bool = False
) -> int:
    """The receptive-field recurrence and some typical ways to get it wrong (for the diagnosis)."""
    field, jump = start, 1
    for kernel, stride in layers:
        if early_jump:
            jump *= stride
        field += (kernel - 1) * (jump if use_jump else 1)
        if not early_jump:
            jump *= stride
    return field


@check("receptive_field follows r += (k - 1) * jump, jump *= stride, and matches VGG16's measured fields")
def check_receptive_field(receptive_field: Callable[[list[tuple[int, int]]], int]) -> None:
    cases = [
        [(3, 1)],
        [(3, 1), (3, 1)],
        [(2, 2), (3, 1)],
        [(7, 2), (3, 2), (3, 1)],
        *(VGG16_STACK[:end] for end in VGG16_BLOCK_ENDS.values()),
    ]
    answers = [_as_int(receptive_field(list(layers)), "receptive_field") for layers in cases]
    expected = [_field(layers) for layers in cases]
    if answers == expected:
        empty = _as_int(receptive_field([]), "receptive_field")
        expect(empty == 1, f"With no layers you returned {empty}; a pixel sees exactly itself: 1.")
        return
    wrong = {
        "start": [_field(layers, start=0) for layers in cases],
        "no jump": [_field(layers, use_jump=False) for layers in cases],
        "early jump": [_field(layers, early_jump=True) for layers in cases],
        "sum of kernels": [sum(kernel for kernel, _ in layers) for layers in cases],
    }
    if answers == wrong["start"]:
        raise CheckFailed(
            "Every answer is 1 too small: start from 1 (before any layer, a unit sees one pixel: itself)."
        )
    if answers == wrong["no jump"]:
        raise CheckFailed(
            f"You ignored the strides: for VGG16's block2_conv2 you got {answers[5]}, the network's "
            f"measured field is {VGG16_FIELDS['block2_conv2']}. After a stride-2 layer, neighbouring units "
            "are 2 input pixels apart, so a later kernel of size k adds (k - 1) * jump, where jump is the "
            "product of the strides *before* it."
        )
    if answers == wrong["early jump"]:
        raise CheckFailed(
            "You multiplied the jump by the current layer's stride before adding its (k - 1) * jump. A "
            "layer's own stride only spaces out the *next* layers: add first, then jump *= stride."
        )
    if answers == wrong["sum of kernels"]:
        raise CheckFailed(
            "You added up the kernel sizes; two 3x3 convolutions see 5x5, not 6x6. Each layer adds "
            "(k - 1) * jump to a field that starts at 1."
        )
    for layers, answer, right in zip(cases, answers, expected, strict=True):
        if answer != right:
            raise CheckFailed(f"For layers {layers} you returned {answer}; the receptive field is {right}.")
