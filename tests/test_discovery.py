"""Which files of a real folder get indexed (index/discovery.py): default skips, ignore
files, include and exclude globs, paths named directly; and what ingest does with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import consistent_ids

from index import IndexConfig, RagError, ingest, open_index
from index.discovery import Skipped, discover

PROSE = "Alpine marmots whistle to warn each other. They hibernate in burrows through the winter."


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def kept(found) -> list[str]:
    return [source for _, source in found.files]


def reasons(found, root: Path) -> dict[str, str]:
    """Skipped paths relative to `root` -> reason."""
    return {Path(item.source).relative_to(root).as_posix(): item.reason for item in found.skipped}


def indexed(home: Path) -> set[str]:
    with open_index(IndexConfig(home)) as index:
        return set(index.catalog.documents())


# -- default skips --------------------------------------------------------------------------------


def test_repository_like_folder_keeps_only_the_guide(tmp_path):
    write(tmp_path, {"docs/guide.md": f"# Guide\n\n{PROSE}\n", "node_modules/x/index.js": "module.exports = 1;\n",
                     "package-lock.json": '{"lockfileVersion": 3}\n', "build/out.txt": PROSE})
    found = discover([str(tmp_path)])
    assert kept(found) == [str(tmp_path / "docs" / "guide.md")]
    assert reasons(found, tmp_path) == {
        "node_modules": "vendored packages", "package-lock.json": "lock file", "build": "build output"}
    assert found.errors == [] and found.warnings == []


def test_sphinx_like_folder_keeps_only_the_page(tmp_path):
    write(tmp_path, {"a.html": f"<html><body><p>{PROSE}</p></body></html>",
                     "searchindex.js": 'Search.setIndex({"docnames": ["a"]})',
                     "_static/x.css": "p { color: red }", "_sources/a.rst.txt": f"A\n=\n\n{PROSE}\n"})
    found = discover([str(tmp_path)])
    assert kept(found) == [str(tmp_path / "a.html")]
    assert reasons(found, tmp_path) == {"searchindex.js": "generated: search index", "_static": "site assets",
                                        "_sources": "Sphinx copies of page sources"}


def test_a_page_named_search_without_the_search_index_is_read(tmp_path):
    """Sphinx's search page is told by the script it loads, not by its name."""
    write(tmp_path, {"search.html": f"<html><body><h1>Searching the archive</h1><p>{PROSE}</p></body></html>"})
    found = discover([str(tmp_path)])
    assert kept(found) == [str(tmp_path / "search.html")]
    assert found.skipped == []


@pytest.mark.parametrize("name, text, reason", [
    ("pages.js", 'var index = {"docs":[{"location":"a.html","text":"Marmots whistle"}]};', "generated: search index"),
    ("bundle.js", "var a=1;" * 500 + "\n", "generated: machine-length lines"),
    ("app.min.js", "var a = 1;\n", "generated: minified"),
    ("app.js.map", '{"version":3}', "generated: source map"),
    ("genindex-A.html", "<html><body><p>abs() (built-in function)</p></body></html>", "generated: index page"),
    ("py-modindex.html", "<html><body><p>abc: Abstract base classes</p></body></html>", "generated: index page"),
    ("search.html", '<html><head><script src="searchindex.js" defer></script></head>'
                    "<body><p>Searching for multiple words only shows matches that contain all words.</p></body></html>",
     "generated: search page"),
    ("poetry.lock", "[[package]]\n", "lock file"),
    ("theme.css", "p { color: red }\n", "asset: stylesheet"),
    ("font.woff2", "wOF2", "asset: font"),
    ("figure.png", "\x89PNG", "asset: image"),
    ("table.xls", "a,b", "unsupported type"),
    (".hidden.txt", PROSE, "hidden"),
])
def test_generated_files_and_assets_are_skipped_with_their_reason(tmp_path, name, text, reason):
    write(tmp_path, {name: text, "keep.txt": PROSE})
    found = discover([str(tmp_path)])
    assert found.skipped == [Skipped(str(tmp_path / name), reason)]
    assert kept(found) == [str(tmp_path / "keep.txt")]


