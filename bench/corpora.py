"""Development corpora for issue 24 (real document folders), made from documentation installed
on this machine, none of it written here:

    .venv/bin/python bench/corpora.py DIR            # every corpus, each in DIR/<name>
    .venv/bin/python bench/corpora.py DIR pydocs-site mkdocs-site clone

- `pydocs-site`: a part of Debian's python3-doc Sphinx site with the site's own chrome around
  it. The whole site (PYTHON_DOCS) is 1,065 files, 67 MB, 530 pages: ~30k chunks, too many to
  embed in a bench run (~27 chunks/s). Kept: the 44 root files (10.5 MB: searchindex.js 3.6 MB,
  contents.html 2.5 MB, genindex*.html, search.html, objects.inv, ...), `_static/` (26 files,
  606 kB with jquery.js and underscore.js followed out of Debian's symlinks), `_sources/tutorial/`
  (17 .rst.txt, 260 kB) and `tutorial/` (17 pages, 921 kB): 104 files, 12.3 MB.
- `mkdocs-site`: a MkDocs site (Material theme) built from pip's own Markdown user guide
  ("topics", 13 pages, Debian's python3-pip), with a print-all page: mkdocs-print-site-plugin
  is not installed, so `print_page.md` is the chapters joined in order, as that plugin does.
- `clone`: a folder as a cloned repository holds it: README.md, docs/ (pip's Markdown topics),
  src/ (filelock's sources), and what a repository's tools leave around them: node_modules/
  (gradio's vendored npm packages), .venv/ (a site-packages), build/lib (a copy of src),
  dist/ (minified bundles), __pycache__/ (compiled .pyc), lock files (gradio's real
  package-lock.json; a poetry.lock and uv.lock listing installed distributions).

PostgreSQL's DocBook site (POSTGRES_DOCS, 1,173 files) and the whole Python site are used where
Debian installs them. Each corpus's documents (what discovery should keep) are given by
`expected_documents`; the tests and bench/real_folders.py check against them.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

PYTHON_DOCS = Path("/usr/share/doc/python3.11/html")
POSTGRES_DOCS = Path("/usr/share/doc/postgresql-doc-15/html")
PIP_TOPICS = Path("/usr/share/doc/python3-pip/html/topics")
JAVASCRIPT = Path("/usr/share/javascript")  # Debian's jquery and underscore
# The Debian packages the corpora come from (the Makefile installs them when missing).
APT_PACKAGES = {PYTHON_DOCS: "python3-doc", POSTGRES_DOCS: "postgresql-doc-15", PIP_TOPICS: "python3-pip",
                JAVASCRIPT: "libjs-jquery"}
PYDOCS_PARTS = ("_static", "_sources/tutorial", "tutorial")


class MissingSource(RuntimeError):
    """Documentation a corpus is made from is not installed."""


def require(folder: Path) -> Path:
    if not folder.is_dir():
        raise MissingSource(f"{folder} is missing: apt-get install {APT_PACKAGES.get(folder, '')}".rstrip())
    return folder


# -- the Python docs ---------------------------------------------------------------------------
def pydocs_site(out: Path) -> Path:
    """The site subset: root files, _static/, _sources/tutorial/, tutorial/ (symlinks followed)."""
    source = require(PYTHON_DOCS)
    out.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if path.is_file():
            shutil.copyfile(path, out / path.name)
    for part in PYDOCS_PARTS:
        shutil.copytree(source / part, out / part, dirs_exist_ok=True)
    return out


def pydocs_pages(site: Path) -> set[str]:
    """The content pages of a Python docs site (full or subset), relative paths: every .html
    outside _static/_sources/_images/_downloads, less the generated pages of links (the indexes
    genindex*.html and py-modindex.html, the whole-site table of contents contents.html,
    search.html), which hold no prose to answer from."""
    return {rel for rel in _relative_files(site, "*.html")
            if not rel.startswith("_") and Path(rel).name not in PYDOCS_LINK_PAGES
            and not Path(rel).name.startswith("genindex")}


PYDOCS_LINK_PAGES = {"search.html", "py-modindex.html", "contents.html"}


def pydocs_link_pages(site: Path) -> set[str]:
    """The generated pages of links: discovery may keep them (the HTML loader refuses them as
    NotADocument at load time), so the tests neither require nor forbid them."""
    return {rel for rel in _relative_files(site, "*.html")
            if "/" not in rel and (rel in PYDOCS_LINK_PAGES or rel.startswith("genindex"))}


# -- PostgreSQL ----------------------------------------------------------------------------------
def postgres_pages(site: Path) -> set[str]:
    """DocBook's chunked HTML: every .html is a page (there is no search index or _sources); the
    stylesheet and the SVG figures are not documents."""
    return _relative_files(require(site), "*.html")


# -- MkDocs --------------------------------------------------------------------------------------
MKDOCS_YML = """\
site_name: pip topics
theme:
  name: material
