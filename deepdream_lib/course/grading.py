"""Grade a class's exercise notebooks: ``python -m deepdream_lib grade SUBS --lesson 03 -o grades.csv``.

``SUBS`` holds one notebook per student, either ``alice.ipynb`` or ``alice/03_exercises.ipynb`` (the
student id is the file stem or the folder name). The checks a lesson expects are the ``check_*``
functions that ``solutions/NN_exercises.ipynb`` calls, with the arguments it passes them; their code is
``deepdream_lib/course/checks/lessonNN.py`` (or ``--checks FILE``).

How one student's notebook runs:

1. Before anything runs, every submission is read into memory (read-only), the check code is copied
   into memory, and the converted weights a lesson needs are built (once, outside any sandbox).
2. **Sandbox** (:mod:`deepdream_lib.course.sandbox`, bubblewrap): each notebook runs in its own; the
   system and the course's environment are read-only, the home folder (the run's working folder, with
   the notebook in it) and ``/tmp`` are private, in memory and bounded; no network; its own PID
   namespace, so every process it starts ends with its run. The submissions, the other students, the
   instructor's folders (reports included), ``solutions/`` and the home folder are not there at all.
3. **Runner** (:mod:`deepdream_lib.course.runner`, started with ``python -I``, a clean environment and
   ``DEEPDREAM_FAST=1``): drives a kernel through every cell (errors allowed), then runs each expected
   check in that kernel from a read-only copy of the check code loaded afresh, and sends the verdicts
   to the grader over a pipe that the kernel cannot open. Nothing the notebook prints or writes counts.
4. **Limits.** *Time*: the learner's cells get ``timeout_s``; at that limit the kernel is interrupted,
   the cells left are skipped and the checks still run (status ``timeout``); each check gets
   ``check_timeout_s``; past all of that (a kernel that ignores interrupts) every process is killed and
   nothing is graded. *Memory*, three layers: ``RLIMIT_DATA`` = the limit in each process (a bigger
   allocation raises ``MemoryError`` and the kernel goes on); the runner's watchdog, which sums the
   resident memory (RSS) of the notebook's processes every 0.1 s and kills them above the limit; and
   this supervisor's, which kills the whole run above the limit plus a margin (nothing graded).
   ``RLIMIT_AS`` is not used: it counts reserved address space (a CUDA process holding 0.8 GB had
   reserved 18 GB). When the kernel dies (a crash or the watchdog), a fresh kernel runs the notebook
   again without the cell that killed it, so the other exercises are still graded (status ``crashed``
   or ``memory``). *Output*: no cell output is kept; at most 1 MB of text plus the errors, of which the
   last ``keep_output`` characters are kept; no file over 256 MB; no core dumps.
5. Status: ``ok`` (the notebook ran to its end; failing checks are normal), ``timeout``, ``memory``,
   ``crashed`` (the kernel or the runner died), ``error`` (not a readable notebook, or not one notebook
   per student). The reports (CSV, Markdown) are written once, after every run has ended, each to a
   temporary name and then renamed, never into the folder being graded.

Limits of the protection (see the instructor guide): the checks call the learner's functions in the
learner's interpreter, so a notebook that patches what the checks use (``numpy.allclose``, a builtin,
an IPython hook) can still fool them; the sandbox cannot see or change your files, but it shares the
CPU, and it can read what the system and the course's environment hold. ``--no-sandbox``
(``sandboxed=False``) keeps the runner, the fresh checks and the limits, but the notebook runs as your
user with your permissions: every row of the report then says ``sandboxed: no``.
"""

from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import io
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

import deepdream_lib
from deepdream_lib.course import runner, sandbox
from deepdream_lib.course.runner import CheckCode, RunSpec

