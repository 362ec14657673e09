"""The grader's child side: run one student's notebook in a kernel, then its checks; report on a pipe.

Started by :mod:`deepdream_lib.course.grading` as ``python -I -B -m deepdream_lib.course.runner SPEC FD``
(isolated mode: no current folder on ``sys.path``, no ``PYTHON*`` variables, no user site), inside the
submission's sandbox when there is one. ``SPEC`` is a read-only JSON file (:class:`RunSpec`); ``FD`` is
the write end of a pipe whose read end only the grader holds.

1. The runner makes itself non-dumpable (``prctl(PR_SET_DUMPABLE, 0)``) and keeps ``FD`` out of every
   child: a process of the same user may otherwise open ``/proc/RUNNER/fd/FD`` and write into the pipe.
   Without capabilities (the sandbox drops them all) nothing else can open, trace or read it.
2. It starts a kernel for this very Python (also ``-I``) and runs the learner's cells in order, errors
   allowed, until the time limit; then it interrupts the kernel and skips the cells left. A watchdog
   sums the memory of the notebook's processes and kills them above the limit. When the kernel dies
   (a crash, or the watchdog), a fresh kernel runs the notebook again without the cell that killed it.
3. Then, in the same kernel, one cell per expected check. Each loads the check code afresh from the
   grader's read-only copy (``checks/__init__.py`` and the lesson's check module, verified by their
   SHA-256), and runs with globals of its own, so replacing or wrapping the check functions or their
   modules (in the notebook's namespace or in ``sys.modules``), or shadowing builtins with names of the
   notebook's own, does not change the checks. It calls the check on the learner's function as the
   solution does (``check_x(x)``), and returns the verdict as the cell's value, tagged with a random
   nonce made after the learner's cells ended. Only that value counts: nothing the notebook printed,
   logged or wrote earlier can carry the nonce.
4. It writes one JSON result (:func:`run`) to ``FD`` and exits.

The boundary, honestly: the learner's functions run in the learner's kernel, and so do the checks. What
the notebook changed in that interpreter beyond its own names (a patched ``numpy``, ``json`` or
``builtins`` module, a replaced ``__builtins__``, an IPython hook, a thread, a trace function) is still
there during the checks and can change what they compute or report.
"""

from __future__ import annotations

import ast
import json
import math
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_code_cell

from deepdream_lib.course import kernel_messages

KERNEL_NAME = "deepdream-grading"
RUNNER_OUTPUT_CHARS = 2**20  # text the runner writes at most (errors come on top, see _GradingClient)
MAX_ERRORS = 50  # cell errors kept in the result
MAX_MESSAGE_CHARS = 1000  # of one check's message
FILE_LIMIT_MB = 256  # the largest file a notebook may write
INTERRUPT_GRACE_S = 1  # the smallest time limit given to one cell
MAX_KERNELS = 3  # kernels per notebook: the first, and two more after a kernel died
POLL_S = 0.1  # how often the memory watchdog looks


@dataclass(frozen=True)
class CheckCode:
    """A file of check code as the grader copied it: where the runner finds it, and its SHA-256."""

    path: str
    sha256: str


@dataclass(frozen=True)
class RunSpec:
    """What the runner needs to know, written by the grader as read-only JSON.

    ``calls`` maps every expected check to the arguments the solution passes it (``"add"`` for
    ``check_add(add)``); ``base`` is the checks package (``checks/__init__.py``), imported by the lesson's
    check ``module`` as ``base_name``.
    """

    notebook: str
    sandboxed: bool
    memory_mb: int
    timeout_s: float
    check_timeout_s: float
    calls: dict[str, str]
    base_name: str
    base: CheckCode
    module: CheckCode

    def to_json(self) -> str:
        """The spec as JSON text."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        """A spec read back from :meth:`to_json`."""
        fields = json.loads(text)
        fields["base"], fields["module"] = CheckCode(**fields["base"]), CheckCode(**fields["module"])
        return cls(**fields)


# The code that grades one check, run in the learner's kernel after the learner's cells. It runs with
# globals of its own (only the real builtins), so names the notebook defined (an `eval` or `open` of its
# own) do not reach it; the learner's namespace is used only to evaluate the check's arguments.
GRADER_SOURCE = """\
import hashlib, sys


