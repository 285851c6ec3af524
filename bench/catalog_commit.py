"""Committing chunks and searching keywords in each catalog backend: SQLite files against a
PostgreSQL database, with synthetic chunks (so no embedding) of the seed article's words,
where every asked word is in most chunks: the hard case for keyword search.

    .venv/bin/python bench/catalog_commit.py --database-url postgresql://rag@127.0.0.1:5432/bench
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import click
import numpy as np

from index import IndexConfig
from index.catalog import NewChunk
from index.formats import Document, document_version
from index.store import writing
from index.vectors.embedder import load_embedder

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "deepseek-wake-up-call-market-reaction.txt"
RESULTS = ROOT / "bench" / "results" / "catalog-commit.json"
DOCUMENTS, CHUNKS_EACH, WORDS_EACH, BATCH = 100, 20, 180, 10
QUESTIONS = ["How much market value did Nvidia lose?", "Who founded DeepSeek?",
             "Which Japanese companies saw their shares fall?"]


def documents(count: int = DOCUMENTS) -> list[tuple[Document, list[NewChunk]]]:
    words = SEED.read_text().split()
    rng = np.random.default_rng(0)
    embedder = load_embedder()  # its tokenizer keys chunks as ingest does; nothing is embedded
    made = []
    for d in range(count):
        texts = [" ".join(rng.choice(words, WORDS_EACH)) for _ in range(CHUNKS_EACH)]
        text = " ".join(texts)
        chunks, start = [], 0
        for c, (chunk_text, key) in enumerate(zip(texts, embedder.input_keys(texts))):
            chunks.append(NewChunk(f"d{d}-{c}", c, start, start + len(chunk_text), None, chunk_text, key,
                                   rng.standard_normal(384).astype(np.float32)))
            start += len(chunk_text) + 1
        made.append((Document(f"doc{d}.txt", text, document_version(text.encode())), chunks))
    return made


def measure(config: IndexConfig, batch: list) -> dict:
    with writing(config) as index:
        started = time.perf_counter()
        for i in range(0, len(batch), BATCH):
            index.catalog.commit_documents(batch[i:i + BATCH], [])
        seconds = time.perf_counter() - started
        timings = []
        for _ in range(20):
            for question in QUESTIONS:
                started = time.perf_counter()
                index.catalog.keyword_search(question, 30)
                timings.append(time.perf_counter() - started)
    chunks = DOCUMENTS * CHUNKS_EACH
    return {"chunks": chunks, "commit_s": round(seconds, 2), "chunks_per_s": round(chunks / seconds),
            "keyword_query_ms_p50": round(1000 * statistics.median(timings), 2)}


@click.command()
@click.option("--database-url", required=True, help="An empty PostgreSQL database")
def main(database_url: str) -> None:
    batch = documents()
    with tempfile.TemporaryDirectory() as home:
        results = {
            "sqlite": measure(IndexConfig(Path(home) / "sqlite"), batch),
            "postgres": measure(IndexConfig(Path(home) / "postgres", database_url=database_url), batch),
        }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