STATUSES = ("ok", "timeout", "memory", "crashed", "error")
NOT_CHECKS = frozenset({"check_versions"})  # called by every setup cell, not an exercise
MAX_NOTEBOOK_BYTES = 50 * 2**20
MAX_RESULT_BYTES = 2**20
STARTUP_S = 30  # on top of the time limits, per kernel (see runner.MAX_KERNELS): its start, imports
POLL_S = 0.1
CHECK_CALL = re.compile(r"(?<![\w.])(?<!def )(?:\w+\.)*(check_\w+)\s*\(")
WEIGHTS_MODEL = "efficientnet_lite0"  # a lesson that names it gets its converted weights built first
WEIGHTS_SCRIPT = (
    "import json; from deepdream_lib import efficientnet_lite as e; e.load_efficientnet_lite0(); "
    "print(json.dumps({'env': e.CACHE_ENV, 'file': str(e.default_cache_dir() / e.CACHE_FILE)}))"
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
    sandboxed: bool = True
    cpu_s: float = 0.0  # of the runner and its kernels, as the runner counted it

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
    check_timeout_s: float = 60.0


@dataclass(frozen=True)
class RunOutcome:
    """What the supervisor saw: exit status, why it stopped the run (if it did), time and memory."""

    returncode: int | None
    stopped: str | None
    seconds: float
    peak_mb: float


@dataclass(frozen=True)
class Plan:
    """What every run of a grading shares: the checks (calls and code), the limits, the isolation."""

    calls: dict[str, str]
    base_name: str
    base: bytes
    module_name: str
    module: bytes
    limits: Limits
    sandboxed: bool
    read_only: tuple[Path, ...] = ()
    cache: tuple[str, Path] | None = None

    @property
    def expected(self) -> list[str]:
        """The expected checks, in the solution's order."""
        return list(self.calls)

    @property
    def hard_limit_s(self) -> float:
        """When the supervisor kills the run: every time limit, plus the kernels' starts."""
        checks_s = len(self.calls) * self.limits.check_timeout_s
        return self.limits.timeout_s + checks_s + runner.MAX_KERNELS * STARTUP_S

    @property
    def hard_memory_mb(self) -> int:
        """When the supervisor kills the run: the notebook's limit (the runner's watchdog), plus a margin
        for the runner itself and for the moments between two looks of the runner's watchdog."""
        return self.limits.memory_mb + max(512, self.limits.memory_mb // 2)


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
        candidates = [Path.cwd() / name, Path(deepdream_lib.__file__).resolve().parents[1] / name]
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


def _check_call_nodes(source: str) -> list[tuple[str, str]] | None:
    """``(check, arguments)`` of every ``check_*`` call in a cell, in source order; None if unparsable."""
    try:
        tree = ast.parse(_without_magics(source))
    except SyntaxError:
        return None
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name.startswith("check_") and name not in NOT_CHECKS:
                arguments = ", ".join(ast.unparse(a) for a in [*node.args, *node.keywords])
                calls.append((node.lineno, node.col_offset, name, arguments))
    return [(name, arguments) for *_, name, arguments in sorted(calls)]


def called_checks(source: str) -> list[str]:
    """The ``check_*`` functions a code cell calls, in source order (``lesson03.check_x(f)`` -> check_x)."""
    calls = _check_call_nodes(source)
    if calls is None:
        return [name for name in CHECK_CALL.findall(source) if name not in NOT_CHECKS]
    return [name for name, _ in calls]


def check_calls(solution: str | os.PathLike) -> dict[str, str]:
    """Every check the solutions notebook calls, once each, in order, with the arguments it passes."""
    notebook = nbformat.read(os.fspath(solution), as_version=4)
    calls: dict[str, str] = {}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            for name, arguments in _check_call_nodes(cell.source) or []:
                calls.setdefault(name, arguments)
    if not calls:
        raise GradingError(f"{solution} calls no check_* function: nothing to grade.")
    return calls


def expected_checks(solution: str | os.PathLike) -> list[str]:
    """Every check the solutions notebook calls, once each, in order."""
    return list(check_calls(solution))


def find_checks(lesson: str, checks: str | os.PathLike | None = None) -> Path:
    """The file that defines the lesson's checks: ``checks`` if given, else ``course/checks/lessonNN.py``."""
    from deepdream_lib.course import checks as checks_package

    default = Path(checks_package.__file__).with_name(f"lesson{lesson}.py")
    path = Path(checks) if checks is not None else default
    if not path.is_file():
        raise GradingError(f"No check code for lesson {lesson} ({path} is not a file); pass --checks FILE.")
    return path.resolve()


def _defined_names(source: bytes, path: Path) -> set[str]:
    """The names a Python file defines at its top level."""
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as error:
        raise GradingError(f"The check code {path} does not parse: {error}") from None
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _plan(solution: Path, checks_file: Path, limits: Limits, sandboxed: bool) -> Plan:
    """The checks to run (from the solution), their code (read now), what the runs see read-only."""
    from deepdream_lib.course import checks as checks_package

    calls = check_calls(solution)
    module = checks_file.read_bytes()
    missing = [name for name in calls if name not in _defined_names(module, checks_file)]
    if missing:
        raise GradingError(f"{checks_file} does not define {', '.join(missing)}, which {solution} calls.")
    texts = [solution.read_text(encoding="utf-8", errors="replace"), module.decode("utf-8", "replace")]
    return Plan(
        calls=calls,
        base_name=checks_package.__name__,
        base=Path(checks_package.__file__).read_bytes(),
        module_name=checks_file.name,
        module=module,
        limits=limits,
        sandboxed=sandboxed,
        read_only=(*sandbox.course_paths(), checks_file),  # notebooks import the checks as students do
        cache=_weights_cache(texts),
    )


def _weights_cache(texts: Iterable[str]) -> tuple[str, Path] | None:
    """Build the converted weights that a lesson names, before any student runs: (variable, file)."""
    if not any(WEIGHTS_MODEL in text for text in texts):
        return None
    command = [sys.executable, "-I", "-c", WEIGHTS_SCRIPT]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}  # the instructor's own cache, outside any sandbox
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GradingError(f"Could not build the converted weights of {WEIGHTS_MODEL}: {error}") from None
    try:
        info = json.loads(done.stdout.strip().splitlines()[-1])
        return str(info["env"]), Path(info["file"])
    except (ValueError, IndexError, KeyError):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise GradingError(f"Could not build the converted weights of {WEIGHTS_MODEL}: {last}") from None


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
    """The run's first process and every process started under it, remembered even after their parent died."""

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


class _Pipe:
    """The grader's end of the runner's result pipe, read in the background (at most ``MAX_RESULT_BYTES``)."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self.data = bytearray()
        self.thread = threading.Thread(target=self._pump, daemon=True)

    def _pump(self) -> None:
        with open(self.read_fd, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                self.data += chunk[: max(0, MAX_RESULT_BYTES - len(self.data))]

    def started(self) -> _Pipe:
        """Close our copy of the write end (the child has its own) and start reading."""
        os.close(self.write_fd)
        self.thread.start()
        return self

    def abandon(self) -> None:
        """Close both ends of a pipe whose child never started."""
        if self.thread.ident is None:
            os.close(self.read_fd)
            os.close(self.write_fd)

    def result(self) -> dict[str, Any] | None:
        """The runner's result, once every writer has gone; None if there is none or it is not JSON."""
        self.thread.join(timeout=10)
        try:
            result = json.loads(bytes(self.data).decode("utf-8"))
        except ValueError:
            return None
        return result if isinstance(result, dict) else None


def _supervise(
    command: list[str],
    cwd: str | os.PathLike,
    env: dict[str, str],
    output: IO[bytes],
    plan: Plan,
    cancel: threading.Event,
    pass_fds: tuple[int, ...],
    pipe: _Pipe,
) -> RunOutcome:
    """Run ``command`` in its own session, polling its time and memory; kill the whole tree at the end.

    ``pass_fds`` are the descriptors the command inherits (the result pipe's write end among them).
    """
    start = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        pass_fds=pass_fds,
    )
    pipe.started()
    tree, stopped, peak = _ProcessTree(process.pid), None, 0.0
    try:
        while process.poll() is None and stopped is None:
            peak = max(peak, tree.rss_mb())
            stopped = _limit_reached(time.monotonic() - start, peak, plan, cancel)
            if stopped is None:
                time.sleep(POLL_S)
    finally:
        tree.kill()  # also the processes a finished notebook left behind (unsandboxed)
        process.wait()
    return RunOutcome(process.returncode, stopped, time.monotonic() - start, peak)


