"""deepdream_lib.lessons.toy: the landscape and its ascent paths, the striped-image classifier, the tiny
network whose hand-derived gradient lesson 02 checks (and the contour plot that draws the paths)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from deepdream_lib import viz  # noqa: E402
from deepdream_lib.lessons import toy  # noqa: E402


def test_landscape_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    for point in rng.uniform(-2, 2, (10, 2)):
        numeric = toy.numerical_gradient(lambda p: float(toy.landscape(p)), point, 1e-6)
        assert np.allclose(toy.landscape_gradient(point), numeric, atol=1e-8)


def test_landscape_peaks_and_curvature():
    peak = toy.find_peak((0.0, 0.9))
    assert np.linalg.norm(toy.landscape_gradient(peak)) < 1e-8
    assert np.allclose(peak, toy.BUMPS[0].centre, atol=1e-3)  # the other bump shifts it only a little
    curvatures = np.sort(-np.linalg.eigvalsh(toy.hessian(peak)))
    # a Gaussian's curvature at its top is height / width^2 in each direction
    assert np.allclose(curvatures, [1 / 1.0**2, 1 / 0.35**2], rtol=0.01)
    other = toy.find_peak((-1.0, -1.0))
    assert np.allclose(other, toy.BUMPS[1].centre, atol=1e-2)


def test_step_size_regimes_follow_the_curvature():
    peak = toy.find_peak((0.0, 0.9))
    kappa = -np.linalg.eigvalsh(toy.hessian(peak)).min()
    small, zigzag, large = (toy.ascent_path((0.0, 0.9), m / kappa, 150) for m in (0.5, 1.8, 2.5))
    assert np.linalg.norm(small[-1] - peak) < 1e-2 and np.all(np.diff(toy.landscape(small)) >= -1e-12)
    assert np.linalg.norm(zigzag[-1] - peak) < 1e-2
    crossings = np.sum(np.diff(np.sign(zigzag[:, 1] - peak[1])) != 0)
    assert crossings > 10
    assert np.linalg.norm(large[-1] - peak) > 0.1 and np.any(np.diff(toy.landscape(large)) < 0)


def test_ascent_path_stops_when_it_runs_off():
    path = toy.ascent_path((0.0, 0.0), 1.0, 10, gradient=lambda p: 1e4 * (p + 1.0))
    assert len(path) < 11 and np.all(np.isfinite(path))


def test_stripes_and_the_tiny_classifier_train_and_dream():
    images, labels = toy.stripes(32, seed=0)
    assert images.shape == (32, 24, 24, 1) and images.min() >= 0 and images.max() <= 1
    vertical = images[labels == 1][0]
    horizontal = images[labels == 0][0]
    assert toy.stripe_orientation(vertical) > 0.5 > -0.5 > toy.stripe_orientation(horizontal)
    weights = toy.tiny_classifier(seed=0)
    first = float(toy.tiny_classifier_loss(weights, images, labels))
    for _ in range(60):
        with tf.GradientTape() as tape:
            loss = toy.tiny_classifier_loss(weights, images, labels)
        for variable, grad in zip(weights.values(), tape.gradient(loss, list(weights.values())), strict=True):
            variable.assign_sub(0.5 * grad)
    assert float(loss) < 0.5 * first
    test_images, test_labels = toy.stripes(64, seed=1)
    accuracy = np.mean((toy.tiny_classifier_logit(weights, test_images).numpy() > 0) == (test_labels == 1))
    assert accuracy > 0.9


def test_tiny_net_hand_gradient_equals_tape_and_finite_differences():
    rng = np.random.default_rng(1)
    image, kernel = rng.uniform(0, 1, (10, 10)), rng.normal(0, 1, (3, 3))
    hand = toy.tiny_net_gradient(image, kernel)
    assert np.allclose(hand, toy.tiny_net_tape_gradient(image, kernel), atol=1e-12)
    numeric = toy.numerical_gradient(lambda x: toy.tiny_net(x, kernel), image, 1e-6)
    assert np.allclose(hand, numeric, atol=1e-7)
    parts = toy.tiny_net_backward(image, kernel)
    # max-pooling routes each window's gradient to exactly one input
    nonzero = (parts["dJ_da"] != 0).reshape(4, 2, 4, 2).sum(axis=(1, 3))
    assert np.all(nonzero == 1)
    # ReLU blocks the gradient where the convolution was negative
    assert np.all(parts["dJ_dz"][parts["z"] <= 0] == 0)


def test_conv_matches_tensorflow():
    rng = np.random.default_rng(2)
    image, kernel = rng.normal(size=(7, 9)), rng.normal(size=(3, 3))
    expected = tf.nn.conv2d(image[None, :, :, None], kernel[:, :, None, None], 1, "VALID").numpy()[0, :, :, 0]
    assert np.allclose(toy.conv2d_valid(image, kernel), expected)
    assert toy.maxpool2x2(np.arange(16.0).reshape(4, 4)).tolist() == [[5.0, 7.0], [13.0, 15.0]]


@pytest.mark.parametrize("eps", [1e-3, 1e-5])
def test_numerical_gradient_leaves_x_alone(eps):
    x = np.array([1.0, -2.0, 3.0])
    grad = toy.numerical_gradient(lambda v: float(np.sum(v**2)), x, eps)
    assert np.allclose(grad, 2 * x, atol=1e-6) and x.tolist() == [1.0, -2.0, 3.0]


def test_plot_ascent_paths_draws_every_path():
    paths = {"a": toy.ascent_path((0.0, 0.9), 0.05, 5), "b": toy.ascent_path((-1.0, 0.0), 0.1, 5)}
    figure = toy.plot_ascent_paths(paths, title="paths")
    lines = figure.axes[0].get_lines()
    assert len(lines) == 3 * len(paths)  # the path, its start and its end
    assert np.allclose(lines[0].get_xydata(), paths["a"])
    assert figure.axes[0].get_title() == "paths"
    plt.close(figure)


def test_show_signed_centres_each_colour_scale_on_zero():
    figure = viz.show_signed({"a": np.array([[0.0, 2.0], [-1.0, 0.5]]), "b": np.zeros((2, 2))}, ncols=3)
    first = figure.axes[0].get_images()[0]
    assert first.get_clim() == (-2.0, 2.0) and figure.axes[0].get_title() == "a"
    assert figure.axes[1].get_images()[0].get_clim() == (-1.0, 1.0)  # all zeros: still a valid scale
    assert not figure.axes[2].get_images()  # the spare panel stays empty
    plt.close(figure)
