"""Exercises: generated copies in sync, markers linted, and every check fails blank and passes solved.

How a solutions notebook is read (see CONTRIBUTING.md, "Exercises and checks"):
- the *preamble* is every code cell before the first exercise cell; the first of them is the
  ``# Setup`` cell. It runs once per notebook and gives the namespace the exercises run in;
- an *exercise cell* is a code cell with a ``# BEGIN SOLUTION`` marker; the next code cell is its
  *check cell*;
- for exercise k, the namespace also holds the solutions of exercises 1..k-1 (so an exercise may
  build on an earlier one); other code cells between exercises are not run here.
Then: the exercise as learners get it (from ``tools/make_exercises.py``) followed by its check cell must
raise ``CheckFailed``; the solution followed by the check cell must pass and print ``PASS``.
``tests/data/solutions/00_exercises.ipynb`` is a tiny made-up notebook ("double a number") whose checks
are defined below, so this machinery always runs something real even before lessons have exercises.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

from deepdream_lib.course.checks import CheckFailed, check, expect  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "data" / "solutions"
_spec = importlib.util.spec_from_file_location("make_exercises", ROOT / "tools" / "make_exercises.py")
make_exercises = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_exercises)


# ---- the fixture's checks (real lessons keep theirs in deepdream_lib/course/checks/lessonNN.py) ---
@check("double(x) returns 2 * x")
def check_double(double) -> None:
    for x in (0, 1, -3, 2.5):
        expect(double(x) == 2 * x, f"double({x}) returned {double(x)!r}; twice {x} is {2 * x!r}")


@check("quadruple(x) returns 4 * x and refuses infinities")
def check_quadruple(quadruple) -> None:
    expect(quadruple(3) == 12, f"quadruple(3) returned {quadruple(3)!r}, not 12")
    try:
        quadruple(float("inf"))
    except ValueError:
        return
    raise CheckFailed("quadruple(inf) should raise ValueError")


FIXTURE_NAMES = {"check_double": check_double, "check_quadruple": check_quadruple}


# ---- reading a solutions notebook ----------------------------------------------------------------------
def _run(source: str, namespace: dict, where: str) -> None:
    exec(compile(source, where, "exec"), namespace)  # noqa: S102 - running the course's own notebooks


@functools.cache
def _exercises(solution: Path) -> tuple[list[str], list[tuple[int, str, str, str]]]:
    """(preamble sources, [(cell number, solution source, blank source, check source)])."""
    cells = nbformat.read(solution, as_version=4).cells
    blank_cells = nbformat.reads(make_exercises.make_exercise(solution), as_version=4).cells[1:]  # no header
    code = [i for i, cell in enumerate(cells) if cell.cell_type == "code"]
    found = [i for i in code if make_exercises.has_solution(cells[i])]
    if not found:
        return [], []
    assert code and cells[code[0]].source.startswith("# Setup"), (
        f"{solution}: the first code cell must be the `# Setup` cell (CONTRIBUTING.md)"
    )
    preamble = [cells[i].source for i in code if i < found[0]]
    exercises = []
    for i in found:
        later = [j for j in code if j > i]
        assert later and not make_exercises.has_solution(cells[later[0]]), (
            f"{solution}, cell {i + 1}: an exercise cell must be followed by a code cell that calls its check"
        )
        exercises.append((i + 1, cells[i].source, blank_cells[i].source, cells[later[0]].source))
    return preamble, exercises


@functools.cache
def _preamble_namespace(solution: Path) -> dict:
    namespace = {"__name__": "__main__"}
    if solution.parent == FIXTURES:
        namespace.update(FIXTURE_NAMES)
    for number, source in enumerate(_exercises(solution)[0], start=1):
        _run(source, namespace, f"<{solution.name} preamble cell {number}>")
    return namespace


def _cases() -> list:
    cases = []
    for solution in sorted(FIXTURES.glob("*_exercises.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb")):
        label = f"{'data/solutions' if solution.parent == FIXTURES else 'solutions'}/{solution.stem}"
        try:
            count = len(_exercises(solution)[1])
        except Exception:  # a broken notebook fails its own test (which re-raises), not the collection
            cases.append(pytest.param(solution, 0, id=f"{label}-unreadable"))
            continue
        cases += [pytest.param(solution, i, id=f"{label}-exercise{i + 1}") for i in range(count)]
    if not list((ROOT / "solutions").glob("*.ipynb")):
        reason = "solutions/ has no notebooks yet (the fixture in tests/data/ still runs)"
        cases.append(pytest.param(None, None, id="solutions-empty", marks=pytest.mark.skip(reason=reason)))
    return cases


# ---- (a) generated copies in sync ------------------------------------------------------------------------
def test_exercises_in_sync_with_solutions():
    result = subprocess.run(
        [sys.executable, "tools/make_exercises.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_generator_output(tmp_path):
    assert make_exercises.main(["--solutions", str(FIXTURES), "--exercises", str(tmp_path)]) == 0
    text = (tmp_path / "00_exercises.ipynb").read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    assert "Generated from `solutions/00_exercises.ipynb` by `tools/make_exercises.py` — do not edit" in (
        nb.cells[0].source
    )
    assert len(nb.cells) == len(nbformat.read(FIXTURES / "00_exercises.ipynb", as_version=4).cells) + 1
    assert "return 2 * x" not in text and "SOLUTION" not in text and "**Answer:**" not in text
    assert '    raise NotImplementedError(\\"Exercise: write your answer here\\")' in text
    assert "blob/main/exercises/00_exercises.ipynb" in text and "blob/main/solutions/" not in text
    assert all(
        not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code"
    )
    # stable: a second run writes nothing and --check agrees
    assert make_exercises.main(["--solutions", str(FIXTURES), "--exercises", str(tmp_path), "--check"]) == 0
    assert (tmp_path / "00_exercises.ipynb").read_text(encoding="utf-8") == text
    # stale: --check says so, names the file and writes nothing
    (tmp_path / "00_exercises.ipynb").write_text(text.replace("twice", "thrice"), encoding="utf-8")
    assert make_exercises.main(["--solutions", str(FIXTURES), "--exercises", str(tmp_path), "--check"]) == 1
    assert "thrice" in (tmp_path / "00_exercises.ipynb").read_text(encoding="utf-8")


# ---- (b) the marker linter -------------------------------------------------------------------------------
BAD_CELLS = {
    "unclosed": ("code", "def f():\n    # BEGIN SOLUTION\n    return 1\n", "never closed"),
    "nested": ("code", "# BEGIN SOLUTION\n# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n# END SOLUTION", "nested"),
    "end-without-begin": ("code", "x = 1\n# END SOLUTION", "without a BEGIN"),
    "misspelt": ("code", "def f():\n    # BEGIN SOLUTION:\n    return 1\n    # END SOLUTION", "unrecognised"),
    "markdown-unclosed": ("markdown", "Hint\n<!-- BEGIN SOLUTION -->\nthe answer", "never closed"),
}


@pytest.mark.parametrize("kind", sorted(BAD_CELLS))
def test_linter_refuses_bad_markers(kind, tmp_path, capsys):
    cell_type, source, complaint = BAD_CELLS[kind]
    new_cell = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("# Setup\nimport math"), new_cell(source)])
    (tmp_path / "solutions").mkdir()
    nbformat.write(nb, tmp_path / "solutions" / "01_exercises.ipynb")
    args = ["--solutions", str(tmp_path / "solutions"), "--exercises", str(tmp_path / "exercises")]
    assert make_exercises.main(args) == 2
    message = capsys.readouterr().err
    assert "01_exercises.ipynb, cell 2" in message and complaint in message, message
    assert not (tmp_path / "exercises").exists(), "nothing may be written when a marker is wrong"


# ---- (c) every check fails on the blank exercise and passes on the solution ------------------------------
@pytest.mark.parametrize(("solution", "index"), _cases())
def test_check_fails_blank_and_passes_solved(solution, index, capsys):
    preamble, exercises = _exercises(solution)
    number, solved, blank, check_cell = exercises[index]
    where = f"{solution.name} cell {number}"
    namespace = dict(_preamble_namespace(solution))
    for _, earlier, _, _ in exercises[:index]:  # earlier exercises, solved
        _run(earlier, namespace, f"<{solution.name} earlier exercise>")

    _run(blank, namespace, f"<{where}, blank>")
    with pytest.raises(CheckFailed):
        _run(check_cell, namespace, f"<{where}, check on the blank exercise>")

    _run(solved, namespace, f"<{where}, solution>")
    capsys.readouterr()
    _run(check_cell, namespace, f"<{where}, check on the solution>")
    assert "PASS" in capsys.readouterr().out, f"{where}: the check passed silently; checks print a PASS line"