nav:
{nav}
"""


def mkdocs_site(out: Path) -> Path:
    """pip's Markdown topics built by MkDocs with the Material theme into out/site (sources in
    out/src). Returns the built site."""
    docs = out / "src" / "docs"
    chapters = [(name, text) for name, text in pip_topics(docs) if name != "index.md"]
    (docs / "print_page.md").write_text("\n\n".join(text for _, text in chapters), encoding="utf-8")
    nav = ["  - index.md", *(f"  - {name}" for name, _ in chapters), "  - Print all: print_page.md"]
    (out / "src" / "mkdocs.yml").write_text(MKDOCS_YML.format(nav="\n".join(nav)), encoding="utf-8")
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--quiet", "--clean", "-f",
                    str(out / "src" / "mkdocs.yml"), "-d", str(out / "site")], check=True,
                   env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})  # Material's end-of-life notice
    return out / "site"


def pip_topics(docs: Path) -> list[tuple[str, str]]:
    """pip's Markdown topics written to `docs` (Debian gzips the longer ones): (name, text) each."""
    written = []
    docs.mkdir(parents=True, exist_ok=True)
    for path in sorted(require(PIP_TOPICS).iterdir()):
        if path.name.endswith(".md.gz"):
            text = gzip.decompress(path.read_bytes()).decode("utf-8")
        elif path.suffix == ".md":
            text = path.read_text(encoding="utf-8")
        else:
            continue
        name = path.name.removesuffix(".gz")
        (docs / name).write_text(text, encoding="utf-8")
        written.append((name, text))
    return written


def mkdocs_pages(site: Path) -> set[str]:
    """A MkDocs build's pages: each chapter's index.html (and the print-all page, a document
    repeating the others), not 404.html, search/search_index.json, assets/, sitemap.xml(.gz)."""
    return {rel for rel in _relative_files(site, "*.html") if not rel.startswith("assets/") and rel != "404.html"}


# -- a cloned repository ---------------------------------------------------------------------------
def clone(out: Path) -> Path:
    """A repository as cloned and worked in: its documents and sources, and its tools' leftovers."""
    out.mkdir(parents=True, exist_ok=True)
    pip_topics(out / "docs")
    (out / "README.md").write_text((out / "docs" / "index.md").read_text(encoding="utf-8"), encoding="utf-8")
    filelock = _package_folder("filelock")
    shutil.copytree(filelock, out / "src" / "filelock", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.typed"))
    shutil.copytree(filelock, out / "build" / "lib" / "filelock", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    _compile(out / "src" / "filelock")
    site_packages = out / ".venv" / "lib" / "python3.11" / "site-packages"
    shutil.copytree(_package_folder("cachetools"), site_packages / "cachetools", dirs_exist_ok=True)
    node = _gradio_node_build()
    shutil.copytree(node / "node_modules", out / "node_modules", dirs_exist_ok=True)
    shutil.copyfile(node / "package-lock.json", out / "package-lock.json")
    (out / "dist").mkdir(exist_ok=True)
    for library in ("jquery/jquery.min.js", "underscore/underscore.min.js"):
        shutil.copyfile(require(JAVASCRIPT) / library, out / "dist" / Path(library).name)
    (out / "poetry.lock").write_text(_poetry_lock(["filelock", "cachetools"]), encoding="utf-8")
    (out / "uv.lock").write_text(_uv_lock(["filelock", "cachetools"]), encoding="utf-8")
    (out / "pyproject.toml").write_text(_pyproject(), encoding="utf-8")
    return out


def clone_documents(folder: Path) -> set[str]:
    """What a user means by the repository's documents: README, docs/, the sources under src/ and
    pyproject.toml; none of node_modules/, .venv/, build/, dist/, __pycache__/ or the lock files."""
    return {rel for rel in _relative_files(folder, "*")
            if rel in ("README.md", "pyproject.toml") or rel.startswith("docs/")
            or (rel.startswith("src/") and rel.endswith(".py"))}


def _package_folder(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin:
        raise MissingSource(f"the Python package {name} is not installed")
    return Path(spec.origin).parent


def _gradio_node_build() -> Path:
    return _package_folder("gradio") / "templates" / "node" / "build"


def _compile(folder: Path) -> None:
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(folder)], check=True)


def _poetry_lock(names: list[str]) -> str:
    """A poetry.lock in Poetry's layout, of installed distributions' real names, versions and summaries."""
    blocks = []
    for name in names:
        meta = importlib.metadata.metadata(name)
        blocks.append(f'[[package]]\nname = "{name}"\nversion = "{meta["Version"]}"\n'
                      f'description = "{meta["Summary"]}"\noptional = false\n'
                      f'python-versions = "{meta.get("Requires-Python", "*")}"\nfiles = []\n')
    return "# This file is automatically @generated by Poetry and should not be changed by hand.\n\n" + \
        "\n".join(blocks) + '\n[metadata]\nlock-version = "2.0"\npython-versions = ">=3.11"\n'


def _uv_lock(names: list[str]) -> str:
    packages = "".join(f'\n[[package]]\nname = "{name}"\nversion = "{importlib.metadata.version(name)}"\n'
                       f'source = {{ registry = "https://pypi.org/simple" }}\n' for name in names)
    return f'version = 1\nrequires-python = ">=3.11"\n{packages}'


def _pyproject() -> str:
    return ('[project]\nname = "clone"\nversion = "0.1.0"\n'
            'dependencies = ["cachetools"]\n\n[tool.setuptools]\npackage-dir = {"" = "src"}\n')


def _relative_files(root: Path, pattern: str) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob(pattern) if path.is_file()}


CORPORA = {"pydocs-site": pydocs_site, "mkdocs-site": mkdocs_site, "clone": clone}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="where each corpus is made, as FOLDER/<name>")
    parser.add_argument("corpora", nargs="*", help=f"any of {', '.join(CORPORA)} (default: all)")
    args = parser.parse_args()
    unknown = set(args.corpora) - set(CORPORA)
    if unknown:
        parser.error(f"unknown corpora: {', '.join(sorted(unknown))}")
    for name in args.corpora or CORPORA:
        made = CORPORA[name](args.folder / name)
        files = [p for p in made.rglob("*") if p.is_file()]
        print(f"{name}: {made} ({len(files)} files, {sum(p.stat().st_size for p in files)} bytes)")


if __name__ == "__main__":
    main()
