"""Grade a class's exercise notebooks: ``python -m deepdream_lib grade SUBS --lesson 03 -o grades.csv``.

``SUBS`` holds one notebook per student, either ``alice.ipynb`` or ``alice/03_exercises.ipynb`` (the
student id is the file stem or the folder name). The checks a lesson expects are the ``check_*``
functions that ``solutions/NN_exercises.ipynb`` calls; a check that never ran counts as failed.

Each student's notebook runs like this:

1. Before any student runs, every submission is read into memory (files opened read-only, never
   written). The report files are written only after all runs, and only where ``-o`` says.
2. The notebook is written into a fresh temporary folder, ``ROOT/work/``, and runs there in its own
   process (a small runner that drives a Jupyter kernel with ``nbclient``, ``allow_errors=True`` so a
   failing exercise does not stop the later ones), with ``DEEPDREAM_FAST=1`` and the checks' log,
   ``DEEPDREAM_CHECKS_LOG``, in ``ROOT/grading/``. ``PWD`` is set to the work folder and ``OLDPWD``
   removed, so the environment does not name the instructor's folders. ``ROOT`` is deleted afterwards.
3. Limits. **Time**: wall clock; at the limit every process of the run is killed (status ``timeout``).
   **Memory**, two layers: each process gets ``RLIMIT_DATA`` = the limit (a bigger allocation raises
   ``MemoryError`` in the notebook, the kernel survives and the later checks still run), and a
   watchdog sums the resident memory (RSS) of the runner, the kernel and every process they start,
   every 0.1 s, and kills them all above the limit (status ``memory``). ``RLIMIT_AS`` is not used: it
   counts reserved address space, not memory. Measured on a GPU machine: a CUDA process holding 0.8 GB
   had reserved 18 GB, so ``RLIMIT_AS`` of 4 or even 16 GB made CUDA fail to start, while
   ``RLIMIT_DATA`` of 2 GB let it run and still refused a 6 GB allocation; a TensorFlow dream in fast
   mode ran under 1.5 GB. **Output**: no cell output is kept; the runner writes at most 1 MB of text
   plus the errors to a file that has no name on disk, of which the last ``keep_output`` characters
   are kept; a file written by the notebook may not exceed 256 MB (``RLIMIT_FSIZE``); no core dumps.
4. Status: ``ok`` (the notebook ran to its end; failing checks are normal), ``timeout``, ``memory``,
   ``crashed`` (the kernel or the runner died), ``error`` (not a readable notebook, or not one
   notebook per student). Checks that passed before a run was stopped still count.

What this does **not** protect against: it is not a sandbox. Students' code runs as your user, with
your permissions, so a notebook can read, change or delete anything your user can (``~`` is your
home). It can find your folders by walking the file system or ``/proc`` (the grader's command line and
working directory), read the other environment variables, reach the temporary folders of students
graded beside it (``--jobs``), start processes that leave the process tree between two watchdog polls,
fill the disk with many files, or write passing lines into its own checks log (checks call the
learner's functions, so printing ``PASS`` is not enough, but a deliberate forger can fake the log).
When you do not trust the submissions, run the command as a separate user that cannot read your files,
or in a container or VM without network (``docker run --network none ...``). Linux; on macOS only the
watchdog limits memory (macOS does not enforce ``RLIMIT_DATA``).
"""

from __future__ import annotations

import argparse
import ast
import csv
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

STATUSES = ("ok", "timeout", "memory", "crashed", "error")
CHECKS_LOG_ENV = "DEEPDREAM_CHECKS_LOG"  # = course.checks.LOG_ENV (see _RUNNER_BOOT)
KERNEL_NAME = "deepdream-grading"
RESULT_MARKER = "@@deepdream-grading-result@@ "
NOT_CHECKS = frozenset({"check_versions"})  # called by every setup cell, not an exercise
MAX_NOTEBOOK_BYTES = 50 * 2**20
MAX_LOG_BYTES = 2**20
RUNNER_OUTPUT_CHARS = 2**20  # text the runner writes at most (errors come on top, see _GradingClient)
MAX_ERRORS = 50  # errors kept in the runner's result line (which must fit in the tail that is read)
FILE_LIMIT_MB = 256
POLL_S = 0.1
CHECK_CALL = re.compile(r"(?<![\w.])(?<!def )(?:\w+\.)*(check_\w+)\s*\(")

