"""deepdream_lib.lessons.interpret: the tools lesson 09 uses to measure interpretability pictures."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from deepdream_lib.imagenet_classes import center_square
from deepdream_lib.images import sample
from deepdream_lib.lessons import attribution, interpret
from deepdream_lib.models import load_model


@pytest.fixture(scope="module")
def lite():
    return load_model("efficientnet_lite0")


@pytest.fixture(scope="module")
def cat96() -> np.ndarray:
    return center_square(sample("chelsea"), 96).numpy()[0]


def _stripes(size: int = 32, period: int = 6, angle: float = 0.0, phase: float = 0.0) -> np.ndarray:
    y, x = np.mgrid[:size, :size]
    wave = 0.5 + 0.4 * np.sin(2 * np.pi * (x * np.cos(angle) + y * np.sin(angle)) / period + phase)
    return np.repeat(wave[..., None], 3, axis=-1).astype(np.float32)


def test_coarsen_averages_cells_and_crops():
    values = np.arange(36, dtype=float).reshape(6, 6)
    coarse = interpret.coarsen(values, 2)
    assert coarse.shape == (2, 2)
    assert coarse[0, 0] == pytest.approx(values[:3, :3].mean())
    assert interpret.coarsen(np.ones((7, 9)), 3).shape == (3, 3)  # cropped to 6 x 9
    with pytest.raises(ValueError, match="grid"):
        interpret.coarsen(values, 7)
    with pytest.raises(ValueError, match="H, W"):
        interpret.coarsen(np.ones((4, 4, 3)), 2)


def test_map_agreement_per_pixel_and_on_a_grid():
    rng = np.random.default_rng(0)
    smooth = np.arange(256.0).reshape(16, 16)  # a ramp without ties
    noisy = smooth + rng.normal(0, 60, smooth.shape)  # speckled per pixel, same trend
    assert interpret.map_agreement(smooth, np.exp(smooth / 10)) == pytest.approx(1.0)
    assert interpret.map_agreement(smooth, noisy, grid=4) > interpret.map_agreement(smooth, noisy) + 0.05
    assert interpret.map_agreement(smooth, -smooth, grid=4) == pytest.approx(-1.0)


def test_orientation_coherence_tells_stripes_from_clouds():
    rng = np.random.default_rng(1)
    noise = rng.uniform(0, 1, (32, 32, 3))
    assert interpret.orientation_coherence(_stripes(angle=0.3)) > 0.9
    assert interpret.orientation_coherence(noise) < 0.2
    assert interpret.orientation_coherence(np.full((8, 8, 3), 0.5)) == 0.0


def test_spectrum_correlation_forgives_shifts_but_not_orientation():
    a, shifted = _stripes(phase=0.0), _stripes(phase=2.0)
    turned = _stripes(angle=np.pi / 2)
    assert np.corrcoef(a.ravel(), shifted.ravel())[0, 1] < 0.5  # pixel by pixel: different
    assert interpret.spectrum_correlation(a, shifted) > 0.9  # the same texture
    assert interpret.spectrum_correlation(a, turned) < 0.5
    with pytest.raises(ValueError, match="shape"):
        interpret.spectrum_correlation(a, a[:16])


def test_mean_pairwise_correlation():
    rng = np.random.default_rng(2)
    same = np.stack([_stripes()] * 3)
    unrelated = rng.uniform(0, 1, (4, 16, 16, 3))
    assert interpret.mean_pairwise_correlation(same) == pytest.approx(1.0)
    assert abs(interpret.mean_pairwise_correlation(unrelated)) < 0.1
    shifted = np.stack([_stripes(phase=p) for p in (0.0, 1.5, 3.0)])
    assert interpret.mean_pairwise_correlation(shifted, spectra=True) > 0.9
    with pytest.raises(ValueError, match="two"):
        interpret.mean_pairwise_correlation(same[:1])


def test_image_patches_and_top_k():
    image = np.zeros((20, 24, 3), np.float32)
    image[10:, 12:] = 1.0
    patches = interpret.image_patches(image, 10)
    assert patches.shape == (4, 10, 10, 3)  # 2 rows x 2 columns (the last 4 columns are dropped)
    assert patches[3, :, 2:].min() == 1.0 and patches[0].max() == 0.0
    assert interpret.image_patches([image, image[:16, :16]], 10, stride=10).shape == (5, 10, 10, 3)
    assert interpret.top_k(np.array([0.1, 3.0, 2.0, 3.0]), 3) == [1, 3, 2]  # ties: the earlier index first
    with pytest.raises(ValueError, match="smaller"):
        interpret.image_patches(image, 30)


def test_activation_scale(tiny, cat64):
    scale = interpret.activation_scale(tiny, "conv2", cat64)
    assert scale == pytest.approx(
        float(np.std(tiny.activations(cat64[None], ["conv2"])["conv2"].numpy())), rel=1e-5
    )


def test_logit_gradient_fn_matches_attribution_and_accepts_noise(lite, cat96):
    gradient_fn = interpret.logit_gradient_fn(lite, 285)
    expected, _ = attribution.logit_gradient(cat96, lite, 285)
    np.testing.assert_allclose(gradient_fn(cat96), expected, rtol=1e-4, atol=1e-6)
    noisy = cat96 + np.random.default_rng(0).normal(0, 0.2, cat96.shape)  # values outside [0, 1]
    by_hand = tf.constant(noisy[None], tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(by_hand)
        logit = lite.activations(by_hand, ["logits"])["logits"][0, 285]
    expected = tape.gradient(logit, by_hand).numpy()[0]
    np.testing.assert_allclose(gradient_fn(noisy), expected, rtol=1e-4, atol=1e-6)


def test_deletion_drop_hides_the_chosen_pixels(lite, cat96):
    everything = np.ones(cat96.shape[:2])
    hidden_all = interpret.deletion_drop(cat96, everything, lite, 285, fraction=1.0)
    gray = np.full_like(cat96, 0.5)
    logits = lite.activations(tf.constant(np.stack([cat96, gray])), ["logits"])["logits"].numpy()[:, 285]
    assert hidden_all == pytest.approx(float(logits[0] - logits[1]), rel=1e-4)
    assert abs(interpret.deletion_drop(cat96, everything, lite, 285, fraction=0.0)) < 0.5  # one pixel
    with pytest.raises(ValueError, match="map"):
        interpret.deletion_drop(cat96, everything[:10], lite, 285)
