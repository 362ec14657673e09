"""Every notebook opens in Colab: a badge that links to its own path, and the shared setup cell.

For each notebook in ``notebooks/``, ``solutions/`` and ``exercises/``:

- a markdown cell holds an "Open in Colab" badge (the ``colab-badge.svg`` image, linked) whose URL is
  the notebook at the pinned ref (``https://colab.research.google.com/github/OWNER/NAME/blob/REF/<its
  path>``), and every Colab link in the notebook points to a file that exists in the repository;
- its first code cell starts with ``# Setup``, sets ``IS_COLAB = "google.colab" in sys.modules``, and
  pip-installs the library at the pinned ref (``git+https://github.com/OWNER/NAME@REF``) only under
  ``if IS_COLAB:`` (see CONTRIBUTING.md for the whole cell).

OWNER/NAME and REF come from one place, pyproject.toml's ``[tool.deepdream-course]``; tools/sync_links.py
writes them, and a test here fails when any file differs from what it would write.

The checkers are also tested on tiny notebooks built here, so this file asserts something real even
before any notebook exists.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import sync_links  # noqa: E402  (the addresses' one place: pyproject.toml [tool.deepdream-course])

FOLDERS = sync_links.NOTEBOOK_FOLDERS
PROJECT = sync_links.load_project()
COLAB_PREFIX = PROJECT.colab_prefix
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
PIP_SOURCE = PROJECT.git_source
COLAB_LINK = re.compile(re.escape(COLAB_PREFIX) + r"([^\s)\"'<>#?]+)")
BADGES = (  # the URL that a badge image links to: Markdown or HTML
    re.compile(r"\[!\[[^\]]*\]\(" + re.escape(BADGE_IMAGE) + r"\)\]\(([^)\s]+)\)"),
    re.compile(r"<a\s[^>]*href=\"([^\"]+)\"[^>]*>\s*<img\s[^>]*src=\"" + re.escape(BADGE_IMAGE) + '"'),
)
IS_COLAB = ast.dump(ast.parse('IS_COLAB = "google.colab" in sys.modules').body[0])


def colab_url(repo_path: str) -> str:
    """The Colab address of a notebook at ``repo_path`` (relative to the repository root)."""
    return COLAB_PREFIX + repo_path


def _markdown(nb: nbformat.NotebookNode) -> str:
    return "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")


def badge_problems(nb: nbformat.NotebookNode, repo_path: str, root: Path = ROOT) -> list[str]:
    """What is wrong with the notebook's Colab badge and links (empty: nothing)."""
    text = _markdown(nb)
    badges = [url for pattern in BADGES for url in pattern.findall(text)]
    problems = []
    if colab_url(repo_path) not in badges:
        found = ", ".join(badges) or "none"
        problems.append(f"no Open in Colab badge linking to {colab_url(repo_path)} (badges: {found})")
    for target in COLAB_LINK.findall(text):
        if not (root / target).is_file():
            problems.append(f"a Colab link points to {target}, which is not in the repository")
    return problems


def _python(source: str) -> ast.Module | None:
    """The cell as Python (IPython magics such as ``%pip`` turned into calls), or None."""
    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return None


def _inside_colab_branch(tree: ast.Module) -> set[int]:
    """ids of every node that runs only when ``IS_COLAB`` is true."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "IS_COLAB":
            inside |= {id(child) for statement in node.body for child in ast.walk(statement)}
    return inside


def _installs(tree: ast.Module) -> tuple[list[ast.AST], list[ast.AST]]:
    """String constants naming the library's git source: (only on Colab, everywhere)."""
    inside = _inside_colab_branch(tree)
    nodes = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and PIP_SOURCE in node.value
    ]
    return [n for n in nodes if id(n) in inside], [n for n in nodes if id(n) not in inside]


def _colab_branch_source(tree: ast.Module) -> str:
    parts = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "IS_COLAB":
            parts += [ast.unparse(statement) for statement in node.body]
    return "\n".join(parts)


def setup_problems(nb: nbformat.NotebookNode) -> list[str]:
    """What is wrong with the notebook's first code cell (empty: nothing)."""
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    if not code:
        return ["no code cell, so no setup cell"]
    source = code[0].source
    problems = [] if source.startswith("# Setup") else ["the first code cell does not start with '# Setup'"]
    tree = _python(source)
    if tree is None:
        return problems + ["the first code cell is not valid Python"]
    if not any(ast.dump(statement) == IS_COLAB for statement in tree.body):
        problems.append('no top-level `IS_COLAB = "google.colab" in sys.modules`')
    on_colab, always = _installs(tree)
    branch = _colab_branch_source(tree)
    if not on_colab or "pip" not in branch or "install" not in branch:
        problems.append(f"no pip install of {PIP_SOURCE} under `if IS_COLAB:`")
    if always:
        problems.append(f"{PIP_SOURCE} is installed outside `if IS_COLAB:` (it would run everywhere)")
    return problems


def course_notebooks() -> list[Path]:
    """Every notebook of the course (checkpoints excluded)."""
    paths = [p for folder in FOLDERS for p in sorted((ROOT / folder).glob("*.ipynb"))]
    return [p for p in paths if ".ipynb_checkpoints" not in p.parts]


NO_NOTEBOOKS = pytest.param(
    None, marks=pytest.mark.skip(reason="no notebooks in notebooks/, solutions/ or exercises/ yet")
)
PARAMS = [pytest.param(p, id=str(p.relative_to(ROOT))) for p in course_notebooks()] or [NO_NOTEBOOKS]


