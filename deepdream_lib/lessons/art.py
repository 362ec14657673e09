"""Dreams as art: zoom videos with a layer schedule, colour preservation, balanced layer mixes, export.

A zoom video repeats three moves: dream a few steps, zoom in a little (crop the centre, resize it back
to full size), dream again. Because each frame starts from the previous dream, patterns grow out of
patterns and seem to fall towards the viewer. Changing the objective over the frames - a *schedule*
such as ``[(0, "block2_conv2"), (8, "block3_conv3"), (16, "block4_conv3")]`` - makes edges turn into
circles and circles into parts.

Controls an artist wants, each a plain function: :func:`zoom_frames` (the video), :func:`preserve_colors`
(keep the photo's colours, take only the dream's brightness), :func:`balanced_mix` (mix layers with
weights that mean what they say), :func:`save_video` (MP4 through ffmpeg, or a GIF).
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from deepdream_lib.engine import DreamConfig, dream, objective_values, recipe_metadata
from deepdream_lib.images import ImageLike, load_image, to_uint8
from deepdream_lib.models import Backbone, as_backbone
from deepdream_lib.objectives import Objective, as_objective, layer

Schedule = Sequence[tuple[int, Objective | str]]

# ITU-R BT.601 luma weights, as in JPEG's YCbCr (full range) and NTSC's YIQ.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_RGB_TO_YCBCR = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], np.float32
)
_YCBCR_TO_RGB = np.linalg.inv(_RGB_TO_YCBCR).astype(np.float32)


# --- colour ----------------------------------------------------------------------------------------


def luminance(image: np.ndarray) -> np.ndarray:
    """Brightness as the eye weighs it, Y = 0.299 R + 0.587 G + 0.114 B: (..., 3) -> (...)."""
    return np.asarray(image, np.float32) @ LUMA


def rgb_to_ycbcr(image: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] -> (Y, Cb, Cr): brightness plus two colour-difference channels centred on 0."""
    return np.asarray(image, np.float32) @ _RGB_TO_YCBCR.T


