"""dream: the math (a hand-derived gradient), ascent, tiling, octaves, one trace for every size, and what a
dream returns and saves."""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np
import pytest
import tensorflow as tf

from deepdream_lib import __version__
from deepdream_lib.engine import DreamConfig, dream, make_step, octave_sizes
from deepdream_lib.errors import DeepDreamError
from deepdream_lib.images import load_image, read_metadata, sample
from deepdream_lib.objectives import channel, channels, layer

engine = importlib.import_module("deepdream_lib.engine")  # the module (deepdream_lib.engine is the function)


# --- the math: a gradient derived by hand equals tf.GradientTape's ------------------------------


def _conv(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """A 'valid' 3x3 convolution, (H, W, C) -> (H-2, W-2, K), as deep-learning libraries define it."""
    height, width = x.shape[0] - 2, x.shape[1] - 2
    out = np.zeros((height, width, kernel.shape[-1]))
    for u in range(3):
        for v in range(3):
            out += x[u : u + height, v : v + width] @ kernel[u, v]
    return out + bias


def _conv_backward(grad_out: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Chain rule through the convolution: z[i,j,k] = sum x[i+u, j+v, c] K[u,v,c,k] + b[k], so
    dJ/dx[p,q,c] = sum_{u,v,k} dJ/dz[p-u, q-v, k] K[u,v,c,k]."""
    height, width = grad_out.shape[:2]
    grad_in = np.zeros((height + 2, width + 2, kernel.shape[2]))
    for u in range(3):
        for v in range(3):
            grad_in[u : u + height, v : v + width] += grad_out @ kernel[u, v].T
    return grad_in


def test_hand_derived_gradient_of_a_conv_relu_net_equals_gradient_tape():
    """J(x) = mean(relu(conv2(relu(conv1(x))))): backpropagate by hand in numpy, compare with TF."""
    rng = np.random.default_rng(0)
    x = rng.random((9, 10, 3))
    k1, b1 = rng.normal(size=(3, 3, 3, 4)), rng.normal(size=4) * 0.1
    k2, b2 = rng.normal(size=(3, 3, 4, 5)), rng.normal(size=5) * 0.1

    z1 = _conv(x, k1, b1)
    a1 = np.maximum(z1, 0.0)
    z2 = _conv(a1, k2, b2)
    objective = np.maximum(z2, 0.0).mean()
    grad_z2 = (z2 > 0) / z2.size  # d mean / d a2 = 1/N, times relu'(z2)
    grad_z1 = _conv_backward(grad_z2, k2) * (z1 > 0)  # through conv2, then relu'(z1)
    grad_x = _conv_backward(grad_z1, k1)  # through conv1
    assert 0 < (z1 > 0).mean() < 1 and 0 < (z2 > 0).mean() < 1  # both ReLUs matter

    image = tf.constant(x[None])
    with tf.GradientTape() as tape:
        tape.watch(image)
        h = tf.nn.relu(tf.nn.conv2d(image, k1, 1, "VALID") + b1)
        value = tf.reduce_mean(tf.nn.relu(tf.nn.conv2d(h, k2, 1, "VALID") + b2))
    np.testing.assert_allclose(float(value), objective, rtol=1e-12)
    np.testing.assert_allclose(tape.gradient(value, image).numpy()[0], grad_x, rtol=1e-10, atol=1e-14)


# --- ascent ---------------------------------------------------------------------------------------


def test_objective_increases_over_steps(vgg, cat64):
    result = dream(cat64, "block4_conv3", vgg, num_steps=6, num_octaves=1, jitter=0, progress=False)
    history = result.history
    assert len(history) == 6 and result.octaves == [0] * 6
    assert all(after > before for before, after in zip(history, history[1:], strict=False)), history
    final = float(vgg.activations(result.image[None], ["block4_conv3"])["block4_conv3"].numpy().mean())
    assert final > history[-1] > 1.1 * history[0]
    assert result.image.shape == cat64.shape and 0.0 <= result.image.min() and result.image.max() <= 1.0


@pytest.mark.parametrize("normalize", ["std", "mean_abs", "laplacian"])
def test_one_step_ascends_with_every_normalisation(tiny, cat64, normalize):
    step = make_step(tiny, layer("conv3"), normalize=normalize)
    images = tf.constant(cat64[None])
    after, before_values = step(images, tf.constant(0.002), tf.constant([0, 0]))
    _, after_values = step(after, tf.constant(0.002), tf.constant([0, 0]))
    assert float(after_values[0]) > float(before_values[0])
    change = np.abs(after.numpy() - images.numpy())
    assert 0 < change.mean() < 0.01  # a small step, not a saturating one


# --- tiling ---------------------------------------------------------------------------------------


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel(), b.ravel()
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.mark.parametrize("tile_size", [64, 100, 128, 256, 512])
def test_tile_starts_cover_every_pixel_once_with_equal_aligned_tiles(tile_size):
    for length in range(64, 1001, 1 if tile_size in (64, 512) else 7):
        starts, size = engine.tile_starts(tf.constant(length), tile_size)
        starts, size = starts.numpy().tolist(), int(size)
        ends = [*starts[1:], length]
        lengths = [end - start for start, end in zip(starts, ends, strict=True)]
        assert starts[0] == 0 and sum(lengths) == length and min(lengths) > 0, (length, starts)
        assert all(start % engine.TILE_ALIGN == 0 for start in starts), (length, starts)
        assert all(n == size for n in lengths[:-1]), (length, starts, size)  # equal tiles, then the rest
        if length <= tile_size:
            assert starts == [0]
        else:
            assert size <= tile_size
            assert engine.TILE_ALIGN <= lengths[-1] < size + engine.TILE_ALIGN  # no sliver
            assert len(starts) <= -(-length // tile_size) + 1


def test_one_tile_gives_exactly_the_untiled_gradient(vgg, cat128):
    images = tf.constant(cat128[None])  # 85 x 128
    objective = layer("block4_conv3")
    values, gradient = engine.objective_and_gradient(vgg, objective, images)
    tiled_values, tiled_gradient = engine.tiled_objective_and_gradient(vgg, objective, images, tile_size=128)
    np.testing.assert_allclose(tiled_values, values, rtol=1e-6)
    np.testing.assert_allclose(
        tiled_gradient, gradient, rtol=1e-5, atol=1e-6 * float(tf.reduce_max(gradient))
    )


@pytest.mark.parametrize(
    ("max_size", "tile_size", "whole", "interior"), [(128, 64, 0.9, 0.98), (256, 128, 0.88, 0.97)]
)
def test_several_tiles_give_nearly_the_untiled_gradient(vgg, max_size, tile_size, whole, interior):
    """Cosine similarity of the tiled and untiled gradients at block4_conv3 (receptive field ~200 px, more
    than a tile), measured: 0.94 (85 x 128 px, 1 x 2 tiles) and 0.91 (170 x 256 px, 2 x 2 tiles) on the
    whole image; 0.99 more than 16 px away from a tile border (block5_conv3: 0.82-0.86). Before the tiles
    were aligned to the network's stride, the 2 x 2 case gave 0.76 and 0.85: each tile saw a shifted
    pooling grid."""
    images = tf.constant(sample("chelsea", max_size=max_size)[None])
    objective = layer("block4_conv3")
    values, gradient = engine.objective_and_gradient(vgg, objective, images)
    tiled_values, tiled_gradient = engine.tiled_objective_and_gradient(vgg, objective, images, tile_size)
    gradient, tiled_gradient = gradient.numpy()[0], tiled_gradient.numpy()[0]
    assert _cosine(gradient, tiled_gradient) > whole
    away = np.ones(gradient.shape[:2], bool)  # pixels more than 16 px from every tile border
    tiles = 1
    for axis, length in enumerate(gradient.shape[:2]):
        starts, _ = engine.tile_starts(tf.constant(length), tile_size)
        tiles *= len(starts)
        for border in starts.numpy()[1:]:
            away[(slice(None),) * axis + (slice(border - 16, border + 16),)] = False
    assert _cosine(gradient[away], tiled_gradient[away]) > interior
    assert tiles == (2 if max_size == 128 else 4)  # the cases measured above
    assert float(tiled_values[0]) == pytest.approx(float(values[0]), rel=0.1)


def test_the_tiled_step_runs_the_same_computation_inside_tf_function(tiny, cat128):
    images = tf.constant(cat128[None])
    step = make_step(tiny, layer("conv3"), normalize="none", tile_size=64, clip=False)
    stepped, values = step(images, tf.constant(0.5), tf.constant([0, 0]))
    eager_values, gradient = engine.tiled_objective_and_gradient(tiny, layer("conv3"), images, 64)
    np.testing.assert_allclose(values, eager_values, rtol=1e-5)
    np.testing.assert_allclose(stepped, images + 0.5 * gradient, rtol=1e-5, atol=1e-7)


# --- octaves and tracing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("height", "width", "num_octaves", "scale"),
    [(300, 451, 4, 1.4), (64, 64, 1, 1.4), (100, 37, 2, 1.5), (1000, 700, 6, 1.3), (64, 90, 3, 2.0)],
)
def test_octave_sizes(height, width, num_octaves, scale):
    sizes = octave_sizes(height, width, num_octaves, scale)
    assert len(sizes) == num_octaves and sizes[-1] == (height, width)
    for index, (h, w) in enumerate(sizes):
        factor = scale ** (num_octaves - 1 - index)
        assert abs(h - height / factor) <= 0.5 and abs(w - width / factor) <= 0.5
    for (h0, w0), (h1, w1) in zip(sizes, sizes[1:], strict=False):
        assert h1 / h0 == pytest.approx(scale, abs=scale / h0 + 1 / h0)
        assert w1 / w0 == pytest.approx(scale, abs=scale / w0 + 1 / w0)


def test_octaves_below_16_px_are_refused():
    assert octave_sizes(64, 64, 3, 2.0)[0] == (16, 16)
    with pytest.raises(DeepDreamError, match="Use fewer octaves"):
        octave_sizes(60, 64, 3, 2.0)


@pytest.mark.parametrize("tile_size", [None, 64])
def test_make_step_does_not_retrace_across_sizes(tiny, tile_size):
    step = make_step(tiny, layer("conv2"), tile_size=tile_size)
    for shape in [(1, 32, 32), (1, 45, 45), (1, 70, 50), (2, 50, 131), (1, 130, 140)]:
        images = tf.random.stateless_uniform((*shape, 3), seed=(1, 2))
        out, values = step(images, tf.constant(0.01), tf.constant([3, -2]))
        assert out.shape == (*shape, 3) and values.shape == (shape[0],)
    assert step.experimental_get_tracing_count() == 1


def test_a_dream_over_octaves_traces_its_step_once(vgg, cat128):
    objective = channel("block3_conv3", 11)  # an objective no other test dreams, so its step is new
    dream(cat128, objective, vgg, num_steps=2, num_octaves=3, octave_scale=1.3, progress=False)
    [step] = [step for key, step in engine.STEPS.items() if key[:3] == (vgg, "dream", objective.key)]
    assert step.experimental_get_tracing_count() == 1
    dream(cat128, objective, vgg, num_steps=2, num_octaves=2, octave_scale=1.5, progress=False)
    [again] = [step for key, step in engine.STEPS.items() if key[:3] == (vgg, "dream", objective.key)]
    assert again is step and step.experimental_get_tracing_count() == 1  # a second dream reuses it


def test_the_step_cache_is_bounded_and_evicts_the_least_recently_used():
    cache = engine.StepCache(size=2)
    built = []

    def build(name):
        return lambda: built.append(name) or name

    assert cache.get(("a",), build("a")) == "a" and cache.get(("b",), build("b")) == "b"
    assert cache.get(("a",), build("a again")) == "a"  # a hit: nothing is built, "a" is now the newest
    cache.get(("c",), build("c"))  # a third step evicts the least recently used, "b"
    assert built == ["a", "b", "c"] and len(cache) == 2
    assert ("a",) in cache and ("c",) in cache and ("b",) not in cache
    assert [key for key, _ in cache.items()] == [("a",), ("c",)]
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(DeepDreamError, match="at least one"):
        engine.StepCache(size=0)


def test_dreams_keep_at_most_the_cache_size_of_steps(tiny, cat64, monkeypatch):
    monkeypatch.setattr(engine, "STEPS", engine.StepCache(size=2))
    for c in range(3):  # three objectives, room for two steps
        dream(cat64, channel("conv1", c), tiny, num_steps=1, num_octaves=1, progress=False)
    assert [key[2] for key, _ in engine.STEPS.items()] == [str(channel("conv1", c)) for c in (1, 2)]


# --- the dream loop -------------------------------------------------------------------------------


def test_dreams_are_reproducible_by_seed(tiny, cat64):
    def run(seed):
        return dream(cat64, "conv3", tiny, num_steps=3, num_octaves=2, jitter=8, seed=seed, progress=False)

    first, again, other = run(1), run(1), run(2)
    np.testing.assert_array_equal(first.image, again.image)
    assert not np.array_equal(first.image, other.image)


def test_octave_modes_frames_and_clipping(tiny, cat64):
    settings = dict(num_steps=3, num_octaves=2, octave_scale=1.3, progress=False)
    detail = dream(cat64, "conv3", tiny, octave_mode="detail", record_every=2, **settings)
    resized = dream(cat64, "conv3", tiny, octave_mode="resize", **settings)
    assert detail.image.shape == resized.image.shape == cat64.shape
    assert not np.allclose(detail.image, resized.image)
    assert detail.octaves == [0, 0, 0, 1, 1, 1]
    assert len(detail.frames) == 3 and all(frame.shape == cat64.shape for frame in detail.frames)
    wild = dream(cat64, "conv3", tiny, num_steps=2, num_octaves=1, step_size=0.5, clip=False, progress=False)
    assert wild.image.min() < 0.0 or wild.image.max() > 1.0
    clipped = dream(cat64, "conv3", tiny, num_steps=2, num_octaves=1, step_size=0.5, progress=False)
    assert 0.0 <= clipped.image.min() and clipped.image.max() <= 1.0


def test_a_batch_dreams_one_channel_per_image(tiny, cat64):
    batch = np.stack([cat64, cat64])
    result = dream(batch, channels("conv3", [0, 5]), tiny, num_steps=3, num_octaves=1, progress=False)
    assert result.image.shape == batch.shape
    assert not np.allclose(result.image[0], result.image[1])  # same start, different channels


def test_ctrl_c_returns_the_partial_dream(tiny, cat64):
    def interrupt_at_step_3(images, index):
        if index == 3:
            raise KeyboardInterrupt
        return images

    with pytest.warns(UserWarning, match="interrupted"):
        result = dream(
            cat64, "conv3", tiny, num_steps=5, num_octaves=2, post_step=interrupt_at_step_3, progress=False
        )
    assert result.interrupted
    assert len(result.history) == 3 and result.octaves == [0, 0, 0]
    assert result.image.shape == cat64.shape  # back at full size although it stopped in the small octave
    assert not np.allclose(result.image, cat64, atol=1e-3)


def test_a_saved_dream_records_how_it_was_made(vgg, cat64, tmp_path):
    config = DreamConfig(num_steps=2, num_octaves=1, step_size=0.004, jitter=3, normalize="laplacian", seed=5)
    objective = layer("block4_conv3") + 0.5 * channel("block3_conv3", 5)
    result = dream(cat64, objective, vgg, config, progress=False)
    path = result.save(tmp_path / "dream.png")
    metadata = read_metadata(path)
    assert metadata["deepdream:model"] == "vgg16_hed"
    assert metadata["deepdream:objective"] == 'layer("block4_conv3") + 0.5 * channel("block3_conv3", 5)'
    for field in dataclasses.fields(DreamConfig):
        assert metadata[f"deepdream:{field.name}"] == str(getattr(config, field.name)), field.name
    assert metadata["Software"] == f"deepdream_lib {__version__}"
    assert metadata["deepdream:size"] == "64x43"
    np.testing.assert_allclose(load_image(path), result.image, atol=0.5 / 255 + 1e-6)

    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        result.save(path)
    assert path.read_bytes() == before
