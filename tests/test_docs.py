"""Documentation stays true: code citations resolve in docs/physics.md, links resolve, the README stays short."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CITING_FOLDERS = ("lattice_models", "denoisers", "suites", "examples", "tests")
README_MAX_LINES = 150

#: ``docs/physics.md, section N`` with an optional quoted subsection title; a citation may wrap over a line
#: break, also inside a ``#`` comment.
CITATION = re.compile(r'docs/physics\.md,\s+(?:#\s*)?section\s+(\d+)(?:,\s+(?:#\s*)?"([^"]+)")?')
#: older spellings that must not come back
STALE_CITATION = re.compile(r"physics reference|(?<!docs/)physics\.md section", re.I)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def physics_sections(text: str) -> dict[int, list[str]]:
    """Section number -> the subsection headings (``###`` and deeper) under its ``## N.`` heading."""
    sections: dict[int, list[str]] = {}
    current = None
    for line in text.splitlines():
        top = re.match(r"## (\d+)\.\s", line)
        if top:
            current = int(top.group(1))
            sections[current] = []
        elif line.startswith("## "):
            current = None
        elif current is not None and re.match(r"#{3,6} ", line):
            sections[current].append(line.lstrip("#").strip())
    return sections


def citation_errors(source: str, sections: dict[int, list[str]], where: str = "") -> list[str]:
    """Every citation in ``source`` that does not resolve, as a readable message."""
    errors = []
    for m in CITATION.finditer(source):
        number, title = int(m.group(1)), m.group(2)
        line = source.count("\n", 0, m.start()) + 1
        if number not in sections:
            errors.append(f"{where}:{line}: section {number} is not a '## {number}.' heading of docs/physics.md")
        elif title is not None and title not in sections[number]:
            errors.append(f"{where}:{line}: section {number} has no subsection titled {title!r}")
    for m in STALE_CITATION.finditer(source):
        line = source.count("\n", 0, m.start()) + 1
        errors.append(f"{where}:{line}: old citation {m.group(0)!r}; cite 'docs/physics.md, section N'")
    return errors


def python_files():
    return sorted(p for folder in CITING_FOLDERS for p in (ROOT / folder).rglob("*.py") if p != Path(__file__).resolve())


@pytest.fixture(scope="module")
def sections():
    return physics_sections((ROOT / "docs" / "physics.md").read_text())


def test_physics_md_has_numbered_sections(sections):
    assert sorted(sections) == list(range(1, len(sections) + 1)) and len(sections) >= 6


def test_every_code_citation_resolves_in_physics_md(sections):
    errors, n = [], 0
    for path in python_files():
        text = path.read_text()
        n += len(CITATION.findall(text))
        errors += citation_errors(text, sections, str(path.relative_to(ROOT)))
    assert not errors, "\n".join(errors)
    assert n >= 20  # the code does cite the reference (a regex that matches nothing would pass vacuously)


def test_checker_catches_bad_citations(sections):
    good = 'see docs/physics.md, section 2, "Posterior of noisy Ising data" and docs/physics.md,\n    # section 3'
    assert citation_errors(good, sections) == []
    assert len(citation_errors("(docs/physics.md, section 99)", sections)) == 1
    bad_title = 'docs/physics.md, section 3, "Posterior of noisy Ising data"'  # a section 2 subsection
    assert "no subsection titled" in citation_errors(bad_title, sections)[0]
    assert "old citation" in citation_errors("(physics reference, section 2)", sections)[0]


def test_readme_is_short():
    n = len((ROOT / "README.md").read_text().splitlines())
    assert n <= README_MAX_LINES, f"README.md has {n} lines (at most {README_MAX_LINES})"


def markdown_files():
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    out = []
    for target in LINK.findall(path.read_text()):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL or an anchor in the same file
        file = target.split("#", 1)[0]
        if not (path.parent / file).exists():
            out.append(f"{path.relative_to(root)}: {target}")
    return out


def test_relative_links_point_to_existing_files():
    errors = [e for path in markdown_files() for e in broken_links(path)]
    assert not errors, "\n".join(errors)


def test_link_checker_catches_a_missing_file(tmp_path):
    (tmp_path / "a.md").write_text("[ok](a.md) [web](https://x.org) [anchor](#top) [gone](docs/none.md#s)")
    assert broken_links(tmp_path / "a.md", tmp_path) == ["a.md: docs/none.md#s"]


#: a repository path written in the docs, e.g. `denoisers/harness/budget.py` (globs and placeholders excluded)
REPO_PATH = re.compile(r"`((?:lattice_models|denoisers|suites|tests|examples|docs)/[\w/.-]*\w)`")


def test_paths_named_in_the_docs_exist():
    """File and folder names in README.md and docs/ (in backticks) name files that exist: the docs follow moves."""
    missing = [f"{path.relative_to(ROOT)}: {name}" for path in markdown_files()
               for name in REPO_PATH.findall(path.read_text()) if not (ROOT / name).exists()]
    assert not missing, "\n".join(missing)


def test_leaderboard_md_documents_every_column():
    """Every column header of the built-in tasks' tables appears, as rendered, in docs/leaderboard.md (toric-gaussian's
    are toric-bitflip's with lambda for p)."""
    from phasebench.suites.leaderboard import _cell
    from phasebench.suites.tasks import TASKS, get_task

    text = (ROOT / "docs" / "leaderboard.md").read_text()
    missing = []
    for name in TASKS.names():
        header, _ = get_task(name).leaderboard_rows({})
        missing += [f"{name}: {h}" for h in header if name != "toric-gaussian" and _cell(h) not in text]
    assert not missing, "\n".join(missing)
