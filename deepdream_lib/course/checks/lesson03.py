"""Checks for the exercises of lesson 03, "The DeepDream loop".

Each check builds its own small inputs and diagnoses the usual mistakes: octave sizes in the wrong
order, not integers, truncated or one too many; a jitter that forgets to roll the gradient back, rolls
it the wrong way or rolls the wrong axes; an octave loop that resizes the whole dream instead of putting
the lost detail back.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from deepdream_lib.course.checks import CheckFailed, check, expect, returned_array

# --- exercise 1 --------------------------------------------------------------------------------------


def reference_octave_sizes(
    height: int, width: int, num_octaves: int, octave_scale: float
) -> list[tuple[int, int]]:
    """s_k = round(s_0 / r^k) for k = n-1, ..., 0: smallest first (no minimum-size check)."""
    powers = range(num_octaves - 1, -1, -1)
    return [(round(height / octave_scale**k), round(width / octave_scale**k)) for k in powers]


def _floats(sizes: list[tuple]) -> list[tuple[float, float]]:
    """Sizes as float pairs, so that 89 and 89.0 compare equal."""
    return [(float(h), float(w)) for h, w in sizes]


def _call_octave_sizes(octave_sizes: Callable, *args: object) -> list[tuple]:
    """The learner's sizes as a list of tuples, with a diagnosis for what is not one."""
    try:
        result = octave_sizes(*args)
    except ZeroDivisionError:
        raise CheckFailed(
            "Your function divided by zero: at k = 0, octave_scale * k is 0. The octaves shrink by "
            "octave_scale at *each* step, so divide by the power, octave_scale ** k (and r ** 0 = 1)."
        ) from None
    if result is None:
        raise CheckFailed("octave_sizes returned None: did you forget the `return`?")
    try:
        sizes = [tuple(size) for size in result]
    except TypeError:
        raise CheckFailed(
            f"octave_sizes must return a list of (height, width) pairs; you returned {result!r}."
        ) from None
    if any(len(size) != 2 for size in sizes):
        raise CheckFailed(f"Each octave size is a (height, width) pair; you returned {sizes!r}.")
    return sizes


def _diagnose_sizes(sizes: list[tuple], height: int, width: int, num_octaves: int, scale: float) -> None:
    """Name the mistake of octave sizes of the right count but wrong values, most specific first."""
    expected = reference_octave_sizes(height, width, num_octaves, scale)
    powers = range(num_octaves - 1, -1, -1)
    exact = [(height / scale**k, width / scale**k) for k in powers]
    as_numbers = _floats(sizes)
    if as_numbers == _floats(expected[::-1]):
        raise CheckFailed(
            "Your sizes are in the wrong order: largest first. The loop dreams the smallest copy first and "
            f"ends at the image's own size, {(height, width)}: the list must go {expected[0]} ... "
            f"{expected[-1]}."
        )
    if as_numbers == [(float(w), float(h)) for h, w in expected]:
        raise CheckFailed(
            f"Height and width are swapped: the first size should be {expected[0]} (height, width)."
        )
    if np.allclose(as_numbers, exact) and not all(float(v).is_integer() for size in as_numbers for v in size):
        raise CheckFailed(
            f"Your sizes are not integers (e.g. {sizes[0]}): an image has a whole number of pixels. Round "
            "each side to the nearest integer with round(...)."
        )
    rounded = {
        "down": [(float(np.floor(h)), float(np.floor(w))) for h, w in exact],
        "up": [(float(np.ceil(h)), float(np.ceil(w))) for h, w in exact],
    }
    for way, how in (("down", "int() or //"), ("up", "math.ceil")):
        if as_numbers == rounded[way] and rounded[way] != _floats(expected):
            index = next(i for i, size in enumerate(rounded[way]) if size != _floats(expected)[i])
            yours = tuple(int(v) for v in rounded[way][index])
            raise CheckFailed(
                f"You rounded {way} ({how}): {yours} instead of {expected[index]}. Use round(...), which "
                "gives the nearest integer."
            )
    grown = [(round(height * scale**k), round(width * scale**k)) for k in range(num_octaves)]
    if as_numbers == _floats(grown):
        raise CheckFailed(
            "Your sizes grow beyond the image: you multiplied by octave_scale ** k. The octaves are "
            "*smaller* copies: divide, s_k = s_0 / r^k."
        )
    if as_numbers == [(float(h), float(h)) for h, _ in expected]:
        raise CheckFailed(
            f"Every size is square, {sizes[0]} first: you divided the height for both sides. The width "
            f"shrinks the same way: (round(height / r**k), round(width / r**k))."
        )
    for other in (1.2, 1.25, 1.3, 1.4, 2.0):
        if as_numbers == _floats(reference_octave_sizes(height, width, num_octaves, other)):
            raise CheckFailed(
                f"Your sizes are those of octave_scale = {other}, but the check asked for {scale}: use the "
                "octave_scale argument, not a number of your own."
            )
    if as_numbers[-1] != (float(height), float(width)):
        raise CheckFailed(
            f"The last octave must be the image's own size, {(height, width)}; yours is {sizes[-1]}. "
            "(k = 0 gives r^0 = 1.)"
        )
    expect(
        as_numbers == _floats(expected),
        f"For a {height}x{width} image, {num_octaves} octaves of {scale}, the sizes are {expected}; "
        f"you gave {sizes}.",
    )


