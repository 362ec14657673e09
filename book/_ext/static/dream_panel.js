// The "Dream in your browser" panel: controls generated from _static/web/config.json (which
// tools/export_web_weights.py writes from DreamConfig's defaults and the lessons' widget ranges), a Dream
// button that loads TensorFlow.js and the weights on first use, the picture as it dreams, Stop, "copy as
// Python". A picture the reader picks is read by the page itself and never leaves the browser.
//
// Every element with class "deepdream-web" becomes a panel; data-layer / data-channel / data-size set its
// first values. ?backend=wasm (or webgl) in the page's address forces a backend (the browser test does).

import * as engine from "./dream.js";

const NAMES = ["num_steps", "step_size", "num_octaves", "octave_scale", "jitter"];
const panels = [];
const models = []; // [{deepest, promise}]: the page's models, shared by its panels

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function labelled(id, text, control, readout = null) {
  control.id = id;
  const label = element("label", { for: id, text: text });
  return element("div", { class: "dd-control" }, label, control, ...(readout ? [readout] : []));
}

function slider(id, name, spec, value) {
  const input = element("input", { type: "range", name });
  const readout = element("output", { for: id });
  if (spec.kind === "log") {
    // the widget's FloatLogSlider: the slider moves the exponent
    Object.assign(input, { min: Math.log10(spec.min), max: Math.log10(spec.max), step: spec.step });
    input.value = Math.log10(value);
    input.read = () => Number((10 ** Number(input.value)).toPrecision(3));
  } else {
    Object.assign(input, { min: spec.min, max: spec.max, step: spec.step });
    input.value = value;
    input.read = () => (spec.kind === "int" ? parseInt(input.value, 10) : Number(Number(input.value).toFixed(2)));
  }
  const show = () => {
    readout.textContent = String(input.read());
    input.setAttribute("aria-valuetext", readout.textContent);
  };
  input.addEventListener("input", show);
  show();
  return labelled(id, name, input, readout);
}

function select(id, name, options, value, text = name) {
  const control = element("select", { name });
  for (const option of options) {
    const [optionValue, text] = Array.isArray(option) ? option : [option, option];
    control.append(element("option", { value: optionValue, text }));
  }
  control.value = String(value);
  return labelled(id, text, control);
}

function pythonLiteral(value) {
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}

/** The dd.dream(...) call with the panel's settings (the jitter's random shifts will differ). */
export function pythonCall(settings, defaults) {
  const objective = settings.channel === null
    ? JSON.stringify(settings.layer)
    : `dd.channel(${JSON.stringify(settings.layer)}, ${settings.channel})`;
  const image = settings.sample
    ? `dd.sample(${JSON.stringify(settings.sample)}, max_size=${settings.size})`
    : `dd.load_image("your_picture.jpg", max_size=${settings.size})`;
  const knobs = Object.keys(defaults)
    .filter((name) => name in settings.config && name !== "tile_size")
    .map((name) => `${name}=${pythonLiteral(settings.config[name])}`);
  const lines = [];
  for (let i = 0; i < knobs.length; i += 3) lines.push(knobs.slice(i, i + 3).join(", "));
  return [
    "import deepdream_lib as dd",
    "",
    `image = ${image}`,
    `result = dd.dream(image, ${objective}, "vgg16_hed",`,
    `                  ${lines.join(",\n                  ")})`,
    'result.save("dream.png")  # the picture, with every setting in its metadata',
  ].join("\n");
}

class Panel {
  constructor(root, config, backend) {
    this.root = root;
    this.config = config;
    this.backend = backend;
    this.stopRequested = false;
    this.running = false;
    this.upload = null; // the reader's own picture, as an ImageBitmap (never sent anywhere)
    this.build();
  }