def ycbcr_to_rgb(image: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_ycbcr` (not clipped)."""
    return np.asarray(image, np.float32) @ _YCBCR_TO_RGB.T


def preserve_colors(original: ImageLike, dreamed: ImageLike) -> np.ndarray:
    """Keep the original's colours and take only the brightness (luminance) from the dream.

    Converts both to YCbCr, combines the dream's Y with the original's Cb and Cr, converts back and
    clips to [0, 1] (as in Gatys et al. 2016, "Preserving color in neural artistic style transfer").
    The original is resized to the dream's size if they differ.
    """
    dreamed, original = load_image(dreamed), load_image(original)
    if original.shape[:2] != dreamed.shape[:2]:
        original = tf.image.resize(original[None], dreamed.shape[:2], antialias=True).numpy()[0]
    combined = rgb_to_ycbcr(original)
    combined[..., 0] = luminance(dreamed)
    return np.clip(ycbcr_to_rgb(combined), 0.0, 1.0)


# --- zooming ---------------------------------------------------------------------------------------


def zoom_crop(image: np.ndarray, zoom: float) -> np.ndarray:
    """Zoom into the centre: crop the middle 1/zoom of each side and resize it back to (H, W).

    ``zoom=1.05`` shows the central 95% enlarged by 5%. The crop keeps the aspect ratio.
    """
    if not zoom >= 1.0:
        raise ValueError(f"zoom must be >= 1 (1 = no zoom), got {zoom!r}.")
    image = np.asarray(image, np.float32)
    height, width = image.shape[:2]
    crop_h, crop_w = max(1, round(height / zoom)), max(1, round(width / zoom))
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    crop = image[top : top + crop_h, left : left + crop_w]
    return np.clip(tf.image.resize(crop[None], (height, width), method="bilinear").numpy()[0], 0.0, 1.0)


def objective_at(schedule: Schedule, frame: int) -> Objective:
    """The objective a schedule sets for ``frame``: the last entry whose start frame is <= ``frame``."""
    entries = sorted(schedule, key=lambda entry: entry[0])
    if not entries:
        raise ValueError("The schedule is empty: give at least one (frame, objective) pair.")
    if entries[0][0] > 0:
        raise ValueError(f"The schedule must start at frame 0 (it starts at {entries[0][0]}).")
    current = entries[0][1]
    for start, objective in entries:
        if start <= frame:
            current = objective
    return as_objective(current)


@dataclass
class ZoomResult:
    """A zoom video: its frames (H, W, 3) in [0, 1], the objective of each frame and how it was made."""

    frames: list[np.ndarray] = field(default_factory=list)
    objectives: list[str] = field(default_factory=list)
    gains: list[float] = field(default_factory=list)  # (after - before) / before, each without jitter
    metadata: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def zoom_frames(
    image: ImageLike,
    model: Backbone | str = "vgg16_hed",
    layer_schedule: Schedule | Objective | str | None = None,
    num_frames: int = 24,
    zoom: float = 1.05,
    config: DreamConfig | None = None,
    keep_colors: bool = False,
    progress: bool = True,
    **settings,
) -> ZoomResult:
    """Dream, zoom in, dream again: ``num_frames`` frames of an endless zoom.

    ``layer_schedule`` is a list of ``(first frame, objective or layer name)`` pairs, e.g.
    ``[(0, "block2_conv2"), (8, "block3_conv3"), (16, "block4_conv3")]`` (edges, then circles, then
    parts), or one objective for the whole video. Each frame is dreamed with ``config`` and the keyword
    settings (default: 5 steps, one octave: a frame starts from the previous dream, so it needs only a
    little more); the first frame is the dreamed photo, not the photo itself. ``keep_colors`` applies
    :func:`preserve_colors` with the original photo's colours to every frame.
    """
    if not isinstance(num_frames, int) or num_frames < 1:
        raise ValueError(f"num_frames must be an integer >= 1, got {num_frames!r}.")
    backbone = as_backbone(model)
    if layer_schedule is None:
        layer_schedule = backbone.spec.default_layer
    if isinstance(layer_schedule, (str, Objective)):
        layer_schedule = [(0, layer_schedule)]
    config = dataclasses.replace(config or DreamConfig(num_steps=5, num_octaves=1, jitter=8), **settings)
    original = load_image(image)
    current = original
    result = ZoomResult()
    start = time.perf_counter()
    for frame in tqdm(range(num_frames), desc="frames", disable=not progress, leave=False):
        objective = objective_at(layer_schedule, frame)
        if frame > 0:
            current = zoom_crop(current, zoom)
        frame_config = dataclasses.replace(config, seed=config.seed + frame)
        before = objective_values(backbone, objective, current)[0]
        dreamed = dream(current, objective, backbone, frame_config, progress=False)
        after = objective_values(backbone, objective, dreamed.image)[0]
        current = preserve_colors(original, dreamed.image) if keep_colors else dreamed.image
        result.frames.append(current)
        result.objectives.append(str(objective))
        result.gains.append(float((after - before) / max(abs(before), 1e-12)))
    result.seconds = time.perf_counter() - start
    schedule_text = "; ".join(f"{start}: {as_objective(obj)}" for start, obj in layer_schedule)
    video = {"schedule": schedule_text, "zoom": zoom, "num_frames": num_frames, "keep_colors": keep_colors}
    result.metadata = recipe_metadata(
        backbone, schedule_text, *original.shape[:2], {**video, **dataclasses.asdict(config)}
    )
    return result


# --- mixing layers ---------------------------------------------------------------------------------


def balanced_mix(
    weights: Mapping[str, float], image: ImageLike, model: Backbone | str = "vgg16_hed"
) -> Objective:
    """A weighted mix of whole-layer objectives whose weights mean what they say.

    What moves the pixels is each term's *gradient*, and layers pull with very different strengths, so
    ``0.5 * layer(a) + 0.5 * layer(b)`` is in practice "mostly whichever layer has the larger gradient"
    (often the deeper one). Here each layer's term is divided by the size (L2 norm) of its gradient on
    ``image`` first, so every term starts with the same pull and ``weights`` set the true proportions.
    Zero weights are dropped.
    """
    from deepdream_lib.engine import objective_and_gradient

    backbone = as_backbone(model)
    names = [name for name, weight in weights.items() if weight != 0]
    if not names:
        raise ValueError("All weights are zero: give at least one layer a non-zero weight.")
    pixels = tf.constant(load_image(image)[None])
    terms = []
    for name in names:
        _, gradient = objective_and_gradient(backbone, layer(backbone.check_layer(name)), pixels)
        pull = float(tf.norm(gradient)) or 1.0
        terms.append((float(weights[name]) / pull) * layer(name))
    return sum(terms, 0.0)


# --- export ----------------------------------------------------------------------------------------


def ffmpeg_path() -> str | None:
    """The ffmpeg program that MP4 export will use (from ``imageio-ffmpeg``), or None if there is none."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError, OSError):
        return None


def caption_frames(frames: Sequence[np.ndarray], captions: Sequence[str]) -> list[np.ndarray]:
    """Each frame with its caption written in a dark strip below it (the layer schedule, say).

    The strip's height follows the frame's width, so the text stays readable when a small fast-mode
    video is shown enlarged. Frames are (H, W, 3) in [0, 1]; the results are (H + strip, W, 3).
    """
    from PIL import Image, ImageDraw, ImageFont

    if len(frames) != len(captions):
        raise ValueError(f"{len(frames)} frames but {len(captions)} captions: give one caption per frame.")
    captioned = []
    for frame, caption in zip(frames, captions, strict=True):
        height, width = frame.shape[:2]
        font = ImageFont.load_default(size=max(9, width // 22))
        strip = max(12, width // 12)
        canvas = Image.new("RGB", (width, height + strip), (20, 20, 20))
        canvas.paste(Image.fromarray(to_uint8(frame)), (0, 0))
        ImageDraw.Draw(canvas).text((3, height + strip // 2), caption, fill=(240, 240, 240), font=font,
                                    anchor="lm")
        captioned.append(np.asarray(canvas, dtype=np.float32) / 255.0)
    return captioned


def _even(frame: np.ndarray) -> np.ndarray:
    """Crop to even height and width (H.264 in yuv420p needs them)."""
    height, width = frame.shape[:2]
    return frame[: height - height % 2, : width - width % 2]


def save_video(
    frames: Sequence[np.ndarray],
    path: str | Path,
    fps: float = 12.0,
    overwrite: bool = False,
    comment: str | None = None,
) -> Path:
    """Save frames (H, W, 3) in [0, 1] as MP4 (H.264, via imageio-ffmpeg) or GIF, by ``path``'s suffix.

    If an ``.mp4`` is asked for but ffmpeg is not available (``pip install imageio-ffmpeg``), it warns
    and writes a GIF next to it instead. Returns the path actually written, so ``path.suffix`` says
    which happened. ``comment`` (e.g. the schedule) is stored in the MP4's metadata.
    """
    path = Path(path)
    if not frames:
        raise ValueError("No frames to save.")
    if path.suffix.lower() == ".gif":
        from deepdream_lib.viz import save_gif

        return save_gif(list(frames), path, fps=fps, overwrite=overwrite)
    if path.suffix.lower() != ".mp4":
        raise ValueError(f"Save videos as .mp4 or .gif, not {path.suffix or 'no suffix'} ({path}).")
    if ffmpeg_path() is None:
        gif = path.with_suffix(".gif")
        warnings.warn(
            f"MP4 export needs ffmpeg, which was not found (`pip install imageio-ffmpeg`); "
            f"writing {gif} instead.",
            stacklevel=2,
        )
        return save_video(frames, gif, fps=fps, overwrite=overwrite)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
    if not path.parent.exists():
        raise FileNotFoundError(f"The folder {path.parent} does not exist; create it first.")
    import imageio.v2 as imageio

    params = ["-metadata", f"comment={comment}"] if comment else None
    with imageio.get_writer(
        path, fps=fps, codec="libx264", quality=8, macro_block_size=1, pixelformat="yuv420p",
        output_params=params,
    ) as writer:
        for frame in frames:
            writer.append_data(_even(to_uint8(frame)))
    return path
