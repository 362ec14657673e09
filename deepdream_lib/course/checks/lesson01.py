"""Checks for the exercises of lesson 01, "What does a network see?".

Each check builds its own small inputs (random arrays, a made-up VGG-like layer list), runs the
learner's function on them, and says what is wrong when the answer is not right.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from deepdream_lib.course.checks import CheckFailed, check, expect, returned_array

# VGG16 up to each block's last convolution, as (kernel_size, stride) pairs, and the receptive fields
# that measure.receptive_field finds on the real network.
VGG16_STACK = [(3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (3, 1), (2, 2),
               (3, 1), (3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (3, 1)]
VGG16_BLOCK_ENDS = {"block1_conv2": 2, "block2_conv2": 5, "block3_conv3": 9, "block4_conv3": 13,
                    "block5_conv3": 17}
VGG16_FIELDS = {"block1_conv2": 5, "block2_conv2": 14, "block3_conv3": 40, "block4_conv3": 92,
                "block5_conv3": 196}


def _as_int(value: object, what: str, many: str = "") -> int:
    """The learner's answer as an int; ``many`` says what a list or array of several numbers probably is."""
    if isinstance(value, (bool, np.bool_)):
        raise CheckFailed(f"{what} returned {value!r}, a True/False; return a whole number.")
    if isinstance(value, tf.Tensor):
        value = value.numpy()
    if isinstance(value, (list, tuple, np.ndarray)) and np.size(value) > 1:
        raise CheckFailed(
            f"{what} returned {np.size(value)} numbers, {np.round(value, 3).tolist()}; return one whole "
            f"number.{' ' + many if many else ''}"
        )
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    raise CheckFailed(f"{what} returned {value!r} ({type(value).__name__}); return a whole number.")


# --- exercise 1 --------------------------------------------------------------------------------------


def _channel_case() -> np.ndarray:
    """A (6, 7, 10) activation where the usual wrong reductions all give different, telling answers.

    Channel 3 has the largest mean, channel 7 the largest single value, channel 5 is silent; row 1 and
    column 2 are the most active row and column, so averaging over the wrong axes returns 1 or 2.
    """
    rng = np.random.default_rng(1)
    activation = rng.uniform(0.0, 1.0, (6, 7, 10)).astype(np.float32)
    activation[1] += 1.0  # the most active row (for every channel alike: the channel order stays)
    activation[:, 2] += 1.0  # the most active column
    activation[..., 3] += 1.5  # channel 3: active everywhere, the largest mean
    activation[2, 4, 7] = 30.0  # channel 7: one huge spike, but a smaller mean than channel 3
    activation[..., 5] = 0.0  # channel 5: silent
    return activation