  build() {
    const { config, root } = this;
    const id = (name) => `${root.id || "dd"}-${name}`;
    const defaults = config.dream_config;
    const first = root.dataset;
    const layer = first.layer || config.controls.layer.value;
    this.controls = {};
    const sample = select(id("sample"), "sample",
      config.samples.map((s) => [s.name, s.title]), config.samples[0].name, "picture");
    this.controls.sample = sample.querySelector("select");
    const file = element("input", { type: "file", accept: "image/*" });
    const fileControl = labelled(id("file"), "or your own picture (stays on this computer)", file);
    file.addEventListener("change", () => this.readFile(file.files[0]));
    const layerControl = select(id("layer"), "layer", config.controls.layer.options, layer);
    this.controls.layer = layerControl.querySelector("select");
    const channel = element("input", { type: "number", name: "channel", min: -1, step: 1, value: first.channel ?? -1 });
    const channelControl = labelled(id("channel"), "channel (-1: the whole layer)", channel);
    this.controls.channel = channel;
    const setChannelRange = () => (channel.max = config.channels[this.controls.layer.value] - 1);
    this.controls.layer.addEventListener("change", setChannelRange);
    setChannelRange();
    const size = select(id("size"), "size", config.sizes, first.size || config.size, "size (px)");
    this.controls.size = size.querySelector("select");
    const sliders = NAMES.map((name) => slider(id(name), name, config.controls[name], defaults[name]));
    NAMES.forEach((name, i) => (this.controls[name] = sliders[i].querySelector("input")));
    const normalize = select(id("normalize"), "normalize", config.controls.normalize.options, defaults.normalize);
    this.controls.normalize = normalize.querySelector("select");
    const mode = select(id("octave_mode"), "octave_mode", config.octave_modes, defaults.octave_mode);
    this.controls.octave_mode = mode.querySelector("select");
    const clip = element("input", { type: "checkbox", name: "clip" });
    clip.checked = defaults.clip;
    this.controls.clip = clip;
    const seed = element("input", { type: "number", name: "seed", min: 0, step: 1, value: defaults.seed });
    this.controls.seed = seed;

    this.dreamButton = element("button", { type: "button", class: "dd-dream", text: "Dream" });
    this.stopButton = element("button", { type: "button", class: "dd-stop", text: "Stop" });
    this.stopButton.disabled = true;
    this.copyButton = element("button", { type: "button", class: "dd-copy", text: "Copy as Python" });
    this.dreamButton.addEventListener("click", () => this.run());
    this.stopButton.addEventListener("click", () => (this.stopRequested = true));
    this.copyButton.addEventListener("click", () => this.copyPython());
    this.progress = element("progress", { class: "dd-progress", max: 1, value: 0, "aria-label": "progress" });
    this.status = element("p", { class: "dd-status", role: "status", "aria-live": "polite" });
    this.original = element("canvas", { class: "dd-original", "aria-label": "the original picture" });
    this.picture = element("canvas", { class: "dd-picture", "aria-label": "the dream" });
    this.python = element("pre", { class: "dd-python" });
    this.backendLine = element("p", { class: "dd-backend" });
    const grid = element("div", { class: "dd-controls" }, sample, fileControl, layerControl, channelControl,
      size, ...sliders, normalize, mode, labelled(id("clip"), "clip", clip), labelled(id("seed"), "seed", seed));
    const buttons = element("div", { class: "dd-buttons" }, this.dreamButton, this.stopButton, this.copyButton);
    const pictures = element("div", { class: "dd-pictures" },
      element("figure", {}, this.original, element("figcaption", { text: "original" })),
      element("figure", {}, this.picture, element("figcaption", { text: "dream" })));
    root.replaceChildren(this.backendLine, grid, buttons, this.progress, this.status, pictures, this.python);
    this.backendLine.textContent = this.backend.note;
    this.python.textContent = pythonCall(this.settings(), defaults);
    root.addEventListener("input", () => (this.python.textContent = pythonCall(this.settings(), defaults)));
    root.addEventListener("change", () => (this.python.textContent = pythonCall(this.settings(), defaults)));
    this.showOriginal();
    this.controls.sample.addEventListener("change", () => {
      this.upload = null;
      this.showOriginal();
    });
    this.controls.size.addEventListener("change", () => this.showOriginal());
  }