@check("octave_sizes lists round(s0 / r^k), k = n-1 ... 0: integers, smallest first, the image's size last")
def check_octave_sizes(octave_sizes: Callable[[int, int, int, float], list]) -> None:
    height, width, num_octaves, scale = 300, 451, 4, 1.5
    sizes = _call_octave_sizes(octave_sizes, height, width, num_octaves, scale)
    if len(sizes) != num_octaves:
        more = _call_octave_sizes(octave_sizes, height, width, num_octaves + 2, scale)
        if len(more) == len(sizes):
            raise CheckFailed(
                f"You return {len(sizes)} sizes whatever num_octaves is (asked for {num_octaves}, then "
                f"{num_octaves + 2}): use the num_octaves argument, k = num_octaves - 1 down to 0."
            )
        raise CheckFailed(
            f"With num_octaves={num_octaves} there must be {num_octaves} sizes (k = {num_octaves - 1} down "
            f"to 0); you returned {len(sizes)}. Check the range of k: range(num_octaves - 1, -1, -1)."
        )
    _diagnose_sizes(sizes, height, width, num_octaves, scale)
    if not all(isinstance(v, (int, np.integer)) for size in sizes for v in size):
        raise CheckFailed(
            f"The values are right but not of type int (e.g. {sizes[0][0]!r}): image sizes must be integers, "
            "so convert with int(round(...)) or round(...)."
        )
    one = _call_octave_sizes(octave_sizes, 64, 48, 1, 1.4)
    expect(one == [(64, 48)], f"With one octave the only size is the image's own, (64, 48); you gave {one}.")


# --- exercise 2 --------------------------------------------------------------------------------------


def _weights(shape: tuple[int, ...]) -> tf.Tensor:
    """A fixed position-dependent weight map, so that moving the image changes the gradient."""
    return tf.constant(np.random.default_rng(11).uniform(0.5, 2.0, shape), tf.float32)


