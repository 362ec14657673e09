"""guided (best match, guide usage, the guide objective), attribution (saliency, occlusion, map
comparisons, tile shuffling) and imagenet_classes (names, ranks, classification) on tiny inputs."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from deepdream_lib import imagenet_classes
from deepdream_lib.errors import ImageError
from deepdream_lib.lessons import attribution, guided
from deepdream_lib.models import Backbone, ModelSpec
from deepdream_lib.objectives import guide


def _tiny_classifier() -> Backbone:
    """conv (4 ch) -> global mean -> Dense "logits" (1000): a tiny random classifier."""
    inputs = keras.Input((None, None, 3), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1",
                            kernel_initializer=keras.initializers.GlorotUniform(seed=1))(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(1000, name="logits",
                           kernel_initializer=keras.initializers.GlorotUniform(seed=2))(x)
    model = keras.Model(inputs, x)
    model.trainable = False
    spec = ModelSpec("tiny_classifier", "tiny", "random", "tiny classifier for tests", "tf", ("conv1",),
                     "conv1", classifier=True)
    return Backbone(spec, model)


@pytest.fixture(scope="module")
def classifier() -> Backbone:
    return _tiny_classifier()


# --- guided -------------------------------------------------------------------------------------------


def test_best_match_is_the_largest_dot_product_not_the_cosine():
    image = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    guide_vectors = np.array([[0.9, 0.1], [5.0, 4.0]], np.float32)  # the second is loud: wins the dot product
    assert guided.best_match(image, guide_vectors).tolist() == [1, 1]
    cosine = (image @ guide_vectors.T) / np.linalg.norm(guide_vectors, axis=1)
    assert cosine.argmax(axis=1).tolist() == [0, 1]  # the cosine would have chosen differently


def test_best_match_shapes_and_channel_mismatch():
    rng = np.random.default_rng(0)
    matches = guided.best_match(rng.normal(size=(3, 4, 5)), rng.normal(size=(2, 2, 5)))
    assert matches.shape == (3, 4) and matches.max() < 4
    with pytest.raises(ValueError, match="same layer"):
        guided.best_match(rng.normal(size=(3, 5)), rng.normal(size=(2, 6)))


def test_guide_usage_sums_to_one_and_counts_matches():
    guide_vectors = np.zeros((2, 2, 2), np.float32)
    guide_vectors[0, 0] = [1.0, 0.0]
    guide_vectors[1, 1] = [0.0, 1.0]
    image = np.array([[1.0, 0.1], [0.9, 0.0], [0.0, 1.0]], np.float32)
    usage = guided.guide_usage(image, guide_vectors)
    assert usage.shape == (2, 2) and usage.sum() == pytest.approx(1.0)
    assert usage[0, 0] == pytest.approx(2 / 3) and usage[1, 1] == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        guided.guide_usage(image, guide_vectors.reshape(4, 2))


def test_guide_from_image_gradient_is_the_best_matching_guide_vector(tiny, cat64):
    guide_image = np.random.default_rng(0).uniform(0, 1, (32, 32, 3)).astype(np.float32)
    features = guided.features(guide_image, "conv2", tiny)
    assert features.ndim == 3 and features.shape[-1] == 16
    objective = guided.guide_from_image("conv2", guide_image, tiny)
    reference = guide("conv2", features)
    activations = tiny.activations(cat64[None], ["conv2"])["conv2"]
    with tf.GradientTape() as tape:
        tape.watch(activations)
        value = objective({"conv2": activations})
    assert float(value[0]) == pytest.approx(float(reference({"conv2": activations})[0]), rel=1e-5)
    gradient = tape.gradient(value, activations).numpy()[0]
    matches = guided.best_match(activations.numpy()[0], features)
    expected = features.reshape(-1, 16)[matches] / matches.size
    np.testing.assert_allclose(gradient, expected, atol=1e-6)


# --- attribution -------------------------------------------------------------------------------------


def test_saliency_is_the_gradient_magnitude(classifier):
    image = np.random.default_rng(0).uniform(0, 1, (16, 16, 3)).astype(np.float32)
    gradient, logit = attribution.logit_gradient(image, classifier, 7)
    assert gradient.shape == (16, 16, 3) and np.isfinite(logit)
    plain = attribution.saliency(image, classifier, class_index=7)
    np.testing.assert_allclose(plain, np.abs(gradient).max(axis=-1), rtol=1e-5, atol=1e-8)
    smooth = attribution.saliency(image, classifier, class_index=7, smooth_samples=3, noise=0.1)
    assert smooth.shape == (16, 16) and smooth.min() >= 0
    noisy = image + np.random.default_rng(0).normal(0.0, 0.1, image.shape).astype(np.float32)
    expected = np.abs(attribution.logit_gradient(noisy, classifier, 7, as_given=True)[0]).max(axis=-1)
    one_copy = attribution.saliency(image, classifier, class_index=7, smooth_samples=1, noise=0.1)
    np.testing.assert_allclose(one_copy, expected, rtol=1e-5)  # SmoothGrad's one copy: the same seed and draw
    with pytest.raises(ImageError, match=r"\[0, 1\]"):
        attribution.logit_gradient(noisy, classifier, 7)  # only as_given feeds values outside [0, 1]
    assert attribution.top_class(image, classifier) == int(np.argmax(
        classifier.activations(image[None], ["logits"])["logits"].numpy()[0]))


def test_saliency_rejects_a_network_without_logits(tiny, cat64):
    with pytest.raises(Exception, match="logits"):
        attribution.saliency(cat64, tiny)


def test_occlusion_map_finds_the_patch_that_matters(classifier):
    image = np.full((16, 16, 3), 0.5, np.float32)
    image[:8, :8] = 1.0  # the only non-gray place: hiding it (with gray) restores the gray image
    target = attribution.top_class(image, classifier)
    drop = attribution.occlusion_map(image, classifier, target, patch=8, stride=8)
    assert drop.shape == (16, 16)
    assert drop[:8, :8].mean() > 0 and np.allclose(drop[8:, 8:], 0, atol=1e-7)


def test_map_comparisons():
    a = np.arange(16.0).reshape(4, 4)
    assert attribution.spearman(a, a**3) == pytest.approx(1.0)
    assert attribution.spearman(a, -a) == pytest.approx(-1.0)
    assert attribution.cosine_similarity(a, 2 * a) == pytest.approx(1.0)
    assert attribution.cosine_similarity(np.zeros(4), np.ones(4)) == 0.0
    with pytest.raises(ValueError):
        attribution.spearman(a, np.ones(3))
    step = np.zeros((8, 8, 3))
    step[:, 4:] = 1.0
    edges = attribution.edge_map(step)
    assert edges[:, 3:5].min() > 0 and edges[:, 0].max() == 0


def test_shuffle_tiles_keeps_the_tiles_and_moves_them():
    image = np.random.default_rng(0).uniform(0, 1, (16, 16, 3)).astype(np.float32)
    shuffled = attribution.shuffle_tiles(image, 4, seed=1)
    assert shuffled.shape == image.shape and not np.array_equal(shuffled, image)
    corners = [(r, c) for r in range(0, 16, 4) for c in range(0, 16, 4)]
    assert sorted(shuffled[r:r + 4, c:c + 4].tobytes() for r, c in corners) == sorted(
        image[r:r + 4, c:c + 4].tobytes() for r, c in corners)
    np.testing.assert_array_equal(attribution.shuffle_tiles(image, 1), image)
    with pytest.raises(ValueError):
        attribution.shuffle_tiles(image, 0)


# --- imagenet_classes --------------------------------------------------------------------------------


def test_class_table_and_dog_breeds():
    assert len(imagenet_classes.CLASS_NAMES) == 1000 == len(set(imagenet_classes.SYNSETS))
    assert list(imagenet_classes.SYNSETS) == sorted(imagenet_classes.SYNSETS)
    assert imagenet_classes.class_name(543) == "dumbbell" and imagenet_classes.class_name(967) == "espresso"
    dogs = [imagenet_classes.class_name(i) for i in imagenet_classes.DOG_BREEDS]
    assert len(dogs) > 100 and dogs[0] == "Chihuahua" and dogs[-1] == "Mexican hairless"
    assert imagenet_classes.class_name(150) == "sea lion"
    assert imagenet_classes.class_name(269) == "timber wolf"
    assert set(imagenet_classes.find_classes("terrier")) <= set(imagenet_classes.DOG_BREEDS)
    with pytest.raises(ValueError):
        imagenet_classes.class_name(1000)


def test_class_index_by_name():
    assert imagenet_classes.class_index("Tabby cat") == 281
    with pytest.raises(ValueError, match="several"):
        imagenet_classes.class_index("crane")
    with pytest.raises(ValueError, match="tabby"):
        imagenet_classes.class_index("tabb")


def test_top_k_and_rank():
    logits = np.array([0.1, 3.0, -1.0, 2.0])
    assert imagenet_classes.top_k(logits, 2) == [1, 3]
    assert imagenet_classes.class_rank(logits, 1) == 0 and imagenet_classes.class_rank(logits, 2) == 3


def test_center_square_and_classify(classifier):
    image = np.zeros((20, 40, 3), np.float32)
    image[:, 10:30] = 1.0  # the centred 20x20 square is all white
    square = imagenet_classes.center_square(image, 8).numpy()
    assert square.shape == (1, 8, 8, 3) and np.allclose(square, 1.0)
    predictions = imagenet_classes.classify(image, classifier, k=3, size=16)
    probabilities = imagenet_classes.probabilities(image, classifier, size=16)[0]
    assert [p.index for p in predictions] == list(np.argsort(-probabilities)[:3])
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert predictions[0].probability >= predictions[1].probability >= predictions[2].probability