  settings() {
    const c = this.controls;
    const channel = parseInt(c.channel.value, 10);
    const config = { ...this.config.dream_config };
    for (const name of NAMES) config[name] = c[name].read();
    Object.assign(config, {
      normalize: c.normalize.value,
      octave_mode: c.octave_mode.value,
      clip: c.clip.checked,
      seed: Math.max(0, parseInt(c.seed.value, 10) || 0),
    });
    return {
      layer: c.layer.value,
      channel: Number.isInteger(channel) && channel >= 0 ? channel : null,
      size: parseInt(c.size.value, 10),
      sample: this.upload ? null : c.sample.value,
      config,
    };
  }

  async readFile(file) {
    if (!file) return;
    try {
      this.upload = await createImageBitmap(file);
      this.status.textContent = `${file.name}: ready to dream (it stays in this browser).`;
      this.showOriginal();
    } catch (error) {
      this.status.textContent = `Could not read ${file.name} as a picture: ${error.message}`;
    }
  }

  async source() {
    if (this.upload) return this.upload;
    const entry = this.config.samples.find((s) => s.name === this.controls.sample.value);
    const image = new Image();
    image.src = engine.WEB_URL + entry.file;
    await image.decode();
    return image;
  }

  /** The picture at the chosen size (longest side), drawn on the "original" canvas. */
  async showOriginal() {
    const source = await this.source();
    const longest = parseInt(this.controls.size.value, 10);
    const scale = Math.min(1, longest / Math.max(source.width, source.height));
    const w = Math.max(16, Math.round(source.width * scale));
    const h = Math.max(16, Math.round(source.height * scale));
    for (const canvas of [this.original, this.picture]) {
      canvas.width = w;
      canvas.height = h;
      canvas.getContext("2d").drawImage(source, 0, 0, w, h);
    }
  }

  /** A model that reaches `layer`: the weights load on first use, only down to the layer asked for. */
  async model(tf, layer) {
    const order = this.config.controls.layer.options;
    const loaded = models.find((m) => order.indexOf(m.deepest) >= order.indexOf(layer));
    if (loaded) return loaded.promise;
    const entry = { deepest: layer };
    entry.promise = engine.loadModel(tf, layer, (done, total) => {
      this.progress.max = total;
      this.progress.value = done;
      this.status.textContent = `Loading the weights to ${layer}: ${(done / 1e6).toFixed(1)} of ` +
        `${(total / 1e6).toFixed(1)} MB (once)`;
    });
    models.push(entry);
    entry.promise.catch(() => models.splice(models.indexOf(entry), 1));
    return entry.promise;
  }