# The runner loads this file by its path, without importing the package (whose __init__ imports
# TensorFlow: 600 MB and 3 s per student for nothing). So this module imports no deepdream_lib module
# at its top. sys.path loses '' so nothing in the student's folder can shadow a module of the runner.
_RUNNER_BOOT = (
    "import importlib.util, sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
    "spec = importlib.util.spec_from_file_location('deepdream_grading_runner', sys.argv[1]); "
    "module = importlib.util.module_from_spec(spec); sys.modules[spec.name] = module; "
    "spec.loader.exec_module(module); raise SystemExit(module.runner_main(sys.argv[2:]))"
)


class GradingError(ValueError):
    """A grading request that cannot be carried out (no submissions, no solution notebook...)."""


@dataclass(frozen=True)
class CheckOutcome:
    """One expected check of one student: passed or not, with the check's message."""

    passed: bool
    message: str


@dataclass
class StudentResult:
    """How one student's notebook ran and which checks passed."""

    student: str
    status: str
    checks: dict[str, CheckOutcome]
    seconds: float = 0.0
    peak_mb: float = 0.0
    detail: str = ""
    output_tail: str = ""

    @property
    def score(self) -> int:
        """The number of expected checks that passed."""
        return sum(outcome.passed for outcome in self.checks.values())


@dataclass(frozen=True)
class Submission:
    """A student's notebook as read before any run: its bytes, or the reason it cannot be run."""

    student: str
    filename: str
    content: bytes | None
    problem: str = ""


@dataclass(frozen=True)
class Limits:
    """What one run may use."""

    timeout_s: float
    memory_mb: int
    keep_output: int


@dataclass(frozen=True)
class RunOutcome:
    """What the supervisor saw: exit status, why it stopped the run (if it did), time and memory."""

    returncode: int | None
    stopped: str | None
    seconds: float
    peak_mb: float


# --- what to grade -------------------------------------------------------------------------------


def normalize_lesson(lesson: str | int) -> str:
    """``3``, ``"3"`` or ``"03"`` -> ``"03"``."""
    text = str(lesson).strip()
    if not text.isdigit():
        raise GradingError(f"--lesson must be a lesson number such as 03, got {lesson!r}")
    return f"{int(text):02d}"


def find_solution(lesson: str, solution: str | os.PathLike | None = None) -> Path:
    """The solutions notebook of ``lesson``: ``solution`` if given, else ``solutions/NN_exercises.ipynb``
    in the current folder or in the repository that holds this library."""
    if solution is not None:
        candidates = [Path(solution)]
    else:
        name = Path("solutions") / f"{lesson}_exercises.ipynb"
        candidates = [Path.cwd() / name, Path(__file__).resolve().parents[1] / name]
    for path in candidates:
        if path.is_file():
            return path
    raise GradingError(
        f"No solutions notebook for lesson {lesson} (looked for {', '.join(map(str, candidates))}); "
        "pass --solution PATH."
    )