def load(module_name, path, digest):
    with open(path, "rb") as file:
        source = file.read()
    if hashlib.sha256(source).hexdigest() != digest:
        raise RuntimeError(f"{path} is not the grader's copy of the check code")
    fresh = type(sys)(module_name)
    fresh.__file__ = path
    sys.modules[module_name] = fresh
    exec(compile(source, path, "exec"), fresh.__dict__)
    return fresh


def grade(user_ns, p):
    def verdict(passed, message):
        return repr((p["nonce"], p["name"], passed, str(message)))

    base = load(f"deepdream_grading_{p['nonce']}_checks", *p["base"])
    previous = sys.modules.get(p["base_name"])
    sys.modules[p["base_name"]] = base  # the check module's `from ... import check` gets the fresh one
    try:
        checks = load(f"deepdream_grading_{p['nonce']}_lesson", *p["module"])
    finally:
        if previous is None:
            sys.modules.pop(p["base_name"], None)
        else:
            sys.modules[p["base_name"]] = previous
    namespace = {"__deepdream_check": getattr(checks, p["name"])}
    try:
        eval(f"__deepdream_check({p['arguments']})", user_ns, namespace)
    except NameError as error:
        return verdict(False, f"Not defined when the checks ran: {error}.")
    except base.CheckFailed as failure:
        return verdict(False, failure)
    except KeyboardInterrupt:
        return verdict(False, f"The check was stopped at its time limit ({p['limit']:g} s).")
    except BaseException as error:
        return verdict(False, f"The check raised {type(error).__name__}: {error}")
    return verdict(True, "passed")
"""
# The cell itself: the names it uses are `__builtins__` (the kernel's builtins module) and its own.
CHECK_CELL = """\
__deepdream_grading = {{"__builtins__": __builtins__}}
__builtins__.exec({source!r}, __deepdream_grading)
__deepdream_grading["grade"](__builtins__.globals(), {parameters!r})
"""


def check_cell(spec: RunSpec, name: str, nonce: str) -> str:
    """The source of the cell that grades check ``name``; its value is the verdict."""
    parameters = {
        "nonce": nonce,
        "name": name,
        "arguments": spec.calls[name],
        "base_name": spec.base_name,
        "base": (spec.base.path, spec.base.sha256),
        "module": (spec.module.path, spec.module.sha256),
        "limit": spec.check_timeout_s,
    }
    return CHECK_CELL.format(source=GRADER_SOURCE, parameters=parameters)


def parse_verdict(text: str, name: str, nonce: str) -> dict[str, Any] | None:
    """``{"passed": ..., "message": ...}`` from a check cell's value (the ``repr`` of its verdict string),
    or None if it is not the verdict of check ``name`` with this ``nonce``."""
    try:
        verdict = ast.literal_eval(ast.literal_eval(text))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if not isinstance(verdict, tuple) or len(verdict) != 4 or verdict[:2] != (nonce, name):
        return None
    passed, message = verdict[2:]
    if not isinstance(passed, bool) or not isinstance(message, str):
        return None
    return {"passed": passed, "message": message[:MAX_MESSAGE_CHARS]}


def _text_of(kind: str, content: dict[str, Any]) -> str:
    """The plain text of one output message."""
    if kind == "stream":
        return str(content.get("text", ""))
    if kind == "error":
        return f"{content.get('ename')}: {content.get('evalue')}\n"
    return str((content.get("data") or {}).get("text/plain", "")) + "\n"


class _GradingClient(NotebookClient):
    """Runs cells but keeps no output: prints up to ``RUNNER_OUTPUT_CHARS`` of text, notes errors, and
    reads the verdict of the check cell that runs (``expecting``)."""

    def __init__(self, nb: nbformat.NotebookNode, **kwargs: Any) -> None:
        super().__init__(nb, **kwargs)
        self.written, self.dropped, self.cell, self.errors = 0, 0, None, []
        self.deadline = math.inf
        self.learner_cells, self.learner_deadline = len(nb.cells), None
        self.died_in_check: str | None = None
        self.expecting: tuple[str, str] | None = None  # (check, nonce) while a check cell runs
        self.verdicts: dict[str, dict[str, Any]] = {}
        self.on_cell_execute = self._start_cell
        self.timeout_func = self._time_left

    def create_kernel_manager(self) -> Any:
        """A kernel that talks over Unix sockets in the private runtime folder, not over TCP ports."""
        manager = super().create_kernel_manager()
        manager.transport = "ipc"
        manager.ip = os.path.join(os.environ["JUPYTER_RUNTIME_DIR"], "kernel")
        return manager

    def _start_cell(self, cell: Any, cell_index: int) -> None:
        """Note which cell runs (1-based), to say where a kernel died."""
        if self.expecting is None:
            self.cell = cell_index + 1

    def _time_left(self, cell: Any) -> int:
        """The running cell's time limit: what is left until the deadline (at least a second)."""
        return max(INTERRUPT_GRACE_S, math.ceil(self.deadline - time.monotonic()))

    def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> None:
        """Echo the text (bounded), remember errors, take a check cell's verdict; store no outputs."""
        kind, content = msg["msg_type"], msg["content"]
        if self.expecting is not None:
            if kind == "execute_result" and self.expecting[0] not in self.verdicts:
                value = str((content.get("data") or {}).get("text/plain", ""))
                verdict = parse_verdict(value, *self.expecting)
                if verdict is not None:
                    self.verdicts[self.expecting[0]] = verdict
                return None
        elif kind == "error":
            error = {
                "cell": cell_index + 1,
                "ename": str(content.get("ename"))[:100],
                "evalue": str(content.get("evalue"))[:200],
            }
            if len(self.errors) < MAX_ERRORS and error not in self.errors:  # not again when run again
                self.errors.append(error)
            sys.stdout.write(f"[cell {cell_index + 1}] {_text_of(kind, content)[:400]}")
            return None
        text = _text_of(kind, content)
        room = max(0, RUNNER_OUTPUT_CHARS - self.written)
        sys.stdout.write(text[:room])
        self.written += min(room, len(text))
        self.dropped += max(0, len(text) - room)
        return None


