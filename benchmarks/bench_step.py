"""Benchmark one DeepDream step: this library against the TensorFlow tutorial's algorithm, in FLOP/s, and
the time and memory per image size. Not a test: it prints figures, see benchmarks/README.md.

    python benchmarks/bench_step.py            # about 3-4 minutes on a 2-core CPU
    python benchmarks/bench_step.py --quick    # about 1-2 minutes, fewer repeats

Everything runs on the same machine in one run, with the same Keras model (``vgg16_hed``) and layer:

1. (a) ``deepdream_lib.make_step`` (std normalisation, jitter, untiled) against (b) the algorithm of the
   TensorFlow DeepDream tutorial (https://www.tensorflow.org/tutorials/generative/deepdream: a
   ``tf.function`` that rolls the image randomly, sums the gradients of 512 px tiles, normalises by the
   std; the update and clipping run eagerly), written out below. Both are warmed up, then timed in
   alternation; the ratio is of the medians. (c) is a prototype, not in the library: (a) with each
   convolution's input gradient computed as a forward convolution with the flipped kernel.
2. FLOPs of a step, from the layer shapes, against the float32 matmul rate measured on this machine.
3. Time and peak memory (RSS) per image size, each size in a fresh subprocess.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from deepdream_lib import __version__, layer, load_model, make_step, sample  # noqa: E402
from deepdream_lib.normalize import normalize_std  # noqa: E402

MODEL, LAYER = "vgg16_hed", "block4_conv3"
STEP_SIZE = 0.005
JITTER = 32


# --- (b) the TensorFlow tutorial's algorithm, written out --------------------------------------------


def tutorial_step_factory(model: keras.Model, preprocess, tile_size: int = 512):
    """The tutorial's ``TiledGradients`` and update, with its model called on preprocessed [0, 1] images."""

    def calc_loss(img: tf.Tensor) -> tf.Tensor:
        img_batch = tf.expand_dims(img, axis=0)
        layer_activations = model(preprocess(img_batch))
        return tf.reduce_sum([tf.math.reduce_mean(layer_activations)])

    def random_roll(img: tf.Tensor, maxroll: int) -> tuple[tf.Tensor, tf.Tensor]:
        shift = tf.random.uniform(shape=[2], minval=-maxroll, maxval=maxroll, dtype=tf.int32)
        return shift, tf.roll(img, shift=shift, axis=[0, 1])

    @tf.function(
        input_signature=(
            tf.TensorSpec(shape=[None, None, 3], dtype=tf.float32),
            tf.TensorSpec(shape=[2], dtype=tf.int32),
            tf.TensorSpec(shape=[], dtype=tf.int32),
        )
    )
    def get_tiled_gradients(img: tf.Tensor, img_size: tf.Tensor, tile_size: tf.Tensor) -> tf.Tensor:
        shift, img_rolled = random_roll(img, tile_size)
        gradients = tf.zeros_like(img_rolled)
        xs = tf.range(0, img_size[1], tile_size)[:-1]  # skip the last tile, unless there is only one
        if not tf.cast(len(xs), bool):
            xs = tf.constant([0])
        ys = tf.range(0, img_size[0], tile_size)[:-1]
        if not tf.cast(len(ys), bool):
            ys = tf.constant([0])
        for x in xs:
            for y in ys:
                with tf.GradientTape() as tape:
                    tape.watch(img_rolled)
                    img_tile = img_rolled[y : y + tile_size, x : x + tile_size]
                    loss = calc_loss(img_tile)
                gradients = gradients + tape.gradient(loss, img_rolled)
        gradients = tf.roll(gradients, shift=-shift, axis=[0, 1])
        gradients /= tf.math.reduce_std(gradients) + 1e-8
        return gradients

    def step(img: tf.Tensor) -> tf.Tensor:  # as in the tutorial's loop: the update runs eagerly
        gradients = get_tiled_gradients(img, tf.shape(img)[:2], tf.constant(tile_size))
        img = img + gradients * STEP_SIZE
        return tf.clip_by_value(img, 0.0, 1.0)

    return step


# --- (c) prototype: input gradients of convolutions as forward convolutions ------------------------