def _without_magics(source: str) -> str:
    """Replace IPython magics and shell lines (``%pip``, ``!ls``) by ``pass`` so ``ast`` can parse."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        lines.append(indent + "pass" if stripped.startswith(("%", "!")) else line)
    return "\n".join(lines)


def called_checks(source: str) -> list[str]:
    """The ``check_*`` functions a code cell calls, in source order (``lesson03.check_x(f)`` -> check_x)."""
    try:
        tree = ast.parse(_without_magics(source))
    except SyntaxError:
        return [name for name in CHECK_CALL.findall(source) if name not in NOT_CHECKS]
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name.startswith("check_") and name not in NOT_CHECKS:
                calls.append((node.lineno, node.col_offset, name))
    return [name for *_, name in sorted(calls)]


def expected_checks(solution: str | os.PathLike) -> list[str]:
    """Every check the solutions notebook calls, once each, in order."""
    notebook = nbformat.read(os.fspath(solution), as_version=4)
    names: list[str] = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            names += [name for name in called_checks(cell.source) if name not in names]
    if not names:
        raise GradingError(f"{solution} calls no check_* function: nothing to grade.")
    return names


def _read_submission(student: str, path: Path) -> Submission:
    """Read one notebook (read-only) and make sure it is one, before anything runs."""
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return Submission(student, path.name, None, f"{path.name} is over {MAX_NOTEBOOK_BYTES >> 20} MB")
        with open(path, "rb") as file:
            content = file.read()
        nbformat.reads(content.decode("utf-8"), as_version=4)
    except Exception as error:  # unreadable, not UTF-8, not JSON, not a notebook
        return Submission(student, path.name, None, f"{path.name} is not a readable notebook ({error})")
    return Submission(student, path.name, content)


def _folder_submission(folder: Path, lesson: str) -> Submission:
    """``alice/03_exercises.ipynb``, or the only notebook in ``alice/``."""
    preferred = folder / f"{lesson}_exercises.ipynb"
    if preferred.is_file():
        return _read_submission(folder.name, preferred)
    notebooks = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    if len(notebooks) == 1:
        return _read_submission(folder.name, notebooks[0])
    problem = f"{len(notebooks)} notebooks in {folder.name}/ and none is named {preferred.name}"
    return Submission(folder.name, "", None, problem)


def collect_submissions(directory: str | os.PathLike, lesson: str) -> list[Submission]:
    """One submission per student, read into memory; hidden entries (``.ipynb_checkpoints``) are skipped."""
    directory = Path(directory)
    if not directory.is_dir():
        raise GradingError(f"{directory} is not a folder of submissions.")
    found: dict[str, Submission] = {}
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir():
            submission = _folder_submission(entry, lesson)
        elif entry.suffix == ".ipynb":
            submission = _read_submission(entry.stem, entry)
        else:
            continue
        if submission.student in found:
            problem = f"two submissions named {submission.student} (a notebook and a folder)"
            submission = Submission(submission.student, "", None, problem)
        found[submission.student] = submission
    if not found:
        raise GradingError(
            f"No notebooks in {directory} (expected alice.ipynb or alice/{lesson}_exercises.ipynb)."
        )
    return list(found.values())


# --- running one notebook (parent side) ----------------------------------------------------------


class _ProcessTree:
    """The runner and every process started under it, remembered even after their parent died."""

    def __init__(self, pid: int) -> None:
        self.seen: dict[int, psutil.Process] = {pid: psutil.Process(pid)}
        self.root = self.seen[pid]

    def rss_mb(self) -> float:
        """Total resident memory of the tree, in MB (and note any new descendant)."""
        try:
            for child in self.root.children(recursive=True):
                self.seen.setdefault(child.pid, child)
        except psutil.Error:
            pass
        total = 0
        for process in list(self.seen.values()):
            try:
                total += process.memory_info().rss
            except psutil.Error:
                pass
        return total / 2**20

    def kill(self) -> None:
        """SIGKILL every process seen and its process group (never the grader's own group)."""
        self.rss_mb()
        own_group = os.getpgrp()
        for process in self.seen.values():
            try:
                group = os.getpgid(process.pid)
                if process.is_running() and group not in (own_group, 0, 1):
                    os.killpg(group, signal.SIGKILL)
                process.kill()
            except (psutil.Error, OSError):
                pass


def _supervise(
    command: list[str],
    work: Path,
    env: dict[str, str],
    output: IO[bytes],
    limits: Limits,
    cancel: threading.Event,
) -> RunOutcome:
    """Run ``command`` in its own session, polling its time and memory; kill the whole tree at the end."""
    start = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    tree, stopped, peak = _ProcessTree(process.pid), None, 0.0
    try:
        while process.poll() is None and stopped is None:
            peak = max(peak, tree.rss_mb())
            stopped = _limit_reached(time.monotonic() - start, peak, limits, cancel)
            if stopped is None:
                time.sleep(POLL_S)
    finally:
        tree.kill()  # also the processes a finished notebook left behind
        process.wait()
    return RunOutcome(process.returncode, stopped, time.monotonic() - start, peak)


def _limit_reached(elapsed: float, rss_mb: float, limits: Limits, cancel: threading.Event) -> str | None:
    """``"memory"``, ``"timeout"`` or ``"cancelled"`` when the run must stop now, else ``None``."""
    if cancel.is_set():
        return "cancelled"
    if rss_mb > limits.memory_mb:
        return "memory"
    if elapsed > limits.timeout_s:
        return "timeout"
    return None


def _write_kernelspec(jupyter_dir: Path) -> None:
    """A kernelspec for this very Python, so a user's own ``python3`` kernelspec cannot take over."""
    spec_dir = jupyter_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (grading)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")


def _child_env(root: Path, work: Path, log: Path) -> dict[str, str]:
    """The runner's environment: fast mode, the checks log, and folders that all lie in ``root``."""
    env = {key: value for key, value in os.environ.items() if key != "OLDPWD"}
    for name in ("tmp", "grading/jupyter", "grading/runtime"):
        (root / name).mkdir(parents=True, exist_ok=True)
    env.update(
        PWD=str(work),
        TMPDIR=str(root / "tmp"),
        JUPYTER_PATH=str(root / "grading" / "jupyter"),
        JUPYTER_RUNTIME_DIR=str(root / "grading" / "runtime"),
        DEEPDREAM_FAST="1",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
    )
    env[CHECKS_LOG_ENV] = str(log)
    return env


def _read_tail(output: IO[bytes], size: int) -> str:
    """The last ``size`` bytes of ``output`` as text, saying how much was left out."""
    output.seek(0, os.SEEK_END)
    total = output.tell()
    output.seek(max(0, total - size))
    text = output.read(size).decode("utf-8", errors="replace")
    if total > size:
        text = f"[... {total - size} earlier bytes not kept]\n" + text.split("\n", 1)[-1]
    return text


def _clip(text: str, keep: int) -> str:
    """At most ``keep`` characters: the end of ``text``, with a note when its start was cut."""
    if len(text) <= keep:
        return text
    note = "[... earlier output not kept]\n"
    return note + text[len(text) - keep + len(note) :]


def _split_result(text: str) -> tuple[dict[str, Any] | None, str]:
    """The runner's last result line (or None) and the text without result lines."""
    result, kept = None, []
    for line in text.splitlines():
        if line.startswith(RESULT_MARKER):
            try:
                result = json.loads(line[len(RESULT_MARKER) :])
            except ValueError:
                pass
        else:
            kept.append(line)
    return result if isinstance(result, dict) else None, "\n".join(kept)


def read_checks_log(path: str | os.PathLike) -> dict[str, CheckOutcome]:
    """The checks' JSON lines (first MB at most), the last result of each check winning."""
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_LOG_BYTES)
    except OSError:
        return {}
    outcomes = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
            name, passed, message = entry["check"], entry["passed"], entry.get("message", "")
        except (ValueError, KeyError, TypeError):
            continue
        if isinstance(name, str) and isinstance(passed, bool):
            outcomes[name] = CheckOutcome(passed, str(message))
    return outcomes


