"""Main text of documentation pages: trafilatura against readability-lxml.

    .venv/bin/python bench/html_extractors.py     # ~1 min; writes bench/results/html-extractors.json

Pages: every 12th page of the Python docs (Sphinx, apt python3-doc), every 25th of the
PostgreSQL docs (DocBook, apt postgresql-doc-15), and a three-page MkDocs Material site built
here. For each page the main area is known by its markup (Sphinx's div.body, DocBook's body
without div.navheader/navfooter, Material's article): the share of its headings, list items,
table cells, paragraphs and code blocks (two first lines, line break kept) found in the
extracted text, and the share of the theme's chrome lines ("Previous topic", "Prev", "Skip to
content", ...) that slipped in. trafilatura is read as its Markdown-like text (tables and
formatting on); readability's HTML as index/formats/html.py turns it into text.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lxml.html

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.errors import NotADocument  # noqa: E402
from index.formats.html import area_text, main_area, page_text, parse  # noqa: E402

PYTHON_DOCS = Path("/usr/share/doc/python3.11/html")
POSTGRES_DOCS = Path("/usr/share/doc/postgresql-doc-15/html")
CHROME = {
    "sphinx": ["Previous topic", "Next topic", "This Page", "Report a Bug", "Show Source", "Navigation",
               "Quick search", "Table of Contents", "index", "modules |", "Python »"],
    "docbook": ["Prev", "Up", "Home", "Next", "Submit correction"],
    "mkdocs": ["Skip to content", "Initializing search", "Table of contents", "Previous", "Next",
               "Made with", "Material for MkDocs", "Back to top"],
}
MAIN = {
    "sphinx": "//div[@role='main']",
    "docbook": "//body",
    "mkdocs": "//article",
}
MKDOCS_PAGES = {
    "index.md": "# Getting Started\n\nCargo is Rust's build system and package manager.\n\n## Install\n\n"
                "Install Rust with rustup, which brings Cargo with it.\n\n- Download rustup.\n- Run the installer."
                "\n\n```bash\ncurl https://sh.rustup.rs -sSf | sh\ncargo --version\n```\n",
    "cargo.md": "# Creating a Project with Cargo\n\nLet's create a new project using Cargo.\n\n```\n"
                "$ cargo new hello_cargo\n$ cd hello_cargo\n```\n\n## Building and Running\n\n"
                "| Command | What it does |\n|---|---|\n| cargo build | Compiles the project |\n"
                "| cargo run | Compiles and runs the binary |\n\n1. Build with optimizations.\n"
                "2. Find the binary in target/release.\n",
    "guess.md": "# Programming a Guessing Game\n\nLet's jump into Rust with a project.\n\n"
                "## Processing a Guess\n\nThe first part asks for user input.\n\n```rust\nuse std::io;\n\n"
                "fn main() {\n    println!(\"Guess the number!\");\n}\n```\n",
}
MKDOCS_CONFIG = """site_name: Cargo Notes
theme:
  name: material
  features: [navigation.footer, content.action.edit]
repo_url: https://example.org/cargo-notes
edit_uri: edit/main/docs/
"""
_MARKS = re.compile(r"[*`\\#|¶_]|^\s*[-+] |^\s*\d+\. ", re.MULTILINE)


def _norm(text: str) -> str:
    return " ".join(_MARKS.sub(" ", text).split())


def trafilatura_text(markup: str) -> str:
    import trafilatura

    return trafilatura.extract(markup, output_format="txt", include_tables=True, include_formatting=True,
                               include_comments=False) or ""


def readability_text(markup: str) -> str:
    from readability import Document as Readable

    return area_text(parse(Readable(markup).summary(html_partial=True))).text


def loader_text(markup: str) -> str:
    """What index/formats/html.py keeps: the area the page marks as main, else readability's pick."""
    area = main_area(parse(markup), markup)
    return area_text(area).text if area is not None else ""


