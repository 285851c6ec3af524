"""A documentation site built with copies: N pages of Python's docs (python3-doc) at the root,
a print page repeating them all, and three older editions under old/vN/ (each with its own
print page, one word edited per page). What is embedded, and which copy retrieval cites.

Also what the packaged model's tokenizer normalizes: the vector reuse key (`Embedder.input_keys`).

    .venv/bin/python bench/duplicates.py --pages 20
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import click

from index import IndexConfig, ingest, load
from index.chunking import chunk_document
from index.vectors.embedder import load_embedder
from rag import Pipeline, Settings, retrieval

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "duplicates.json"
DOCS = Path("/usr/share/doc/python3.11/html/library")
EDITIONS = ["old/v1", "old/v2", "old/v3"]
BASE = ("The Configuration File sets the cache size. Restart the server after editing it; "
        "the new limit applies at once.")
VARIANTS = {
    "whitespace": BASE.replace(" ", "  ").replace(". ", ".\n"),
    "case": BASE.upper(),
    "accents": BASE.replace("cache", "c\u0101ch\u00e9"),
    "no-break spaces": BASE.replace(" ", "\u00a0"),
    "NFKC (ligature, fullwidth)": BASE.replace("File", "\ufb01le").replace("size", "\uff53\uff49\uff5a\uff45"),
    "punctuation dropped": BASE.replace(".", "").replace(";", ""),
    "one word edited": BASE.replace("at once", "immediately"),
}
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL)


def normalisation() -> dict:
    """Per variant: same input key, and the cosine of its vector to the original's."""
    embedder = load_embedder()
    texts = [BASE, *VARIANTS.values()]
    vectors, _ = embedder.embed_chunks(texts)
    keys = embedder.input_keys(texts)
    return {name: {"same_key": keys[n] == keys[0], "cosine": round(float(vectors[n] @ vectors[0]), 4)}
            for n, name in enumerate(VARIANTS, start=1)}


def build_site(root: Path, pages: list[Path]) -> None:
    for edition, edit in [("", None), *((e, n) for n, e in enumerate(EDITIONS))]:
        folder = root / edition / "library"
        folder.mkdir(parents=True)
        bodies = []
        for page in pages:
            html = page.read_text(encoding="utf-8")
            if edit is not None:  # an older edition: one word of the page differs
                html = html.replace(" the ", f" the{' very' * (edit + 1)} ", 1)
            (folder / page.name).write_text(html, encoding="utf-8")
            match = _BODY.search(html)
            bodies.append(match.group(1) if match else html)
        (root / edition / "print.html").write_text(
            "<html><head><title>All pages</title></head><body>" + "\n".join(bodies) + "</body></html>",
            encoding="utf-8")


def new_chunks_by_part(site: Path) -> dict[str, int]:
    """Chunks each part of the site adds to the current edition's pages, as the model reads
    them (no embedding): what ingest must embed beyond one copy, and why."""
    embedder = load_embedder()

    def keys(paths: list[Path]) -> set[str]:
        texts = [c.text for p in paths for c in chunk_document(load(p), embedder.tokenizer, embedder.max_tokens)]
        return set(embedder.input_keys(texts))

    current = keys(sorted((site / "library").glob("*.html")))
    print_page = keys([site / "print.html"])
    old_pages = keys([p for e in EDITIONS for p in sorted((site / e / "library").glob("*.html"))])
    old_print_pages = keys([site / e / "print.html" for e in EDITIONS])
    return {"print_page": len(print_page - current), "print_page_chunks": len(print_page),
            "old_editions_pages": len(old_pages - current),
            "old_editions_print_pages": len(old_print_pages - current - print_page - old_pages)}


def cited(home: Path, questions: list[str]) -> dict[str, int]:
    """Where the top passage of each question comes from."""
    retriever = Pipeline(Settings(home=home, answerer="extractive")).retriever(5)
    where = {"current page": 0, "print page": 0, "old edition": 0}
    for question in questions:
        source = retriever.passages(question)[0].source
        kind = "old edition" if "/old/" in source else "print page" if source.endswith("print.html") else "current page"
        where[kind] += 1
    return where


@click.command()
@click.option("--pages", default=20, help="Pages of Python's library docs in the site")
def main(pages: int) -> None:
    chosen = sorted(DOCS.glob("*.html"))[40 : 40 + pages]
    with tempfile.TemporaryDirectory() as tmp:
        site, home = Path(tmp) / "site", Path(tmp) / "home"
        build_site(site, chosen)
        config = IndexConfig(home)
        one_copy = ingest([site / "library"], config)
        whole = ingest([site], config)
        titles = [re.search(r"<title>(.*?)</title>", p.read_text(encoding="utf-8"), re.DOTALL).group(1) for p in chosen]
        questions = [re.sub(r"\s+", " ", re.sub(r"&[#\w]+;|—.*", " ", t)).strip() for t in titles]
        by_part = new_chunks_by_part(site)
        with_rule = cited(home, questions)
        choose = retrieval.cite_most_specific
        retrieval.cite_most_specific = lambda ranked, copies: ranked  # any copy, as before
        try:
            without_rule = cited(home, questions)
        finally:
            retrieval.cite_most_specific = choose
    figures = {
        "pages": pages,
        "documents": whole.documents,
        "one_copy_chunks_embedded": one_copy.chunks_embedded,
        "site_chunks_total": whole.chunks_total,
        "site_chunks_embedded_beyond_one_copy": whole.chunks_embedded,
        "new_chunks_by_part": by_part,
        "top_passage_with_rule": with_rule,
        "top_passage_any_copy": without_rule,
        "normalisation": normalisation(),
    }
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    click.echo(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