def _classify(run: RunOutcome, result: dict[str, Any] | None, limits: Limits) -> tuple[str, str]:
    """The status of a run and a one-line explanation."""
    if run.stopped == "timeout":
        return "timeout", f"stopped at the time limit ({limits.timeout_s:g} s)"
    if run.stopped == "memory":
        return "memory", f"stopped: its processes used {run.peak_mb:.0f} MB (limit {limits.memory_mb} MB)"
    if result is None:
        return "crashed", f"the notebook runner ended (exit status {run.returncode}) without a result"
    errors = result.get("errors") or []
    memory = [e for e in errors if isinstance(e, dict) and e.get("ename") == "MemoryError"]
    if memory:
        return "memory", f"MemoryError in cell {memory[0].get('cell')} (limit {limits.memory_mb} MB)"
    if result.get("kernel_died"):
        return "crashed", f"the kernel died while running cell {result.get('cell')}"
    if result.get("runner_error"):
        return "error", f"could not run the notebook: {result['runner_error']}"
    note = f"{len(errors)} cell(s) raised an error" if errors else "every cell ran"
    dropped = result.get("dropped_chars") or 0
    return "ok", note + (f"; {dropped / 1e6:.1f} MB of output not kept" if dropped else "")


def _missing_reason(status: str) -> str:
    """Why an expected check has no result, by the run's status."""
    return {
        "ok": "did not run (its check cell is missing, or it never called the check)",
        "timeout": "did not run (the notebook was stopped at the time limit first)",
        "memory": "did not run (the notebook was stopped at the memory limit first)",
        "crashed": "did not run (the kernel died first)",
    }.get(status, "did not run (the notebook could not be run)")


