"""Questions embedded on numpy in float32 against on the batched encoder in bf16, on the
same index: does the web chat's question path (index/vectors/embedder.py's `_embed_few`:
a process that has loaded the batched encoder embeds questions on it) move `rag eval`'s
figures? Issue 28's bounds: retrieval within 0.5 points, answers within 1.

Each gold set is asked twice in one process through `rag eval`'s pipeline (its own index
under --home), first before anything loads the batched encoder (numpy, as `rag eval` and
`rag ask`), then with it loaded (`Embedder.warm`, as the web chat and a Python `ask()`);
each run records which encoder its questions were on.

    .venv/bin/python bench/question_precision.py --home /tmp/qprec ../shared/eval/clapnq ../shared/eval/squad2_500
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rag.eval import read_gold
from rag.eval.corpus import eval_pipeline
from rag.eval.run import evaluate
from rag.settings import Settings

RESULTS = Path(__file__).parent / "results"


def compared(gold_paths: list[str], home: Path) -> dict:
    """Every gold set on numpy first: the model is one per process, and once its batched
    encoder is loaded it stays."""
    golds = [read_gold(path) for path in gold_paths]
    pipelines = [eval_pipeline(gold, Settings(home=home, answerer="extractive")) for gold in golds]
    runs: dict[str, dict] = {gold.name: {} for gold in golds}
    for name in ("numpy_float32", "batched_bf16"):
        for gold, pipeline in zip(golds, pipelines):
            if name == "batched_bf16":
                pipeline.embedder.warm()
                pipeline.embedder.forget_cached()
            runs[gold.name][name] = {
                "questions_on": "batched" if pipeline.embedder.batched_loaded else "numpy",
                **{part: figures for part, figures in evaluate(gold, pipeline).summary["metrics"].items()
                   if part != "latency_ms"},  # both runs share one process: latencies are not compared
            }
    for figures in runs.values():
        figures["points"] = _points(figures["numpy_float32"], figures["batched_bf16"])
    return runs


def _points(before: dict, after: dict) -> dict:
    return {part: {name: round((after[part][name] - value) * 100, 2) for name, value in figures.items()
                   if isinstance(value, float)}
            for part, figures in before.items() if isinstance(figures, dict)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("gold", nargs="+", help="gold sets, as `rag eval` takes them")
    parser.add_argument("--home", type=Path, required=True, help="where the eval indexes are built (reused)")
    parser.add_argument("--output", default="question-precision.json", help="results file in bench/results/")
    args = parser.parse_args()
    results = {"command": "bench/question_precision.py " + " ".join(args.gold),
               "bounds": "retrieval within 0.5 points, answers within 1 (issue 28)",
               **compared(args.gold, args.home)}
    (RESULTS / args.output).write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps({name: r["points"] for name, r in results.items() if isinstance(r, dict)}, indent=1))


if __name__ == "__main__":
    main()