@pytest.mark.parametrize("path", PARAMS)
def test_notebook_has_its_own_colab_badge(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert badge_problems(nb, path.relative_to(ROOT).as_posix()) == []


@pytest.mark.parametrize("path", PARAMS)
def test_notebook_starts_with_the_setup_cell(path: Path) -> None:
    assert setup_problems(nbformat.read(path, as_version=4)) == []


# --- the checkers themselves, on tiny notebooks --------------------------------------------------

GOOD_SETUP = f"""# Setup: on Colab, install the course library; everywhere, check versions
import subprocess
import sys

IS_COLAB = "google.colab" in sys.modules
if IS_COLAB:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "{PIP_SOURCE}"], check=True)

import deepdream_lib as dd

print(dd.check_versions())
"""
BADGE = f"[![Open In Colab]({BADGE_IMAGE})]({colab_url('notebooks/01_x.ipynb')})"


def tiny(setup: str = GOOD_SETUP, title: str = f"# A lesson\n\n{BADGE}") -> nbformat.NotebookNode:
    return new_notebook(cells=[new_markdown_cell(title), new_code_cell(setup), new_code_cell("x = 1")])


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with one lesson and one exercise notebook, for the links to point at."""
    for path in ("notebooks/01_x.ipynb", "exercises/01_exercises.ipynb"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("{}")
    return tmp_path


def test_a_good_notebook_passes(repo: Path) -> None:
    extra = (
        f'\n\nExercises: <a href="{colab_url("exercises/01_exercises.ipynb")}"><img src="{BADGE_IMAGE}"/></a>'
    )
    nb = tiny(title=f"# A lesson\n\n{BADGE}{extra}")
    assert badge_problems(nb, "notebooks/01_x.ipynb", repo) == []
    assert setup_problems(nb) == []
    magic = "\n".join(
        ["# Setup", "import sys", 'IS_COLAB = "google.colab" in sys.modules', "if IS_COLAB:"]
        + [f"    %pip install {PIP_SOURCE}"]
    )
    assert setup_problems(tiny(magic)) == []  # the %pip form is fine too


def test_badge_problems_are_found(repo: Path) -> None:
    assert (
        "no Open in Colab badge" in badge_problems(tiny(title="# No badge"), "notebooks/01_x.ipynb", repo)[0]
    )
    # copied from another notebook: the badge points to the solutions, not to this exercise notebook
    problems = badge_problems(tiny(), "exercises/01_exercises.ipynb", repo)
    assert problems and "exercises/01_exercises.ipynb" in problems[0]
    # a plain link is not a badge; a link to a notebook that does not exist is reported
    plain = f"[open]({colab_url('notebooks/01_x.ipynb')}) and {colab_url('notebooks/99_gone.ipynb')}"
    problems = badge_problems(tiny(title=plain), "notebooks/01_x.ipynb", repo)
    assert len(problems) == 2 and "99_gone.ipynb, which is not in the repository" in problems[1]


def test_setup_problems_are_found() -> None:
    assert setup_problems(tiny(GOOD_SETUP.replace("# Setup", "# Imports"))) == [
        "the first code cell does not start with '# Setup'"
    ]
    no_flag = GOOD_SETUP.replace(
        'IS_COLAB = "google.colab" in sys.modules', 'IS_COLAB = "COLAB" in os.environ'
    )
    assert setup_problems(tiny(no_flag)) == ['no top-level `IS_COLAB = "google.colab" in sys.modules`']
    always = GOOD_SETUP.replace("if IS_COLAB:\n    subprocess", "if True:\n    subprocess")
    assert setup_problems(tiny(always)) == [
        f"no pip install of {PIP_SOURCE} under `if IS_COLAB:`",
        f"{PIP_SOURCE} is installed outside `if IS_COLAB:` (it would run everywhere)",
    ]
    assert setup_problems(tiny("# Setup\nimport sys\n\nx = (")) == ["the first code cell is not valid Python"]
    assert setup_problems(new_notebook(cells=[new_markdown_cell("text only")])) == [
        "no code cell, so no setup cell"
    ]


# --- one place for the addresses ------------------------------------------------------------------


def test_every_address_is_generated_from_one_place() -> None:
    differs = sorted(str(path.relative_to(ROOT)) for path in sync_links.changes())
    assert differs == [], f"run tools/sync_links.py: these differ from pyproject.toml: {differs}"


def test_the_pin_is_a_release_not_the_moving_branch() -> None:
    version = sync_links.tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert PROJECT.colab_ref == f"v{version}" or re.fullmatch(r"[0-9a-f]{40}", PROJECT.colab_ref)


def test_sync_rewrites_an_old_setup_cell_and_badge() -> None:
    old_setup = GOOD_SETUP.replace(f'"{PIP_SOURCE}"', '"git+https://github.com/someone/else"')
    old_badge = "[![Open In Colab](x)](https://colab.research.google.com/github/a/b/blob/main/notebooks/01_x.ipynb)"
    old_book = "[the page](https://someone.github.io/old-book/dream_in_browser.html)"
    nb = sync_links.sync_notebook(tiny(old_setup, f"# A lesson\n\n{old_badge}\n{old_book}"), PROJECT)
    assert f"({PROJECT.pages}dream_in_browser.html)" in nb.cells[0].source, nb.cells[0].source
    assert f'LIBRARY = "{PIP_SOURCE}"' in nb.cells[1].source and "someone" not in nb.cells[1].source
    assert colab_url("notebooks/01_x.ipynb") in nb.cells[0].source
    assert setup_problems(nb) == []