def _learner_cells(client: _GradingClient, spec: RunSpec, skipped: set[int]) -> int | None:
    """Run the notebook's cells (not those in ``skipped``) until the time limit, which counts from the
    first cell of the first kernel; the cell it was stopped in (1-based), or None."""
    if client.learner_deadline is None:
        client.learner_deadline = time.monotonic() + spec.timeout_s
    client.deadline = client.learner_deadline
    cells = enumerate(client.nb.cells[: client.learner_cells])
    code = [(i, cell) for i, cell in cells if cell.cell_type == "code" and cell.source.strip()]
    last = None
    for index, cell in code:
        if index + 1 in skipped:
            continue
        if time.monotonic() >= client.deadline:
            return last  # cells were left: the one that ran last was stopped (or ended) at the limit
        client.execute_cell(cell, index)
        last = index + 1
    final = client.errors[-1] if client.errors else {}
    interrupted = final.get("cell") == last and final.get("ename") == "KeyboardInterrupt"
    return last if interrupted and time.monotonic() >= client.deadline else None


def _check_cells(client: _GradingClient, spec: RunSpec) -> None:
    """Run one check cell per expected check not graded yet, each with its own time limit and nonce.

    A check during which the kernel dies fails, and the kernel's death goes on to the caller.
    """
    for name in spec.calls:
        if name in client.verdicts:
            continue
        nonce = secrets.token_hex(16)
        client.nb.cells.append(new_code_cell(check_cell(spec, name, nonce)))
        client.expecting, client.deadline = (name, nonce), time.monotonic() + spec.check_timeout_s
        try:
            client.execute_cell(client.nb.cells[-1], len(client.nb.cells) - 1)
        except DeadKernelError:
            client.verdicts[name] = {"passed": False, "message": "The kernel died while this check ran."}
            client.died_in_check = name
            raise
        finally:
            client.expecting = None


