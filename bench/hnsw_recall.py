"""recall@10 at 100k chunks against HNSW's `ef_search`, over several builds of each: Chroma
builds the graph on several threads, so two builds of the same vectors differ, and so does
their recall (0.947-0.972 over six FULL bench runs at ef_search 200).

Each build is bench/run.py's 100k index (`scaled_index`) from the ClapNQ chunks embedded
once; recall is its `recall_at_10` measure (HNSW's top 10 of a 30-wide query against the
exact top 10 over the catalog's vectors), with the vector search's time per question.

    .venv/bin/python bench/hnsw_recall.py 200 300 200 300
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

import index.vectors.store as vector_store
from index.config import IndexConfig
from index.store import open_index
from run import RESULTS, _question_vectors, bench_questions, percentiles, real_chunks, recall_of, scaled_index, timed

SIZE = 100_000


def build_figures(home: Path, questions: list[np.ndarray]) -> dict:
    with open_index(IndexConfig(home)) as index:
        ids, matrix = index.catalog.vectors(index.catalog.vector_ids())
        recalls, seconds = [], []
        for q in questions:
            spent, found = timed(index.vectors.query, q, 30)
            seconds.append(spent)
            recalls.append(recall_of(ids, matrix, q, found))
    return {"recall_at_10": round(float(np.mean(recalls)), 4),
            **{f"query_{name}": ms for name, ms in percentiles(seconds).items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ef_search", nargs="+", type=int, help="one build per value, in this order")
    args = parser.parse_args()
    questions = _question_vectors(bench_questions())
    builds = []
    with tempfile.TemporaryDirectory() as folder:
        chunks, vectors, sentences = real_chunks(Path(folder))
        for ef in args.ef_search:
            vector_store.HNSW["ef_search"] = ef
            home = Path(folder) / f"ef-{ef}"
            scaled_index(home, chunks, vectors, sentences, SIZE)
            builds.append({"ef_search": ef, **build_figures(home, questions)})
            shutil.rmtree(home)
            print(json.dumps(builds[-1]), flush=True)
    (RESULTS / "hnsw-recall.json").write_text(json.dumps(
        {"command": " ".join(["bench/hnsw_recall.py", *sys.argv[1:]]), "chunks": SIZE,
         "hnsw": {k: v for k, v in vector_store.HNSW.items() if k != "ef_search"}, "builds": builds}, indent=1) + "\n")


if __name__ == "__main__":
    main()