def _roll_pairs(shift: tuple[int, int]) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(image roll, gradient roll) pairs of the usual slips: parts swapped, dropped or not negated."""
    dy, dx = shift
    forwards = [(dy, dx), (dx, dy), (dy, 0), (0, dx)]
    backs = [(-dy, -dx), (-dx, -dy), (-dy, dx), (dy, -dx), (-dy, 0), (0, -dx)]
    return [(f, b) for f in forwards for b in backs if (f, b) != ((dy, dx), (-dy, -dx))]


@check("jittered_gradient rolls the image, takes the gradient, and rolls the gradient back")
def check_jittered_gradient(jittered_gradient: Callable) -> None:
    rng = np.random.default_rng(12)
    image = tf.constant(rng.uniform(0.0, 1.0, (2, 10, 12, 3)), tf.float32)
    weights = _weights((1, 10, 12, 3))

    def gradient_fn(images: tf.Tensor) -> tf.Tensor:  # gradient of sum(w * x^2) / 2 = w * x
        return weights * tf.convert_to_tensor(images, tf.float32)

    shift = (3, -5)
    original = image.numpy().copy()
    try:
        value = jittered_gradient(gradient_fn, image, shift)
    except TypeError as error:
        if "unary -" not in str(error):
            raise
        raise CheckFailed(
            f"`-shift` does not work on a tuple ({error}). Negate each part: (-shift[0], -shift[1]), or "
            "[-s for s in shift]."
        ) from None
    result = returned_array(value, "jittered_gradient")
    expect(np.array_equal(image.numpy(), original), "Your function changed the image it was given.")
    if result.shape != tuple(image.shape):
        raise CheckFailed(
            f"Wrong shape {result.shape}: the gradient has the image's shape, {tuple(image.shape)}."
        )
    x, w, s = original, weights.numpy(), shift
    expected = np.roll(w, (-s[0], -s[1]), axis=(1, 2)) * x
    if np.allclose(result, w * x, atol=1e-5):
        raise CheckFailed(
            "You returned the gradient of the image as it is: nothing was rolled. Roll the image by `shift` "
            "(tf.roll(image, shift, axis=[1, 2])) before taking the gradient."
        )
    if np.allclose(result, w * np.roll(x, s, axis=(1, 2)), atol=1e-5):
        raise CheckFailed(
            "You forgot to un-roll: the gradient belongs to the rolled image, so every value sits `shift` "
            "pixels away from the pixel it is for. Roll the gradient back by -shift."
        )
    if np.allclose(result, np.roll(w * np.roll(x, s, axis=(1, 2)), s, axis=(1, 2)), atol=1e-5):
        raise CheckFailed(
            "You rolled the gradient the same way again (by +shift), so it ends up 2 * shift away. Roll it "
            "back by the opposite shift, -shift."
        )
    if np.allclose(result, np.roll(w * x, (-s[0], -s[1]), axis=(1, 2)), atol=1e-5):
        raise CheckFailed(
            "You only rolled the gradient. The image must be rolled *before* the gradient is taken (that is "
            "what moves the network's grid), and the gradient rolled back after."
        )
    for axes in ((0, 1), (2, 3), (1, 3)):
        if np.allclose(result, np.roll(np.roll(x, s, axis=axes) * w, (-s[0], -s[1]), axis=axes), atol=1e-5):
            raise CheckFailed(
                f"You rolled axes {axes}; images are (batch, height, width, channels), so roll height and "
                "width: axis=[1, 2]."
            )
    for forward, back in _roll_pairs(s):
        if np.allclose(result, np.roll(w * np.roll(x, forward, axis=(1, 2)), back, axis=(1, 2)), atol=1e-5):
            raise CheckFailed(
                f"You rolled the image by {forward} and the gradient back by {back} (rows, columns). With "
                f"shift = (dy, dx) = {s}, roll the image by {s} and the gradient back by {(-s[0], -s[1])}: "
                "both parts, rows first, each negated on the way back."
            )
    expect(
        np.allclose(result, expected, atol=1e-5),
        "Not the jittered gradient yet: roll the image by shift on axes [1, 2], apply gradient_fn, roll the "
        "result by -shift on the same axes.",
    )

    # the claim of the lesson: this is exactly the gradient of x -> L(roll(x, shift))
    kernel = tf.constant(rng.normal(0.0, 1.0, (3, 3, 3, 4)), tf.float32)

    def objective(images: tf.Tensor) -> tf.Tensor:
        return tf.reduce_sum(tf.nn.relu(tf.nn.conv2d(images, kernel, 1, "SAME")) ** 2 * weights[..., :1])

    def tape_gradient(images: tf.Tensor) -> tf.Tensor:
        images = tf.convert_to_tensor(images, tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(images)
            value = objective(images)
        return tape.gradient(value, images)

    with tf.GradientTape() as tape:
        tape.watch(image)
        value = objective(tf.roll(image, shift, axis=[1, 2]))
    through_roll = tape.gradient(value, image).numpy()
    mine = returned_array(jittered_gradient(tape_gradient, image, shift), "jittered_gradient")
    expect(
        np.allclose(mine, through_roll, atol=1e-4 * np.abs(through_roll).max()),
        "On a small convolutional objective your jittered gradient differs from the gradient of "
        "x -> L(roll(x, shift)) computed by tf.GradientTape.",
    )


# --- exercise 3 --------------------------------------------------------------------------------------


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return tf.image.resize(np.asarray(image, np.float32)[None], size, method="bilinear").numpy()[0]


def _detail(current, base, image, size, resize):
    """The right carry: only the detail the dream added, on a sharp copy of the original."""
    detail = resize(current - base, size)
    base = resize(image, size)
    return base + detail, base


def _octave_loop(image, sizes, dream_at, resize=_resize, carry=_detail):
    """Dream at each size, smallest first; ``carry`` makes (current, base) at the next size."""
    base = resize(image, sizes[0])
    current = base
    for index, size in enumerate(sizes):
        if index > 0:
            current, base = carry(current, base, image, size, resize)
        current = dream_at(current)
    return current


def reference_detail_octaves(image, sizes, dream_at, resize=_resize):
    """The detail-octave loop (Caffe notebook, Keras example), for the checks."""
    return _octave_loop(image, sizes, dream_at, resize)


def _resize_octaves(image, sizes, dream_at, resize=_resize):
    """The *resize* mode: the whole dreamed picture is enlarged between octaves."""
    return _octave_loop(image, sizes, dream_at, resize, lambda c, b, x, size, r: (r(c, size), b))


def _whole_dream_added(image, sizes, dream_at, resize=_resize):
    """Forgot "- base": the whole dream is carried up and added to the new base, the photo counted twice."""

    def carry(current, base, image, size, resize):
        base = resize(image, size)
        return base + resize(current, size), base

    return _octave_loop(image, sizes, dream_at, resize, carry)


def _clipped(current, base, image, size, resize):
    current, base = _detail(current, base, image, size, resize)
    return np.clip(current, 0.0, 1.0), base


def _dream_as_base(current, base, image, size, resize):
    detail = resize(current - base, size)
    base = resize(current, size)  # the enlarged dream, not the original
    return base + detail, base


# Carries that go wrong, most specific first, with their diagnosis.
CARRY_MISTAKES = [
    (lambda c, b, x, size, r: (r(c, size), b),
     "You enlarged the whole dreamed image between octaves: that is the *resize* mode, and it keeps the blur "
     "of the smallest copy. The detail mode enlarges only what the dream added (current - base) and adds it "
     "to a sharp copy of the original at the new size."),
    (lambda c, b, x, size, r: (r(x, size), r(x, size)),
     "You dropped the dream between octaves: at each new size `current` is only the sharp copy of the "
     "photo, so only the last octave's dream survives. (Setting base = current after dreaming does the "
     "same: the detail current - base is then 0.) Carry the detail: current = base + resize(current - "
     "base, size), with base the original at the *previous* size when you take the difference."),
    (_dream_as_base,
     "Your base at the new size is the enlarged *dream* (resize(current, size)), so the dreamed detail is "
     "added twice. The base must be a sharp copy of the original: base = resize(image, size)."),
    (_clipped,
     "You clipped `current` between octaves. The loop carries the detail unclipped (it can push pixels "
     "a little outside [0, 1]); clipping is the dream steps' job, in dream_at, and the caller's."),
]


def _diagnose_carry(result, image, sizes, dream_at, calls, resized_calls) -> None:
    """Name the mistake of a detail loop that dreams at the right sizes but gives other values."""
    if not resized_calls:
        raise CheckFailed(
            "You never called the `resize` you were given, so your pictures are resized differently from "
            "the check's (and the lesson's). Use resize(picture, size) for every change of size."
        )
    for carry, message in CARRY_MISTAKES:
        calls.clear()
        if np.allclose(result, _octave_loop(image, sizes, dream_at, carry=carry), atol=1e-4):
            raise CheckFailed(message)
    calls.clear()
    doubled = _whole_dream_added(image, sizes, dream_at)
    if np.allclose(result, doubled, atol=1e-4):
        raise CheckFailed(
            "You carried the whole dreamed image up and added it to the new base, so the photo is counted "
            f"twice (mean value {result.mean():.2f} instead of about {image.mean():.2f}). Carry only the "
            "detail the dream added: resize(current - base, size)."
        )
    calls.clear()
    expected = reference_detail_octaves(image, sizes, dream_at)
    if np.allclose(result, expected - _resize(image, sizes[-1]), atol=1e-4):
        raise CheckFailed(
            "You returned only the detail (current - base). Return the dreamed picture itself, `current`: "
            "the sharp base plus the detail."
        )
    raise CheckFailed(
        "Not the detail loop yet. At each new size: detail = resize(current - base, size); base = "
        "resize(image, size); current = base + detail; then dream_at(current). Keep `base` the original at "
        "the current octave's size."
    )


@check("detail_octaves dreams smallest first and carries only the dreamed detail up to a sharp copy")
def check_detail_octaves(detail_octaves: Callable) -> None:
    rng = np.random.default_rng(13)
    image = rng.uniform(0.0, 1.0, (40, 60, 3)).astype(np.float32)  # fine detail everywhere
    sizes = [(18, 27), (27, 40), (40, 60)]
    calls: list[tuple[int, int]] = []
    resized_calls: list[tuple[int, int]] = []

    def dream_at(current: np.ndarray) -> np.ndarray:  # a stand-in for the steps of one octave
        current = np.asarray(current, np.float32)
        calls.append(tuple(current.shape[:2]))
        rows = np.linspace(0.0, 3.0, current.shape[0])[:, None, None]
        return current + np.float32(0.05) * np.sin(rows + len(calls)).astype(np.float32)

    def resize(picture: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        resized_calls.append(tuple(size))
        return _resize(picture, size)

    original = image.copy()
    try:
        value = detail_octaves(image, sizes, dream_at, resize)
    except (ValueError, tf.errors.InvalidArgumentError) as error:
        if "broadcast" not in str(error) and "Incompatible shapes" not in str(error):
            raise
        first_line = str(error).splitlines()[0].strip()
        raise CheckFailed(
            f"Your function combined two pictures of different sizes ({first_line}). "
            "Take the detail while current and base are both at the old size, detail = resize(current - "
            "base, size), and only then replace base by the original at the new size."
        ) from None
    result = returned_array(value, "detail_octaves")
    expect(np.array_equal(image, original), "Your function changed the image it was given.")
    made = list(calls)
    if made == list(reversed(sizes)):
        raise CheckFailed(
            f"You dreamed the largest octave first ({made}). Octaves go from the smallest copy to the "
            f"image's own size: {sizes}."
        )
    if len(made) != len(sizes):
        raise CheckFailed(
            f"dream_at must run once per octave, {len(sizes)} times at the sizes {sizes}; yours ran "
            f"{len(made)} times, at {made}."
        )
    expect(made == sizes, f"dream_at must see the octaves at the sizes {sizes}, in order; it saw {made}.")
    if result.shape != image.shape:
        raise CheckFailed(f"Wrong shape {result.shape}: the result has the image's own size, {image.shape}.")
    calls.clear()
    if not np.allclose(result, reference_detail_octaves(image, sizes, dream_at), atol=1e-4):
        _diagnose_carry(result, image, sizes, dream_at, calls, resized_calls)
