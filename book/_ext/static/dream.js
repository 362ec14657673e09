// The library's DeepDream step in the reader's browser, with TensorFlow.js (no Python kernel).
//
// The same algorithm and names as deepdream_lib/engine.py (DreamConfig, make_step, octave_sizes, dream)
// and normalize.py (normalize_gradient), for vgg16_hed's trunk, whose weights tools/export_web_weights.py
// exports into _static/web/ (weights.json + one "float24" shard per convolution). One step:
//
//     shift = random jitter;  x = roll(image, shift)
//     g = d objective(x) / d x          (objective: a layer's mean activation, or one channel's)
//     g = normalize(roll(g, -shift))
//     image = clip(image + step_size * g, 0, 1)
//
// Differences from the library, on purpose: the jitter's random shifts come from another generator (same
// range, other values), there is no tiling (the page's images are small), and each convolution's
// gradient is a forward convolution with the flipped kernel (tf.customGrad), 5.6x faster on WASM than
// TF.js's own gradient and the same mathematics. tests/test_web_dream.py checks it against the library.

const HERE = new URL(".", import.meta.url).href; // .../_static/
export const TFJS_URL = HERE + "tfjs/";
export const WEB_URL = HERE + "web/";

let tfPromise = null;

/**
 * Load a UMD script so that it sets its global (`window.tf`). A lesson's page also loads require.js (for
 * its widgets), and a UMD bundle that sees require's `define` registers itself there instead; so `define`
 * is hidden while the script runs.
 */
async function loadScript(src) {
  const define = window.define;
  window.define = undefined;
  try {
    await new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = () => reject(new Error(`could not load ${src}`));
      document.head.appendChild(script);
    });
  } finally {
    window.define = define;
  }
}

/** What this browser offers: WebAssembly and WebGL (before anything is loaded). */
export function capabilities() {
  const canvas = document.createElement("canvas");
  let webgl = false;
  try {
    webgl = !!(canvas.getContext("webgl2") || canvas.getContext("webgl"));
  } catch (error) {
    webgl = false;
  }
  return { wasm: typeof WebAssembly === "object", webgl };
}

/**
 * Load TensorFlow.js and pick the backend: `wanted` ("webgl" or "wasm") if given, else WebGL where the
 * browser has it and WASM otherwise. Resolves to the global `tf`, with `tf.getBackend()` the one in use.
 */
export function loadTf(wanted = null) {
  if (!tfPromise) {
    tfPromise = (async () => {
      await loadScript(TFJS_URL + "tf.min.js");
      await loadScript(TFJS_URL + "tf-backend-wasm.min.js");
      const tf = window.tf;
      tf.wasm.setWasmPaths(TFJS_URL);
      const order = wanted ? [wanted] : [capabilities().webgl ? "webgl" : null, "wasm", "cpu"];
      for (const name of order.filter(Boolean)) {
        try {
          if (await tf.setBackend(name)) {
            await tf.ready();
            return tf;
          }
        } catch (error) {
          console.warn(`deepdream: the ${name} backend did not start`, error);
        }
      }
      throw new Error("no TensorFlow.js backend started (neither WebGL nor WebAssembly)");
    })();
  }
  return tfPromise;
}

// ---- weights ---------------------------------------------------------------------------------------

/** float24 (float32 without its lowest mantissa byte, tools/export_web_weights.py) -> Float32Array. */
export function fromFloat24(bytes, count) {
  const bits = new Uint32Array(count);
  for (let i = 0, j = 0; i < count; i++, j += 3) {
    bits[i] = ((bytes[j] << 8) | (bytes[j + 1] << 16) | (bytes[j + 2] << 24)) >>> 0;
  }
  return new Float32Array(bits.buffer);
}