def _limit_reached(elapsed: float, rss_mb: float, plan: Plan, cancel: threading.Event) -> str | None:
    """``"memory"``, ``"timeout"`` or ``"cancelled"`` when the run must stop now, else ``None``."""
    if cancel.is_set():
        return "cancelled"
    if rss_mb > plan.hard_memory_mb:
        return "memory"
    if elapsed > plan.hard_limit_s:
        return "timeout"
    return None


def _child_env(home: str, tmp: str, plan: Plan, cache_dir: str | None) -> dict[str, str]:
    """The runner's whole environment: fixed, never the grader's."""
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": home,
        "USER": "student",
        "LOGNAME": "student",
        "LANG": "C.UTF-8",
        "TMPDIR": tmp,
        "IPYTHONDIR": f"{tmp}/ipython",
        "MPLCONFIGDIR": f"{tmp}/matplotlib",
        "DEEPDREAM_FAST": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    if plan.cache is not None and cache_dir is not None:
        env[plan.cache[0]] = cache_dir
    return env


def _runner_command(spec_path: str, result_fd: int) -> list[str]:
    """The runner, in isolated mode (nothing of the current folder or of ``PYTHON*`` variables)."""
    return [sys.executable, "-I", "-B", "-m", "deepdream_lib.course.runner", spec_path, str(result_fd)]