@tf.custom_gradient
def _conv_same(x: tf.Tensor, kernel: tf.Tensor):
    """A stride-1 'same' convolution whose input gradient is the forward convolution of the incoming
    gradient with the spatially flipped kernel, input and output channels swapped (the same numbers)."""
    y = tf.nn.conv2d(x, kernel, 1, "SAME")

    def grad(dy: tf.Tensor):
        flipped = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])
        return tf.nn.conv2d(dy, flipped, 1, "SAME"), None

    return y, grad


def prototype_step_factory(backbone, target: str):
    """(a) with every Conv2D of a plain VGG stack replaced by :func:`_conv_same` (VGG only)."""
    layers = backbone.model.layers[1 : [lyr.name for lyr in backbone.model.layers].index(target) + 1]

    def forward(images: tf.Tensor) -> tf.Tensor:
        h = backbone.preprocess(images)
        for lyr in layers:
            if isinstance(lyr, keras.layers.Conv2D):
                h = tf.nn.relu(_conv_same(h, lyr.kernel) + lyr.bias)
            else:  # MaxPooling2D
                h = tf.nn.max_pool2d(h, 2, 2, "VALID")
        return h

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, None, 3], tf.float32),
            tf.TensorSpec([], tf.float32),
            tf.TensorSpec([2], tf.int32),
        ]
    )
    def step(images, step_size, shift):
        rolled = tf.roll(images, shift, [1, 2])
        with tf.GradientTape() as tape:
            tape.watch(rolled)
            values = tf.reduce_mean(forward(rolled), axis=[1, 2, 3])
            total = tf.reduce_sum(values)
        gradient = tf.roll(tape.gradient(total, rolled), -shift, [1, 2])
        return tf.clip_by_value(images + step_size * normalize_std(gradient), 0.0, 1.0), values

    return step


# --- measurements --------------------------------------------------------------------------------


def conv_flops(backbone, target: str, height: int, width: int) -> float:
    """Forward FLOPs (2 per multiply-add) of the Conv2D layers up to ``target`` for an H x W input."""
    names = [lyr.name for lyr in backbone.model.layers]
    convs = [
        lyr
        for lyr in backbone.model.layers[: names.index(target) + 1]
        if isinstance(lyr, keras.layers.Conv2D)
    ]
    shapes = backbone.activations(tf.zeros((1, height, width, 3)), [lyr.name for lyr in convs])
    total = 0.0
    for lyr in convs:
        kh, kw, c_in, c_out = lyr.kernel.shape
        _, h, w, _ = shapes[lyr.name].shape
        total += 2.0 * h * w * kh * kw * c_in * c_out
    return total


def matmul_gflops(n: int, repeats: int) -> dict[str, float]:
    """Best float32 matmul rate of an n x n product: TensorFlow's tf.matmul and numpy's BLAS."""
    a, b = tf.random.normal((n, n)), tf.random.normal((n, n))
    matmul = tf.function(tf.matmul)
    tf_times = _times(lambda: matmul(a, b).numpy(), repeats, warmup=1)
    a_np, b_np = a.numpy(), b.numpy()
    np_times = _times(lambda: a_np @ b_np, repeats, warmup=1)
    flops = 2.0 * n**3
    return {"tf.matmul": flops / min(tf_times) / 1e9, "numpy": flops / min(np_times) / 1e9}


