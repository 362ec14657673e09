#!/usr/bin/env bash
# Copy the book's browser scripts from npm into book/_vendor/ (gitignored), so the built book renders
# formulas and saved widget states offline:
#   mathjax/tex-mml-chtml.js   MathJax 3, the ES5 build, with the CHTML fonts and the TeX extensions it loads
#   require.js                 RequireJS, which the widget embedder needs
#   require-config.js          tells RequireJS where the widget bundles live (written below)
#   html-manager/embed-amd.js  @jupyter-widgets/html-manager, renders the widget states saved in notebooks
#   tfjs/                      TensorFlow.js and its WebAssembly backend, for the in-browser dream
#   web/                       vgg16_hed's weights, the page's config and samples (tools/export_web_weights.py)
# book/_config.yml points Sphinx at these (html_static_path, mathjax_path, nb_ipywidgets_js). They are not
# in _static/ on purpose: Jupyter Book adds a <script> tag for every .js file found there.
# Idempotent: does nothing when book/_vendor/VERSIONS already matches the pins below.
# Usage: bash book/vendor.sh        (needs npm and the npm registry; FORCE=1 to reinstall)
# web/ is exported by the course library (PYTHON, default: the repository's .venv, else python3) on every run;
# the export does nothing when its STAMP is current.
set -euo pipefail
cd "$(dirname "$0")"

# Pins: the newest releases at the time of writing. html-manager 1.x goes with ipywidgets 8.
# TensorFlow.js 4.22: the in-browser dream (book/dream_in_browser.md).
PACKAGES=(mathjax@3.2.2 requirejs@2.3.8 @jupyter-widgets/html-manager@1.0.15
  @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0)
LAYOUT=3  # bump when this script changes what it writes, so the next run redoes it
VENDOR=_vendor
if [ -z "${PYTHON:-}" ]; then
  if [ -x ../.venv/bin/python ]; then PYTHON=../.venv/bin/python; else PYTHON=python3; fi
fi
export_web() {  # the dream page's weights, config and samples into _vendor/web (idempotent)
  local force=()
  if [ "${FORCE:-0}" = "1" ]; then force=(--force); fi
  "$PYTHON" ../tools/export_web_weights.py --out "$VENDOR/web" "${force[@]}"
}

if [ "${FORCE:-0}" != "1" ] && [ -f "$VENDOR/VERSIONS" ] && [ "$(cat "$VENDOR/VERSIONS")" = "${PACKAGES[*]} layout $LAYOUT" ]; then
  echo "book/_vendor is up to date (${PACKAGES[*]})"
  export_web
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "vendor.sh: npm is needed (Debian: apt-get install npm)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo '{"private": true}' >"$work/package.json"
(cd "$work" && npm install --no-save --no-audit --no-fund --ignore-scripts --loglevel=error "${PACKAGES[@]}")
modules=$work/node_modules

staging=$work/_vendor
mkdir -p "$staging/mathjax/output/chtml" "$staging/html-manager"
# MathJax: the combined component, the CHTML web fonts, and the lazily loaded TeX extensions, menu and
# accessibility parts (the 4 MB speech-rule engine `sre` is left out: only the menu's speech options use it).
cp "$modules/mathjax/es5/tex-mml-chtml.js" "$modules/mathjax/LICENSE" "$staging/mathjax/"
cp -r "$modules/mathjax/es5/output/chtml/fonts" "$staging/mathjax/output/chtml/"
cp -r "$modules/mathjax/es5/input" "$modules/mathjax/es5/ui" "$modules/mathjax/es5/a11y" "$staging/mathjax/"
cp "$modules/requirejs/require.js" "$staging/require.js"
# The widget embedder (embed-amd.js holds every module of libembed-amd.js) and the icon fonts its CSS
# refers to. The bundles find their fonts next to their RequireJS module address, which by default is
# relative to the page (notebooks/@jupyter-widgets/...: 404); require-config.js points it at
# _static/html-manager/ for every page. _config.yml loads it between require.js and embed-amd.js.
(cd "$modules/@jupyter-widgets/html-manager/dist" &&
  cp embed-amd.js ./*.woff ./*.woff2 ./*.ttf ./*.eot ./*.svg "$staging/html-manager/")
cat >"$staging/require-config.js" <<'JS'
// Written by book/vendor.sh: widget bundles (and the fonts they load) live in _static/html-manager/.
(function () {
  var here = document.currentScript.src.replace(/[^/]*$/, "");
  require.config({
    paths: {
      "@jupyter-widgets/html-manager/dist": here + "html-manager",
      "@jupyter-widgets": here + "html-manager",
    },
  });
})();
JS
# TensorFlow.js: the UMD bundles (global `tf`) and the WebAssembly binaries the backend fetches.
mkdir -p "$staging/tfjs"
cp "$modules/@tensorflow/tfjs/dist/tf.min.js" "$staging/tfjs/"
cp "$modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js" \
  "$modules/@tensorflow/tfjs-backend-wasm/dist/"*.wasm "$staging/tfjs/"
echo "${PACKAGES[*]} layout $LAYOUT" >"$staging/VERSIONS"

if [ -d "$VENDOR/web" ]; then mv "$VENDOR/web" "$staging/web"; fi  # keep the export (its STAMP decides)
rm -rf "$VENDOR"
mv "$staging" "$VENDOR"
export_web
echo "book/_vendor: $(du -sh "$VENDOR" | cut -f1) from ${PACKAGES[*]} and tools/export_web_weights.py"
