#!/usr/bin/env bash
# Set up the course on a fresh machine: a virtual environment with the library, its extras and
# the book's offline scripts. Idempotent: running it again only fills in what is missing.
#   bash tools/setup.sh              # library + dev tools + book vendor files
#   WITH_BROWSER=1 bash tools/setup.sh   # also Debian's chromium for the browser test (needs root)
# As root with apt-get, it also installs bubblewrap (bwrap), the sandbox of the class grader.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'

if [ "${WITH_BROWSER:-0}" = "1" ] && ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if ! command -v bwrap >/dev/null 2>&1; then  # the grader's sandbox (deepdream grade)
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
  else
    echo "bwrap not found: grading needs bubblewrap (sudo apt-get install bubblewrap) or --no-sandbox." >&2
  fi
fi

if command -v npm >/dev/null 2>&1; then
  bash book/vendor.sh
else
  echo "npm not found: the book will load MathJax and widget scripts from CDNs (needs internet)." >&2
fi
echo "Set up. Dream with: .venv/bin/deepdream dream sample:chelsea -o chelsea_dream.png"