def reference(markup: str, site: str) -> dict[str, list]:
    """What the page's main area holds, by its markup."""
    root = lxml.html.document_fromstring(markup.encode())
    for chrome in root.xpath("//div[@class='navheader' or @class='navfooter'] | //a[@class='headerlink']"):
        chrome.drop_tree()
    main = root.xpath(MAIN[site])[0]
    items = {kind: [] for kind in ("headings", "list_items", "table_cells", "paragraphs", "code_blocks")}
    for element in main.iter("h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "th", "p", "pre"):
        text = element.text_content()
        if element.tag == "pre":
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            if len(lines) >= 2:
                items["code_blocks"].append(lines[:2])
            continue
        kind = ("headings" if element.tag[0] == "h" else "list_items" if element.tag == "li"
                else "paragraphs" if element.tag == "p" else "table_cells")
        if _norm(text):
            items[kind].append(_norm(text))
    return items


def scores(text: str, items: dict[str, list], site: str) -> dict[str, float | None]:
    flat = _norm(text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    result: dict[str, float | None] = {}
    for kind, wanted in items.items():
        if kind == "code_blocks":
            found = [any(a.endswith(first) and b.startswith(second) for a, b in zip(lines, lines[1:]))
                     for first, second in wanted]
        else:
            found = [item in flat for item in wanted]
        result[kind] = sum(found) / len(found) if found else None
    plain = {_norm(line) for line in lines}
    result["chrome_lines"] = sum(phrase in plain for phrase in CHROME[site]) / len(CHROME[site])
    return result


def pages() -> list[tuple[str, Path]]:
    python = sorted(PYTHON_DOCS.rglob("*.html"))[::12]
    postgres = sorted(POSTGRES_DOCS.glob("*.html"))[::25]
    site = Path(tempfile.mkdtemp()) / "site"
    (site / "docs").mkdir(parents=True)
    (site / "mkdocs.yml").write_text(MKDOCS_CONFIG)
    for name, text in MKDOCS_PAGES.items():
        (site / "docs" / name).write_text(text)
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q"], cwd=site, check=True, capture_output=True)
    mkdocs = [site / "site" / "index.html", site / "site" / "cargo" / "index.html",
              site / "site" / "guess" / "index.html"]
    return ([("sphinx", p) for p in python] + [("docbook", p) for p in postgres]
            + [("mkdocs", p) for p in mkdocs])


def whole_trees() -> dict:
    """Every page of both doc trees through the loader: the pages of links it refuses and
    the pages where it found no main text."""
    refused, unmarked = [], []
    trees = {PYTHON_DOCS: sorted(PYTHON_DOCS.rglob("*.html")), POSTGRES_DOCS: sorted(POSTGRES_DOCS.glob("*.html"))}
    for root, paths in trees.items():
        for path in paths:
            name = str(path.relative_to(root.parent.parent))
            try:
                if page_text(path.read_text(encoding="utf-8", errors="replace")).notes:
                    unmarked.append(name)
            except NotADocument:
                refused.append(name)
    return {"pages": sum(map(len, trees.values())), "pages_of_links": len(refused),
            "no_main_text": unmarked, "pages_of_links_list": refused}


def main() -> None:
    extractors = {"trafilatura": trafilatura_text, "readability": readability_text,
                  "loader": loader_text}
    per_site: dict[str, dict[str, dict[str, list]]] = {}
    for site, path in pages():
        markup = path.read_text(encoding="utf-8", errors="replace")
        items = reference(markup, site)
        for name, extract in extractors.items():
            started = time.perf_counter()
            text = extract(markup)
            seconds = time.perf_counter() - started
            bucket = per_site.setdefault(site, {}).setdefault(name, {})
            bucket.setdefault("ms_per_page", []).append(1000 * seconds)
            bucket.setdefault("empty_pages", []).append(float(not text.strip()))
            for kind, value in scores(text, items, site).items():
                if value is not None:
                    bucket.setdefault(kind, []).append(value)
    results = {
        site: {name: {kind: round(statistics.mean(values), 3) for kind, values in metrics.items()}
               | {"pages": len(metrics["ms_per_page"])}
               for name, metrics in by_extractor.items()}
        for site, by_extractor in per_site.items()
    }
    results["whole_trees"] = whole_trees()
    out = ROOT / "bench" / "results" / "html-extractors.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
