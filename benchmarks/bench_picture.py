"""Benchmark what a learner waits for: the control panel's preview, and one whole picture against the
TensorFlow DeepDream tutorial's recipe; and how the cost of a step grows with the image. Not a test: it
prints figures, see benchmarks/README.md.

    python benchmarks/bench_picture.py                  # all three parts
    python benchmarks/bench_picture.py --part panel     # the panel's first update, finished preview, overhead
    python benchmarks/bench_picture.py --part race --size 200   # a smaller picture (faster)
    python benchmarks/bench_picture.py --part growth    # time and peak memory per step, 256 to 2048 px

1. **panel**: ``widgets.dream_panel`` at its defaults, clicked as a learner would (the dream in its worker
   thread): when the first picture arrives and when the preview is finished, cold (first use; after a
   layer change) and warm; and the preview's cost, the same dream with and without it, in alternation.
2. **race**: on one image, model and layer, (a) the tutorial's full recipe as published (octaves -2..2 of
   scale 1.3, 100 steps each of 0.01 in its [-1, 1] pixels, i.e. 0.005 here, random rolls and tiles of
   512, std normalisation; the step is ``bench_step.tutorial_step_factory``) and (b) the library's
   default ``dream()``, given the tutorial's final size (1.69x its input). Each final picture's objective
   is measured the same way (``objective_values`` at the final size); (b) is also measured at checkpoints
   (outside its clock), which gives the time at which it first reaches (a)'s final objective.
   **ratio** = that time / (a)'s time (goal <= 0.5). The named presets (``engine.PRESETS``) race too.
3. **growth**: a step's time and peak memory at 256, 512, 1024 and 2048 px (tiles of 512 above 1024), each
   size in a fresh process (``bench_step.memory_table``), and the fitted cost per megapixel.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from bench_step import LAYER, MODEL, _cpu_name, _load, memory_table, tutorial_step_factory  # noqa: E402

from deepdream_lib import __version__, load_model, sample, widgets  # noqa: E402
from deepdream_lib.engine import PRESETS, STEPS, DreamConfig, dream, objective_values  # noqa: E402
from deepdream_lib.images import resize_max, to_uint8  # noqa: E402
from deepdream_lib.measure import clipped_fraction  # noqa: E402
from deepdream_lib.models import Backbone  # noqa: E402
from deepdream_lib.viz import compare  # noqa: E402

TUTORIAL = {"octaves": range(-2, 3), "octave_scale": 1.3, "steps_per_octave": 100}
CHECK_EVERY = 5  # steps between two measurements of (b)'s objective at the final size
OLD_PANEL_IDLE_S = 2.2  # the panel before the preview, click to picture, on an idle 2-core Xeon (issue 14)
OLD_PANEL_CONFIG = DreamConfig(num_steps=10, num_octaves=2)  # its settings then


class Clock:
    """Wall and CPU seconds (this process, all threads) since it was made, without its pauses: the
    measurements taken along a race do not count. CPU seconds change less than wall seconds when other
    processes share the CPU."""

    def __init__(self) -> None:
        self.start = np.array([time.perf_counter(), time.process_time()])
        self.paused = np.zeros(2)

    def now(self) -> np.ndarray:
        return np.array([time.perf_counter(), time.process_time()]) - self.start - self.paused

    @contextmanager
    def pause(self) -> Iterator[None]:
        began = np.array([time.perf_counter(), time.process_time()])
        yield
        self.paused += np.array([time.perf_counter(), time.process_time()]) - began


# --- 1. the panel ----------------------------------------------------------------------------------


def click_and_time(panel: widgets.DreamPanel) -> dict[str, object]:
    """Press a panel's preview button, as a learner does: (wall, CPU) seconds to the first picture and to
    the finished one (the dream runs in the panel's worker thread), and the pictures shown."""
    view, button = panel.views["preview"], panel.children[0].children[1]
    arrivals: list[np.ndarray] = []

    def arrived(_change: dict) -> None:
        arrivals.append(clock.now())

    view.picture.observe(arrived, names="value")
    clock = Clock()
    button.click()
    view.wait()
    finished = clock.now()
    view.picture.unobserve(arrived, names="value")
    return {"first": arrivals[0], "finished": finished, "updates": view.updates}


def panel_part(image: np.ndarray, repeats: int, save: Path | None) -> None:
    """First picture and finished preview, cold and warm; the preview's cost against the same dream without
    it, and against the panel before it showed the dream as it ran (dream, then a matplotlib figure)."""
    backbone = load_model(MODEL)
    STEPS.clear()
    clock = Clock()
    panel = widgets.dream_panel(image, backbone, background=True)  # traces the step, dreams in the cell
    print(f"building the panel (a new step traced, the first preview dreamed in the cell): "
          f"{_seconds(clock.now())}")
    controls = {control.description: control for control in panel.children[0].children[0].children}
    settings = {name: control.value for name, control in controls.items()}
    print(f"panel defaults: preview 128 px, {settings}; before: 128 px, {OLD_PANEL_CONFIG}")
    STEPS.clear()
    rows = [("cold: a new step (traced)", click_and_time(panel))]
    rows += [("warm", click_and_time(panel)) for _ in range(repeats)]
    controls["layer"].value = "block3_conv3"  # the panel is not live: nothing runs until the click
    rows.append(("cold: after a layer change", click_and_time(panel)))
    controls["layer"].value = settings["layer"]
    print(f"{'click':<36} {'first picture':>20} {'finished':>20} {'pictures':>9}")
    for name, row in rows:
        print(f"{name:<36} {_seconds(row['first']):>20} {_seconds(row['finished']):>20} {row['updates']:>9}")

    small = resize_max(image, 128)
    layer = settings.pop("layer")

    def without_preview() -> None:
        dream(small, layer, backbone, progress=False, **settings)

    def old_panel() -> None:  # what a click did before: the whole dream, then a figure (rendered to PNG)
        result = dream(small, layer, backbone, OLD_PANEL_CONFIG, progress=False)
        figure = compare(small, result.image, ("original", layer))
        figure.savefig(io.BytesIO(), format="png")
        plt.close(figure)
        pictures["before: the old panel's settings"] = result.image

    pictures = {"original": small}
    runs = {"with": lambda: click_and_time(panel), "without": without_preview, "old": old_panel}
    times: dict[str, list[np.ndarray]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            clock = Clock()
            run()
            times[name].append(clock.now())
    on, off, old = (np.median(times[name], axis=0) for name in runs)
    print(f"the same dream {repeats} times each in alternation, medians: with the preview {_seconds(on)}, "
          f"without it {_seconds(off)}: overhead {on[0] / off[0] - 1:+.1%} in wall time, "
          f"{on[1] / off[1] - 1:+.1%} in CPU time (goal <= 10 %)")
    updates = np.median([row["updates"] for name, row in rows if name == "warm"])
    update = _update_seconds(panel.views["preview"], small)
    print(f"one picture update (PNG, widget value) costs {update[1] * 1e3:.1f} CPU ms; {updates:.0f} of them "
          f"are {updates * update[1] / off[1]:.1%} of the dream's CPU time")
    first = np.median([row["first"] for name, row in rows if name == "warm"], axis=0)
    cpu_ratio_first, cpu_ratio_finished = first[1] / old[1], on[1] / old[1]
    print(f"against the old panel (the whole dream, then a figure: {_seconds(old)} from click to picture), "
          f"in CPU time: first picture {cpu_ratio_first:.2f}x, finished {cpu_ratio_finished:.2f}x. The old "
          f"panel took {OLD_PANEL_IDLE_S} s on an idle machine (issue 14), so there: first picture "
          f"~{cpu_ratio_first * OLD_PANEL_IDLE_S:.2f} s (goal < 0.5), finished "
          f"~{cpu_ratio_finished * OLD_PANEL_IDLE_S:.2f} s (goal < 1.5)")
    print(f"load average: {_load()}")
    if save:
        pictures["after: the panel's settings now"] = panel.views["preview"].result.image
        _save_side_by_side(pictures, save / "preview.png", width=256)


def _update_seconds(view: widgets.DreamView, image: np.ndarray, repeats: int = 20) -> np.ndarray:
    """(wall, CPU) seconds of one picture update of a view: encode the PNG, set the widget's value."""
    pictures = [image, image[::-1]]  # two pictures in turn: an equal value would not be sent
    clock = Clock()
    for index in range(repeats):
        view.picture.value = widgets.png_bytes(pictures[index % 2])
    return clock.now() / repeats


def _seconds(seconds: np.ndarray) -> str:
    return f"{seconds[0]:.2f} s ({seconds[1]:.2f} CPU s)"


# --- 2. one picture, against the tutorial -----------------------------------------------------------


Curve = list[tuple[np.ndarray, float]]  # (wall and CPU seconds, objective at the final size)


def tutorial_recipe(backbone: Backbone, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, Curve]:
    """(a) The tutorial's ``run_deep_dream_with_octaves``, with its step, on ``image`` (H, W, 3) in [0, 1].

    Returns the final image, its (wall, CPU) seconds (warm: the step is traced before the clock starts) and
    the objective at the final size after each octave, measured outside the clock.
    """
    trunk = keras.Model(backbone.model.input, backbone.model.get_layer(LAYER).output)
    step = tutorial_step_factory(trunk, backbone.preprocess, tile_size=512)
    step(tf.constant(image[:64, :64]))  # trace, outside the clock
    base = tf.constant(image.shape[:2], tf.float32)
    final = _tutorial_size(image.shape[:2], max(TUTORIAL["octaves"]))
    img, curve, clock = tf.constant(image), [], Clock()
    for octave in TUTORIAL["octaves"]:
        img = tf.image.resize(img, tf.cast(base * TUTORIAL["octave_scale"] ** octave, tf.int32))
        for _ in range(TUTORIAL["steps_per_octave"]):
            img = step(img)
        with clock.pause():
            curve.append((clock.now(), _objective_at(backbone, img[None], final)))
    return img.numpy(), clock.now(), curve


def _tutorial_size(shape: tuple[int, int], octave: int) -> tuple[int, int]:
    """The size of the tutorial's octave ``octave`` (its float-then-truncate arithmetic)."""
    scaled = tf.cast(tf.constant(shape, tf.float32) * TUTORIAL["octave_scale"] ** octave, tf.int32)
    return int(scaled[0]), int(scaled[1])


def _objective_at(backbone: Backbone, images: tf.Tensor | np.ndarray, size: tuple[int, int]) -> float:
    """The objective (mean activation of LAYER) of an image resized to ``size``: how each one is judged."""
    return float(objective_values(backbone, LAYER, tf.image.resize(images, size).numpy()[0])[0])


def library_recipe(backbone: Backbone, start_image: np.ndarray, config: DreamConfig) -> dict:
    """(b) ``dream()`` with ``config`` on the final-size image; its objective is measured at the final size
    every CHECK_EVERY steps and at each octave's end, outside its clock."""
    size = start_image.shape[:2]
    dream(resize_max(start_image, 64), LAYER, backbone, config, num_steps=1, num_octaves=1, progress=False)
    curve: Curve = []

    def checkpoint(images: tf.Tensor, index: int) -> tf.Tensor:
        if (index + 1) % CHECK_EVERY == 0 or (index + 1) % config.num_steps == 0:
            with clock.pause():
                curve.append((clock.now(), _objective_at(backbone, images, size)))
        return images

    clock = Clock()
    result = dream(start_image, LAYER, backbone, config, post_step=checkpoint, progress=False)
    return {"image": result.image, "seconds": clock.now(), "curve": curve,
            "objective": _objective_at(backbone, result.image[None], size)}


def first_reaching(curve: Curve, target: float) -> np.ndarray | None:
    """The first (wall, CPU) seconds of a curve at which the objective is at least ``target``."""
    return next((seconds for seconds, value in curve if value >= target), None)


def race_part(size: int, presets: list[str], save: Path | None) -> None:
    """(a) the tutorial's recipe against (b) ``dream()``'s defaults and the named presets."""
    backbone = load_model(MODEL)
    image = sample("chelsea", max_size=size)
    final = _tutorial_size(image.shape[:2], max(TUTORIAL["octaves"]))
    start_image = tf.image.resize(image[None], final).numpy()[0]
    print(f"image: chelsea {image.shape[1]}x{image.shape[0]} px; the tutorial's last octave, and everyone's "
          f"final size: {final[1]}x{final[0]} px (1.69x); objective: mean of {LAYER}, at that size")
    print(f"objective of the undreamed picture: {_objective_at(backbone, start_image[None], final):.4f}")
    tutorial_image, tutorial_s, tutorial_curve = tutorial_recipe(backbone, image)
    target = _objective_at(backbone, tutorial_image[None], final)
    octaves = ", ".join(f"{value:.3f}" for _, value in tutorial_curve)
    print(f"(a) tutorial: {_seconds(tutorial_s)}, final objective {target:.4f} (octave by octave: "
          f"{octaves}), {clipped_fraction(tutorial_image):.1%} of the pixel values clipped at 0 or 1")
    pictures = {"(a) tutorial": tutorial_image}
    for name in ["default", *presets]:
        config = DreamConfig() if name == "default" else PRESETS[name]
        run = library_recipe(backbone, start_image, config)
        reached = first_reaching(run["curve"], target)
        label = "(b) dream() defaults" if name == "default" else f"preset {name!r}"
        print(f"{label}: {_seconds(run['seconds'])}, final objective {run['objective']:.4f}, "
              f"{clipped_fraction(run['image']):.1%} of the pixel values clipped at 0 or 1")
        if reached is None:
            best = max(value for _, value in run["curve"])
            print(f"    never reaches (a)'s objective (best {best:.4f}, {best / target:.0%} of it): no ratio")
        else:
            wall, cpu = reached / tutorial_s
            print(f"    reaches (a)'s objective at {_seconds(reached)}: ratio {wall:.2f} in wall time, "
                  f"{cpu:.2f} in CPU time (goal <= 0.5)")
        print(f"    {config}")
        pictures[label] = run["image"]
    print(f"load average: {_load()}")
    if save:
        _save_side_by_side(pictures, save)


def _save_side_by_side(pictures: dict[str, np.ndarray], path: Path, width: int = 300) -> None:
    """The pictures in a row, each scaled to ``width`` px wide, as one PNG of 256 colours (a small file)."""
    from PIL import Image

    row = [tf.image.resize(picture[None], (round(picture.shape[0] * width / picture.shape[1]), width),
                           antialias=True).numpy()[0] for picture in pictures.values()]
    height = max(picture.shape[0] for picture in row)
    canvas = np.ones((height, width * len(row) + 8 * (len(row) - 1), 3), np.float32)
    for index, picture in enumerate(row):
        left = index * (width + 8)
        canvas[: picture.shape[0], left : left + picture.shape[1]] = picture
    Image.fromarray(to_uint8(canvas)).quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)
    print(f"saved {path} ({path.stat().st_size // 1024} KiB): {', '.join(pictures)}")


# --- 3. how the cost grows --------------------------------------------------------------------------


def growth_part(repeats: int) -> None:
    """Seconds, CPU seconds and peak memory per step at 256-2048 px, and a least-squares line of each time
    on megapixels: its slope is the cost per megapixel."""
    rows = memory_table([(256, None), (512, None), (1024, None), (2048, 512)], repeats)
    print(f"{'size':>6} {'tiles':>8} {'median s':>9} {'min s':>7} {'CPU s':>7} {'step adds MiB':>14} "
          f"{'peak RSS MiB':>13}")
    points = []
    for row in rows:
        tiles = f"{row['tile']} px" if row["tile"] else "none"
        if "error" in row:
            print(f"{row['size']:>6} {tiles:>8}  failed: {row['error']}")
            continue
        adds = (row["peak"] - row["base"]) / 2**20
        print(f"{row['size']:>6} {tiles:>8} {row['median_s']:>9.2f} {row['min_s']:>7.2f} "
              f"{row['cpu_s']:>7.2f} {adds:>14.0f} {row['peak'] / 2**20:>13.0f}")
        points.append((row["size"] ** 2 / 1e6, row["median_s"], row["cpu_s"]))
    megapixels, wall, cpu = (np.array(values) for values in zip(*points, strict=True))
    for name, seconds in (("wall", wall), ("CPU", cpu)):
        slope, intercept = np.polyfit(megapixels, seconds, 1)
        print(f"fit, {name} seconds per step = {intercept:.3f} + {slope:.2f} x megapixels")
    print(f"load average: {_load()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("panel", "race", "growth"), action="append",
                        help="run only this part (may repeat); default all")
    parser.add_argument("--size", type=int, default=451,
                        help="the race's input side (451: chelsea as the tutorial's max_dim=500 keeps it)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (panel, growth)")
    parser.add_argument("--preset", action="append", default=None, help="presets to race (default: all)")
    parser.add_argument("--save", type=Path, help="a folder: save the pictures side by side there (PNG)")
    args = parser.parse_args(argv)
    parts = args.part or ["panel", "race", "growth"]
    print(f"deepdream_lib {__version__}, TensorFlow {tf.__version__}; {_cpu_name()}, {os.cpu_count()} CPUs; "
          f"load average {_load()}; model {MODEL}, layer {LAYER}")
    if "panel" in parts:
        print("\n## 1. the panel")
        panel_part(sample("chelsea"), args.repeats, args.save)
    if "race" in parts:
        print("\n## 2. one picture against the tutorial's recipe")
        race_part(args.size, args.preset if args.preset is not None else list(PRESETS),
                  args.save and args.save / "race.png")
    if "growth" in parts:
        print("\n## 3. how the cost of a step grows")
        growth_part(args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
