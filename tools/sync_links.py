"""Write the course's public addresses from the one place that names them: ``[tool.deepdream-course]``
in pyproject.toml (the GitHub repository, the git ref that Colab installs, the book's address).

    .venv/bin/python tools/sync_links.py           # rewrite what differs
    .venv/bin/python tools/sync_links.py --check   # list what differs and exit 1 (tests run this)

Generated from it: every notebook's "Open in Colab" badges and its setup cell's install line (the
library at the pinned ref, so a learner's saved notebook keeps working when ``main`` moves on), README's
badge and book address, ``book/_config.yml``'s repository and base URL, CONTRIBUTING's setup cell and the
instructor guide's install command. A release moves the ref: change ``colab-ref`` (and ``version``),
run this, commit; the ``release`` workflow then creates the tag.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import tomllib

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_FOLDERS = ("notebooks", "solutions", "exercises", "research")
COLAB = re.compile(r"https://colab\.research\.google\.com/github/[^/\s]+/[^/\s]+/blob/[^/\s]+/")
GIT_SOURCE = re.compile(r"git\+https://github\.com/[\w.-]+/[\w.-]+(?:@[\w./-]+)?")
PAGES = re.compile(r"https://[\w-]+\.github\.io/[\w.-]+/")


@dataclass(frozen=True)
class Project:
    """The public addresses, as pyproject.toml's ``[tool.deepdream-course]`` names them."""

    repository: str  # owner/name on GitHub
    colab_ref: str  # the tag or commit that Colab notebooks install and open
    pages: str  # where the Pages workflow publishes the book

    @property
    def colab_prefix(self) -> str:
        return f"https://colab.research.google.com/github/{self.repository}/blob/{self.colab_ref}/"

    @property
    def git_source(self) -> str:
        return f"git+https://github.com/{self.repository}@{self.colab_ref}"

    @property
    def github(self) -> str:
        return f"https://github.com/{self.repository}"

    def setup_block(self) -> list[str]:
        """The setup cell's Colab branch: install the library at the pinned ref."""
        return [
            "if IS_COLAB:  # the library at the version this notebook was written for",
            f'    LIBRARY = "{self.git_source}"',
            '    subprocess.run([sys.executable, "-m", "pip", "install", "-q", LIBRARY], check=True)',
        ]


def load_project(root: Path = ROOT) -> Project:
    """The addresses from pyproject.toml, with a clear error when the table is incomplete."""
    table = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["deepdream-course"]
    project = Project(table["repository"], table["colab-ref"], table["pages"])
    if project.colab_ref in {"main", "master", "HEAD"}:
        raise SystemExit(f"colab-ref must be a tag or a commit, not the moving branch {project.colab_ref!r}")
    return project


def sync_setup_cell(source: str, project: Project) -> str:
    """The cell with its ``if IS_COLAB:`` block (and the lines indented under it) made canonical."""
    lines = source.split("\n")
    start = next((i for i, line in enumerate(lines) if line.startswith("if IS_COLAB:")), None)
    if start is None:
        return source
    end = start + 1
    while end < len(lines) and lines[end].startswith((" ", "\t")):
        end += 1
    return "\n".join(lines[:start] + project.setup_block() + lines[end:])


def sync_notebook(nb: nbformat.NotebookNode, project: Project) -> nbformat.NotebookNode:
    """Badges and Colab links point at the pinned ref, book links at the book; the first code cell
    installs the library."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = PAGES.sub(project.pages, COLAB.sub(project.colab_prefix, cell.source))
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    if code:
        code[0].source = sync_setup_cell(code[0].source, project)
    return nb


def _text_rules(project: Project) -> dict[str, Callable[[str], str]]:
    """Per file, how its addresses are written."""
    def config(text: str) -> str:
        text = re.sub(r"(?m)^(\s*baseurl:\s*).*$", lambda m: m.group(1) + project.pages, text)
        text = re.sub(r"(?m)^(\s*url:\s*)https://github\.com/\S+$", lambda m: m.group(1) + project.github,
                      text)
        return re.sub(r"(?m)^(\s*branch:\s*)\S+(.*)$", lambda m: m.group(1) + project.colab_ref + m.group(2),
                      text)

    def links(text: str) -> str:
        text = COLAB.sub(project.colab_prefix, text)
        text = GIT_SOURCE.sub(project.git_source, text)
        return PAGES.sub(project.pages, text)

    def contributing(text: str) -> str:
        block = "\n".join("   " + line for line in project.setup_block())
        text = re.sub(r"(?m)^   if IS_COLAB:.*\n(?:^       .*\n)+", block + "\n", text)
        return links(text)

    return {
        "book/_config.yml": config,
        "README.md": links,
        "CONTRIBUTING.md": contributing,
        "book/instructor_guide.md": links,
    }


def changes(root: Path = ROOT) -> dict[Path, str]:
    """Every file whose generated addresses differ: path -> its new text."""
    project = load_project(root)
    new: dict[Path, str] = {}
    for folder in NOTEBOOK_FOLDERS:
        for path in sorted((root / folder).glob("*.ipynb")):
            before = path.read_text(encoding="utf-8")
            nb = sync_notebook(nbformat.reads(before, as_version=4), project)
            after = nbformat.writes(nb) + "\n"
            if nbformat.reads(after, as_version=4) != nbformat.reads(before, as_version=4):
                new[path] = after
    for name, rule in _text_rules(project).items():
        path = root / name
        before = path.read_text(encoding="utf-8")
        after = rule(before)
        if after != before:
            new[path] = after
    return new


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="list what differs; change nothing")
    args = parser.parse_args(argv)
    found = changes()
    for path, text in found.items():
        print(f"{'differs' if args.check else 'wrote'}: {path.relative_to(ROOT)}")
        if not args.check:
            path.write_text(text, encoding="utf-8")
    if args.check and found:
        print("run: .venv/bin/python tools/sync_links.py")
        return 1
    print("links in sync with pyproject.toml [tool.deepdream-course]" if not found else "")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
