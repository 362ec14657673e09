#!/usr/bin/env bash
# Run every test of the course, in fast mode (small images, few steps), each stage timed:
#   lint, exercises in sync, library tests, notebooks (nbval), the book build, the browser test.
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
stage library-tests $PY -m pytest -q -p no:cacheprovider -m "not book and not lessons" tests
stage notebooks $PY -m pytest -q -p no:cacheprovider --nbval-lax notebooks solutions
stage lessons-with-vgg16 $PY -m pytest -q -p no:cacheprovider -m lessons tests/test_lesson_switch.py
stage book .venv/bin/jupyter-book build book -W -n --keep-going
stage browser $PY -m pytest -q -p no:cacheprovider -m book tests/test_book.py tests/test_book_figures.py

[ -n "$failures" ] && echo "failed stages:$failures"
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