def test_long_prose_lines_are_kept(tmp_path):
    """A Markdown paragraph is one long line; the machine-length rule reads code and data only."""
    write(tmp_path, {"essay.md": ("# Essay\n\n" + PROSE * 40 + "\n\n") * 3, "notes.txt": PROSE * 200})
    assert sorted(kept(discover([str(tmp_path)]))) == [str(tmp_path / "essay.md"), str(tmp_path / "notes.txt")]


# -- ignore files ---------------------------------------------------------------------------------


def test_gitignore_and_ragignore_in_every_folder(tmp_path):
    write(tmp_path, {
        ".gitignore": "drafts/\n*.md\n", ".ragignore": "secret.txt\n",
        "readme.txt": PROSE, "secret.txt": PROSE, "drafts/x.txt": PROSE, "notes.md": PROSE,
        "sub/.gitignore": "!keep.md\n/only-here.txt\n", "sub/keep.md": PROSE, "sub/other.md": PROSE,
        "sub/only-here.txt": PROSE, "sub/deeper/only-here.txt": PROSE, "only-here.txt": PROSE,
    })
    found = discover([str(tmp_path)])
    assert sorted(kept(found)) == sorted(str(tmp_path / n) for n in (
        "readme.txt", "only-here.txt", "sub/keep.md", "sub/deeper/only-here.txt"))
    root_git, root_rag, sub_git = (f"ignored by {tmp_path / n}" for n in (".gitignore", ".ragignore", "sub/.gitignore"))
    assert reasons(found, tmp_path) == {
        ".gitignore": "hidden", ".ragignore": "hidden", "sub/.gitignore": "hidden",
        "secret.txt": root_rag, "drafts": root_git, "notes.md": root_git,
        "sub/other.md": root_git, "sub/only-here.txt": sub_git,
    }


def test_malformed_ignore_file_names_its_line_and_keeps_its_other_rules(tmp_path):
    write(tmp_path, {".gitignore": "secret.txt\n\\\n", "secret.txt": PROSE, "readme.txt": PROSE})
    found = discover([str(tmp_path)])
    assert found.errors == [{"source": str(tmp_path / ".gitignore"),
                             "error": "line 2: invalid pattern '\\\\', left out (the other lines apply)"}]
    assert kept(found) == [str(tmp_path / "readme.txt")]
    assert found.unsure == [str(tmp_path)]


# -- include, exclude, paths named directly --------------------------------------------------------


def test_include_overrides_default_skips_and_ignore_files_but_not_unsupported_types(tmp_path):
    write(tmp_path, {".gitignore": "secret.txt\n", "secret.txt": PROSE, "node_modules/x/index.js": "var a = 1;\n",
                     "node_modules/x/other.js": "var b = 2;\n", "figure.png": "\x89PNG"})
    found = discover([str(tmp_path)], include=["node_modules/x/index.js", "secret.txt", "*.png"])
    assert sorted(kept(found)) == [str(tmp_path / "node_modules/x/index.js"), str(tmp_path / "secret.txt")]
    assert reasons(found, tmp_path)["figure.png"] == "asset: image"


def test_exclude_skips_matching_files_and_folders(tmp_path):
    write(tmp_path, {"readme.txt": PROSE, "drafts/x.txt": PROSE, "data.csv": "a,b\n1,2\n"})
    found = discover([str(tmp_path)], exclude=["drafts/", "*.csv"])
    assert kept(found) == [str(tmp_path / "readme.txt")]
    assert reasons(found, tmp_path) == {"drafts": "excluded by --exclude drafts/", "data.csv": "excluded by --exclude *.csv"}


def test_globs_matching_nothing_are_warnings(tmp_path):
    write(tmp_path, {"readme.txt": PROSE})
    found = discover([str(tmp_path)], include=["nothing/*.md"], exclude=["*.pdf"])
    assert found.warnings == ["--include nothing/*.md matched no file", "--exclude *.pdf matched no file"]
    assert kept(found) == [str(tmp_path / "readme.txt")]