def _spec(plan: Plan, notebook: str, checks_dir: str) -> RunSpec:
    """The runner's instructions, with the check code at ``checks_dir``."""

    def code(name: str, source: bytes) -> CheckCode:
        return CheckCode(f"{checks_dir}/{name}", hashlib.sha256(source).hexdigest())

    return RunSpec(
        notebook=notebook,
        sandboxed=plan.sandboxed,
        memory_mb=plan.limits.memory_mb,
        timeout_s=plan.limits.timeout_s,
        check_timeout_s=plan.limits.check_timeout_s,
        calls=plan.calls,
        base_name=plan.base_name,
        base=code("__init__.py", plan.base),
        module=code(plan.module_name, plan.module),
    )


def _memory_file(content: bytes) -> IO[bytes]:
    """An open temporary file (no name on disk) holding ``content``, rewound."""
    file = tempfile.TemporaryFile()
    file.write(content)
    file.seek(0)
    return file


def _run_sandboxed(
    submission: Submission, plan: Plan, output: IO[bytes], pipe: _Pipe, cancel: threading.Event
) -> RunOutcome:
    """Run the notebook in a fresh bubblewrap sandbox; its inputs go in as copies from open files."""
    checks_dir = f"{sandbox.GRADING_DIR}/checks"
    spec = _spec(plan, f"{sandbox.HOME}/{submission.filename}", checks_dir)
    cache_dir = f"{sandbox.GRADING_DIR}/cache"
    files = [
        _memory_file(submission.content or b""),
        _memory_file(spec.to_json().encode()),
        _memory_file(plan.base),
        _memory_file(plan.module),
    ]
    try:
        notebook, spec_file, base, module = (f.fileno() for f in files)
        data = [
            (spec_file, f"{sandbox.GRADING_DIR}/spec.json"),
            (base, spec.base.path),
            (module, spec.module.path),
        ]
        mounts = [(plan.cache[1], f"{cache_dir}/{plan.cache[1].name}")] if plan.cache else []
        options = sandbox.arguments(
            plan.read_only,
            [(notebook, submission.filename)],
            data,
            _child_env(sandbox.HOME, "/tmp", plan, cache_dir),
            mounts,
        )
        inner = _runner_command(f"{sandbox.GRADING_DIR}/spec.json", pipe.write_fd)
        fds = (*(f.fileno() for f in files), pipe.write_fd)
        return _supervise(sandbox.command(options, inner), "/", {}, output, plan, cancel, fds, pipe)
    finally:
        for file in files:
            file.close()


def _run_unsandboxed(
    submission: Submission, plan: Plan, output: IO[bytes], pipe: _Pipe, cancel: threading.Event
) -> RunOutcome:
    """Run the notebook as this user, in a temporary folder (``--no-sandbox``: weaker isolation)."""
    with tempfile.TemporaryDirectory(prefix="deepdream-grade-", ignore_cleanup_errors=True) as name:
        root = Path(name)
        work, grading, tmp = root / "work", root / "grading", root / "tmp"
        for folder in (work, grading / "checks", tmp):
            folder.mkdir(parents=True)
        (work / submission.filename).write_bytes(submission.content or b"")
        spec = _spec(plan, str(work / submission.filename), str(grading / "checks"))
        (grading / "checks" / "__init__.py").write_bytes(plan.base)
        (grading / "checks" / plan.module_name).write_bytes(plan.module)
        (grading / "spec.json").write_text(spec.to_json(), encoding="utf-8")
        cache_dir = str(plan.cache[1].parent) if plan.cache else None
        env = _child_env(str(work), str(tmp), plan, cache_dir)
        command = _runner_command(str(grading / "spec.json"), pipe.write_fd)
        return _supervise(command, work, env, output, plan, cancel, (pipe.write_fd,), pipe)


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


def _where(death: dict[str, Any]) -> str:
    """``cell 4`` or ``check_mul``: where a kernel died."""
    return f"check {death.get('check')}" if death.get("check") else f"cell {death.get('cell')}"