async function fetchBytes(url, onBytes) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not load ${url} (HTTP ${response.status})`);
  if (!response.body || !response.body.getReader) {
    const buffer = new Uint8Array(await response.arrayBuffer());
    onBytes(buffer.length);
    return buffer;
  }
  const reader = response.body.getReader();
  const chunks = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.length;
    onBytes(value.length);
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

/**
 * vgg16_hed's trunk up to `deepest`: {manifest, layers: [{name, kind, kernel, flipped, bias}], deepest}.
 * `onProgress(loaded, total)` is called as the weights arrive (bytes). A model loaded to a deeper layer
 * serves every layer above it.
 */
export async function loadModel(tf, deepest, onProgress = () => {}) {
  const manifest = await (await fetch(WEB_URL + "weights.json")).json();
  const index = manifest.layers.findIndex((layer) => layer.name === deepest);
  if (index < 0) throw new Error(`${deepest} is not among the exported layers of ${manifest.model}`);
  const wanted = manifest.layers.slice(0, index + 1);
  const total = wanted.reduce((sum, layer) => sum + (layer.bytes || 0), 0);
  let loaded = 0;
  onProgress(0, total);
  const shards = await Promise.all(
    wanted.map((layer) =>
      layer.kind === "conv"
        ? fetchBytes(WEB_URL + layer.file, (n) => onProgress((loaded += n), total))
        : null,
    ),
  );
  const layers = wanted.map((layer, i) => {
    if (layer.kind !== "conv") return { ...layer };
    const shape = layer.kernel_shape;
    const count = shape.reduce((a, b) => a * b, 1);
    const kernelValues = fromFloat24(shards[i], count);
    const biasValues = new Float32Array(shards[i].slice(3 * count).buffer);
    const kernel = tf.tensor4d(kernelValues, shape);
    // The gradient of a 'same' 3x3 convolution with respect to its input is the convolution of the
    // output's gradient with the kernel flipped in space and with in/out channels swapped.
    const flipped = tf.tidy(() => tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2]));
    return { ...layer, kernel, flipped, bias: tf.tensor1d(biasValues) };
  });
  return { tf, manifest, layers, deepest };
}

/** Release a model's tensors. */
export function disposeModel(model) {
  for (const layer of model.layers) {
    for (const key of ["kernel", "flipped", "bias"]) if (layer[key]) layer[key].dispose();
  }
}

// ---- the network and the objective ---------------------------------------------------------------

/** vgg16_hed's preprocessing ("caffe"): RGB in [0, 1] -> BGR in [0, 255] minus the ImageNet mean. */
export function caffePreprocess(tf, images, meanBgr) {
  const bgr = tf.reverse(tf.mul(images, 255), [3]);
  return tf.sub(bgr, tf.tensor1d(meanBgr));
}

function convRelu(tf, layer) {
  return tf.customGrad((x, save) => {
    const y = tf.fused.conv2d({ x, filter: layer.kernel, strides: 1, pad: "same", bias: layer.bias,
                                activation: "relu" });
    save([y]);
    return {
      value: y,
      gradFunc: (dy, [saved]) => [tf.conv2d(tf.mul(dy, tf.step(saved)), layer.flipped, 1, "same")],
    };
  });
}

/** The activation of `layerName` for images (1, H, W, 3) in [0, 1]. */
export function activation(model, images, layerName) {
  const { tf } = model;
  let x = caffePreprocess(tf, images, model.manifest.preprocessing.mean_bgr);
  for (const layer of model.layers) {
    x = layer.kind === "conv" ? convRelu(tf, layer)(x) : tf.maxPool(x, layer.size, layer.stride, "valid");
    if (layer.name === layerName) return x;
  }
  throw new Error(`${layerName} is not loaded (the model goes to ${model.deepest})`);
}

/**
 * An objective, as in deepdream_lib.objectives: {layer, channel} is `channel(layer, channel)` (the mean
 * of one channel) and {layer} or channel null is `layer(layer)` (the mean of the whole layer).
 * Objectives are maximised.
 */
export function objectiveValue(model, objective, images) {
  const { tf } = model;
  const acts = activation(model, images, objective.layer);
  if (objective.channel === null || objective.channel === undefined) return tf.mean(acts);
  const depth = acts.shape[3];
  if (!(objective.channel >= 0 && objective.channel < depth)) {
    throw new Error(`channel ${objective.channel} is out of range: ${objective.layer} has ${depth} channels`);
  }
  return tf.mean(tf.slice(acts, [0, 0, 0, objective.channel], [-1, -1, -1, 1]));
}

/** The objective and its gradient with respect to the pixels: {value, gradient}. */
export function objectiveAndGradient(model, objective, images) {
  const { value, grad } = model.tf.valueAndGrad((x) => objectiveValue(model, objective, x))(images);
  return { value, gradient: grad };
}

// ---- normalisation (deepdream_lib/normalize.py) ------------------------------------------------------

export const EPSILON = 1e-8;
export const METHODS = ["std", "mean_abs", "laplacian", "none"];

function binomialKernel(tf) {
  const k = [1, 4, 6, 4, 1];
  const values = [];
  for (const a of k) for (const b of k) for (let i = 0; i < 3; i++) for (let o = 0; o < 3; o++) {
    values.push(i === o ? (a * b) / 256 : 0);
  }
  return tf.tensor4d(values, [5, 5, 3, 3]);
}

function laplacianSplit(tf, image, kernel) {
  const low = tf.conv2d(image, kernel, 2, "same");
  const up = tf.conv2dTranspose(low, tf.mul(kernel, 4), image.shape, 2, "same");
  return [low, tf.sub(image, up)];
}

function normalizeRms(tf, gradient) {
  return tf.div(gradient, tf.maximum(tf.sqrt(tf.mean(tf.square(gradient))), EPSILON));
}

function normalizeLaplacian(tf, gradient, levels = 4) {
  const kernel = binomialKernel(tf);
  const bands = [];
  let image = gradient;
  for (let i = 0; i < levels; i++) {
    const [low, high] = laplacianSplit(tf, image, kernel);
    bands.push(high);
    image = low;
  }
  let merged = normalizeRms(tf, image);
  for (const high of bands.reverse()) {
    const up = tf.conv2dTranspose(merged, tf.mul(kernel, 4), high.shape, 2, "same");
    merged = tf.add(up, normalizeRms(tf, high));
  }
  return merged;
}

/** Normalise a (1, H, W, 3) gradient: "std", "mean_abs", "laplacian" or "none" (normalize_gradient). */
export function normalizeGradient(tf, gradient, method = "std") {
  if (method === "std") {
    const mean = tf.mean(gradient);
    const std = tf.sqrt(tf.mean(tf.square(tf.sub(gradient, mean))));
    return tf.div(gradient, tf.add(std, EPSILON));
  }
  if (method === "mean_abs") return tf.div(gradient, tf.add(tf.mean(tf.abs(gradient)), EPSILON));
  if (method === "laplacian") return normalizeLaplacian(tf, gradient);
  if (method === "none" || method === null) return gradient;
  throw new Error(`Unknown normalisation ${method}; choose one of ${METHODS.join(", ")}.`);
}

// ---- one step -------------------------------------------------------------------------------------

/** tf.roll(images, shift, axis=[1, 2]) from slices (TF.js has no roll): pixel i moves to i + shift. */
export function roll(tf, images, [dy, dx]) {
  let out = images;
  for (const [axis, shift] of [[1, dy], [2, dx]]) {
    const n = out.shape[axis];
    const s = ((shift % n) + n) % n;
    if (s === 0) continue;
    const [head, tail] = tf.split(out, [n - s, s], axis);
    out = tf.concat([tail, head], axis);
  }
  return out;
}

/**
 * One compiled-in-spirit step, as engine.make_step: step(images, stepSize, shift) -> {images, value},
 * `value` the objective *before* the step. The caller disposes the old images.
 */
export function makeStep(model, objective, normalize = "std", clip = true) {
  const { tf } = model;
  return (images, stepSize, shift) =>
    tf.tidy(() => {
      const rolled = roll(tf, images, shift);
      const { value, gradient } = objectiveAndGradient(model, objective, rolled);
      const normalized = normalizeGradient(tf, roll(tf, gradient, [-shift[0], -shift[1]]), normalize);
      let next = tf.add(images, tf.mul(normalized, stepSize));
      if (clip) next = tf.clipByValue(next, 0, 1);
      return { images: next, value };
    });
}

/** The std-normalised (or other) gradient of an image (H, W, 3 nested array or tensor), for checks. */
export function normalizedGradient(model, objective, images, normalize = "std") {
  const { tf } = model;
  return tf.tidy(() => {
    const batch = images.rank === 4 ? images : tf.tensor(images).expandDims(0);
    return normalizeGradient(tf, objectiveAndGradient(model, objective, batch).gradient, normalize);
  });
}

// ---- octaves and the loop ---------------------------------------------------------------------------

export const MIN_OCTAVE_SIZE = 16;

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x) {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Image sizes [h, w] to dream at, smallest first; the last is the original size (octave_sizes). */
export function octaveSizes(height, width, numOctaves, octaveScale) {
  const sizes = [];
  for (let power = numOctaves - 1; power >= 0; power--) {
    const factor = octaveScale ** -power;
    sizes.push([Math.max(1, roundHalfEven(height * factor)), Math.max(1, roundHalfEven(width * factor))]);
  }
  if (Math.min(...sizes[0]) < MIN_OCTAVE_SIZE) {
    throw new Error(
      `With ${numOctaves} octaves of scale ${octaveScale}, the smallest octave is ` +
        `${sizes[0][1]}x${sizes[0][0]} px (< ${MIN_OCTAVE_SIZE}). Use fewer octaves or a larger image.`,
    );
  }
  return sizes;
}

/** A small seeded generator (mulberry32): the jitter is reproducible for a seed, not numpy's stream. */
export function randomIntegers(seed) {
  let state = seed >>> 0;
  return (low, high) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const unit = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return low + Math.floor(unit * (high - low + 1));
  };
}

function resize(tf, images, [h, w]) {
  return tf.image.resizeBilinear(images, [h, w], false, true); // = tf.image.resize(..., "bilinear")
}

/**
 * Dream, as engine.dream: `image` a (1, H, W, 3) tensor in [0, 1], `config` named as DreamConfig
 * (num_steps, step_size, num_octaves, octave_scale, octave_mode, jitter, normalize, clip, seed).
 * `onStep({images, index, total, octave, value, ms})` runs after every step (it may draw; it must not
 * dispose `images`); `shouldStop()` ends the dream early (Stop). Resolves to
 * {image, history, octaves, seconds, interrupted}; the caller disposes `image`.
 */
export async function dream(model, image, objective, config, { onStep = () => {}, shouldStop = () => false } = {}) {
  const { tf } = model;
  const [height, width] = image.shape.slice(1, 3);
  const sizes = octaveSizes(height, width, config.num_octaves, config.octave_scale);
  const step = makeStep(model, objective, config.normalize, config.clip);
  const random = randomIntegers(config.seed);
  const total = sizes.length * config.num_steps;
  const history = [];
  const octaves = [];
  const start = performance.now();
  let base = resize(tf, image, sizes[0]);
  let current = resize(tf, image, sizes[0]);
  let interrupted = false;
  outer: for (let octave = 0; octave < sizes.length; octave++) {
    if (octave > 0) {
      const previous = current;
      if (config.octave_mode === "detail") {
        const next = tf.tidy(() => {
          const detail = resize(tf, tf.sub(current, base), sizes[octave]);
          const sharp = resize(tf, image, sizes[octave]);
          return [sharp, tf.add(sharp, detail)];
        });
        base.dispose();
        [base, current] = next;
      } else {
        current = resize(tf, current, sizes[octave]);
      }
      previous.dispose();
    }
    for (let i = 0; i < config.num_steps; i++) {
      if (shouldStop()) {
        interrupted = true;
        break outer;
      }
      const shift = config.jitter ? [random(-config.jitter, config.jitter), random(-config.jitter, config.jitter)] : [0, 0];
      const began = performance.now();
      const out = step(current, config.step_size, shift);
      const value = (await out.value.data())[0];
      out.value.dispose();
      current.dispose();
      current = out.images;
      history.push(value);
      octaves.push(octave);
      await onStep({ images: current, index: history.length - 1, total, octave, value, ms: performance.now() - began });
      await new Promise((resolve) => setTimeout(resolve, 0)); // let the page draw and see Stop
    }
  }
  base.dispose();
  const final = tf.tidy(() => {
    const full = current.shape[1] === height && current.shape[2] === width ? current.clone() : resize(tf, current, [height, width]);
    return config.clip ? tf.clipByValue(full, 0, 1) : full;
  });
  current.dispose();
  return { image: final, history, octaves, seconds: (performance.now() - start) / 1000, interrupted };
}
