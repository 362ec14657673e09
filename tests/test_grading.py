"""Class grading (``deepdream_lib.course.grading``) on real notebooks that misbehave, each in its own way.

One module-scoped run grades a class of nine submissions built here with nbformat: a correct one, a
wrong answer, a kernel crash, an infinite loop, output flooding, two memory hogs (one big allocation,
one spread over child processes), a file deleter and a file that is not a notebook. Their checks are
the tiny ones in ``tests/data/grading_checks.py`` (the real check machinery, no TensorFlow), so this
test does not depend on any lesson. It takes about 30-60 s on a 2-core CPU (kernels start in ~3 s;
the infinite loop runs until its 25 s limit while the others are graded beside it).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from deepdream_lib.course import grading

DATA = Path(__file__).parent / "data"
TIMEOUT_S = 25
MEMORY_MB = 1024
KEEP_OUTPUT = 20_000
LEFTOVER_MARKER = "deepdream-grading-test-leftover"
CHECKS = ["check_add", "check_mul"]

SETUP = f"# Setup\nimport sys\n\nsys.path.insert(0, {str(DATA)!r})\nimport grading_checks as g\n"
ADD = "def add(a, b):\n    return a + b\n"
WRONG_ADD = "def add(a, b):\n    return a - b\n"
MUL = "def mul(a, b):\n    return a * b\n"
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


def notebook(*sources: str) -> nbformat.NotebookNode:
    """A notebook whose code cells hold ``sources``."""
    return new_notebook(cells=[new_code_cell(source) for source in sources])


def student(middle: str = "", add: str = ADD) -> nbformat.NotebookNode:
    """Setup, exercise 1 and its check, ``middle``, exercise 2 and its check."""
    cells = [SETUP, add, CHECK_ADD] + ([middle] if middle else []) + [MUL, CHECK_MUL]
    return notebook(*cells)


def solution() -> nbformat.NotebookNode:
    """The solutions notebook: a Colab-style setup (magic, check_versions) and the two checks."""
    setup = "# Setup\n%pip install -q something\nimport deepdream_lib as dd\n\nprint(dd.check_versions())\n"
    nb = notebook(setup, ADD, "lesson.check_add(add)", MUL, "check_mul(mul)  # a bare name works too")
    nb.cells.insert(0, new_markdown_cell("# Exercises 03 (calls check_fake( in prose are ignored)"))
    return nb


def write_class(root: Path) -> tuple[Path, Path]:
    """The instructor's folder: ``submissions/`` and ``solutions/03_exercises.ipynb``."""
    subs = root / "submissions"
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
    nbformat.write(student(), subs / ".ipynb_checkpoints" / "correct-checkpoint.ipynb")
    (subs / "broken.ipynb").write_text("{ this is not json")
    (subs / "README.txt").write_text("instructor's notes")
    solution_path = root / "solutions" / "03_exercises.ipynb"
    solution_path.parent.mkdir()
    nbformat.write(solution(), solution_path)
    return subs, solution_path