def _classify(run: RunOutcome, result: dict[str, Any] | None, limits: Limits) -> tuple[str, str]:
    """The status of a run and a one-line explanation."""
    if run.stopped == "timeout":
        return "timeout", f"killed at the time limit (the kernel did not stop at {limits.timeout_s:g} s)"
    if run.stopped == "memory":
        return "memory", f"killed: its processes used {run.peak_mb:.0f} MB (limit {limits.memory_mb} MB)"
    if result is None:
        return "crashed", f"the notebook runner ended (exit status {run.returncode}) without a result"
    errors = result.get("errors") or []
    deaths = [d for d in result.get("deaths") or [] if isinstance(d, dict)]
    if result.get("kernel_died"):
        where = ", ".join(_where(d) for d in deaths)
        return "crashed", f"the kernel died {len(deaths)} times ({where}); gave up"
    again = "; the notebook ran again without it"
    memory = [d for d in deaths if d.get("memory")]
    if memory:
        where = _where(memory[0])
        return "memory", f"stopped at the memory limit ({limits.memory_mb} MB) in {where}{again}"
    memory_errors = [e for e in errors if isinstance(e, dict) and e.get("ename") == "MemoryError"]
    if memory_errors:
        return "memory", f"MemoryError in cell {memory_errors[0].get('cell')} (limit {limits.memory_mb} MB)"
    if deaths:
        return "crashed", f"the kernel died while running {_where(deaths[0])}{again}"
    if result.get("runner_error"):
        return "error", f"could not run the notebook: {result['runner_error']}"
    if result.get("stopped_in_cell"):
        limit, cell = limits.timeout_s, result["stopped_in_cell"]
        return "timeout", f"stopped at the time limit ({limit:g} s) in cell {cell}; then the checks ran"
    note = f"{len(errors)} cell(s) raised an error" if errors else "every cell ran"
    dropped = result.get("dropped_chars") or 0
    return "ok", note + (f"; {dropped / 1e6:.1f} MB of output not kept" if dropped else "")


def _missing_reason(status: str) -> str:
    """Why an expected check has no verdict, by the run's status."""
    return {
        "ok": "gave no verdict (the notebook broke the kernel's display of results)",
        "timeout": "not graded (the notebook was killed at the time limit before its checks could run)",
        "memory": "not graded (the notebook was stopped at the memory limit before its checks could run)",
        "crashed": "not graded (the kernel died before this check could run)",
    }.get(status, "not graded (the notebook could not be run)")


def _outcomes(verdicts: dict[str, Any], expected: list[str], status: str) -> dict[str, CheckOutcome]:
    """One outcome per expected check, from the runner's verdicts; those with none failed."""
    missing = CheckOutcome(False, _missing_reason(status))
    outcomes = {}
    for name in expected:
        verdict = verdicts.get(name)
        ok = isinstance(verdict, dict) and isinstance(verdict.get("passed"), bool)
        outcomes[name] = CheckOutcome(verdict["passed"], str(verdict.get("message", ""))) if ok else missing
    return outcomes


def grade_submission(
    submission: Submission, plan: Plan, cancel: threading.Event | None = None
) -> StudentResult:
    """Grade one student: run the notebook (sandboxed unless the plan says not), read the verdicts."""
    if submission.content is None:
        outcomes = _outcomes({}, plan.expected, "error")
        return StudentResult(
            submission.student, "error", outcomes, detail=submission.problem, sandboxed=plan.sandboxed
        )
    run_notebook = _run_sandboxed if plan.sandboxed else _run_unsandboxed
    pipe = _Pipe()
    with tempfile.TemporaryFile() as output:  # no name on disk: a student cannot delete or find it
        try:
            run = run_notebook(submission, plan, output, pipe, cancel or threading.Event())
        except BaseException:
            pipe.abandon()
            raise
        text = _clip(_read_tail(output, plan.limits.keep_output + 2**17), plan.limits.keep_output)
    result = pipe.result()
    status, detail = _classify(run, result, plan.limits)
    return StudentResult(
        submission.student,
        status,
        _outcomes((result or {}).get("checks") or {}, plan.expected, status),
        round(run.seconds, 1),
        round(max(run.peak_mb, float((result or {}).get("peak_mb") or 0))),
        detail,
        text,
        plan.sandboxed,
        float((result or {}).get("cpu_s") or 0),
    )


