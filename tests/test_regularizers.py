"""regularizers: penalties as objectives (exact values on tiny images), random transforms (shapes, seeds,
gradients, any size), the blur post-step, and dreams that use them."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from deepdream_lib import measure
from deepdream_lib import regularizers as reg
from deepdream_lib.engine import dream
from deepdream_lib.errors import DeepDreamError
from deepdream_lib.objectives import INPUT, layer


def _rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray.astype(np.float32)[None, :, :, None], 3, axis=-1)


ROWS, COLS = np.mgrid[0:16, 0:16]
CHECKERBOARD = _rgb((ROWS + COLS) % 2)
STRIPES = _rgb(COLS % 2)  # vertical stripes: only horizontal neighbours differ
FLAT = _rgb(np.full((16, 16), 0.3))


# --- penalties ---------------------------------------------------------------------------------------------


def test_total_variation_exact_values():
    assert float(reg.image_total_variation(CHECKERBOARD)[0]) == pytest.approx(2.0)
    assert float(reg.image_total_variation(STRIPES)[0]) == pytest.approx(1.0)
    assert float(reg.image_total_variation(FLAT)[0]) == pytest.approx(0.0)
    half = 0.5 * CHECKERBOARD  # jumps of 0.5: absolute TV halves, squared TV quarters
    assert float(reg.image_total_variation(half)[0]) == pytest.approx(1.0)
    assert float(reg.image_total_variation(half, squared=True)[0]) == pytest.approx(0.5)


def test_total_variation_is_per_image_and_an_objective():
    batch = np.concatenate([CHECKERBOARD, FLAT, STRIPES])
    values = reg.total_variation()({INPUT: tf.constant(batch)}).numpy()
    np.testing.assert_allclose(values, [2.0, 0.0, 1.0], atol=1e-6)
    objective = layer("conv2") - 0.05 * reg.total_variation()
    assert str(objective) == 'layer("conv2") - 0.05 * total_variation()'
    assert objective.network_layers == {"conv2"}
    assert str(reg.total_variation(squared=True)) == "total_variation(squared=True)"


def test_l2_measures_distance_from_gray():
    assert float(reg.l2()({INPUT: tf.constant(_rgb(np.full((4, 4), 0.5)))})[0]) == pytest.approx(0.0)
    assert float(reg.l2()({INPUT: tf.constant(CHECKERBOARD)})[0]) == pytest.approx(0.25)
    assert float(reg.l2(center=0.0)({INPUT: tf.constant(CHECKERBOARD)})[0]) == pytest.approx(0.5)


def test_frequency_energy_sits_where_the_pattern_is():
    # a +-0.5 checkerboard has all its variance (0.25) at the highest frequency
    assert float(reg.high_frequency_energy(CHECKERBOARD, 0.25)[0]) == pytest.approx(0.25, abs=1e-5)
    slow = _rgb(0.5 + 0.5 * np.sin(2 * np.pi * COLS / 16))  # one cycle per 16 px = 0.0625 cycles/pixel
    assert float(reg.high_frequency_energy(slow, 0.25)[0]) == pytest.approx(0.0, abs=1e-6)
    # Parseval: with a cut-off near 0 the energy is the variance
    rng = np.random.default_rng(0)
    image = rng.uniform(size=(2, 12, 10, 3)).astype(np.float32)
    np.testing.assert_allclose(
        reg.high_frequency_energy(image, 1e-6).numpy(), image.var(axis=(1, 2)).mean(axis=-1), rtol=1e-4
    )
    assert str(reg.frequency_penalty(0.3)) == "frequency_penalty(0.3)"
    with pytest.raises(DeepDreamError):
        reg.frequency_penalty(0.6)


def test_frequency_radius_matches_numpy():
    radius = reg.frequency_radius(6, 5).numpy()
    expected = np.sqrt(np.fft.fftfreq(6)[:, None] ** 2 + np.fft.fftfreq(5)[None, :] ** 2)
    np.testing.assert_allclose(radius, expected, atol=1e-6)


def test_penalty_gradients_smooth_the_image():
    rng = np.random.default_rng(1)
    image = tf.constant(rng.uniform(size=(1, 24, 24, 3)).astype(np.float32))
    for penalty in (reg.total_variation(), reg.frequency_penalty(0.25)):
        with tf.GradientTape() as tape:
            tape.watch(image)
            value = tf.reduce_sum(penalty({INPUT: image}))
        gradient = tape.gradient(value, image)
        smoother = tf.clip_by_value(image - 0.01 * gradient / tf.math.reduce_std(gradient), 0, 1)  # step down
        assert float(penalty({INPUT: smoother})[0]) < float(penalty({INPUT: image})[0]), str(penalty)


# --- transforms ---------------------------------------------------------------------------------------------


def test_jitter_crops_a_shifted_window():
    image = tf.constant(np.arange(1 * 10 * 12 * 3, dtype=np.float32).reshape(1, 10, 12, 3))
    shifted = reg.jitter(3, seed=5)(image).numpy()
    assert shifted.shape == (1, 7, 9, 3)
    found = [
        (dy, dx)
        for dy in range(4)
        for dx in range(4)
        if np.array_equal(shifted, image.numpy()[:, dy : dy + 7, dx : dx + 9])
    ]
    assert len(found) == 1
    assert reg.jitter(0)(image).shape == image.shape


def test_independent_jitter_crops_each_image_at_its_own_offset():
    images = tf.constant(np.arange(8 * 10 * 12 * 3, dtype=np.float32).reshape(8, 10, 12, 3))
    shifted = reg.jitter(3, seed=5, independent=True)(images).numpy()
    assert shifted.shape == (8, 7, 9, 3)
    offsets = []
    for i in range(8):
        found = [(dy, dx) for dy in range(4) for dx in range(4)
                 if np.array_equal(shifted[i], images.numpy()[i, dy : dy + 7, dx : dx + 9])]
        assert len(found) == 1, f"image {i} is not a crop of itself"
        offsets += found
    assert len(set(offsets)) > 1, f"every image got the same offset {offsets[0]}"
    with tf.GradientTape() as tape:  # differentiable: each kept pixel gets its gradient once
        tape.watch(images)
        kept = tf.reduce_sum(reg.jitter(3, seed=5, independent=True)(images))
    gradient = tape.gradient(kept, images).numpy()
    for i, (dy, dx) in enumerate(offsets):
        window = np.zeros((10, 12, 3), np.float32)
        window[dy : dy + 7, dx : dx + 9] = 1
        np.testing.assert_array_equal(gradient[i], window, err_msg=f"image {i}'s gradient")
    assert reg.describe(reg.jitter(3, independent=True)) == "jitter(3, independent)"


def test_transforms_are_reproducible_and_random():
    image = tf.random.stateless_uniform((1, 20, 20, 3), seed=(1, 2))
    first = [reg.jitter(4, seed=3)(image).numpy() for _ in range(1)]
    again = [reg.jitter(4, seed=3)(image).numpy() for _ in range(1)]
    np.testing.assert_array_equal(first[0], again[0])
    moving = reg.jitter(4, seed=3)
    crops = {moving(image).numpy().tobytes() for _ in range(12)}
    assert len(crops) > 1  # a new shift at each call


def test_random_scale_and_rotate_sizes():
    image = tf.random.stateless_uniform((2, 20, 30, 3), seed=(3, 4))
    scale = reg.random_scale([0.5, 1.0, 2.0], seed=1)
    sizes = {tuple(scale(image).shape[1:3]) for _ in range(20)}
    assert sizes <= {(10, 15), (20, 30), (40, 60)} and len(sizes) > 1
    assert reg.random_rotate([5, -5])(image).shape == image.shape
    with pytest.raises(DeepDreamError):
        reg.random_scale([])


def test_rotate_zero_is_identity_and_four_quarter_turns_come_back():
    image = tf.random.stateless_uniform((1, 17, 17, 3), seed=(5, 6))
    np.testing.assert_allclose(reg.rotate(image, 0.0).numpy(), image.numpy(), atol=1e-5)
    turned = image
    for _ in range(4):
        turned = reg.rotate(turned, 90.0)
    np.testing.assert_allclose(turned.numpy()[:, 2:-2, 2:-2], image.numpy()[:, 2:-2, 2:-2], atol=1e-4)
    quarter = reg.rotate(image, 90.0).numpy()
    np.testing.assert_allclose(quarter[0, 8, 8], image.numpy()[0, 8, 8], atol=1e-5)  # the centre stays
    assert not np.allclose(quarter, image.numpy(), atol=1e-2)


def test_compose_is_differentiable_and_works_for_any_size_in_a_tf_function():
    transform = reg.compose(
        [reg.pad(4), reg.jitter(4), reg.random_scale([0.9, 1.1]), reg.random_rotate(range(-10, 11))]
    )
    assert transform.description.startswith("compose([pad(4), jitter(4), random_scale([0.9, 1.1])")
    assert reg.describe(transform) == transform.description and reg.describe(None) == "none"

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    def gradient_of(images):
        with tf.GradientTape() as tape:
            tape.watch(images)
            value = tf.reduce_sum(tf.square(transform(images)))
        return tape.gradient(value, images)

    for size in (24, 37):
        gradient = gradient_of(tf.random.stateless_uniform((1, size, size, 3), seed=(size, 1))).numpy()
        assert gradient.shape == (1, size, size, 3) and np.abs(gradient).sum() > 0
    assert gradient_of.experimental_get_tracing_count() == 1


def test_standard_transforms_are_lucids_list():
    names = [reg.describe(t) for t in reg.standard_transforms(seed=0)]
    assert names[0] == "pad(12)" and names[1] == "jitter(8)" and names[-1] == "jitter(4)"
    assert names[2].startswith("random_scale([0.9,") and names[3] == "random_rotate(-10..10 deg)"


# --- blur --------------------------------------------------------------------------------------------------


def test_gaussian_blur_keeps_flat_images_and_removes_fine_detail():
    np.testing.assert_allclose(reg.gaussian_blur(FLAT, 1.0).numpy(), FLAT, atol=1e-6)
    blurred = reg.gaussian_blur(CHECKERBOARD, 1.0).numpy()
    assert blurred.shape == CHECKERBOARD.shape
    # a checkerboard is all fine detail: a 1 px blur leaves almost none of its energy
    assert float(reg.high_frequency_energy(blurred)[0]) < 0.01 * float(
        reg.high_frequency_energy(CHECKERBOARD)[0]
    )
    rng = np.random.default_rng(0)
    noise = rng.uniform(size=(1, 32, 32, 3)).astype(np.float32)
    smooth = reg.gaussian_blur(noise, 1.0).numpy()
    assert measure.high_frequency_fraction(smooth[0]) < 0.5 * measure.high_frequency_fraction(noise[0])
    assert reg.gaussian_kernel(1.0).sum() == pytest.approx(1.0) and len(reg.gaussian_kernel(1.0)) == 7


def test_blur_every_k_steps():
    post_step = reg.blur_every(3, sigma=1.0)
    images = tf.constant(CHECKERBOARD)
    assert np.array_equal(post_step(images, 0).numpy(), CHECKERBOARD)  # steps 1 and 2: untouched
    assert np.array_equal(post_step(images, 1).numpy(), CHECKERBOARD)
    assert not np.allclose(post_step(images, 2).numpy(), CHECKERBOARD)  # step 3: blurred
    with pytest.raises(DeepDreamError):
        reg.blur_every(0)


# --- in a dream --------------------------------------------------------------------------------------------


def test_dream_with_penalty_transform_and_blur_still_climbs(tiny):
    rng = np.random.default_rng(0)
    image = np.clip(0.5 + 0.05 * rng.normal(size=(32, 32, 3)), 0, 1).astype(np.float32)
    objective = layer("conv2") - 0.1 * reg.total_variation()
    result = dream(
        image,
        objective,
        tiny,
        num_steps=6,
        num_octaves=1,
        jitter=0,
        progress=False,
        transform=reg.compose([reg.jitter(2, seed=0), reg.random_scale([0.9, 1.1], seed=1)]),
        post_step=reg.blur_every(3, 0.5),
    )
    assert result.image.shape == image.shape
    assert result.history[-1] > result.history[0]


def test_dream_settings(tiny):
    objective = layer("conv2")
    assert reg.dream_settings("none", objective) == {
        "objective": objective,
        "post_step": None,
        "transform": None,
    }
    tv = reg.dream_settings("total variation", objective, strength=2.0)
    assert str(tv["objective"]) == 'layer("conv2") - 60 * total_variation()'
    assert (
        reg.dream_settings("blur every 4 steps", objective)["post_step"].description
        == "blur_every(4, sigma=1)"
    )
    assert reg.dream_settings("transforms", objective)["transform"].description.startswith(
        "compose([pad(8), jitter(8)"
    )
    assert reg.dream_settings("frequency penalty", objective, strength=0)["objective"] is objective
    for name in reg.REGULARIZERS:
        settings = reg.dream_settings(name, objective)
        dream(
            np.full((24, 24, 3), 0.5, np.float32),
            model=tiny,
            num_steps=1,
            num_octaves=1,
            progress=False,
            **settings,
        )
    with pytest.raises(DeepDreamError, match="Unknown regulariser"):
        reg.dream_settings("sharpen", objective)
