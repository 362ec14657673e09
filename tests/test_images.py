"""images: every source becomes float32 RGB in [0, 1]; saving keeps pixels and metadata, never overwrites."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image

from deepdream_lib import images
from deepdream_lib.errors import ImageError
from deepdream_lib.images import (
    MIN_SIZE,
    SAMPLES,
    load_image,
    read_metadata,
    resize_max,
    sample,
    save_image,
    to_uint8,
)
from localservers import Misbehaving, files, serving


def _checkerboard(height: int = 20, width: int = 30) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def test_uint8_uint16_bool_float_arrays_become_rgb_floats():
    pixels = _checkerboard()
    expected = pixels.astype(np.float32) / 255.0
    for source in (pixels, pixels.astype(np.uint16) * 257, expected.astype(np.float64)):
        image = load_image(source)
        assert image.dtype == np.float32 and image.shape == (20, 30, 3)
        np.testing.assert_allclose(image, expected, atol=1e-6)
    mask = np.zeros((20, 30), bool)
    mask[5:10] = True
    image = load_image(mask)
    assert image.shape == (20, 30, 3) and set(np.unique(image)) == {0.0, 1.0}
    assert np.all(image[5:10] == 1.0) and np.all(image[:5] == 0.0)


def test_grayscale_is_repeated_into_three_equal_channels():
    gray = _checkerboard()[..., 0]
    for source in (gray, gray[..., None]):
        image = load_image(source)
        assert image.shape == (20, 30, 3)
        np.testing.assert_array_equal(image[..., 0], image[..., 2])
        np.testing.assert_allclose(image[..., 1], gray / 255.0, atol=1e-6)


def test_rgba_array_is_composited_over_white():
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 0] = 255  # red
    rgba[:10, :, 3] = 255  # top half opaque, bottom half fully transparent
    image = load_image(rgba)
    np.testing.assert_allclose(image[0, 0], [1, 0, 0])
    np.testing.assert_allclose(image[-1, -1], [1, 1, 1])


def test_sample_images_load_and_shrink_keeping_the_aspect_ratio():
    cat = sample("chelsea")
    assert cat.dtype == np.float32 and cat.shape == (300, 451, 3)
    assert 0.0 <= cat.min() and cat.max() <= 1.0 and cat.std() > 0.05
    small = sample("chelsea", max_size=64)
    assert small.shape == (43, 64, 3)
    np.testing.assert_array_equal(load_image("sample:chelsea", max_size=64), small)
    with pytest.raises(ImageError, match="Available samples: chelsea"):
        sample("dog")
    assert "camera" in SAMPLES and sample("camera", max_size=32).shape[-1] == 3  # grayscale becomes RGB


@pytest.mark.parametrize("shape", [(300, 451), (451, 300), (128, 128), (1000, 17)])
def test_resize_max_bounds_the_longer_side_and_keeps_the_aspect(shape):
    image = np.random.default_rng(1).random((*shape, 3)).astype(np.float32)
    out = resize_max(image, 64)
    scale = 64 / max(shape)
    assert max(out.shape[:2]) == 64
    assert abs(out.shape[0] - shape[0] * scale) <= 1 and abs(out.shape[1] - shape[1] * scale) <= 1
    assert resize_max(image, 5000) is image  # never enlarges
    with pytest.raises(ImageError, match="at least"):
        resize_max(image, MIN_SIZE - 1)


def test_to_uint8_rounds_and_clips():
    values = np.array([-0.5, 0.0, 0.6 / 255, 0.4 / 255, 254.6 / 255, 1.0, 2.0], np.float32)
    np.testing.assert_array_equal(to_uint8(values), [0, 0, 1, 0, 255, 255, 255])


def test_png_round_trip_keeps_pixels_and_metadata(tmp_path):
    image = _checkerboard().astype(np.float32) / 255.0
    path = save_image(image, tmp_path / "x.png", {"deepdream:model": "vgg16_hed", "note": "é ✓"})
    np.testing.assert_array_equal(load_image(path), image)  # exact: 8-bit values survive
    assert read_metadata(path) == {"deepdream:model": "vgg16_hed", "note": "é ✓"}


def test_save_refuses_to_overwrite_unless_asked(tmp_path):
    path = tmp_path / "x.png"
    save_image(np.zeros((20, 20, 3), np.float32), path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_image(np.ones((20, 20, 3), np.float32), path)
    assert path.read_bytes() == before
    save_image(np.ones((20, 20, 3), np.float32), path, overwrite=True)
    assert load_image(path).min() == 1.0
    with pytest.raises(ImageError, match="does not exist"):
        save_image(np.zeros((20, 20, 3), np.float32), tmp_path / "missing" / "x.png")


def test_a_batch_of_one_saves_as_one_image(tmp_path):
    path = save_image(np.full((1, 20, 24, 3), 0.5, np.float32), tmp_path / "b.png")
    assert load_image(path).shape == (20, 24, 3)


def test_jpeg_and_pil_sources(tmp_path):
    pixels = np.full((32, 48, 3), (200, 100, 50), np.uint8)
    Image.fromarray(pixels).save(tmp_path / "x.jpg", quality=95)
    image = load_image(tmp_path / "x.jpg")
    assert image.shape == (32, 48, 3)
    np.testing.assert_allclose(image.mean(axis=(0, 1)), np.array([200, 100, 50]) / 255, atol=0.02)
    np.testing.assert_allclose(load_image(Image.fromarray(pixels)), pixels / 255.0, atol=1e-6)
    assert load_image(str(tmp_path / "x.jpg"), max_size=24).shape == (16, 24, 3)


def test_url_download_from_a_local_server(tmp_path):
    Image.fromarray(_checkerboard(32, 40)).save(tmp_path / "served.png")
    with serving(files(tmp_path)) as base:
        np.testing.assert_allclose(load_image(f"{base}/served.png"), _checkerboard(32, 40) / 255.0, atol=1e-6)
        with pytest.raises(ImageError, match="Could not download"):
            load_image(f"{base}/missing.png")  # 404




# --- photos come upright: the EXIF orientation is applied on every route --------------------------


def _sideways_jpeg(path) -> np.ndarray:
    """A 120x90 JPEG (left half red, right half blue) tagged "rotate 90 degrees clockwise to show"; it
    returns the picture as it should be shown (90x120: red on top, blue below), as phones write them."""
    stored = np.zeros((90, 120, 3), np.uint8)
    stored[:, :60] = (220, 20, 20)
    stored[:, 60:] = (20, 20, 220)
    exif = Image.Exif()
    exif[images.ORIENTATION_TAG] = 6
    Image.fromarray(stored).save(path, exif=exif, quality=95)
    return np.rot90(stored, k=-1)  # clockwise


@pytest.mark.parametrize("route", ["path", "bytes", "pil", "url"])
def test_exif_orientation_is_applied_on_every_route(tmp_path, route):
    path = tmp_path / "phone.jpg"
    shown = _sideways_jpeg(path)
    if route == "url":
        with serving(files(tmp_path)) as base:
            image = load_image(f"{base}/phone.jpg")
    else:
        source = {"path": path, "bytes": path.read_bytes(), "pil": Image.open(path)}[route]
        image = load_image(source)
    assert image.shape == (120, 90, 3)  # shown upright, not as stored (90 rows of 120)
    away_from_the_edge = np.r_[0:56, 64:120]  # JPEG blurs the colours across the red-blue edge
    np.testing.assert_allclose(image[away_from_the_edge], shown[away_from_the_edge] / 255.0, atol=12 / 255)
    assert image[0, 45, 0] > 0.8 and image[-1, 45, 2] > 0.8  # red on top, blue at the bottom


def test_images_without_an_orientation_are_left_as_they_are(tmp_path):
    pixels = _checkerboard(20, 30)
    Image.fromarray(pixels).save(tmp_path / "plain.png")
    for source in (tmp_path / "plain.png", (tmp_path / "plain.png").read_bytes(), Image.fromarray(pixels)):
        np.testing.assert_array_equal(load_image(source), pixels / np.float32(255.0))


def test_bytes_that_are_not_an_image_are_refused_with_their_size():
    with pytest.raises(ImageError, match=r"<13 bytes> is not an image file"):
        load_image(b"not a picture")


# --- URLs: one deadline for the whole download, and a size limit ----------------------------------


def test_a_url_that_trickles_gives_up_at_the_deadline(monkeypatch):
    monkeypatch.setattr(images, "URL_TIMEOUT_S", 1.5)
    with serving(Misbehaving) as base:
        url = f"{base}/trickle.png"
        start = time.monotonic()
        with pytest.raises(ImageError) as caught:
            load_image(url)
        elapsed = time.monotonic() - start
    message = str(caught.value)
    assert url in message and "1.5 s" in message and "URL_TIMEOUT_S" in message, message
    assert 1.4 < elapsed < 4.0, elapsed  # the whole download, not each read (20 one-second reads)


@pytest.mark.parametrize("path", ["declared", "undeclared"])
def test_a_url_that_sends_too_much_is_refused(monkeypatch, path):
    monkeypatch.setattr(images, "MAX_URL_BYTES", 10_000)
    with serving(Misbehaving) as base:
        url = f"{base}/{path}"
        with pytest.raises(ImageError) as caught:
            load_image(url)
    message = str(caught.value)
    assert url in message and "10,000 bytes" in message and "MAX_URL_BYTES" in message, message