def _grade_all(
    submissions: list[Submission], plan: Plan, jobs: int, progress: Callable[[str], None] | None
) -> list[StudentResult]:
    """Grade every submission, ``jobs`` at a time; on Ctrl-C, stop the runs and kill their processes."""
    cancel, results = threading.Event(), []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(grade_submission, s, plan, cancel) for s in submissions]
        try:
            for index, future in enumerate(futures, 1):
                results.append(future.result())
                if progress:
                    progress(progress_line(results[-1], index, len(futures), len(plan.calls)))
        except BaseException:
            cancel.set()
            for future in futures:
                future.cancel()
            raise
    return results


def progress_line(result: StudentResult, index: int, count: int, total: int) -> str:
    """``[3/12] alice: ok, 2/3 checks (12.4 s)``, and ``[not sandboxed]`` when it was not."""
    return (
        f"[{index}/{count}] {result.student}: {result.status}, {result.score}/{total} checks "
        f"({result.seconds:.1f} s)" + ("" if result.sandboxed else " [not sandboxed]")
    )


# --- the reports ---------------------------------------------------------------------------------


def _refuse_existing(paths: Iterable[Path], overwrite: bool) -> None:
    """Fail before any run if a report exists (unless ``overwrite``) or its folder is missing."""
    for path in paths:
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; choose another name or pass --overwrite to replace it.")
        if not path.parent.is_dir():
            raise GradingError(f"The folder {path.parent} does not exist; create it first.")


def _refuse_inside(paths: Iterable[Path], submissions_dir: Path) -> None:
    """Fail before any run if a report would be written into the folder being graded (or below it)."""
    graded = submissions_dir.resolve()
    for path in paths:
        folder = path.parent.resolve()
        if folder == graded or graded in folder.parents:
            raise GradingError(f"{path} is in {submissions_dir}, the folder being graded: write it elsewhere")


