"""Real document folders (issue 24): index the documents, not the site around them.

    .venv/bin/python bench/real_folders.py     # also run by bench/run.py (make bench)

On the dev corpora of bench/corpora.py (the Python docs site subset, the clone-like folder, the
MkDocs site), measured in one run:
(a) files indexed against the corpus's documents (corpora.py's expected sets);
(b) the whole ingest against embedding, with the same embedder, the distinct texts of the chunks
    it stored, and of the chunks of the corpus's documents alone (target: ingest <= 1.1x the
    first; the second shows what embedding the site's chrome costs); on the Python docs site,
    medians of INGEST_ROUNDS rounds;
(c) a site copied 4 times embeds its text once: chunks embedded for 4 copies over 1 copy, and
    for the MkDocs site with its print-all page over without it (targets: 1.0);
(d) of the top-k passages retrieved for 100 questions on the Python docs (the gold set's, then
    questions from the tutorial's section headings), how many come from a search index, an asset,
    a `_sources` copy, a vendored file or a generated page of links.
Results go to bench/results/real-folders.json.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
from collections import Counter
from pathlib import Path

import corpora
import lxml.html
from run import RESULTS, ROOT, scratch, timed

from index import IndexConfig, ingest, open_index
from index.vectors.embedder import load_embedder
from rag import Pipeline, Settings

QUESTIONS = 100
# Rounds of the Python docs site's ingest and embeddings, whose ratio has a target (issue 28).
INGEST_ROUNDS = 3
COPIES = 4
# Where a retrieved passage comes from, when not from a document: the first rule that matches.
JUNK_KINDS = (
    ("search index", re.compile(r"(^|/)(searchindex\.js|search_index\.json|search/)")),
    ("_sources copy", re.compile(r"(^|/)_sources/")),
    ("vendored", re.compile(r"(^|/)(node_modules|\.venv|site-packages|build|dist|__pycache__)/")),
    ("asset", re.compile(r"(^|/)(_static|assets|_images|_downloads)/|\.(css|js|json|inv|xml|map)$")),
    ("page of links", re.compile(r"(^|/)(genindex[^/]*|py-modindex|search|contents|404)\.html$")),
)


def ingest_figures(folder: Path, documents: set[str], home: Path, embedder, rounds: int = 1) -> dict:
    """(a) and (b) for one corpus, ingested into `home`. With `rounds`, (b)'s times are
    medians of that many rounds, each an ingest into a new index and then both embeddings:
    one round of each, ~10 s apiece on the Python docs subset, gave ratios of 1.01 to 1.21 in
    runs of the same code, as the VM's speed moved between them. (A process's first ingest
    also imports Chroma, ~0.4 s; under bench/run.py its earlier parts have.)"""
    timings = []
    for n in range(rounds):
        target = home if n == 0 else home.with_name(f"{home.name}-round-{n}")
        seconds, report = timed(ingest, [folder], IndexConfig(target))
        if n == 0:
            figures, stored, of_documents = index_figures(folder, documents, home)
            first = report
        else:
            shutil.rmtree(target)
        timings.append((seconds, timed(embedder.embed_chunks, stored)[0], timed(embedder.embed_chunks, of_documents)[0]))
    seconds, embed_stored_s, embed_documents_s = (statistics.median(times) for times in zip(*timings))
    return {
        **figures,
        "load_errors": len(first.errors),
        "chunks_embedded": first.chunks_embedded,
        "rounds": rounds,
        "ingest_s": round(seconds, 2),
        "embed_stored_chunks_s": round(embed_stored_s, 2),
        "embed_document_chunks_s": round(embed_documents_s, 2),
        "ratio_to_embedding_stored_chunks": round(seconds / embed_stored_s, 3) if embed_stored_s else None,
        "ratio_to_embedding_document_chunks": round(seconds / embed_documents_s, 3) if embed_documents_s else None,
    }


def index_figures(folder: Path, documents: set[str], home: Path) -> tuple[dict, list[str], list[str]]:
    """(a) for the index of `folder` in `home`, and the distinct texts of its chunks: all of
    them, and those of the corpus's documents."""
    with open_index(IndexConfig(home)) as index:
        chunks = index.catalog.chunks(index.catalog.chunk_ids()).values()
        indexed = {_relative(folder, source) for source in index.catalog.documents()}
    stored = list(dict.fromkeys(c.text for c in chunks))
    of_documents = list(dict.fromkeys(c.text for c in chunks if _relative(folder, c.source) in documents))
    figures = {
        "expected_documents": len(documents),
        "files_indexed": len(indexed),
        "documents_missing": sorted(documents - indexed),
        "other_files_indexed": len(indexed - documents),
        "other_files_by_kind": dict(Counter(_kind(rel) for rel in indexed - documents)),
        "chunks_total": len(chunks),
        "chunks_of_documents": len(of_documents),
    }
    return figures, stored, of_documents