@check("most_active_channel finds the channel with the largest mean activation")
def check_most_active_channel(most_active_channel: Callable[[np.ndarray], int]) -> None:
    activation = _channel_case()
    height, width, depth = activation.shape
    means = activation.mean(axis=(0, 1))
    original = activation.copy()

    answer = most_active_channel(activation)
    expect(np.array_equal(activation, original), "Your function changed the activation array it was given.")
    if isinstance(answer, (float, np.floating)) and not float(answer).is_integer():
        raise CheckFailed(
            f"You returned {answer!r}: that looks like an activation value. Return the channel's index "
            "(a whole number from 0 to C - 1), e.g. with np.argmax."
        )
    if np.size(answer) == depth and not isinstance(answer, (bool, np.bool_)):
        raise CheckFailed(
            f"You returned {depth} numbers, one per channel (the means?). Return the index of the largest "
            "one: np.argmax(activation.mean(axis=(0, 1)))."
        )
    if np.size(answer) == 3 and activation.ndim == 3:
        raise CheckFailed(
            "You returned three numbers, a (row, column, channel) position: np.unravel_index of the largest "
            "single value. Return one channel index: average over height and width first, "
            "np.argmax(activation.mean(axis=(0, 1)))."
        )
    index = _as_int(answer, "most_active_channel")
    wrong_axes = {
        int(activation.mean(axis=(1, 2)).argmax()): (
            "the row with the largest mean, not a channel: you averaged over axes (1, 2), width and "
            "channels, as if the array were (C, h, w). It is (h, w, C), channels last"
        ),
        int(activation.mean(axis=(0, 2)).argmax()): (
            "the column with the largest mean, not a channel: you averaged over axes (0, 2), height and "
            "channels. The channels are the last axis of (h, w, C)"
        ),
        int(activation.mean(axis=0).argmax()): (
            "the argmax of a (w, C) table: you averaged over axis 0 only, and np.argmax flattened the rest"
        ),
        int(activation.mean(axis=1).argmax()): (
            "the argmax of an (h, C) table: you averaged over axis 1 only, and np.argmax flattened the rest"
        ),
        int(activation.mean(axis=-1).argmax()): (
            "a position in the image: you averaged over the channels (axis=-1), then np.argmax flattened "
            "height and width"
        ),
        int(activation.argmax()): "a position in the flattened array: np.argmax without an axis",
    }
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
    elif index == 4:
        raise CheckFailed(
            "You returned 4, one more than the most active channel (3). Channels are numbered from 0, as "
            "np.argmax numbers them: do not add 1."
        )
    elif index in wrong_axes:
        raise CheckFailed(
            f"You returned {index}, {wrong_axes[index]}; the most active channel is 3. "
            "Average over height and width, activation.mean(axis=(0, 1)), then take the argmax of the C "
            "means."
        )
    elif index >= depth:
        raise CheckFailed(
            f"You returned {index}, but there are only {depth} channels (0 to {depth - 1}): it looks like a "
            "position in the image. Average over height and width, activation.mean(axis=(0, 1)), then take "
            "the argmax of the C means."
        )
    else:
        raise CheckFailed(f"You returned channel {index}; the channel with the largest mean is 3.")

    # a second array, so a hard-coded answer fails
    other = np.random.default_rng(2).uniform(0.0, 1.0, (4, 5, 12)).astype(np.float32)
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
    a = target.numpy().astype(np.float64)
    expected = a.mean(axis=(1, 2, 3))

    with tf.GradientTape() as tape:
        tape.watch(target)
        value = layer_objective(activations, "block4_conv3")
    gradient = tape.gradient(value, target) if isinstance(value, (tf.Tensor, tf.Variable)) else None
    result = returned_array(value, "layer_objective")

    if result.shape != expected.shape:
        _diagnose_layer_shape(result, a)
    other = tf.reduce_mean(activations["block1_conv2"], axis=[1, 2, 3]).numpy()
    if np.allclose(result, other, rtol=1e-4):
        raise CheckFailed(
            "You averaged the wrong layer: use activations[name], the layer the caller asked for."
        )
    size = int(np.prod(target.shape[1:]))
    wrong_values = [
        (expected * size, f"You summed the activations (your values are {size} times too large). Take the "
         "mean, so the objective does not grow with the image size."),
        (a.max(axis=(1, 2, 3)), "You took the maximum activation. The layer objective is the *mean* over "
         "height, width and channels: tf.reduce_mean."),
        ((a**2).mean(axis=(1, 2, 3)), "You averaged the *squared* activations. The objective of this lesson "
         "is the plain mean activation: tf.reduce_mean(activations[name], axis=[1, 2, 3])."),
    ]
    for values, message in wrong_values:
        if np.allclose(result, values, rtol=1e-4) and not np.allclose(values, expected, rtol=1e-4):
            raise CheckFailed(message)
    expect(
        np.allclose(result, expected, rtol=1e-4),
        f"For image 0 you returned {result[0]:.4f}; the mean activation of the layer is {expected[0]:.4f}.",
    )
    expect(
        gradient is not None,
        "Your objective has no gradient: it left TensorFlow (np.mean, .numpy() or float()), so DeepDream "
        "could not differentiate it. Use tf.reduce_mean on the tensor.",
    )
    # the caller chooses the layer: another name must give that layer's mean
    first = returned_array(layer_objective(activations, "block1_conv2"), "layer_objective")
    expect(
        first.shape == other.shape and np.allclose(first, other, rtol=1e-4),
        "Asked for block1_conv2, your function still returned block4_conv3's mean: you wrote the layer's "
        "name into your code. Use the `name` argument: activations[name].",
    )


def _diagnose_layer_shape(result: np.ndarray, a: np.ndarray) -> None:
    """Raise the diagnosis for a layer objective of the wrong shape (``a`` is the (B, h, w, C) layer)."""
    batch, channels = a.shape[0], a.shape[-1]
    if result.shape == ():
        if np.isclose(result, a.mean(), rtol=1e-4):
            problem = "one number for the whole batch (the mean over the batch axis too)"
        else:
            problem = "one number"
        raise CheckFailed(
            f"You returned {problem}; DeepDream needs one value per image, shape (B,) = ({batch},). "
            "Average over height, width and channels only: axis=[1, 2, 3]."
        )
    shapes = {
        a.shape: "that is the activation itself, unaveraged: take its mean over axes 1, 2 and 3",
        (batch, 1, 1, 1): "keepdims=True kept the averaged axes; leave keepdims out, so the result is (B,)",
        (channels,): "that is one value per *channel*: you averaged over the batch axis 0 too. Average over "
        "axes 1, 2 and 3 (height, width, channels), never the batch",
        (batch, channels): "that is one value per image *and channel*: average over the channels too, "
        "axis=[1, 2, 3]",
    }
    if result.shape in shapes:
        raise CheckFailed(f"Wrong shape {result.shape}: {shapes[result.shape]}.")
    raise CheckFailed(
        f"Wrong shape {result.shape}: expected one value per image, shape (B,) = ({batch},). The "
        "activation has shape (B, h, w, C); average over axes 1, 2 and 3 (height, width, channels)."
    )


