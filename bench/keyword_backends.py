"""The keyword side alone, SQLite's FTS5 against the PostgreSQL catalog's BM25, on a gold
set's own corpus: hit@1, hit@10, MRR@10 and query time over its answerable questions.

`rag eval` measures the whole hybrid retrieval on either backend (README, Deploy for a
team); this isolates what the backend changes. Both indexes are the ones `rag eval` builds
(re-running embeds nothing new):

    .venv/bin/python bench/keyword_backends.py ../shared/eval/clapnq \\
        --home /tmp/kw --database-url postgresql://rag@127.0.0.1:5432/rag
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import click

from index import open_index
from rag.eval.corpus import eval_settings
from rag.eval.gold import read_gold
from rag.eval.scoring import retrieval_rank
from rag.settings import Settings

K = 10
RESULTS = Path(__file__).parent / "results" / "keyword-backends.json"


def measure(settings: Settings, items) -> dict:
    ranks, seconds = [], []
    with open_index(settings.index_config) as index:
        for item in items:
            started = time.perf_counter()
            hits = index.keyword_search(item.question, K)
            seconds.append(time.perf_counter() - started)
            chunks = index.chunks([vector_id for vector_id, _ in hits])
            ranks.append(retrieval_rank([chunks[v] for v, _ in hits if v in chunks], item.source, item.evidence))
    return {
        "hit@1": round(statistics.mean(r == 1 for r in ranks), 4),
        f"hit@{K}": round(statistics.mean(r is not None for r in ranks), 4),
        "mrr": round(statistics.mean(1 / r if r else 0.0 for r in ranks), 4),
        "query_ms_p50": round(1000 * statistics.median(seconds), 2),
        "questions": len(ranks),
    }


@click.command()
@click.argument("gold", type=click.Path(exists=True, path_type=Path))
@click.option("--home", type=click.Path(path_type=Path), required=True, help="Where the eval indexes go")
@click.option("--database-url", required=True, help="A PostgreSQL database for the second index")
def main(gold: Path, home: Path, database_url: str) -> None:
    gold_set = read_gold(gold)
    items = [item for item in gold_set.items if not item.unanswerable and (item.source or item.evidence)]
    results = {"gold": gold_set.name, "k": K}
    for backend, extra in (("sqlite", {}), ("postgres", {"database_url": database_url})):
        settings = eval_settings(gold_set, Settings(home=home / backend, **extra), progress=True)
        results[backend] = measure(settings, items)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
