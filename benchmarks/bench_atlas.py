"""Benchmark a channel atlas: 64 channels of one layer dreamed one by one, against in batches.

    python benchmarks/bench_atlas.py                  # 64 channels, 48 px, 10 steps: about 5-15 minutes
    python benchmarks/bench_atlas.py --quick          # 16 channels: about 1-2 minutes
    python benchmarks/bench_atlas.py --size 96 --steps 20 --channels 64 --batches 16 64

An atlas dreams each channel of a layer on its own image. ``objectives.channels(layer, indices)`` puts
channel ``indices[i]`` on image ``i`` of a batch, so one ``dream()`` call dreams many channels at once.
The script times, on the same start image, model and settings (one octave, no tiling):

* **one by one**: ``dream()`` once per channel, as a learner's loop would. Every channel is a new
  objective, so every call traces (compiles) a new step function, then runs ``steps`` steps on one
  small image.
* **one by one, traced once**: the same work with one ``tf.function`` whose channel index is an input,
  written out below. It separates the cost of tracing from the cost of the steps.
* **batched**: ``dream()`` on batches of B images with ``channels(layer, ...)``, for each B in
  ``--batches``: 64 / B calls, each tracing once.

It prints the seconds, the seconds per channel, the speed-up over "one by one", and the time spent
tracing (first call minus a second, traced call of the same objective). Not a test: figures move by
10-30 % on a shared machine (the load average is printed); see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from deepdream_lib import __version__, channel, channels, dream, load_model  # noqa: E402
from deepdream_lib.normalize import normalize_std  # noqa: E402

MODEL, LAYER = "vgg16_hed", "block4_conv3"
STEP_SIZE, JITTER = 0.01, 4


def start_image(size: int, seed: int = 0) -> np.ndarray:
    """Gray with a whisper of noise: an empty canvas that still breaks the symmetry."""
    rng = np.random.default_rng(seed)
    return np.clip(0.5 + 0.01 * rng.normal(size=(size, size, 3)), 0, 1).astype(np.float32)


def settings(steps: int) -> dict:
    return dict(num_steps=steps, num_octaves=1, step_size=STEP_SIZE, jitter=JITTER, progress=False)


def one_by_one(backbone, image: np.ndarray, indices: list[int], steps: int) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    atlas = [dream(image, channel(LAYER, c), backbone, **settings(steps)).image for c in indices]
    return time.perf_counter() - start, np.stack(atlas)


def traced_once(backbone, image: np.ndarray, indices: list[int], steps: int) -> tuple[float, float]:
    """One tf.function for every channel (the index is an input): (total seconds, first-call seconds)."""
    extractor = backbone.extractor([LAYER])

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, None, 3], tf.float32),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([2], tf.int32),
        ]
    )
    def step(images, index, shift):
        rolled = tf.roll(images, shift, axis=[1, 2])
        with tf.GradientTape() as tape:
            tape.watch(rolled)
            activation = extractor(backbone.preprocess(rolled))[LAYER]
            value = tf.reduce_mean(tf.gather(activation, index, axis=-1))
        gradient = normalize_std(tf.roll(tape.gradient(value, rolled), -shift, axis=[1, 2]))
        return tf.clip_by_value(images + STEP_SIZE * gradient, 0.0, 1.0)

    rng = np.random.default_rng(0)
    start = time.perf_counter()
    first = None
    for c in indices:
        images = tf.constant(image[None])
        for _ in range(steps):
            images = step(images, tf.constant(c), tf.constant(rng.integers(-JITTER, JITTER + 1, 2), tf.int32))
        images.numpy()
        first = first or time.perf_counter() - start
    return time.perf_counter() - start, first


def batched(backbone, image: np.ndarray, indices: list[int], steps: int, batch: int) -> float:
    start = time.perf_counter()
    for begin in range(0, len(indices), batch):
        chunk = indices[begin : begin + batch]
        dream(np.repeat(image[None], len(chunk), axis=0), channels(LAYER, chunk), backbone, **settings(steps))
    return time.perf_counter() - start


def tracing_cost(backbone, image: np.ndarray, steps: int, batch: int) -> float:
    """Seconds of the first dream() call of a new objective minus a repeat of the same call."""
    indices = list(range(512 - batch, 512))
    images = np.repeat(image[None], batch, axis=0)
    objective = channels(LAYER, indices)
    start = time.perf_counter()
    dream(images, objective, backbone, **settings(steps))
    first = time.perf_counter() - start
    start = time.perf_counter()
    dream(images, objective, backbone, **settings(steps))
    return first - (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=48, help="image side in pixels")
    parser.add_argument("--steps", type=int, default=10, help="steps per channel (one octave)")
    parser.add_argument("--channels", type=int, default=64, help="how many channels of the layer")
    parser.add_argument("--batches", type=int, nargs="+", default=[16, 64], help="batch sizes to try")
    parser.add_argument("--quick", action="store_true", help="16 channels, batches 4 and 16")
    args = parser.parse_args()
    if args.quick:
        args.channels, args.batches = 16, [4, 16]

    cpu = platform.processor() or platform.machine()
    print(
        f"deepdream_lib {__version__}, TensorFlow {tf.__version__}, {cpu}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    print(f"{MODEL} {LAYER}: {args.channels} channels, {args.size} px, {args.steps} steps, one octave")
    backbone = load_model(MODEL)
    image = start_image(args.size)
    indices = list(range(args.channels))
    dream(image, channel(LAYER, 511), backbone, **settings(2))  # warm up TensorFlow itself

    rows = []
    seconds, atlas = one_by_one(backbone, image, indices, args.steps)
    rows.append(("one by one (dream per channel)", seconds))
    seconds, first = traced_once(backbone, image, indices, args.steps)
    rows.append((f"one by one, traced once (first channel {first:.1f} s)", seconds))
    for batch in args.batches:
        rows.append(
            (f"batched, {batch} per dream() call", batched(backbone, image, indices, args.steps, batch))
        )

    base = rows[0][1]
    print(f"\n{'method':48s} {'seconds':>8s} {'s/channel':>10s} {'speed-up':>9s}")
    for name, seconds in rows:
        print(f"{name:48s} {seconds:8.1f} {seconds / len(indices):10.3f} {base / seconds:8.1f}x")
    for batch in (1, max(args.batches)):
        seconds = tracing_cost(backbone, image, args.steps, batch)
        print(f"tracing one new objective, batch {batch}: {seconds:.2f} s")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    del atlas


if __name__ == "__main__":
    main()
