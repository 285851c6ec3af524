"""Real documentation folders (bench/corpora.py): discovery keeps exactly each one's documents.

The corpora come from Debian packages that `make test` installs (python3-doc, postgresql-doc-15,
python3-pip); a test is skipped, saying which package, only when its folder is missing.

The Python docs' contents.html, a page of links, is neither required nor refused here: the HTML
loader refuses it at load time (NotADocument), so discovery may keep it (Sphinx's genindex*.html,
py-modindex.html and search.html discovery skips). MkDocs' 404.html is treated the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import corpora  # noqa: E402  (bench/corpora.py)


def _made(factory, folder: Path) -> Path:
    try:
        return factory(folder)
    except corpora.MissingSource as exc:
        pytest.skip(str(exc))


def _installed(folder: Path) -> Path:
    return _made(corpora.require, folder)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Each corpus made once for the module, by name: (folder, expected documents, tolerated files)."""
    root = tmp_path_factory.mktemp("corpora")
    built: dict[str, tuple[Path, set[str], set[str]]] = {}

    def corpus(name: str):
        if name not in built:
            built[name] = CORPORA[name](root)
        return built[name]

    return corpus


def _python_docs(_root: Path):
    site = _installed(corpora.PYTHON_DOCS)
    return site, corpora.pydocs_pages(site), corpora.pydocs_link_pages(site)


def _python_docs_site(root: Path):
    site = _made(corpora.pydocs_site, root / "pydocs-site")
    return site, corpora.pydocs_pages(site), corpora.pydocs_link_pages(site)


def _postgres_docs(_root: Path):
    site = _installed(corpora.POSTGRES_DOCS)
    return site, corpora.postgres_pages(site), set()


def _mkdocs_site(root: Path):
    site = _made(corpora.mkdocs_site, root / "mkdocs-site")
    return site, corpora.mkdocs_pages(site), {"404.html"}


def _clone(root: Path):
    folder = _made(corpora.clone, root / "clone")
    return folder, corpora.clone_documents(folder), set()


CORPORA = {"python-docs": _python_docs, "python-docs-site": _python_docs_site, "postgres-docs": _postgres_docs,
           "mkdocs-site": _mkdocs_site, "clone": _clone}


def _discovered(folder: Path) -> set[str]:
    from index.discovery import discover

    return {path.relative_to(folder).as_posix() for path, _ in discover([folder]).files}


@pytest.mark.parametrize("name", CORPORA)
def test_every_document_is_discovered(made, name):
    folder, documents, _ = made(name)
    assert documents, f"{name}: no documents expected: the corpus was not made"
    assert sorted(documents - _discovered(folder)) == []


@pytest.mark.parametrize("name", CORPORA)
def test_nothing_but_documents_is_discovered(made, name):
    folder, documents, tolerated = made(name)
    assert sorted(_discovered(folder) - documents - tolerated) == []


def test_the_python_docs_site_chrome_is_not_discovered(made):
    """The files the site subset keeps around the tutorial: none of them is a document."""
    folder, _, _ = made("python-docs-site")
    discovered = _discovered(folder)
    chrome = [rel for rel in discovered
              if rel.startswith(("_static/", "_sources/")) or rel in ("searchindex.js", "objects.inv")]
    assert chrome == []


def test_the_python_docs_tutorial_pages_are_documents():
    """The expected set itself, on the installed site: its 17 tutorial pages are documents."""
    site = _installed(corpora.PYTHON_DOCS)
    tutorial = {p for p in corpora.pydocs_pages(site) if p.startswith("tutorial/")}
    assert len(tutorial) == 17


def test_the_python_docs_link_pages_are_not_documents():
    site = _installed(corpora.PYTHON_DOCS)
    assert sorted(corpora.pydocs_pages(site) & corpora.pydocs_link_pages(site)) == []