  async run() {
    if (this.running) return;
    this.running = true;
    this.stopRequested = false;
    this.dreamButton.disabled = true;
    this.stopButton.disabled = false;
    try {
      this.status.textContent = "Loading TensorFlow.js...";
      const tf = await engine.loadTf(this.backend.wanted);
      const where = tf.getBackend() === "webgl" ? "graphics card (WebGL)" : "CPU (WebAssembly)";
      this.backendLine.textContent = `Backend: ${tf.getBackend()} (TensorFlow.js ${tf.version.tfjs}): ` +
        `the dream runs on this computer's ${where}.`;
      this.root.dataset.backend = tf.getBackend();
      const settings = this.settings();
      const model = await this.model(tf, settings.layer);
      await this.showOriginal();
      const objective = { layer: settings.layer, channel: settings.channel };
      const image = tf.tidy(() => tf.browser.fromPixels(this.original).toFloat().div(255).expandDims(0));
      const every = this.config.preview_every;
      const perOctave = settings.config.num_steps;
      this.progress.value = 0;
      const result = await engine.dream(model, image, objective, settings.config, {
        shouldStop: () => this.stopRequested,
        onStep: async ({ images, index, total, octave, value, ms }) => {
          const done = index + 1;
          this.progress.max = total;
          this.progress.value = done;
          if (done === 1 || done % every === 0 || done % perOctave === 0) {
            await this.draw(tf, images);
            this.status.textContent = `step ${done} of ${total} (octave ${octave + 1} of ${settings.config.num_octaves}), ` +
              `objective ${value.toFixed(3)}, ${Math.round(ms)} ms a step`;
            this.root.dataset.updates = String(Number(this.root.dataset.updates || 0) + 1);
          }
        },
      });
      image.dispose();
      await this.draw(tf, result.image);
      result.image.dispose();
      const stopped = result.interrupted ? `: stopped after ${result.history.length} steps, the picture so far` : "";
      this.status.textContent = `${objective.channel === null ? settings.layer : `${settings.layer}, channel ${objective.channel}`}, ` +
        `${result.seconds.toFixed(1)} s${stopped}; objective ${result.history[0].toFixed(3)} -> ${result.history.at(-1).toFixed(3)}`;
      this.lastResult = { history: result.history, seconds: result.seconds, interrupted: result.interrupted };
      this.root.dataset.done = String(Number(this.root.dataset.done || 0) + 1);
    } catch (error) {
      this.status.textContent = `The dream failed: ${error.message}`;
      this.root.dataset.error = error.message;
    } finally {
      this.running = false;
      this.dreamButton.disabled = false;
      this.stopButton.disabled = true;
    }
  }

  async draw(tf, images) {
    const [h, w] = images.shape.slice(1, 3);
    const picture = tf.tidy(() => tf.clipByValue(images.squeeze([0]), 0, 1));
    const canvas = element("canvas");
    await tf.browser.toPixels(picture, canvas);
    picture.dispose();
    this.picture.getContext("2d").drawImage(canvas, 0, 0, w, h, 0, 0, this.picture.width, this.picture.height);
  }

  async copyPython() {
    const text = pythonCall(this.settings(), this.config.dream_config);
    this.python.textContent = text;
    try {
      await navigator.clipboard.writeText(text);
      this.copyButton.textContent = "Copied";
    } catch (error) {
      this.copyButton.textContent = "Select the code below to copy it";
    }
    setTimeout(() => (this.copyButton.textContent = "Copy as Python"), 2000);
  }
}

function backendChoice() {
  const wanted = new URLSearchParams(window.location.search).get("backend");
  const { wasm, webgl } = engine.capabilities();
  const note = wanted
    ? `The ${wanted} backend is asked for (in the page's address).`
    : webgl
      ? "WebGL is available: the dream will run on this computer's graphics card."
      : "No WebGL here: the dream will run on the CPU (WebAssembly), about a picture a second at 128 px.";
  return { wanted, wasm, webgl, note };
}

async function start() {
  const roots = [...document.querySelectorAll(".deepdream-web")];
  if (!roots.length) return;
  const backend = backendChoice();
  if (!backend.wasm && !backend.webgl) {
    for (const root of roots) {
      root.replaceChildren(element("p", { class: "dd-missing",
        text: "This browser has neither WebAssembly nor WebGL, so it cannot dream here. " +
              "The rest of the page works; the lessons run the same dream in Python." }));
      root.dataset.missing = "true";
    }
    return;
  }
  let config;
  try {
    config = await (await fetch(engine.WEB_URL + "config.json")).json();
  } catch (error) {
    for (const root of roots) {
      root.replaceChildren(element("p", { class: "dd-missing",
        text: "The dream's weights are not in this build (book/vendor.sh exports them)." }));
    }
    return;
  }
  for (const root of roots) panels.push(new Panel(root, config, backend));
  window.deepdreamWeb = { engine, panels, config };
}

start();