def _outcomes(logged: dict[str, CheckOutcome], expected: list[str], status: str) -> dict[str, CheckOutcome]:
    """One outcome per expected check; those with no log line failed."""
    missing = CheckOutcome(False, _missing_reason(status))
    return {name: logged.get(name, missing) for name in expected}


def _run_notebook(
    submission: Submission, root: Path, limits: Limits, cancel: threading.Event
) -> tuple[RunOutcome, dict[str, Any] | None, str, dict[str, CheckOutcome]]:
    """Copy the notebook into ``root/work``, run it under supervision; return (run, result, output, log)."""
    work, log = root / "work", root / "grading" / "checks.jsonl"
    work.mkdir()
    notebook = work / submission.filename
    notebook.write_bytes(submission.content or b"")
    env = _child_env(root, work, log)
    _write_kernelspec(root / "grading" / "jupyter")
    command = [
        sys.executable,
        "-c",
        _RUNNER_BOOT,
        str(Path(__file__).resolve()),
        notebook.name,
        str(limits.memory_mb),
    ]
    with tempfile.TemporaryFile() as output:  # no name on disk: a student cannot delete or find it
        run = _supervise(command, work, env, output, limits, cancel)
        result, text = _split_result(_read_tail(output, limits.keep_output + 2**17))
    return run, result, _clip(text, limits.keep_output), read_checks_log(log)


def grade_submission(
    submission: Submission, expected: list[str], limits: Limits, cancel: threading.Event | None = None
) -> StudentResult:
    """Grade one student in a temporary folder that is deleted afterwards."""
    if submission.content is None:
        return StudentResult(
            submission.student, "error", _outcomes({}, expected, "error"), detail=submission.problem
        )
    with tempfile.TemporaryDirectory(prefix="deepdream-grade-", ignore_cleanup_errors=True) as root:
        run, result, text, logged = _run_notebook(submission, Path(root), limits, cancel or threading.Event())
    status, detail = _classify(run, result, limits)
    return StudentResult(
        submission.student,
        status,
        _outcomes(logged, expected, status),
        round(run.seconds, 1),
        round(run.peak_mb),
        detail,
        text,
    )


def _grade_all(
    submissions: list[Submission],
    expected: list[str],
    limits: Limits,
    jobs: int,
    progress: Callable[[str], None] | None,
) -> list[StudentResult]:
    """Grade every submission, ``jobs`` at a time; on Ctrl-C, stop the runs and kill their processes."""
    cancel, results = threading.Event(), []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(grade_submission, s, expected, limits, cancel) for s in submissions]
        try:
            for index, future in enumerate(futures, 1):
                results.append(future.result())
                if progress:
                    progress(_progress_line(results[-1], index, len(futures), len(expected)))
        except BaseException:
            cancel.set()
            for future in futures:
                future.cancel()
            raise
    return results


def _progress_line(result: StudentResult, index: int, count: int, total: int) -> str:
    """``[3/12] alice: ok, 2/3 checks (12.4 s)``."""
    return (
        f"[{index}/{count}] {result.student}: {result.status}, {result.score}/{total} checks "
        f"({result.seconds:.1f} s)"
    )


# --- the reports ---------------------------------------------------------------------------------


