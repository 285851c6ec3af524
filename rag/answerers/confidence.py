"""How likely it is that the documents answer a question: a small logistic model over
signals of the evidence found (rag/answerers/extractive.py `evidence_signals`, plus the local model's
own judgement for `verified`). The coefficients are fitted on dev data (ClapNQ dev and the
SQuAD 2.0 sample, never the seed gold set) by bench/calibrate.py and ship in
rag/data/confidence.json, each model with the refusal threshold that wrongly refuses at
most 8% of the answerable dev questions out of fold (bench/calibrate.py).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path

from rag.answer import DECLINE, Draft

MODELS = Path(__file__).parents[1] / "data" / "confidence.json"


@dataclass(frozen=True)
class ConfidenceModel:
    """P(the documents answer the question) = logistic(bias + sum of weight x signal)."""

    signals: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float

    def probability(self, values: dict[str, float]) -> float:
        z = self.bias + sum(w * values[name] for name, w in zip(self.signals, self.weights))
        return round(1 / (1 + math.exp(-z)), 4)

    def to_dict(self) -> dict:
        return {"signals": list(self.signals), "weights": list(self.weights),
                "bias": self.bias, "threshold": self.threshold}


@functools.cache
def load_model(name: str, path: Path = MODELS) -> ConfidenceModel:
    """A shipped model by name: `evidence` or `verified`."""
    m = json.loads(path.read_text(encoding="utf-8"))["models"][name]
    return ConfidenceModel(tuple(m["signals"]), tuple(m["weights"]), m["bias"], m["threshold"])


def refuse_below(draft: Draft, threshold: float) -> Draft:
    """The draft, or a refusal that keeps it in checks when its confidence is too low."""
    if draft.refused or draft.confidence is None or draft.confidence >= threshold:
        return draft
    checks = {**draft.checks, "low_confidence": {
        "confidence": draft.confidence, "threshold": threshold, "withheld": draft.text}}
    return Draft(DECLINE, [], True, checks, draft.confidence, draft.signals)
