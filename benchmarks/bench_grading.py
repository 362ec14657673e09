"""Benchmark the class grader: what the bubblewrap sandbox costs per submission.

    python benchmarks/bench_grading.py                 # 10 copies of lesson 01, 1 round: 10-30 minutes
    python benchmarks/bench_grading.py --copies 4 --rounds 2 --jobs 1

It grades ``--copies`` copies of a lesson-01 submission (the solutions notebook: every check runs and
passes, with TensorFlow and the bundled ``vgg16_hed`` in every kernel) four ways, in alternation: in the
sandbox and without it (``--no-sandbox``), with ``--jobs 1`` and ``--jobs 2``. For each it prints the
wall-clock seconds per submission (the whole grading divided by the copies: what an instructor waits)
and the CPU seconds per submission (of the runner and its kernels, as the runner counts them with
``getrusage``: much less disturbed by other jobs on the machine than the wall clock), and the sandbox's
overhead in both over the same jobs without it. It also times the sandbox alone: starting
``python -I -c pass`` in a fresh sandbox against starting it directly. Not a test: the figures move
with the load (printed with each grading).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from deepdream_lib.course import grading, sandbox  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SUBMISSION = REPO / "solutions" / "01_exercises.ipynb"


def grade_once(folder: Path, sandboxed: bool, jobs: int) -> tuple[float, float]:
    """Grade the folder once: (wall-clock seconds, CPU seconds of the runners and their kernels)."""
    start = time.perf_counter()
    results = grading.grade(folder, "01", 600, 4096, jobs=jobs, sandboxed=sandboxed)
    wall, cpu = time.perf_counter() - start, sum(r.cpu_s for r in results)
    bad = [r for r in results if (r.status, r.score) != ("ok", len(r.checks))]
    if bad:
        raise SystemExit(f"a copy did not pass: {bad[0]}")
    return wall, cpu


def per_submission(gradings: list[tuple[float, float]], copies: int) -> tuple[float, float]:
    """Wall-clock and CPU seconds per submission: the medians over the rounds, divided by the copies."""
    return tuple(statistics.median(g[i] for g in gradings) / copies for i in (0, 1))  # type: ignore[return-value]


def overhead(value: float, baseline: float) -> str:
    """``+3.2 %``: how much more ``value`` is than ``baseline``."""
    return f"{100 * (value / baseline - 1):+.1f} %"


def startup_s(command: list[str], repeats: int) -> float:
    """Median seconds to run ``command`` to its end."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=10, help="copies of the submission graded at once")
    parser.add_argument("--rounds", type=int, default=1, help="times each configuration is graded")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="--jobs values to compare")
    args = parser.parse_args()
    problem = sandbox.problem()
    if problem is not None:
        raise SystemExit(f"{problem}: {sandbox.INSTALL_HINT}")
    cpu = platform.processor() or platform.machine()
    print(f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {args.copies} copies")
    print(f"load average before: {os.getloadavg()[0]:.2f}")

    python = [sys.executable, "-I", "-c", "pass"]
    boxed = sandbox.command(sandbox.arguments(sandbox.course_paths()), python)
    plain, inside = startup_s(python, 20), startup_s(boxed, 20)
    print(f"python -I -c pass: {plain * 1000:.0f} ms directly, {inside * 1000:.0f} ms in a fresh sandbox")

    folder = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        for index in range(args.copies):
            shutil.copy(SUBMISSION, folder / f"student{index:02d}.ipynb")
        figures: dict[tuple[bool, int], list[tuple[float, float]]] = {}
        for round_ in range(args.rounds):
            for jobs in args.jobs:
                order = (True, False) if round_ % 2 == 0 else (False, True)  # who goes first alternates
                for sandboxed in order:
                    wall, cpu = grade_once(folder, sandboxed, jobs)
                    figures.setdefault((sandboxed, jobs), []).append((wall, cpu))
                    label = "sandbox" if sandboxed else "no sandbox"
                    print(
                        f"  --jobs {jobs}, {label}: {wall:.0f} s, {wall / args.copies:.1f} s and "
                        f"{cpu / args.copies:.1f} CPU s a submission, load {os.getloadavg()[0]:.1f}"
                    )
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print("\n| --jobs | isolation | s per submission | overhead | CPU s per submission | overhead |")
    print("|---:|---|---:|---:|---:|---:|")
    for jobs in args.jobs:
        wall, cpu = per_submission(figures[(False, jobs)], args.copies)
        boxed_wall, boxed_cpu = per_submission(figures[(True, jobs)], args.copies)
        print(f"| {jobs} | none (--no-sandbox) | {wall:.1f} | | {cpu:.1f} | |")
        print(
            f"| {jobs} | sandbox | {boxed_wall:.1f} | {overhead(boxed_wall, wall)} "
            f"| {boxed_cpu:.1f} | {overhead(boxed_cpu, cpu)} |"
        )


if __name__ == "__main__":
    main()