def _refuse_existing(paths: Iterable[Path], overwrite: bool) -> None:
    """Fail before any run if a report exists (unless ``overwrite``) or its folder is missing."""
    for path in paths:
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; choose another name or pass --overwrite to replace it.")
        if not path.parent.is_dir():
            raise GradingError(f"The folder {path.parent} does not exist; create it first.")


def write_csv(results: list[StudentResult], expected: list[str], path: Path, overwrite: bool = False) -> None:
    """One row per student: student, status, score, one pass/fail column per check, seconds, peak_mb."""
    with open(path, "w" if overwrite else "x", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["student", "status", "score", *expected, "seconds", "peak_mb"])
        for r in results:
            marks = ["pass" if r.checks[name].passed else "fail" for name in expected]
            writer.writerow([r.student, r.status, r.score, *marks, f"{r.seconds:.1f}", f"{r.peak_mb:.0f}"])


def _md(text: str, limit: int = 500) -> str:
    """One table-safe line of Markdown, at most ``limit`` characters."""
    line = " ".join(str(text).split()).replace("|", "\\|")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _md_rates(results: list[StudentResult], expected: list[str]) -> list[str]:
    """The class's pass rate per check, as a Markdown table."""
    lines = ["## Pass rate per exercise", "", "| check | passed | rate |", "|---|---:|---:|"]
    for name in expected:
        passed = sum(r.checks[name].passed for r in results)
        lines.append(f"| `{name}` | {passed}/{len(results)} | {100 * passed / len(results):.0f}% |")
    return lines


def _md_table(results: list[StudentResult], expected: list[str]) -> list[str]:
    """One row per student: status, score, time and a note."""
    lines = ["## Students", "", "| student | status | score | seconds | note |", "|---|---|---:|---:|---|"]
    for r in results:
        lines.append(
            f"| {_md(r.student)} | {r.status} | {r.score}/{len(expected)} | {r.seconds:.1f} "
            f"| {_md(r.detail, 200)} |"
        )
    return lines


def _md_student(result: StudentResult, expected: list[str]) -> list[str]:
    """One student's section: every check with its message, and the output's end if the run went wrong."""
    lines = ["", f"### {_md(result.student)}: {result.status}, {result.score}/{len(expected)}", ""]
    if result.detail:
        lines += [f"*{_md(result.detail)}*", ""]
    for name in expected:
        outcome = result.checks[name]
        mark = "pass" if outcome.passed else "FAIL"
        lines.append(f"- **{mark}** `{name}`" + ("" if outcome.passed else f": {_md(outcome.message)}"))
    if result.status != "ok" and result.output_tail.strip():
        tail = result.output_tail[-2000:].replace("```", "'''")
        lines += ["", "Last lines of output:", "", "```text", tail.strip("\n"), "```"]
    return lines


