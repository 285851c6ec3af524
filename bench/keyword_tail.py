"""The keyword side alone at 100k chunks, where its tail was: `make bench FULL=1` builds
the whole index (9-10 min); this builds only the catalog of the same scaled chunks
(bench/run.py's `scaled_documents`; the keyword side reads nothing else) once, keeps it,
and times `keyword_search` on the bench's 100 questions, each the median of a few runs.
It prints p50 and p95 over the questions and, for the slowest, how many chunks hold each
of their words, and writes bench/results/keyword-tail.json.

    nice -n 10 .venv/bin/python bench/keyword_tail.py --home /tmp/kw100k
    nice -n 10 .venv/bin/python bench/keyword_tail.py --home /tmp/kw100k \\
        --database-url postgresql://rag@127.0.0.1:5432/rag
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from run import bench_questions, percentiles, real_chunks, scaled_documents

from index.catalog import Catalog, query_terms
from index.catalog.sqlite import SqliteCatalog

RESULTS = Path(__file__).parent / "results" / "keyword-tail.json"
K = 30  # what retrieval fetches from each side (RAG_FETCH_K)
REPEATS = 5
SLOWEST = 8


def build(catalog: Catalog, home: Path, total: int) -> None:
    """The scaled chunks into an empty catalog; one already built is kept."""
    if catalog.chunk_count() >= total:
        return
    chunks, vectors, sentences = real_chunks(home)
    for batch in scaled_documents(chunks, vectors, sentences, total):
        catalog.commit_documents(batch, [])


def measure(catalog: Catalog, questions: list[str]) -> dict:
    """Each question's first search (its new words counted, as a serving process meets
    them) and the median of its next ones."""
    for _ in range(2):  # the page cache warmed, by other words than the questions'
        catalog.keyword_search("tides owls comet harvest", K)
    first, per_question = [], []
    for question in questions:
        samples = []
        for _ in range(REPEATS + 1):
            started = time.perf_counter()
            catalog.keyword_search(question, K)
            samples.append(time.perf_counter() - started)
        first.append(samples[0])
        per_question.append((statistics.median(samples[1:]), question))
    slowest = sorted(per_question, reverse=True)[:SLOWEST]
    return {
        **percentiles([s for s, _ in per_question]),
        "first_search": percentiles(first),
        "slowest": [{"ms": round(s * 1000, 2), "question": q,
                     "chunks_per_term": {t: matching(catalog, t) for t in query_terms(q)}} for s, q in slowest],
    }


def matching(catalog: Catalog, term: str) -> int:
    """How many chunks the keyword search finds for this word alone."""
    return len(catalog.keyword_search(term, 10**9))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="where the catalog is built and kept")
    parser.add_argument("--database-url", help="also a PostgreSQL catalog in this database")
    parser.add_argument("--chunks", type=int, default=100_000)
    args = parser.parse_args()
    args.home.mkdir(parents=True, exist_ok=True)
    questions = bench_questions()
    catalogs = {"sqlite": lambda: SqliteCatalog(args.home / f"keyword-tail-{args.chunks}.sqlite")}
    if args.database_url:
        from index.catalog.postgres import PostgresCatalog

        catalogs["postgres"] = lambda: PostgresCatalog(args.database_url, f"rag_keyword_tail_{args.chunks}")
    results = {"chunks": args.chunks, "k": K, "repeats": REPEATS}
    for name, open_catalog in catalogs.items():
        catalog = open_catalog()
        started = time.perf_counter()
        build(catalog, args.home, args.chunks)
        results[name] = {"build_s": round(time.perf_counter() - started, 1), **measure(catalog, questions)}
        catalog.close()
        print(name, json.dumps(results[name], indent=1), flush=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
