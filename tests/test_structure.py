"""Main text of HTML pages, heading paths of every format, and chunks and citations that
keep to them (index/formats/html.py, index/formats/sections.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from index import IndexConfig, ingest, load
from index.chunking import chunk_document
from index.errors import NotADocument
from index.formats.html import NO_MAIN_TEXT
from index.formats import Document, Page, Section, spanning_location
from rag.answer import Passage
from rag.answerers.confidence import load_model
from rag.answerers.extractive import ExtractiveAnswerer

CODE = "$ cargo new hello_cargo\n$ cd hello_cargo"
MKDOCS_PAGE = f"""# Creating a Project with Cargo

Let's create a new project using Cargo and look at how it differs from Hello World.

```
{CODE}
```

## Building and Running

| Command | What it does |
|---|---|
| cargo build | Compiles the project |
| cargo run | Compiles and runs the binary |

- Build with optimizations.
- Find the binary in target/release.
"""
SPHINX_PAGE = f"""<!DOCTYPE html><html><head><title>5. Data Structures &#8212; Python docs</title>
<script>var secretScriptToken = 1;</script></head><body>
<div class="related" role="navigation"><h3>Navigation</h3><ul><li><a href="genindex.html">index</a></li>
<li><a href="py-modindex.html">modules</a> |</li></ul></div>
<div class="document"><div class="body" role="main">
<section id="ds"><h1>5. Data Structures<a class="headerlink" href="#ds">¶</a></h1>
<p>This chapter describes some things you have learned about already in more detail.</p>
<section id="lists"><h2>5.1. More on Lists<a class="headerlink" href="#lists">¶</a></h2>
<p>The list data type has some more methods.</p>
<ul><li><p>Add an item to the end of the list.</p></li><li><p>Remove the first item.</p></li></ul>
<table><tr><th>Method</th><th>Effect</th></tr><tr><td>append</td><td>adds an item</td></tr></table>
<div class="highlight"><pre>{CODE}</pre></div>
</section></section></div></div>
<div class="sphinxsidebar" role="navigation"><h3>Previous topic</h3><p><a href="x.html">4. Control Flow</a></p>
<h3>This Page</h3><ul><li><a href="bugs.html">Report a Bug</a></li><li><a href="_sources/x.txt">Show Source</a></li></ul>
<div role="search"><h3>Quick search</h3><form><input type="text" name="q"></form></div></div>
<div class="footer">&copy; Copyright 2001-2026, Python Software Foundation.</div>
</body></html>"""


@pytest.fixture(scope="module")
def mkdocs_page(tmp_path_factory):
    site = tmp_path_factory.mktemp("mkdocs")
    (site / "docs").mkdir()
    (site / "docs" / "index.md").write_text("# Home\n\nWelcome.\n")
    (site / "docs" / "cargo.md").write_text(MKDOCS_PAGE)
    (site / "mkdocs.yml").write_text(
        "site_name: Cargo Notes\nrepo_url: https://example.org/notes\nedit_uri: edit/main/docs/\n"
        "theme:\n  name: material\n  features: [navigation.footer, content.action.edit]\n"
    )
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q"], cwd=site, check=True, capture_output=True)
    return site / "site" / "cargo" / "index.html"


def blocks(document: Document) -> list[str]:
    return document.text.split("\n\n")


def test_mkdocs_material_page_loses_its_chrome_and_keeps_its_structure(mkdocs_page):
    document = load(mkdocs_page)
    for chrome in ("Skip to content", "Initializing search", "Table of contents", "Made with", "Previous"):
        assert chrome not in document.text
    assert blocks(document)[0] == "Creating a Project with Cargo"  # the title only adds the site's name
    assert CODE in blocks(document)  # the code block whole, its line break kept
    assert "cargo build | Compiles the project" in blocks(document)
    assert "- Find the binary in target/release." in blocks(document)
    assert document.notes == []


def test_sphinx_page_loses_its_chrome_and_keeps_its_structure(tmp_path):
    (tmp_path / "ds.html").write_text(SPHINX_PAGE)
    document = load(tmp_path / "ds.html")
    for chrome in ("Navigation", "Previous topic", "Show Source", "Quick search", "Copyright", "¶", "secret"):
        assert chrome not in document.text
    assert blocks(document) == [
        "5. Data Structures",
        "This chapter describes some things you have learned about already in more detail.",
        "5.1. More on Lists",
        "The list data type has some more methods.",
        "- Add an item to the end of the list.",
        "- Remove the first item.",
        "Method | Effect",
        "append | adds an item",
        CODE,
    ]


def test_mdbook_page_loses_its_keyboard_help_and_theme_picker(tmp_path):
    (tmp_path / "ch01-03.html").write_text(
        "<html><head><title>Hello, Cargo! - The Rust Programming Language</title></head><body>"
        "<div id='help-container'><h2>Keyboard shortcuts</h2><p>Press \u2190 or \u2192 to navigate between "
        "chapters</p><p>Press S or / to search in the book</p></div>"
        "<nav id='sidebar'><ol><li><a href='ch01-01.html'>Installation</a></li></ol></nav>"
        "<div id='menu-bar'><ul id='theme-list'><li><button>Light</button></li><li><button>Rust</button></li>"
        "<li><button>Coal</button></li></ul><h1 class='menu-title'>The Rust Programming Language</h1></div>"
        "<div id='content'><main><h2>Creating a Project with Cargo</h2>"
        "<p>Let\u2019s create a new project using Cargo.</p><pre><code>" + CODE + "</code></pre></main>"
        "<nav class='nav-wrapper'><a href='ch01-02.html'>Previous chapter</a></nav></div></body></html>"
    )
    document = load(tmp_path / "ch01-03.html")
    assert document.text == (
        f"Hello, Cargo! - The Rust Programming Language\n\nCreating a Project with Cargo\n\n"
        f"Let\u2019s create a new project using Cargo.\n\n{CODE}"
    )
    assert document.location(len(document.text) - 5, len(document.text)) == "Creating a Project with Cargo"


def test_html_headings_give_sections_from_the_title_on(tmp_path):
    (tmp_path / "ds.html").write_text(SPHINX_PAGE)
    document = load(tmp_path / "ds.html")
    chapter, lists = document.sections
    assert chapter.path == ("5. Data Structures",) and chapter.start == 0  # the title joins it
    assert lists.path == ("5. Data Structures", "5.1. More on Lists")
    assert document.text[lists.start:lists.end].startswith("5.1. More on Lists")
    assert document.text[lists.start:lists.end].endswith(CODE)


def test_page_without_main_text_keeps_all_visible_text_and_says_so(tmp_path):
    # A page whose marked main area is filled by a script: the text outside it is what it holds.
    (tmp_path / "app.html").write_text(
        "<html><body><main id='app'></main><p>The glacier retreated forty metres.</p></body></html>"
    )
    document = load(tmp_path / "app.html")
    assert document.text == "The glacier retreated forty metres."
    assert document.notes == [NO_MAIN_TEXT]


def test_page_of_links_is_not_a_document(tmp_path):
    entries = "".join(f'<li><a href="library/m{i}.html#f">function_{i}() (in module m{i})</a></li>' for i in range(40))
    (tmp_path / "genindex-F.html").write_text(
        f"<html><body><div role='main'><h1>Index &#8211; F</h1><ul>{entries}</ul></div></body></html>"
    )
    with pytest.raises(NotADocument, match="a page of links"):
        load(tmp_path / "genindex-F.html")


def test_markdown_headings_atx_and_setext_not_inside_code_fences(tmp_path):
    text = (
        "Guide\n=====\n\nIntro.\n\n## Install\n\nRun this:\n\n```bash\n# not a heading\npip install x\n```\n\n"
        "Usage\n-----\n\nCall it.\n\n### Options ###\n\nMore.\n"
    )
    (tmp_path / "guide.md").write_text(text)
    document = load(tmp_path / "guide.md")
    assert [s.path for s in document.sections] == [
        ("Guide",), ("Guide", "Install"), ("Guide", "Usage"), ("Guide", "Usage", "Options"),
    ]
    install = document.sections[1]
    assert text[install.start:install.end] == "## Install\n\nRun this:\n\n```bash\n# not a heading\npip install x\n```"


def test_restructured_text_section_titles(tmp_path):
    (tmp_path / "guide.rst").write_text(
        "Guide\n=====\n\nIntro.\n\nInstall\n-------\n\nRun pip.\n\nDetails\n~~~~~~~\n\nMore.\n\n"
        "Usage\n-----\n\nCall it.\n"
    )
    document = load(tmp_path / "guide.rst")
    assert [s.path for s in document.sections] == [
        ("Guide",), ("Guide", "Install"), ("Guide", "Install", "Details"), ("Guide", "Usage"),
    ]
    assert document.text[document.sections[2].start:document.sections[2].end] == "Details\n\nMore."


def test_docx_title_and_heading_styles(tmp_path):
    import docx

    word = docx.Document()
    word.add_heading("Lighthouse Manual", level=0)  # the Title style
    word.add_paragraph("Read this first.")
    word.add_heading("Lamps", level=1)
    word.add_heading("Cleaning", level=2)
    word.add_paragraph("Wipe the lens weekly.")
    word.add_heading("Fuel", level=1)
    word.add_paragraph("Order fuel monthly.")
    word.save(tmp_path / "manual.docx")
    document = load(tmp_path / "manual.docx")
    assert [s.path for s in document.sections] == [
        ("Lighthouse Manual",), ("Lighthouse Manual", "Lamps"), ("Lighthouse Manual", "Lamps", "Cleaning"),
        ("Lighthouse Manual", "Fuel"),
    ]
    where = document.text.index("Wipe the lens")
    assert document.location(where, where + 5) == "Lighthouse Manual \u203a Lamps \u203a Cleaning"


def test_location_puts_the_heading_path_before_the_page():
    text = "Intro text.\n\nInstall\n\nRun it."
    document = Document("d.pdf", text, "0", pages=[Page(3, 0, len(text))],
                        sections=[Section(("Getting Started", "Install"), 13, len(text))])
    assert document.location(0, 5) == "page 3"
    assert document.location(22, 29) == "Getting Started \u203a Install, page 3"
    assert Document("d.txt", text, "0").location(0, 5) is None
    assert spanning_location("A \u203a B", "A \u203a B") == "A \u203a B"


def test_chunks_never_cross_a_section(embedder, tmp_path):
    sentences = " ".join(f"Sentence {i} says something about the lamp." for i in range(60))
    (tmp_path / "long.md").write_text(f"# One\n\n{sentences}\n\n## Two\n\n{sentences}\n\n# Three\n\nShort.\n")
    document = load(tmp_path / "long.md")
    chunks = chunk_document(document, embedder.tokenizer, 128)
    starts = {section.start for section in document.sections}
    for chunk in chunks:
        assert not any(chunk.start < start < chunk.end for start in starts)
    assert starts <= {chunk.start for chunk in chunks}  # each heading opens its section's first chunk


def test_citations_quote_the_loaded_text_exactly(embedder, reader, mkdocs_page):
    document = load(mkdocs_page)
    chunks = chunk_document(document, embedder.tokenizer, 256)
    passages = [Passage(n, document.source, c.start, c.end, c.text, None, 1 / 61,
                        document.location(c.start, c.end)) for n, c in enumerate(chunks, start=1)]
    answerer = ExtractiveAnswerer(embedder, load_model("evidence"), reader, threshold=0.0)
    draft = answerer.answer("How do I create a new project with Cargo?", passages)
    assert draft.citations and draft.citations[0].quote != "Creating a Project with Cargo"
    for citation in draft.citations:
        assert document.text[citation.start:citation.end] == citation.quote
    assert {p.location for p in passages} == {
        "Creating a Project with Cargo", "Creating a Project with Cargo \u203a Building and Running",
    }


def test_ingest_reports_how_a_page_was_read(tmp_path, rag_home):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "app.html").write_text(
        "<html><body><main></main><p>The glacier retreated forty metres.</p></body></html>"
    )
    report = ingest([tmp_path / "docs"], IndexConfig(rag_home))
    assert report.notes == [{"source": str(tmp_path / "docs" / "app.html"), "note": NO_MAIN_TEXT}]


def test_a_page_that_becomes_a_page_of_links_is_skipped_and_removed(tmp_path, rag_home):
    """Ingest lists a NotADocument file as skipped with the loader's reason, not as a
    failure, and removes it when it was indexed before."""
    page = tmp_path / "docs" / "contents.html"
    page.parent.mkdir()
    page.write_text("<html><body><main><h1>Index</h1><p>The glacier retreated forty metres.</p></main></body></html>")
    first = ingest([tmp_path / "docs"], IndexConfig(rag_home))
    assert first.added == 1
    entries = "".join(f'<li><a href="m{i}.html">function_{i}() (in module m{i})</a></li>' for i in range(40))
    page.write_text(f"<html><body><main><h1>Index</h1><ul>{entries}</ul></main></body></html>")
    second = ingest([tmp_path / "docs"], IndexConfig(rag_home))
    assert second.errors == [] and second.documents == 0
    assert [s["reason"] for s in second.skipped] == ["a page of links (index or table of contents)"]
    assert second.removed_sources == [{"source": str(page), "reason": "now skipped: a page of links (index or table of contents)"}]


def test_the_title_comes_first_when_the_first_heading_does_not_say_it(tmp_path):
    (tmp_path / "notes.html").write_text(
        "<html><head><title>Release notes 2024</title></head><body><main><h1>Changes</h1>"
        "<p>The parser is faster.</p></main></body></html>"
    )
    assert blocks(load(tmp_path / "notes.html")) == ["Release notes 2024", "Changes", "The parser is faster."]