def write_markdown(
    results: list[StudentResult],
    expected: list[str],
    path: Path,
    lesson: str,
    limits: Limits,
    overwrite: bool = False,
) -> None:
    """The summary: pass rate per exercise, one line per student, then each student's failures."""
    counts = ", ".join(f"{sum(r.status == s for r in results)} {s}" for s in STATUSES)
    lines = [
        f"# Grades: lesson {lesson}",
        "",
        f"{len(results)} students ({counts}), graded {datetime.now():%Y-%m-%d %H:%M} with a "
        f"{limits.timeout_s:g} s time limit and a {limits.memory_mb} MB memory limit per student.",
        "",
        *_md_rates(results, expected),
        "",
        *_md_table(results, expected),
        "",
        "## Details",
    ]
    for result in results:
        lines += _md_student(result, expected)
    with open(path, "w" if overwrite else "x", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")


# --- the public entry point ----------------------------------------------------------------------


def _validate(timeout_s: float, memory_mb: int, jobs: int, keep_output: int) -> None:
    """Refuse settings that cannot work, before anything runs."""
    if timeout_s <= 0:
        raise GradingError(f"timeout_s must be > 0, got {timeout_s}")
    if memory_mb < 256:
        raise GradingError(f"memory_mb must be >= 256 (a kernel alone needs ~100 MB), got {memory_mb}")
    if jobs < 1:
        raise GradingError(f"jobs must be >= 1, got {jobs}")
    if keep_output < 1000:
        raise GradingError(f"keep_output must be >= 1000 bytes, got {keep_output}")


def grade(
    submissions_dir: str | os.PathLike,
    lesson: str,
    timeout_s: float = 600,
    memory_mb: int = 4096,
    out_csv: str | os.PathLike | None = None,
    out_md: str | os.PathLike | None = None,
    *,
    solution: str | os.PathLike | None = None,
    jobs: int = 1,
    overwrite: bool = False,
    keep_output: int = 100_000,
    progress: Callable[[str], None] | None = None,
) -> list[StudentResult]:
    """Run every student's notebook of ``lesson`` in its own process and temporary folder; grade its checks.

    Writes the CSV and the Markdown summary when ``out_csv`` / ``out_md`` are given (after every run;
    an existing file is refused unless ``overwrite``). ``jobs`` runs that many students at once: each
    may use ``memory_mb``. Returns one :class:`StudentResult` per student, sorted by student id.
    See the module docstring for what is and is not protected.
    """
    _validate(timeout_s, memory_mb, jobs, keep_output)
    lesson = normalize_lesson(lesson)
    reports = [Path(p) for p in (out_csv, out_md) if p is not None]
    if len({p.resolve() for p in reports}) < len(reports):
        raise GradingError("The CSV and the Markdown report must be different files.")
    _refuse_existing(reports, overwrite)
    expected = expected_checks(find_solution(lesson, solution))
    submissions = collect_submissions(submissions_dir, lesson)  # all read before any student runs
    limits = Limits(float(timeout_s), int(memory_mb), int(keep_output))
    results = sorted(_grade_all(submissions, expected, limits, jobs, progress), key=lambda r: r.student)
    if out_csv is not None:
        write_csv(results, expected, Path(out_csv), overwrite)
    if out_md is not None:
        write_markdown(results, expected, Path(out_md), lesson, limits, overwrite)
    return results


# --- the command line: `python -m deepdream_lib grade ...` -------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``grade``."""
    parser.add_argument(
        "submissions",
        metavar="SUBMISSIONS_DIR",
        help="a folder with alice.ipynb, ... or alice/NN_exercises.ipynb, ...",
    )
    parser.add_argument("--lesson", required=True, help="the lesson number, e.g. 03")
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="REPORT.csv",
        help="the CSV to write; the Markdown summary goes beside it (REPORT.md)",
    )
    parser.add_argument("--markdown", metavar="REPORT.md", help="write the Markdown summary here instead")
    parser.add_argument(
        "--solution",
        metavar="NOTEBOOK",
        help="the solutions notebook (default: solutions/NN_exercises.ipynb)",
    )
    parser.add_argument(
        "--timeout", type=float, default=600, metavar="S", help="wall-clock seconds per student"
    )
    parser.add_argument("--memory-mb", type=int, default=4096, metavar="MB", help="memory per student")
    parser.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="students graded at once (each may use --memory-mb)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing report files")