def duplicate_figures(site: Path, work: Path) -> dict:
    """(c): chunks embedded for the site once, 4 times over (copies side by side), and without
    its print-all page (the chapters once)."""
    copies = work / "copies"
    for n in range(COPIES):
        shutil.copytree(site, copies / f"copy-{n}")
    without_print = work / "without-print"
    shutil.copytree(site, without_print, ignore=shutil.ignore_patterns("print_page"))
    once = ingest([site], IndexConfig(work / "home-once")).chunks_embedded
    repeated = ingest([copies], IndexConfig(work / "home-copies")).chunks_embedded
    chapters = ingest([without_print], IndexConfig(work / "home-chapters")).chunks_embedded
    return {"chunks_embedded_once": once, f"chunks_embedded_{COPIES}_copies": repeated,
            "copies_ratio": round(repeated / once, 3), "chunks_embedded_without_print_page": chapters,
            "print_page_ratio": round(once / chapters, 3)}


def junk_figures(folder: Path, documents: set[str], home: Path) -> dict:
    """(d): where the top-k passages for QUESTIONS questions come from."""
    questions = pydocs_questions(folder, QUESTIONS)
    retriever = Pipeline(Settings(home=home, answerer="extractive")).retriever()
    kinds = Counter()
    first_from_junk = retrieved = 0
    for question in questions:
        passages = retriever.passages(question)
        retrieved += len(passages)
        sources = [_relative(folder, p.source) for p in passages]
        kinds.update(_kind(rel) for rel in sources if rel not in documents)
        first_from_junk += bool(sources) and sources[0] not in documents
    return {"questions": len(questions), "k": retriever.k, "passages": retrieved,
            "from_junk": sum(kinds.values()), "by_kind": dict(kinds), "top_passage_from_junk": first_from_junk}


def pydocs_questions(site: Path, total: int) -> list[str]:
    """The gold set's questions, then questions from section headings of the tutorial pages,
    spread evenly over them, `total` in all."""
    gold = [json.loads(line)["question"] for line in (ROOT / "tests/data/python_docs_gold.jsonl").open()]
    headings = []
    for page in sorted((site / "tutorial").glob("*.html")):
        root = lxml.html.document_fromstring(page.read_text(encoding="utf-8"))
        for heading in root.xpath("//div[@class='body']//h2 | //div[@class='body']//h3"):
            title = re.sub(r"^[\d.]+\s*|¶$", "", " ".join(heading.text_content().split())).strip()
            if title:
                headings.append(f"What does the tutorial explain about {title}?")
    wanted = max(0, total - len(gold))
    return gold[:total] + [headings[i * len(headings) // wanted] for i in range(wanted)]


def _relative(folder: Path, source: str) -> str:
    path = Path(source)
    return path.relative_to(folder).as_posix() if path.is_relative_to(folder) else path.as_posix()


def _kind(rel: str) -> str:
    return next((kind for kind, pattern in JUNK_KINDS if pattern.search(rel)), "other")


def pydocs_site_figures(work: Path, embedder) -> dict:
    site = corpora.pydocs_site(work / "pydocs-site")
    home = work / "home-pydocs"
    figures = ingest_figures(site, corpora.pydocs_pages(site), home, embedder, INGEST_ROUNDS)
    figures["retrieved"] = junk_figures(site, corpora.pydocs_pages(site), home)
    return figures


def clone_figures(work: Path, embedder) -> dict:
    clone = corpora.clone(work / "clone")
    return ingest_figures(clone, corpora.clone_documents(clone), work / "home-clone", embedder)


def mkdocs_site_figures(work: Path, embedder) -> dict:
    site = corpora.mkdocs_site(work / "mkdocs")
    figures = ingest_figures(site, corpora.mkdocs_pages(site), work / "home-mkdocs", embedder)
    figures["duplicates"] = duplicate_figures(site, work / "duplicates")
    return figures


FIGURES = {"pydocs_site": pydocs_site_figures, "clone": clone_figures, "mkdocs_site": mkdocs_site_figures}


def figures(names=tuple(FIGURES)) -> dict:
    """The figures of the named corpora, each made in a scratch folder."""
    embedder = load_embedder()
    embedder.embed_chunks(["warm up"])
    results: dict = {}
    for name in names:
        with scratch() as work:
            results[name] = FIGURES[name](work, embedder)
        print(name, json.dumps(results[name]), flush=True)
    return results


def main(names=tuple(FIGURES)) -> dict:
    """Figures of the named corpora, written to bench/results/real-folders.json (merged into
    what an earlier run of other corpora wrote)."""
    path = RESULTS / "real-folders.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results.update(figures(names))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")
    return results


def built_index_figures(site: Path, home: Path) -> dict:
    """(a) and (d) for a Python docs site already indexed in `home` (no ingest, no embedding):
    e.g. the index `rag eval --corpus SITE` cached under RAG_HOME/eval/<name>-<hash>/index."""
    documents = corpora.pydocs_pages(site)
    figures = index_figures(site, documents, home)[0]
    return {**figures, "retrieved": junk_figures(site, documents, home)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpora", nargs="*", help=f"any of {', '.join(FIGURES)} (default: all)")
    parser.add_argument("--built", nargs=2, type=Path, metavar=("SITE", "INDEX"),
                        help="only (a) and (d), printed, for a Python docs SITE already indexed in INDEX")
    args = parser.parse_args()
    if args.built:
        print(json.dumps(built_index_figures(*args.built), indent=1))
    else:
        main(args.corpora or tuple(FIGURES))
