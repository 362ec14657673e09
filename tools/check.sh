#!/usr/bin/env bash
# Run every test of the course, in fast mode (small images, few steps), each stage timed:
#   lint, exercises in sync, library tests (oneDNN off, then on), notebooks (nbval, oneDNN on), the
#   lessons with ImageNet VGG16's shapes, the book build, the browser test.
# Usage: bash tools/check.sh            (after bash tools/setup.sh)
set -uo pipefail
cd "$(dirname "$0")/.."
export DEEPDREAM_FAST=1
export TF_CPP_MIN_LOG_LEVEL=2
PY=.venv/bin/python
passed=0
failed=0
failures=""

stage() {  # stage NAME COMMAND...: run, time, and count one stage
  local name=$1
  shift
  local start
  start=$(date +%s)
  echo "=== $name"
  if "$@"; then
    passed=$((passed + 1))
    echo "=== $name: ok in $(( $(date +%s) - start )) s"
  else
    failed=$((failed + 1))
    failures+=" $name"
    echo "=== $name: FAILED after $(( $(date +%s) - start )) s"
  fi
}

stage lint .venv/bin/ruff check .
stage exercises-in-sync $PY tools/make_exercises.py --check
# oneDNN: TensorFlow turns it on by default on Intel CPUs (as on Colab) and off on AMD ones, and some op
# configurations crash only with it on (issue 10). The library tests run in both settings and the
# notebooks with it on, so CI covers Colab's configuration whatever CPU it runs on. (No test is marked
# slow: the second run is the whole library suite, about 150 s on 2 cores.)
LIBRARY_TESTS=($PY -m pytest -q -p no:cacheprovider -m "not book and not lessons" tests)
stage library-tests-onednn-off env TF_ENABLE_ONEDNN_OPTS=0 "${LIBRARY_TESTS[@]}"
stage library-tests-onednn-on env TF_ENABLE_ONEDNN_OPTS=1 "${LIBRARY_TESTS[@]}"
stage notebooks env TF_ENABLE_ONEDNN_OPTS=1 $PY -m pytest -q -p no:cacheprovider --nbval-lax notebooks solutions
stage lessons-with-vgg16 $PY -m pytest -q -p no:cacheprovider -m lessons tests/test_lesson_switch.py
stage lesson06-online $PY -m pytest -q -p no:cacheprovider -m lessons tests/test_lesson06_online.py
stage book .venv/bin/jupyter-book build book -W -n --keep-going
stage findings-pdf $PY tools/findings_pdf.py  # the Findings chapter as a paper (Chromium prints it)
stage browser $PY -m pytest -q -p no:cacheprovider -m book tests/test_book.py tests/test_book_figures.py tests/test_findings_pdf.py tests/test_web_dream.py

[ -n "$failures" ] && echo "failed stages:$failures"
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