def run(args: argparse.Namespace) -> int:
    """Grade from parsed arguments; print one line per student and where the reports are."""
    out_csv = Path(args.output)
    if out_csv.suffix.lower() == ".md":
        print("deepdream: error: -o names the CSV report (e.g. grades.csv)", file=sys.stderr)
        return 2
    out_md = Path(args.markdown) if args.markdown else out_csv.with_suffix(".md")
    try:
        results = grade(
            args.submissions,
            args.lesson,
            args.timeout,
            args.memory_mb,
            out_csv,
            out_md,
            solution=args.solution,
            jobs=args.jobs,
            overwrite=args.overwrite,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except (GradingError, FileExistsError) as error:
        print(f"deepdream: error: {error}", file=sys.stderr)
        return 2
    print(f"graded {len(results)} students; wrote {out_csv} and {out_md}")
    return 0


# --- the runner (child side): one notebook, one kernel -------------------------------------------


def _text_of(kind: str, content: dict[str, Any]) -> str:
    """The plain text of one output message."""
    if kind == "stream":
        return str(content.get("text", ""))
    if kind == "error":
        return f"{content.get('ename')}: {content.get('evalue')}\n"
    return str((content.get("data") or {}).get("text/plain", "")) + "\n"


class _GradingClient(NotebookClient):
    """Runs every cell but keeps no output: prints up to ``RUNNER_OUTPUT_CHARS`` of text, notes errors."""

    def __init__(self, nb: nbformat.NotebookNode, **kwargs: Any) -> None:
        super().__init__(nb, **kwargs)
        self.written, self.dropped, self.cell, self.errors = 0, 0, None, []
        self.on_cell_execute = self._start_cell

    def create_kernel_manager(self) -> Any:
        """A kernel that talks over Unix sockets in the grading folder, not over localhost TCP ports."""
        manager = super().create_kernel_manager()
        manager.transport = "ipc"
        manager.ip = os.path.join(os.environ["JUPYTER_RUNTIME_DIR"], "kernel")
        return manager

    def _start_cell(self, cell: Any, cell_index: int) -> None:
        """Note which cell runs (1-based), to say where a kernel died."""
        self.cell = cell_index + 1

    def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> None:
        """Echo the text (bounded) and remember errors; never store outputs in the notebook."""
        kind, content = msg["msg_type"], msg["content"]
        text = _text_of(kind, content)
        if kind == "error":
            if len(self.errors) < MAX_ERRORS:
                self.errors.append(
                    {
                        "cell": cell_index + 1,
                        "ename": str(content.get("ename"))[:100],
                        "evalue": str(content.get("evalue"))[:200],
                    }
                )
            sys.stdout.write(f"[cell {cell_index + 1}] {text[:400]}")
            return None
        room = max(0, RUNNER_OUTPUT_CHARS - self.written)
        sys.stdout.write(text[:room])
        self.written += min(room, len(text))
        self.dropped += max(0, len(text) - room)
        return None

    def summary(self) -> dict[str, Any]:
        """The last cell started, the errors seen and how much output was dropped."""
        return {"cell": self.cell, "errors": self.errors, "dropped_chars": self.dropped}


def _set_child_limits(memory_mb: int) -> None:
    """Limits that the kernel and its children inherit: data segment, file size, no core dumps."""
    import resource

    wanted = (
        (resource.RLIMIT_DATA, memory_mb * 2**20),
        (resource.RLIMIT_FSIZE, FILE_LIMIT_MB * 2**20),
        (resource.RLIMIT_CORE, 0),
    )
    for limit, value in wanted:
        hard = resource.getrlimit(limit)[1]
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        try:  # soft = hard: the notebook cannot raise it again (unless it runs as root)
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):  # a platform that refuses one: the watchdog still limits memory
            pass


def _load_sibling(name: str) -> Any:
    """A module of this package loaded by its path, without the package's ``__init__`` (see _RUNNER_BOOT)."""
    path = Path(__file__).with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"deepdream_grading_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def runner_main(argv: list[str]) -> int:
    """Child side (started by :func:`_supervise`): run one notebook in the current folder; print a result.

    The result is one line, ``RESULT_MARKER`` + JSON, after every cell ran or the kernel died.
    """
    notebook, memory_mb = argv[0], int(argv[1])
    _set_child_limits(memory_mb)
    _load_sibling("kernel_messages").install()  # else a missed reply waits until the time limit kills us
    result: dict[str, Any] = {"kernel_died": False, "runner_error": None}
    client = _GradingClient(
        nbformat.read(notebook, as_version=4),
        kernel_name=KERNEL_NAME,
        allow_errors=True,
        timeout=None,
        startup_timeout=120,
        record_timing=False,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": os.getcwd()}},
    )
    try:
        client.execute(stdout=subprocess.DEVNULL)  # fd-level stdout reaches us through `output` anyway
    except DeadKernelError:
        result["kernel_died"] = True
    except Exception as error:  # the kernel would not start, a broken notebook, ...
        result["runner_error"] = f"{type(error).__name__}: {error}"[:500]
    result.update(client.summary())
    sys.stdout.write("\n" + RESULT_MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0
