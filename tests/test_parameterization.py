"""parameterization: the Fourier and pixel images invert exactly, the Fourier image starts with a 1/f
spectrum, and visualize() climbs its objective from noise and from a photo."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import deepdream_lib as dd
from deepdream_lib import engine, measure
from deepdream_lib import parameterization as param
from deepdream_lib import regularizers as reg
from deepdream_lib.errors import DeepDreamError
from deepdream_lib.objectives import channel, layer


@pytest.mark.parametrize("kind", param.KINDS)
@pytest.mark.parametrize("shape", [(24, 32), (21, 17)])  # even and odd widths
def test_round_trip_from_a_photo(kind, shape, cat64):
    photo = cat64[: shape[0], : shape[1]]
    p = param.make_param(kind, *shape)
    back = p.to_image(p.from_image(photo)).numpy()
    assert back.shape == (1, *shape, 3)
    np.testing.assert_allclose(back[0], np.clip(photo, param.EDGE, 1 - param.EDGE), atol=1e-5)


def test_fourier_params_shape_and_scale():
    p = param.make_param("fourier", 16, 10)
    assert p.random(batch=2).shape == (2, 3, 16, 6, 2)
    scale = param.spectrum_scale(16, 10)
    assert scale.shape == (16, 6)
    assert scale[0, 0] == pytest.approx(np.sqrt(160) * 16)  # DC uses the lowest frequency, 1 / max(H, W)
    assert scale[0, 1] == pytest.approx(np.sqrt(160) / 0.1)  # f = 1/10 cycles per pixel
    assert param.make_param("fourier", 16, 10) is p  # cached


def test_fourier_image_starts_with_a_one_over_f_spectrum():
    p = param.make_param("fourier", 128, 128)
    slopes = [measure.spectral_slope(p.to_image(p.random(seed=s)).numpy()[0]) for s in range(3)]
    assert all(abs(s + 2.0) < 0.3 for s in slopes), slopes  # power ~ 1/f^2, like a photo
    pixel = param.make_param("pixel", 128, 128)
    assert abs(measure.spectral_slope(pixel.to_image(pixel.random(seed=0)).numpy()[0])) < 0.3  # white
    image = p.to_image(p.random()).numpy()
    assert 0 < image.min() and image.max() < 1 and abs(image.mean() - 0.5) < 0.02  # near gray


def test_colour_decorrelation_round_trip():
    rgb = np.random.default_rng(2).uniform(0.05, 0.95, (4, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(
        param.decorrelated_to_rgb(param.rgb_to_decorrelated(rgb)).numpy(), rgb, atol=1e-5
    )
    assert np.max(np.linalg.norm(param.COLOR_MATRIX, axis=0)) == pytest.approx(1.0)


def test_errors():
    with pytest.raises(DeepDreamError, match="Unknown parameterisation"):
        param.make_param("wavelet", 8, 8)
    with pytest.raises(DeepDreamError, match="px"):
        param.make_param("fourier", 8, 8).from_image(np.full((9, 8, 3), 0.5, np.float32))
    with pytest.raises(DeepDreamError, match="Expected an image"):
        param.make_param("pixel", 8, 8).from_image(np.zeros((8, 8)))


def test_empty_image():
    image = param.empty_image((20, 30), noise=0.01, seed=1)
    assert image.shape == (20, 30, 3) and image.dtype == np.float32
    assert abs(image.mean() - 0.5) < 0.005 and 0.005 < image.std() < 0.02
    np.testing.assert_array_equal(image, param.empty_image((20, 30), noise=0.01, seed=1))


@pytest.mark.parametrize("kind", param.KINDS)
def test_visualize_raises_the_objective_from_noise(kind, tiny):
    result = param.visualize(channel("conv2", 3), tiny, 32, param=kind, num_steps=15, progress=False)
    assert result.image.shape == (32, 32, 3)
    assert len(result.history) == 15
    assert result.history[-1] > result.history[0] + 0.05
    assert result.metadata["deepdream:param"] == kind and result.metadata["deepdream:start"] == "noise"
    recipe = engine.recipe_metadata(tiny, channel("conv2", 3), 32, 32, {})  # what dream() writes too
    assert {key: result.metadata[key] for key in recipe} == recipe
    assert result.metadata["deepdream:num_steps"] == "15" and result.metadata["deepdream:transform"] == "none"


def test_visualize_from_a_photo_starts_at_the_photo(tiny, cat64):
    photo = np.clip(cat64, 0.01, 0.99)
    objective = layer("conv3")
    first = param.visualize(objective, tiny, photo, num_steps=1, learning_rate=1e-6, progress=False)
    assert first.history[0] == pytest.approx(
        float(dd.objective_values(tiny, objective, photo)[0]), rel=1e-4
    )
    np.testing.assert_allclose(first.image, photo, atol=1e-3)
    from_tensor = param.visualize(objective, tiny, tf.constant(photo), num_steps=1, learning_rate=1e-6,
                                  progress=False)  # read like dream() reads its image
    np.testing.assert_allclose(from_tensor.image, first.image, atol=1e-6)
    result = param.visualize(objective, tiny, photo, num_steps=10, learning_rate=0.02, progress=False)
    assert result.history[-1] > result.history[0]


def test_visualize_batches_transforms_and_reuses_its_step(tiny):
    from deepdream_lib.objectives import channels

    transform = reg.compose([reg.jitter(2, seed=0)])
    objective = channels("conv2", [0, 1, 2])
    result = param.visualize(
        objective, tiny, (24, 20), batch=3, num_steps=5, transform=transform, progress=False
    )
    assert result.image.shape == (3, 24, 20, 3)
    assert "jitter(2)" in result.metadata["deepdream:transform"]
    def visualize_steps():
        return [step for key, step in engine.STEPS.items() if key[:3] == (tiny, "visualize", objective.key)]

    [step] = visualize_steps()  # kept in the engine's one step cache, beside the dream steps
    param.visualize(objective, tiny, (24, 20), batch=3, num_steps=5, transform=transform, progress=False)
    assert visualize_steps() == [step]  # the same objective, size and transform: no new step
    assert step.experimental_get_tracing_count() == 1
    with pytest.raises(DeepDreamError):
        param.visualize(objective, tiny, 24, num_steps=0)


def test_to_image_is_differentiable():
    p = param.make_param("fourier", 12, 12)
    params = tf.constant(p.random())
    with tf.GradientTape() as tape:
        tape.watch(params)
        value = tf.reduce_mean(p.to_image(params)[..., 0])
    gradient = tape.gradient(value, params)
    assert gradient is not None and float(tf.reduce_sum(tf.abs(gradient))) > 0