class _MemoryWatchdog:
    """Every ``POLL_S``, sums the resident memory of the notebook's processes; above the limit, kills them.

    In the sandbox's own PID namespace the notebook's processes are all but its init (PID 1) and the
    runner, wherever they moved; without a sandbox, the runner's descendants (those seen once included).
    """

    def __init__(self, limit_mb: int, whole_namespace: bool) -> None:
        self.limit_mb, self.whole_namespace = limit_mb, whole_namespace
        self.peak_mb, self.tripped = 0.0, False
        self.seen: dict[int, psutil.Process] = {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _processes(self) -> list[psutil.Process]:
        me = os.getpid()
        try:
            if self.whole_namespace:
                return [p for p in psutil.process_iter() if p.pid not in (1, me)]
            for child in psutil.Process(me).children(recursive=True):
                self.seen.setdefault(child.pid, child)
        except psutil.Error:
            pass
        return list(self.seen.values())

    def _watch(self) -> None:
        while not self.stopped.wait(POLL_S):
            processes, total = self._processes(), 0
            for process in processes:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    pass
            self.peak_mb = max(self.peak_mb, total / 2**20)
            if total > self.limit_mb * 2**20:
                self.tripped = True
                for process in processes:
                    try:
                        process.kill()
                    except psutil.Error:
                        pass

    def take_tripped(self) -> bool:
        """Whether it killed the notebook's processes since the last call."""
        tripped, self.tripped = self.tripped, False
        return tripped


def run(spec: RunSpec) -> dict[str, Any]:
    """Run the notebook, then its checks; the result that goes to the grader.

    When the kernel dies (a crash, or the memory watchdog), a fresh kernel runs the notebook again
    without the cell that killed it (at most ``MAX_KERNELS`` kernels), so the other exercises are
    still graded; a check during which it dies fails.
    """
    client = _GradingClient(
        nbformat.read(spec.notebook, as_version=4),
        kernel_name=KERNEL_NAME,
        allow_errors=True,
        interrupt_on_timeout=True,
        startup_timeout=120,
        record_timing=False,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": os.getcwd()}},
    )
    result: dict[str, Any] = {"kernel_died": False, "runner_error": None, "stopped_in_cell": None}
    watchdog = _MemoryWatchdog(spec.memory_mb, spec.sandboxed)
    watchdog.thread.start()
    deaths: list[dict[str, Any]] = []
    try:
        client.reset_execution_trackers()
        for _ in range(MAX_KERNELS):
            client.died_in_check = None
            try:
                with client.setup_kernel(stdout=subprocess.DEVNULL):
                    result["stopped_in_cell"] = _learner_cells(client, spec, {d["cell"] for d in deaths})
                    _check_cells(client, spec)
                break
            except DeadKernelError:
                cell = None if client.died_in_check else client.cell
                memory = watchdog.take_tripped()
                deaths.append({"cell": cell, "check": client.died_in_check, "memory": memory})
        else:
            result["kernel_died"] = True
    except Exception as error:  # the kernel would not start, a broken notebook, ...
        result["runner_error"] = f"{type(error).__name__}: {error}"[:500]
    finally:
        watchdog.stopped.set()
    result.update(cell=client.cell, errors=client.errors, dropped_chars=client.dropped, deaths=deaths)
    result.update(checks=client.verdicts, peak_mb=round(watchdog.peak_mb), cpu_s=round(_cpu_s(), 1))
    return result


def _cpu_s() -> float:
    """CPU seconds (user + system) of the runner and of every process it waited for (the kernels)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _protect(result_fd: int) -> None:
    """No other process of this user may open our file descriptors or trace us; children do not get FD."""
    os.set_inheritable(result_fd, False)
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_DUMPABLE = 4
        if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed: the result pipe is not safe")


def _set_child_limits(memory_mb: int) -> None:
    """Limits that the kernel and its children inherit: data segment, file size, no core dumps."""
    wanted = (
        (resource.RLIMIT_DATA, memory_mb * 2**20),
        (resource.RLIMIT_FSIZE, FILE_LIMIT_MB * 2**20),
        (resource.RLIMIT_CORE, 0),
    )
    for limit, value in wanted:
        hard = resource.getrlimit(limit)[1]
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        try:  # soft = hard: the notebook cannot raise it again
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):  # a platform that refuses one: the watchdog still limits memory
            pass


def _private_jupyter_dirs() -> None:
    """A kernelspec for this very Python (isolated mode), and a runtime folder, in a folder of our own."""
    folder = Path(tempfile.mkdtemp(prefix="deepdream-runner-"))
    spec_dir = folder / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-I", "-B", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (grading)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    (folder / "runtime").mkdir()
    os.environ.update(JUPYTER_PATH=str(folder), JUPYTER_RUNTIME_DIR=str(folder / "runtime"))


def main(argv: list[str]) -> int:
    """``SPEC FD``: run the notebook that ``SPEC`` names and write the result to file descriptor ``FD``."""
    spec_path, result_fd = argv[0], int(argv[1])
    _protect(result_fd)
    spec = RunSpec.from_json(Path(spec_path).read_text(encoding="utf-8"))
    _set_child_limits(spec.memory_mb)
    _private_jupyter_dirs()
    kernel_messages.install()  # else a missed reply waits until the time limit kills us
    result = run(spec)
    sys.stdout.flush()
    with os.fdopen(result_fd, "w", encoding="utf-8") as pipe:
        pipe.write(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
