"""What filtering by collection costs a question: keyword search (SQLite FTS5, or PostgreSQL
BM25) and vector search (Chroma, filtered by metadata) over synthetic chunks of the seed
article's words (every asked word in most chunks: the hard case), a tenth of them in the
asker's collection, the rest in another. Compares each search unfiltered (an admin) with
the same search kept to the asker's collection.

    .venv/bin/python bench/collection_filter.py [--database-url postgresql://...]
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import click
import numpy as np

from catalog_commit import QUESTIONS, documents
from index import IndexConfig
from index.store import open_index, writing

RESULTS = Path(__file__).resolve().parent / "results" / "collection-filter.json"
DOCUMENTS = 500  # of 20 chunks: 10,000 chunks
MINE = DOCUMENTS // 10
ROUNDS = 30


def build(config: IndexConfig) -> None:
    made = documents(DOCUMENTS)
    with writing(config) as index:
        for collection, batch in (("mine", made[:MINE]), ("theirs", made[MINE:])):
            for i in range(0, len(batch), 50):
                index.catalog.commit_documents(batch[i:i + 50], [], collection)
                index.apply_journal()


def percentiles(timings: list[float]) -> dict:
    ordered = sorted(timings)
    return {"p50_ms": round(1000 * statistics.median(ordered), 2),
            "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 2)}


def measure(config: IndexConfig) -> dict:
    build(config)
    rng = np.random.default_rng(1)
    asked = {"all": None, "mine": ["mine"]}
    timings = {(label, side): [] for label in asked for side in ("keyword", "vector")}
    with open_index(config) as index:
        # The same questions and vectors each way, alternated, so load from other processes
        # falls on both alike.
        for _ in range(ROUNDS):
            for question in QUESTIONS:
                vector = rng.standard_normal(384).astype(np.float32)
                vector /= np.linalg.norm(vector)
                for label, collections in asked.items():
                    started = time.perf_counter()
                    index.keyword_search(question, 30, collections)
                    timings[label, "keyword"].append(time.perf_counter() - started)
                    started = time.perf_counter()
                    index.vector_search(vector, 30, collections)
                    timings[label, "vector"].append(time.perf_counter() - started)
        recall = filtered_recall(index, rng)
    return {"chunks": DOCUMENTS * 20, "chunks_of_the_asker": MINE * 20,
            **{f"{label} {side}": percentiles(spent) for (label, side), spent in timings.items()},
            "mine vector recall@10": recall}


def filtered_recall(index, rng, queries: int = 50) -> float:
    """How much of the exact top 10 among the asker's vectors the filtered search finds."""
    mine = [i for i, c in index.catalog.vector_collections(index.catalog.vector_ids()).items() if c == "mine"]
    ids, matrix = index.catalog.vectors(mine)
    matrix = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)  # the store ranks by cosine
    found = 0
    for _ in range(queries):
        vector = rng.standard_normal(384).astype(np.float32)
        vector /= np.linalg.norm(vector)
        exact = {ids[j] for j in np.argsort(-(matrix @ vector))[:10]}
        hits, _ = index.vector_search(vector, 10, ["mine"])
        found += len(exact & {i for i, _ in hits})
    return round(found / (10 * queries), 3)


@click.command()
@click.option("--database-url", default=None, help="An empty PostgreSQL database, to measure it too")
def main(database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as home:
        results = {"sqlite": measure(IndexConfig(Path(home) / "sqlite"))}
        if database_url:
            results["postgres"] = measure(IndexConfig(Path(home) / "postgres", database_url=database_url))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