def test_an_invalid_glob_is_a_clear_error(tmp_path):
    with pytest.raises(RagError, match=r"--exclude 'drafts\\\\' is not a valid glob"):
        discover([str(tmp_path)], exclude=["drafts\\"])


def test_a_file_named_directly_is_always_read(tmp_path):
    bundle = write(tmp_path, {"node_modules/app.min.js": "var a=1;" * 500})
    path = str(bundle / "node_modules" / "app.min.js")
    assert kept(discover([path], exclude=["*.js"])) == [path]


@pytest.mark.parametrize("named", ["build", "docs/_build/html"])
def test_a_folder_named_directly_is_walked_though_its_name_is_skipped(tmp_path, named):
    write(tmp_path, {f"{named}/page.html": f"<p>{PROSE}</p>"})
    assert kept(discover([str(tmp_path / named)])) == [str(tmp_path / named / "page.html")]


# -- ingest ---------------------------------------------------------------------------------------


def test_newly_skipped_and_deleted_documents_are_removed_with_the_reason(tmp_path):
    folder = write(tmp_path / "docs", {"a.txt": PROSE, "b.txt": "Coral reefs need warm shallow water.",
                                       "c.txt": "Basalt lava flows quickly."})
    home = tmp_path / "home"
    assert ingest([folder], IndexConfig(home)).added == 3
    (folder / ".ragignore").write_text("b.txt\n")
    (folder / "c.txt").unlink()
    report = ingest([folder], IndexConfig(home))
    assert report.removed_sources == [
        {"source": str(folder / "b.txt"), "reason": f"now skipped: ignored by {folder / '.ragignore'}"},
        {"source": str(folder / "c.txt"), "reason": "deleted"},
    ]
    assert report.removed == 2 and indexed(home) == {str(folder / "a.txt")}
    consistent_ids(home)


def test_documents_inside_a_folder_now_ignored_are_removed(tmp_path):
    folder = write(tmp_path / "docs", {"a.txt": PROSE, "drafts/b.txt": "Coral reefs need warm shallow water."})
    home = tmp_path / "home"
    ingest([folder], IndexConfig(home))
    (folder / ".ragignore").write_text("drafts/\n")
    assert ingest([folder], IndexConfig(home)).removed_sources == [
        {"source": str(folder / "drafts" / "b.txt"), "reason": f"now skipped: ignored by {folder / '.ragignore'}"}]


def test_malformed_ignore_file_loses_nothing_indexed(tmp_path):
    folder = write(tmp_path / "docs", {"a.txt": PROSE, "notes.txt": "Coral reefs need warm shallow water."})
    home = tmp_path / "home"
    ingest([folder], IndexConfig(home))
    (folder / ".gitignore").write_text("notes.txt\n\\\n")
    report = ingest([folder], IndexConfig(home))
    assert [e["source"] for e in report.errors] == [str(folder / ".gitignore")]
    assert report.removed == 0 and indexed(home) == {str(folder / "a.txt"), str(folder / "notes.txt")}

    (folder / ".gitignore").write_text("notes.txt\n")  # fixed: its rule now applies
    assert ingest([folder], IndexConfig(home)).removed_sources == [
        {"source": str(folder / "notes.txt"), "reason": f"now skipped: ignored by {folder / '.gitignore'}"}]


def test_ingest_report_lists_skipped_files_as_json(tmp_path):
    folder = write(tmp_path / "docs", {"guide.md": PROSE, "yarn.lock": "# yarn\n"})
    report = ingest([folder], IndexConfig(tmp_path / "home"), include=["guide.md"], exclude=["nothing/"])
    assert json.loads(json.dumps(report.to_dict()))["skipped"] == [
        {"source": str(folder / "yarn.lock"), "reason": "lock file"}]
    assert report.warnings == ["--exclude nothing/ matched no file"]
