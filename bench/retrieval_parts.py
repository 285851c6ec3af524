"""Where retrieval's time goes at scale, part by part, on an index already built (by
bench/run.py's `scaled_index`; a 100k one takes ~10 min, so it is kept and reused).

Each part of `HybridSearch.retrieve` is timed where it is called: the query embedded,
the vector search, the keyword search (on its own thread, beside the first two), the
fusion, the chunks' lookup, the copies' lookup, the copy handling (`cite_most_specific`)
and the merge. Every question is new to the process (no remembered vector), as in
bench/run.py's `query_figures`; p50 and p95 are over the bench's 100 questions, and a part
called more than once in a question (a second, larger fetch) counts its sum.

    nice -n 10 .venv/bin/python bench/retrieval_parts.py --home /tmp/tail100k/home
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

from run import bench_questions, percentiles

from rag import Pipeline, Settings, retrieval

PARTS = {  # part -> (object, attribute) timed
    "embed_query": ("embedder", "embed_query"),
    "vector_search": ("index", "vector_search"),
    "keyword_search": ("index", "keyword_search"),
    "chunks": ("index", "chunks"),
    "copies": ("index", "copies"),
    "fusion": (retrieval, "reciprocal_rank_fusion"),
    "cite_most_specific": (retrieval, "cite_most_specific"),
    "merge_passages": (retrieval, "merge_passages"),
}


def timing(function, spent: list[float]):
    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)
    return timed


def instrumented(home: Path, serving: bool = False) -> tuple[Pipeline, dict[str, list[float]]]:
    """A pipeline on the index at `home` whose retrieval parts record their times: `rag
    ask`'s, or with `serving` the web chat's (its models loaded first, as it loads them)."""
    settings = Settings(home=home, answerer="extractive")
    pipeline = Pipeline(settings.serving() if serving else settings)
    if serving:
        pipeline.warm_models()
    pipeline.retriever().passages("Which questions warm up the model and open the index?")
    owners = {"embedder": pipeline.embedder, "index": pipeline.index}
    spent: dict[str, list[float]] = {}
    for part, (owner, name) in PARTS.items():
        target = owners.get(owner, owner)
        spent[part] = []
        setattr(target, name, timing(getattr(target, name), spent[part]))
    return pipeline, spent


def question_parts(pipeline: Pipeline, spent: dict[str, list[float]], question: str) -> tuple[dict, list]:
    """One new question's retrieval: seconds per part (and "total", and "fetches": how many
    times each side searched; the chunks are looked up twice a fetch, once per side), and
    its passages."""
    pipeline.embedder.forget_cached()
    marks = {part: len(samples) for part, samples in spent.items()}
    started = time.perf_counter()
    passages = pipeline.retriever().passages(question)
    parts = {"total": time.perf_counter() - started}
    parts.update({part: sum(samples[marks[part]:]) for part, samples in spent.items()})
    parts["fetches"] = len(spent["keyword_search"]) - marks["keyword_search"]
    return parts, passages


def measure(home: Path, questions: list[str], serving: bool = False) -> dict:
    pipeline, spent = instrumented(home, serving)
    per_question: dict[str, list[float]] = defaultdict(list)
    for question in questions:
        for part, value in question_parts(pipeline, spent, question)[0].items():
            per_question[part].append(value)
    fetches = per_question.pop("fetches")
    return {"questions": len(questions), "fetches_above_one": sum(f > 1 for f in fetches),
            **{part: percentiles(samples) for part, samples in per_question.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="an index built by bench/run.py's scaled_index")
    parser.add_argument("--serving", action="store_true", help="the web chat's process: its models loaded first")
    args = parser.parse_args()
    questions = bench_questions()
    print(json.dumps(measure(args.home, questions, args.serving), indent=1))


if __name__ == "__main__":
    main()