def tree_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` (and every folder, as 'dir')."""
    hashes = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        hashes[key] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def leftover_processes() -> list[psutil.Process]:
    """Processes started by the test notebooks that are still alive."""
    return [
        process
        for process in psutil.process_iter(["cmdline", "status"])
        if LEFTOVER_MARKER in (process.info["cmdline"] or [])
        and process.info["status"] != psutil.STATUS_ZOMBIE
    ]


@dataclass
class Graded:
    results: dict[str, grading.StudentResult]
    instructor: Path
    csv: Path
    md: Path
    temp: Path
    before: dict[str, str]
    after: dict[str, str]


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    """Grade the whole class once, from inside the instructor's folder, with PWD/OLDPWD naming it."""
    base = tmp_path_factory.mktemp("grading")
    instructor = base / "instructor"
    subs, solution_path = write_class(instructor)
    (base / "reports").mkdir()
    (base / "tmp").mkdir()
    before = tree_hashes(instructor)
    patch = pytest.MonkeyPatch()
    patch.chdir(instructor)
    patch.setenv("PWD", str(instructor))
    patch.setenv("OLDPWD", str(subs))
    patch.setattr(tempfile, "tempdir", str(base / "tmp"))  # the runs' temporary folders go here
    try:
        results = grading.grade(
            subs,
            "3",
            TIMEOUT_S,
            MEMORY_MB,
            base / "reports" / "grades.csv",
            base / "reports" / "grades.md",
            solution=solution_path,
            jobs=2,
            keep_output=KEEP_OUTPUT,
        )
    finally:
        patch.undo()
    return Graded(
        {r.student: r for r in results},
        instructor,
        base / "reports" / "grades.csv",
        base / "reports" / "grades.md",
        base / "tmp",
        before,
        tree_hashes(instructor),
    )


# (status, score, detail fragment, message fragment of a failed check or None)
EXPECTED = {
    "correct": ("ok", 2, "every cell ran", None),
    "wrong": ("ok", 1, "1 cell(s) raised an error", "you subtracted b from a"),
    "crash": ("crashed", 1, "the kernel died while running cell 4", "did not run (the kernel died first)"),
    "busy_loop": ("timeout", 1, f"time limit ({TIMEOUT_S} s)", "stopped at the time limit first"),
    "flood": ("ok", 2, "MB of output not kept", None),
    "hog": ("memory", 2, "MemoryError in cell 4", None),
    "hog_processes": ("memory", 1, f"(limit {MEMORY_MB} MB)", "stopped at the memory limit first"),
    "deleter": ("ok", 2, "every cell ran", None),
    "broken": ("error", 0, "broken.ipynb is not a readable notebook", "could not be run"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_student_gets_the_right_grade(graded: Graded, name: str) -> None:
    status, score, detail, message = EXPECTED[name]
    result = graded.results[name]
    assert (result.status, result.score) == (status, score), result
    assert detail in result.detail
    assert list(result.checks) == CHECKS
    if message is not None:
        failed = [outcome.message for outcome in result.checks.values() if not outcome.passed]
        assert any(message in text for text in failed), failed


def test_the_class_is_exactly_the_submissions(graded: Graded) -> None:
    assert sorted(graded.results) == sorted(EXPECTED)  # no checkpoint, no README, one row per student


def test_instructor_files_are_unchanged(graded: Graded) -> None:
    assert graded.after == graded.before
    assert (graded.instructor / "submissions" / "deleter.ipynb").is_file()
    # the deleter emptied its own folder, and found no notebook or report through what it was given
    assert "left in my folder: []\nremoved: []" in graded.results["deleter"].output_tail


def test_no_process_and_no_temporary_folder_is_left(graded: Graded) -> None:
    deadline = time.monotonic() + 5
    while leftover_processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert leftover_processes() == []
    assert list(graded.temp.iterdir()) == []


def test_memory_limits_show_in_the_numbers(graded: Graded) -> None:
    """The watchdog stopped the spread-out hog just above the limit; the big allocation never happened."""
    assert MEMORY_MB < graded.results["hog_processes"].peak_mb < 2 * MEMORY_MB
    assert graded.results["hog"].peak_mb < MEMORY_MB / 2
    assert graded.results["busy_loop"].seconds >= TIMEOUT_S


def test_flooding_keeps_only_a_bounded_tail(graded: Graded) -> None:
    flood = graded.results["flood"]
    assert len(flood.output_tail) <= KEEP_OUTPUT
    assert graded.md.stat().st_size < 100_000
    assert "PASS check_add" in graded.results["correct"].output_tail


def test_csv_is_well_formed(graded: Graded) -> None:
    with open(graded.csv, newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["student", "status", "score", *CHECKS, "seconds", "peak_mb"]
    assert [row[0] for row in rows[1:]] == sorted(EXPECTED)
    for student_id, status, score, add, mul, seconds, peak in rows[1:]:
        assert (status, int(score)) == EXPECTED[student_id][:2]
        assert {add, mul} <= {"pass", "fail"} and int(score) == [add, mul].count("pass")
        assert float(seconds) >= 0 and float(peak) >= 0


def test_markdown_summary(graded: Graded) -> None:
    text = graded.md.read_text(encoding="utf-8")
    assert text.startswith("# Grades: lesson 03\n")
    assert "9 students (4 ok, 1 timeout, 2 memory, 1 crashed, 1 error)" in text
    assert "| `check_add` | 7/9 | 78% |" in text  # all but wrong and broken
    assert "| `check_mul` | 5/9 | 56% |" in text  # correct, wrong, flood, hog, deleter
    for name in EXPECTED:
        assert f"\n### {name}: {EXPECTED[name][0]}, {EXPECTED[name][1]}/2\n" in text
    assert "- **FAIL** `check_add`: add(2, 3) gave -1: you subtracted b from a instead of adding." in text


def test_existing_reports_are_refused_before_any_run(graded: Graded, monkeypatch: pytest.MonkeyPatch) -> None:
    before = graded.csv.read_bytes()

    def must_not_run(*args: object) -> None:
        raise AssertionError("submissions were read although the report exists")

    monkeypatch.setattr(grading, "collect_submissions", must_not_run)
    with pytest.raises(FileExistsError, match="--overwrite"):
        grading.grade(
            graded.instructor / "submissions",
            "03",
            out_csv=graded.csv,
            solution=graded.instructor / "solutions" / "03_exercises.ipynb",
        )
    assert graded.csv.read_bytes() == before


# --- the pieces, without kernels -----------------------------------------------------------------


def test_expected_checks_come_from_the_solution(tmp_path: Path) -> None:
    path = tmp_path / "solution.ipynb"
    nbformat.write(solution(), path)
    assert grading.expected_checks(path) == CHECKS  # not check_versions, not prose
    assert grading.called_checks("x = (\nlesson.check_a(f)  # unbalanced") == ["check_a"]
    nbformat.write(notebook("print(1)"), path)
    with pytest.raises(grading.GradingError, match="no check_"):
        grading.expected_checks(path)


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


def test_lesson_numbers_and_the_log_variable() -> None:
    from deepdream_lib.course.checks import LOG_ENV

    assert grading.CHECKS_LOG_ENV == LOG_ENV
    assert grading.normalize_lesson("3") == grading.normalize_lesson(3) == "03"
    with pytest.raises(grading.GradingError):
        grading.normalize_lesson("three")


def test_checks_log_keeps_the_last_result_and_skips_junk(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text(
        '{"check": "check_a", "passed": false, "message": "no"}\nnot json\n{"check": 1}\n'
        '{"check": "check_a", "passed": true, "message": "yes"}\n'
    )
    assert grading.read_checks_log(log) == {"check_a": grading.CheckOutcome(True, "yes")}
    assert grading.read_checks_log(tmp_path / "missing") == {}


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
    assert (args.timeout, args.memory_mb, args.jobs, args.overwrite) == (600, 4096, 1, False)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="deepdream grade")
    grading.add_arguments(parser)
    return parser.parse_args(argv)


def test_command_line(graded: Graded, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(student(), subs / "alice.ipynb")
    solution_path = str(graded.instructor / "solutions" / "03_exercises.ipynb")
    out = tmp_path / "out" / "grades.csv"
    out.parent.mkdir()
    args = ["--lesson", "03", "--solution", solution_path, "--timeout", "60", "--memory-mb", "1024"]
    assert grading.run(parse(str(subs), *args, "-o", str(out))) == 0
    assert "graded 1 students" in capsys.readouterr().out
    assert out.read_text().splitlines()[1].startswith("alice,ok,2,pass,pass,")
    assert "### alice: ok, 2/2" in out.with_suffix(".md").read_text()
    assert sorted(p.name for p in out.parent.iterdir()) == ["grades.csv", "grades.md"]
    assert grading.run(parse(str(subs), *args, "-o", str(out))) == 2  # exists, no --overwrite
    assert "--overwrite" in capsys.readouterr().err
    assert grading.run(parse(str(subs), *args, "-o", str(tmp_path / "g.md"))) == 2
    assert grading.run(parse(str(tmp_path / "nope"), *args, "-o", str(tmp_path / "g.csv"))) == 2
    assert "not a folder" in capsys.readouterr().err


def test_grading_refuses_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(grading.GradingError, match="memory_mb"):
        grading.grade(tmp_path, "03", memory_mb=10)
    with pytest.raises(grading.GradingError, match="different files"):
        grading.grade(tmp_path, "03", out_csv=tmp_path / "a", out_md=tmp_path / "a")
    assert not os.listdir(tmp_path)
