"""The SQLite catalog's size, table by table (SQLite's `dbstat`), on bench/run.py's scaled
ClapNQ chunks, and the keyword side's latency and results there. Only the catalog is built
(as bench/keyword_tail.py builds it); it is kept in --home, so running this again with
another version of the code on a fresh --home compares the two on the same chunks.

    nice -n 10 .venv/bin/python bench/catalog_size.py --home /tmp/catalog-size --chunks 10000

It prints MB per 1,000 chunks for the file and for each table and index, keyword p50/p95 and the time to read the hits as chunks,
and writes every question's keyword results (vector id, score) to --home/keywords.json.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import time
from pathlib import Path

from keyword_tail import REPEATS, K, build, measure
from run import bench_questions, percentiles

from index.catalog.sqlite import SqliteCatalog


def sizes(path: Path, chunks: int) -> dict:
    """MB per 1,000 chunks: the whole file (write-ahead log checkpointed) and each table and
    index by its pages, largest first."""
    per_1k = 1000 / chunks / 1e6
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
        free = db.execute("PRAGMA freelist_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]
    return {"file_mb_per_1k": round(path.stat().st_size * per_1k, 3),
            "free_mb_per_1k": round(free * per_1k, 3),
            "tables_mb_per_1k": {name: round(size * per_1k, 3) for name, size in pages}}


def chunk_reads(catalog: SqliteCatalog, found: list[list[int]]) -> dict:
    """Reading each question's keyword hits as chunks, text included (what retrieval reads),
    the median of a few runs each."""
    samples = []
    for vector_ids in found:
        runs = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            catalog.chunks_by_vector(vector_ids)
            runs.append(time.perf_counter() - started)
        samples.append(statistics.median(runs))
    return percentiles(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="where the catalog is built and kept")
    parser.add_argument("--chunks", type=int, default=10_000)
    args = parser.parse_args()
    args.home.mkdir(parents=True, exist_ok=True)
    questions = bench_questions()
    path = args.home / f"catalog-size-{args.chunks}.sqlite"
    catalog = SqliteCatalog(path)
    build(catalog, args.home, args.chunks)
    catalog.clear_journal(catalog.journal().ids)  # as the bench's index has applied it
    figures = {"chunks": catalog.chunk_count(), **sizes(path, catalog.chunk_count()),
               "keyword_search": measure(catalog, questions)}
    results = {q: catalog.keyword_search(q, K) for q in questions}
    figures["chunk_reads"] = chunk_reads(catalog, [[i for i, _ in found] for found in results.values()])
    catalog.close()
    (args.home / "keywords.json").write_text(json.dumps(results) + "\n")
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