# --- exercise 3 --------------------------------------------------------------------------------------


def _field(layers: list[tuple[int, int]]) -> int:
    """The receptive-field recurrence: r += (k - 1) * jump, then jump *= stride."""
    field, jump = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return field


def _no_jump(layers: list[tuple[int, int]]) -> int:
    return 1 + sum(kernel - 1 for kernel, _ in layers)


def _early_jump(layers: list[tuple[int, int]]) -> int:
    field, jump = 1, 1
    for kernel, stride in layers:
        jump *= stride
        field += (kernel - 1) * jump
    return field


def _added_jump(layers: list[tuple[int, int]]) -> int:
    field, jump = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump += stride - 1
    return field


def _whole_kernel(layers: list[tuple[int, int]]) -> int:
    field, jump = 1, 1
    for kernel, stride in layers:
        field += kernel * jump
        jump *= stride
    return field


# Typical wrong recurrences, most specific first, each with its diagnosis.
FIELD_MISTAKES: list[tuple[Callable[[list[tuple[int, int]]], int], str]] = [
    (lambda layers: _field(layers) - 1,
     "Every answer is 1 too small: start from 1 (before any layer, a unit sees one pixel: itself)."),
    (_no_jump,
     f"You ignored the strides: for VGG16's block2_conv2 that gives {_no_jump(VGG16_STACK[:5])}, the "
     f"network's measured field is {VGG16_FIELDS['block2_conv2']}. After a stride-2 layer, neighbouring "
     "units are 2 input pixels apart, so a later kernel of size k adds (k - 1) * jump, where jump is the "
     "product of the strides *before* it."),
    (_early_jump,
     "You multiplied the jump by the current layer's stride before adding its (k - 1) * jump. A layer's own "
     "stride only spaces out the *next* layers: add first, then jump *= stride."),
    (_added_jump,
     "You added the strides to the jump (jump += stride - 1). Strides multiply: after two stride-2 layers "
     "neighbouring units are 4 pixels apart, not 3. Use jump *= stride."),
    (_whole_kernel,
     "Each layer added k * jump; it adds (k - 1) * jump. A 3x3 convolution widens what a unit sees by 2 "
     "pixels (one on each side), not 3."),
    (lambda layers: _field(list(reversed(layers))),
     "You went through the layers from the last to the first. The list is input first, and the jump at a "
     "layer is the product of the strides *before* it: loop over `layers` in order."),
    (lambda layers: sum(kernel for kernel, _ in layers),
     "You added up the kernel sizes; two 3x3 convolutions see 5x5, not 6x6. Each layer adds (k - 1) * jump "
     "to a field that starts at 1."),
    (lambda layers: int(np.prod([kernel for kernel, _ in layers])),
     "You multiplied the kernel sizes; two 3x3 convolutions see 5x5, not 9x9. Each layer *adds* "
     "(k - 1) * jump to a field that starts at 1."),
]


@check("receptive_field follows r += (k - 1) * jump, jump *= stride, and matches VGG16's measured fields")
def check_receptive_field(receptive_field: Callable[[list[tuple[int, int]]], int]) -> None:
    cases = [
        [(3, 1)],
        [(3, 1), (3, 1)],
        [(2, 2), (3, 1)],
        [(7, 2), (3, 2), (3, 1)],
        *(VGG16_STACK[:end] for end in VGG16_BLOCK_ENDS.values()),
    ]
    many = "(The field and the jump? Return only the field.)"
    answers = [_as_int(receptive_field(list(layers)), "receptive_field", many) for layers in cases]
    expected = [_field(layers) for layers in cases]
    if answers == expected:
        empty = _as_int(receptive_field([]), "receptive_field", many)
        expect(empty == 1, f"With no layers you returned {empty}; a pixel sees exactly itself: 1.")
        return
    for mistake, message in FIELD_MISTAKES:
        if answers == [mistake(list(layers)) for layers in cases]:
            raise CheckFailed(message)
    for layers, answer, right in zip(cases, answers, expected, strict=True):
        if answer != right:
            raise CheckFailed(f"For layers {layers} you returned {answer}; the receptive field is {right}.")