def write_atomically(path: Path, text: str, overwrite: bool = False) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it to ``path`` in one step.

    Without ``overwrite`` the rename is a hard link, which fails if ``path`` appeared in the meantime.
    """
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with open(fd, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        if overwrite:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)


def csv_text(results: list[StudentResult], expected: list[str]) -> str:
    """One row per student: status, score, pass/fail per check, seconds, cpu_s, peak_mb, sandboxed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["student", "status", "score", *expected, "seconds", "cpu_s", "peak_mb", "sandboxed"])
    for r in results:
        marks = ["pass" if r.checks[name].passed else "fail" for name in expected]
        row = [r.student, r.status, r.score, *marks, f"{r.seconds:.1f}", f"{r.cpu_s:.1f}", f"{r.peak_mb:.0f}"]
        writer.writerow([*row, "yes" if r.sandboxed else "no"])
    return buffer.getvalue()


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
    """One row per student: status, score, time, whether it was sandboxed, and a note."""
    lines = [
        "## Students",
        "",
        "| student | status | score | seconds | sandboxed | note |",
        "|---|---|---:|---:|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {_md(r.student)} | {r.status} | {r.score}/{len(expected)} | {r.seconds:.1f} "
            f"| {'yes' if r.sandboxed else 'no'} | {_md(r.detail, 200)} |"
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


def markdown_text(results: list[StudentResult], expected: list[str], lesson: str, limits: Limits) -> str:
    """The summary: pass rate per exercise, one line per student, then each student's failures."""
    counts = ", ".join(f"{sum(r.status == s for r in results)} {s}" for s in STATUSES)
    unsandboxed = sum(not r.sandboxed for r in results)
    isolation = (
        "Each notebook ran in its own bubblewrap sandbox."
        if not unsandboxed
        else f"**{unsandboxed} notebook(s) ran without a sandbox** (`--no-sandbox`), as the grading user."
    )
    lines = [
        f"# Grades: lesson {lesson}",
        "",
        f"{len(results)} students ({counts}), graded {datetime.now():%Y-%m-%d %H:%M} with a "
        f"{limits.timeout_s:g} s time limit and a {limits.memory_mb} MB memory limit per student. "
        + isolation,
        "",
        *_md_rates(results, expected),
        "",
        *_md_table(results, expected),
        "",
        "## Details",
    ]
    for result in results:
        lines += _md_student(result, expected)
    return "\n".join(lines) + "\n"


# --- the public entry point ----------------------------------------------------------------------


def _validate(timeout_s: float, memory_mb: int, jobs: int, keep_output: int, check_timeout_s: float) -> None:
    """Refuse settings that cannot work, before anything runs."""
    if timeout_s <= 0 or check_timeout_s <= 0:
        raise GradingError(f"time limits must be > 0, got {timeout_s} and {check_timeout_s}")
    if memory_mb < 256:
        raise GradingError(f"memory_mb must be >= 256 (a kernel alone needs ~100 MB), got {memory_mb}")
    if jobs < 1:
        raise GradingError(f"jobs must be >= 1, got {jobs}")
    if keep_output < 1000:
        raise GradingError(f"keep_output must be >= 1000 bytes, got {keep_output}")


def _require_sandbox() -> None:
    """Fail, in one line, if bubblewrap cannot start a sandbox here."""
    problem = sandbox.problem()
    if problem is not None:
        raise GradingError(
            f"{problem}: {sandbox.INSTALL_HINT}, or pass --no-sandbox to grade without one "
            "(weaker isolation: the notebooks run as your user)."
        )


def grade(
    submissions_dir: str | os.PathLike,
    lesson: str,
    timeout_s: float = 600,
    memory_mb: int = 4096,
    out_csv: str | os.PathLike | None = None,
    out_md: str | os.PathLike | None = None,
    *,
    solution: str | os.PathLike | None = None,
    checks: str | os.PathLike | None = None,
    jobs: int = 1,
    overwrite: bool = False,
    keep_output: int = 100_000,
    check_timeout_s: float = 60,
    sandboxed: bool = True,
    progress: Callable[[str], None] | None = None,
) -> list[StudentResult]:
    """Run every student's notebook of ``lesson`` in its own sandbox, then its checks; grade them.

    Writes the CSV and the Markdown summary when ``out_csv`` / ``out_md`` are given (after every run;
    an existing file is refused unless ``overwrite``, and so is a report inside ``submissions_dir``).
    ``jobs`` runs that many students at once: each may use ``memory_mb``. ``sandboxed=False`` runs them
    without bubblewrap (weaker; every row says so). Returns one :class:`StudentResult` per student,
    sorted by student id. See the module docstring for what is and is not protected.
    """
    _validate(timeout_s, memory_mb, jobs, keep_output, check_timeout_s)
    lesson = normalize_lesson(lesson)
    reports = [Path(p) for p in (out_csv, out_md) if p is not None]
    if len({p.resolve() for p in reports}) < len(reports):
        raise GradingError("The CSV and the Markdown report must be different files.")
    _refuse_existing(reports, overwrite)
    _refuse_inside(reports, Path(submissions_dir))
    if sandboxed:
        _require_sandbox()
    limits = Limits(float(timeout_s), int(memory_mb), int(keep_output), float(check_timeout_s))
    plan = _plan(find_solution(lesson, solution), find_checks(lesson, checks), limits, sandboxed)
    submissions = collect_submissions(submissions_dir, lesson)  # all read before any student runs
    results = sorted(_grade_all(submissions, plan, jobs, progress), key=lambda r: r.student)
    if out_csv is not None:
        write_atomically(Path(out_csv), csv_text(results, plan.expected), overwrite)
    if out_md is not None:
        write_atomically(Path(out_md), markdown_text(results, plan.expected, lesson, limits), overwrite)
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
        "--checks", metavar="FILE", help="the check code (default: deepdream_lib/course/checks/lessonNN.py)"
    )
    parser.add_argument(
        "--timeout", type=float, default=600, metavar="S", help="wall-clock seconds per student's cells"
    )
    parser.add_argument(
        "--check-timeout", type=float, default=60, metavar="S", help="wall-clock seconds per check"
    )
    parser.add_argument("--memory-mb", type=int, default=4096, metavar="MB", help="memory per student")
    parser.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="students graded at once (each may use --memory-mb)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing report files")
    parser.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run the notebooks without bubblewrap, as your user (weaker; the reports say so)",
    )


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
            checks=args.checks,
            jobs=args.jobs,
            overwrite=args.overwrite,
            check_timeout_s=args.check_timeout,
            sandboxed=not args.no_sandbox,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except (GradingError, FileExistsError) as error:
        print(f"deepdream: error: {error}", file=sys.stderr)
        return 2
    how = "" if not args.no_sandbox else " without a sandbox"
    print(f"graded {len(results)} students{how}; wrote {out_csv} and {out_md}")
    return 0