def _times(fn, repeats: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _square_image(size: int) -> np.ndarray:
    return tf.image.resize(sample("chelsea")[None], (size, size)).numpy()


def compare_steps(size: int, repeats: int) -> dict[str, list[float]]:
    """Time (a) ours, (b) the tutorial's, (c) the prototype, and the forward pass alone, in alternation."""
    backbone = load_model(MODEL)
    images = tf.constant(_square_image(size))
    rng = np.random.default_rng(0)
    ours = make_step(backbone, layer(LAYER), normalize="std", tile_size=None)
    prototype = prototype_step_factory(backbone, LAYER)
    trunk = keras.Model(backbone.model.input, backbone.model.get_layer(LAYER).output)
    tutorial = tutorial_step_factory(trunk, backbone.preprocess, tile_size=512)
    forward = tf.function(lambda x: tf.reduce_mean(trunk(backbone.preprocess(x))))

    def shift() -> tf.Tensor:
        return tf.constant(rng.integers(-JITTER, JITTER + 1, size=2), tf.int32)

    runs = {
        "(a) deepdream_lib make_step": lambda: ours(images, tf.constant(STEP_SIZE), shift())[0].numpy(),
        "(b) TF tutorial (tiles of 512)": lambda: tutorial(images[0]).numpy(),
        "(c) prototype: conv grads as convs": lambda: prototype(images, tf.constant(STEP_SIZE), shift())[
            0
        ].numpy(),
        "forward pass only": lambda: forward(images).numpy(),
    }
    for run in runs.values():  # warm up: trace, allocate
        run()
        run()
    same_shift = (images, tf.constant(STEP_SIZE), tf.constant([5, -7], tf.int32))
    difference = np.abs(ours(*same_shift)[0].numpy() - prototype(*same_shift)[0].numpy()).max()
    print(f"(c) gives the same step as (a): largest pixel difference {difference:.1e} (a step moves ~1e-2)")
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return times


def _reset_peak_rss() -> bool:
    """Make the kernel's peak-RSS counter (VmHWM) start again from the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def _peak_rss() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def child(size: int, tile_size: int | None, repeats: int) -> None:
    """Run in a fresh process: time ``repeats`` steps at one size and report the peak memory, as JSON.

    The peak counts from after the model is loaded (loading alone peaks at ~1.8 GB), so it is the
    step's: tracing, activations kept for the backward pass, gradients.
    """
    import psutil

    backbone = load_model(MODEL)
    step = make_step(backbone, layer(LAYER), normalize="std", tile_size=tile_size)
    images = tf.constant(_square_image(size))
    baseline = psutil.Process().memory_info().rss
    reset = _reset_peak_rss()
    args = (tf.constant(STEP_SIZE), tf.constant([5, -7], tf.int32))
    _times(lambda: step(images, *args)[0].numpy(), 0, warmup=1)  # traced, outside the CPU clock
    cpu = time.process_time()
    times = _times(lambda: step(images, *args)[0].numpy(), repeats, warmup=0)
    result = {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "cpu_s": (time.process_time() - cpu) / repeats,  # CPU seconds per step: less sensitive to load
        "peak": _peak_rss(),
        "base": baseline,
    }
    print(json.dumps({**result, "peak_since_load": reset}))


def memory_table(configs: list[tuple[int, int | None]], repeats: int) -> list[dict]:
    rows = []
    for size, tile_size in configs:
        reps = repeats if size <= 512 else max(2, repeats // 2)
        command = [sys.executable, __file__, "--child", str(size), str(tile_size or 0), str(reps)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            rows.append({"size": size, "tile": tile_size, "error": done.stderr.strip().splitlines()[-1:]})
            continue
        rows.append({"size": size, "tile": tile_size, **json.loads(done.stdout.strip().splitlines()[-1])})
    return rows


# --- the report ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and a smaller matmul (1-2 min)")
    parser.add_argument("--repeats", type=int, help="timed repeats per measurement (default 5, quick 3)")
    parser.add_argument("--size", type=int, default=512, help="image side for the comparison")
    parser.add_argument("--child", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        size, tile, reps = args.child
        child(size, tile or None, reps)
        return 0
    repeats = args.repeats or (3 if args.quick else 5)

    print(f"deepdream_lib {__version__}, TensorFlow {tf.__version__}, Python {platform.python_version()}")
    cpu = _cpu_name()
    print(f"machine: {cpu}, {os.cpu_count()} logical CPUs; load average before: {_load()}")
    print(
        f"model {MODEL}, layer {LAYER}, {args.size} x {args.size} px, {repeats} timed repeats after warm-up\n"
    )

    if os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1):
        print(
            "warning: the CPU is busy with other processes; every figure below will be slower and noisier\n"
        )
    matmul_size = 2048 if args.quick else 4096
    rates = matmul_gflops(matmul_size, repeats)
    times = compare_steps(args.size, repeats)
    # measured again after the steps: a busy moment would understate the peak and overstate utilisation
    after = matmul_gflops(matmul_size, repeats)
    rates = {name: max(rate, after[name]) for name, rate in rates.items()}
    peak = max(rates.values())
    summary = ", ".join(f"{name} {rate:.0f} GFLOP/s" for name, rate in rates.items())
    print(f"float32 matmul {matmul_size} x {matmul_size}, best of runs before and after the steps: {summary}")
    backbone = load_model(MODEL)
    forward = conv_flops(backbone, LAYER, args.size, args.size)
    step_flops = 2 * forward  # forward + input gradient (weight gradients are never computed)
    print(
        f"\nconv FLOPs up to {LAYER}: forward {forward / 1e9:.1f} G; a step needs forward + input gradient "
        f"= {step_flops / 1e9:.1f} G (the training convention x3, with weight gradients: "
        f"{3 * forward / 1e9:.1f} G)\n"
    )
    print(f"{'step':<38} {'median s':>9} {'min s':>7} {'GFLOP/s':>8} {'of matmul':>9}")
    medians = {}
    for name, values in times.items():
        medians[name] = statistics.median(values)
        flops = forward if name.startswith("forward") else step_flops
        rate = flops / medians[name] / 1e9
        print(f"{name:<38} {medians[name]:>9.2f} {min(values):>7.2f} {rate:>8.0f} {rate / peak:>9.0%}")
    names = {
        "ours": "(a) deepdream_lib make_step",
        "tutorial": "(b) TF tutorial (tiles of 512)",
        "prototype": "(c) prototype: conv grads as convs",
        "forward": "forward pass only",
    }
    for label, pick in (("medians", statistics.median), ("minimums", min)):
        t = {key: pick(times[name]) for key, name in names.items()}
        rate = step_flops / t["ours"] / 1e9
        per_forward = f"{t['ours'] / t['forward']:.2f}   (prototype {t['prototype'] / t['forward']:.2f}"
        print(f"\nfrom the {label}:")
        print(f"  ratio ours / tutorial      {t['ours'] / t['tutorial']:.2f}   (goal <= 0.5)")
        print(f"  ratio prototype / tutorial {t['prototype'] / t['tutorial']:.2f}")
        print(f"  step / forward pass        {per_forward}; 2.00 = the backward pass as fast as the forward)")
        print(
            f"  utilisation, ours          {rate / peak:.0%}    ({rate:.0f} of {peak:.0f} GFLOP/s; "
            f"{1.5 * rate / peak:.0%} if counted x3)"
        )
    print("(on a busy machine the minimums are the better estimate of what the hardware allows)")

    configs = [(128, None), (256, None), (512, None), (1024, None), (1024, 512)]
    print("\ntime and peak memory of a step, each size in a fresh process (RSS of the whole process, model")
    print("included; the peak is taken over the steps only, after the model is loaded)")
    header = ("size", "tiles", "median s", "min s", "peak RSS MiB", "RSS after load MiB", "step adds")
    footnote = ""
    print("{:>6} {:>8} {:>9} {:>6} {:>13} {:>19} {:>10}".format(*header))
    for row in memory_table(configs, repeats):
        tiles = f"{row['tile']} px" if row["tile"] else "none"
        if "error" in row:
            print(f"{row['size']:>6} {tiles:>8}  failed: {row['error']}")
            continue
        mib = 2**20
        mark = "" if row.get("peak_since_load") else "*"
        if mark:
            footnote = "* the kernel could not reset the peak counter: it includes loading the model"
        print(
            f"{row['size']:>6} {tiles:>8} {row['median_s']:>9.2f} {row['min_s']:>6.2f} "
            f"{row['peak'] / mib:>12.0f}{mark or ' '} "
            f"{row['base'] / mib:>19.0f} {(row['peak'] - row['base']) / mib:>10.0f}"
        )
    if footnote:
        print(footnote)
    print(f"\nload average after: {_load()} (other processes share this CPU: compare figures from one run)")
    return 0


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


if __name__ == "__main__":
    raise SystemExit(main())
