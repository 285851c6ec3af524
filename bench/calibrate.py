"""Choose the fusion weight and the refusal threshold on dev data, and print the figures.

    .venv/bin/python bench/calibrate.py            # ~6 min on 2 cores, indexes cached in .rag/eval

Dev data: ClapNQ dev and the SQuAD 2.0 sample from ../shared/eval (answerable and
unanswerable halves). The seed gold set is measured alongside but never used to choose:
the tests check it.

Rule for the threshold: the highest one that wrongly refuses at most 10% of the answerable
dev questions in each dev set. Extractive answers only ever quote the documents, so a
question answered when it should not be shows a related quote; a wrong refusal hides an
answer that is there.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from index import ingest, open_index
from index.embedding import load_embedder
from rag.evaluation import index_corpus, read_gold
from rag.extractive import ExtractiveAnswerer
from rag.metrics import retrieval_rank
from rag.retrieval import HybridRetriever

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "eval"
DEV = {"clapnq": SHARED / "clapnq", "squad2": SHARED / "squad2_500"}
HELD_OUT = {"seed": ROOT / "tests" / "data" / "seed_gold.jsonl"}
MAX_FALSE_REFUSALS = 0.10


def retrieval(retriever, items, k=5) -> dict:
    hits, reciprocal = [], []
    for item in items:
        rank = retrieval_rank(retriever.passages(item.question, k), item.source, item.evidence)
        hits.append(rank == 1)
        reciprocal.append(1 / rank if rank else 0.0)
    return {"hit@1": round(statistics.mean(hits), 4), f"mrr@{k}": round(statistics.mean(reciprocal), 4)}


def evidence(retriever, answerer, items) -> list[tuple[bool, float]]:
    """(unanswerable, best evidence score) per question."""
    rows = []
    for item in items:
        ranked = answerer.score(item.question, retriever.passages(item.question))
        rows.append((item.unanswerable, ranked[0].evidence if ranked else 0.0))
    return rows


def rates(rows, threshold) -> dict:
    answerable = [e for u, e in rows if not u]
    unanswerable = [e for u, e in rows if u]
    return {
        "answerable_wrongly_refused": round(sum(e < threshold for e in answerable) / len(answerable), 3),
        "unanswerable_refused": round(sum(e < threshold for e in unanswerable) / len(unanswerable), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=ROOT / ".rag" / "eval")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "calibration.json")
    args = parser.parse_args()
    embedder = load_embedder()
    answerer = ExtractiveAnswerer(embedder, min_evidence=0.0)
    report, scores = {}, {}
    for name, path in {**DEV, **HELD_OUT}.items():
        gold = read_gold(path)
        if gold.corpus:
            home = index_corpus(gold, args.cache)
        else:
            home = args.cache / name
            ingest([str(ROOT / "seeds")], home=home)
        index = open_index(home)
        entry = {}
        answerable = [i for i in gold.items if not i.unanswerable and i.source]
        if answerable:
            entry["retrieval"] = {
                f"keyword_weight={w}": retrieval(HybridRetriever(index=index, embedder=embedder, keyword_weight=w), answerable)
                for w in (0.0, 0.25, 0.5, 1.0)
            }
        scores[name] = evidence(HybridRetriever(index=index, embedder=embedder), answerer, gold.items)
        report[name] = entry
        print(name, json.dumps(entry))
    candidates = [t / 100 for t in range(30, 80)]
    threshold = max(
        t for t in candidates if all(rates(scores[n], t)["answerable_wrongly_refused"] <= MAX_FALSE_REFUSALS for n in DEV)
    )
    report["threshold"] = threshold
    report["sweep"] = {f"{t:.2f}": {n: rates(scores[n], t) for n in scores} for t in candidates[::2]}
    for name in scores:
        report[name]["at_threshold"] = rates(scores[name], threshold)
    print(f"chosen min_evidence = {threshold:.2f}")
    for name in scores:
        print(name, report[name]["at_threshold"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
