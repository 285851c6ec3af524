"""The reader measured on its own (no retrieval): each question read with its gold passage.

- SQuAD 2.0 sample (../shared/eval/squad2_500): answerability AUROC over all 500, and span
  exact match / token F1 (SQuAD normalisation) of the best span on the 242 answerable ones.
  The training data shares articles with this sample (paragraph-disjoint only).
- ClapNQ dev (../shared/eval/clapnq, Natural Questions: another source): answerability AUROC
  with each question's own passage.
- Warm latency of one question over 5 SQuAD paragraphs (its own and the next four).

Measurement only: nothing here is fitted or chosen on these sets.

    python bench/reader_eval.py [--weights FILE] [--eval ../shared/eval]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from sklearn.metrics import roc_auc_score

from rag.eval.gold import GoldSet, read_clapnq, read_squad
from rag.eval.scoring import exact_match, token_f1
from rag.reader import WEIGHTS, Reader

EVAL = Path(__file__).resolve().parents[1].parent / "shared" / "eval"
LATENCY_QUESTIONS = 60


def measure(reader: Reader, eval_folder: Path = EVAL) -> dict:
    squad = read_squad(eval_folder / "squad2_500")
    clapnq = read_clapnq(eval_folder / "clapnq")
    squad_probabilities, em, f1 = [], [], []
    for item in squad.items:
        passage = squad.corpus[item.source]
        reading = reader.read(item.question, [passage], span_floor=0.0)[0]
        squad_probabilities.append(reading.probability)
        if not item.unanswerable:
            span = passage[reading.start : reading.end]
            em.append(max(exact_match(span, gold) for gold in item.answers))
            f1.append(max(token_f1(span, gold) for gold in item.answers))
    return {
        "squad_auroc": _auroc(squad, squad_probabilities),
        "squad_exact_match": statistics.fmean(em),
        "squad_f1": statistics.fmean(f1),
        "squad_answerable": len(em),
        "clapnq_auroc": _auroc(clapnq, [reader.read(i.question, [clapnq.corpus[i.source]])[0].probability
                                        for i in clapnq.items]),
    }


def _auroc(gold: GoldSet, probabilities: list[float]) -> float:
    return float(roc_auc_score([not item.unanswerable for item in gold.items], probabilities))


def warm_latency_ms(reader: Reader, eval_folder: Path = EVAL) -> dict:
    """p50 and p90 of one question read over 5 paragraphs, after one warm-up call."""
    squad = read_squad(eval_folder / "squad2_500")
    paragraphs = list(squad.corpus.values())
    items = squad.items[:LATENCY_QUESTIONS]
    reader.read(items[0].question, paragraphs[:5])
    times = []
    for n, item in enumerate(items):
        passages = [paragraphs[(n + k) % len(paragraphs)] for k in range(5)]
        began = time.perf_counter()
        reader.read(item.question, passages)
        times.append((time.perf_counter() - began) * 1000)
    quantiles = statistics.quantiles(times, n=10)
    return {"p50_ms": statistics.median(times), "p90_ms": quantiles[-1]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=Path, default=WEIGHTS)
    parser.add_argument("--eval", type=Path, default=EVAL, help="the shared eval folder")
    args = parser.parse_args()
    loaded = Reader.load(args.weights)
    print(json.dumps({**measure(loaded, args.eval), **warm_latency_ms(loaded, args.eval)}, indent=2))
