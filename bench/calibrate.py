"""Fit the confidence models on dev data, report their out-of-fold figures, write them.

    .venv/bin/python bench/calibrate.py     # signals cached under .rag/eval/signals

Dev data: ClapNQ dev and the SQuAD 2.0 sample from ../shared/eval. The seed gold set is
never used: the tests check it and held-out sets are run elsewhere.

Two models (rag/answerers/confidence.py): `evidence` from the extractive scorer's signals, on every
dev question (instant at answer time), and `verified`, the same signals plus the local
model's P(yes) that the passages answer (~2 s a question), on an even sample of
VERIFY_SAMPLE questions per set, less those of the 60-question samples that the README's
`rag eval --limit 60` runs report. Each is a logistic regression; the figures are
out-of-fold (5 folds stratified by set and answerability), and the threshold is the highest
that wrongly refuses at most MAX_FALSE_REFUSALS of the answerable questions of each set
out of fold. The shipped coefficients are then fitted on all of the data.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
from tqdm import tqdm

from rag.answerers.confidence import MODELS, ConfidenceModel
from rag.answerers.extractive import EVIDENCE_SIGNALS
from rag.eval import eval_pipeline, read_gold, sample
from rag.eval.scoring import answer_scores, is_correct
from rag.reader import WEIGHTS, file_sha256
from rag.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "eval"
DEV = {"clapnq": SHARED / "clapnq", "squad2": SHARED / "squad2_500"}
VERIFY_SAMPLE = 200
EVAL_SAMPLE = 60  # the `rag eval --limit 60` questions the README reports: never fitted on
# At most 8% on dev out of fold, so that at most 10% holds on sets it never saw (the
# held-out sets are run by others).
MAX_FALSE_REFUSALS = 0.08
SIGNALS = {"evidence": EVIDENCE_SIGNALS, "verified": (*EVIDENCE_SIGNALS, "verified_yes")}


def collect(name: str, home: Path, verify: bool) -> list[dict]:
    """Per question: answerability, whether the extractive answer is correct, and the
    signals; read back from home/eval/signals when already measured with this reader. The
    questions are asked of the set's eval index, the one `rag eval` asks with RAG_HOME=home."""
    # Keyed by the reader's weights too: its probability is a signal, so a retrained reader
    # measures every question again rather than reading the last reader's signals.
    reader = file_sha256(WEIGHTS)[:12]
    out = home / "eval" / "signals" / f"{name}{'-verified' if verify else ''}-reader-{reader}.jsonl"
    if out.exists():
        return [json.loads(line) for line in out.read_text().splitlines()]
    gold = read_gold(DEV[name])
    pipeline = eval_pipeline(gold, Settings(home=home, answerer="extractive"))
    answerer = pipeline.answerer("verified" if verify else "extractive")
    items = gold.items
    if verify:
        reported = {item.id for item in sample(gold.items, EVAL_SAMPLE)}
        items = [item for item in sample(gold.items, VERIFY_SAMPLE) if item.id not in reported]
    rows = []
    for item in tqdm(items, desc=f"{name} signals", unit="question"):
        passages = pipeline.retriever().passages(item.question)
        draft = answerer.candidate(item.question, passages)
        scores = answer_scores(draft.text, item.answers, gold.long_answers)
        rows.append({"id": item.id, "set": name, "answerable": not item.unanswerable,
                     "correct": not item.unanswerable and is_correct(scores, gold.long_answers),
                     **draft.signals})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return rows


def fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Logistic regression on standardised signals, returned on the raw scale."""
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=1.0, max_iter=1000).fit(scaler.transform(x), y)
    weights = model.coef_[0] / scaler.scale_
    return weights, float(model.intercept_[0] - weights @ scaler.mean_)


def folds(y: np.ndarray, groups: np.ndarray):
    """(train, test) index pairs of 5 folds, stratified by set and answerability."""
    strata = np.char.add(groups.astype(str), y.astype(str))
    return StratifiedKFold(5, shuffle=True, random_state=0).split(np.zeros(len(y)), strata)


def out_of_fold(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    probabilities = np.zeros(len(y))
    for train, test in folds(y, groups):
        weights, bias = fit(x[train], y[train])
        probabilities[test] = 1 / (1 + np.exp(-(x[test] @ weights + bias)))
    return probabilities


def threshold(p: np.ndarray, y: np.ndarray, groups: np.ndarray) -> float:
    """The highest threshold that wrongly refuses at most MAX_FALSE_REFUSALS of each set's
    answerable questions, given their out-of-fold probabilities `p`."""
    return max(t / 1000 for t in range(1000)
               if all(np.mean(p[(groups == s) & y] < t / 1000) <= MAX_FALSE_REFUSALS for s in set(groups)))


def figures(p: np.ndarray, rows: list[dict], threshold: float) -> dict:
    """Per dev set, at the threshold: refusal rates, correct answers, AUC."""
    report = {}
    for name in DEV:
        mine = np.array([r["set"] == name for r in rows])
        if not mine.any():
            continue
        answerable = np.array([r["answerable"] for r in rows]) & mine
        unanswerable = ~answerable & mine
        correct = np.array([r["correct"] for r in rows])
        report[name] = {
            "questions": int(mine.sum()),
            "auc": round(float(roc_auc_score(answerable[mine], p[mine])), 3),
            "answerable_wrongly_refused": round(float(np.mean(p[answerable] < threshold)), 3),
            "unanswerable_refused": round(float(np.mean(p[unanswerable] < threshold)), 3),
            "correct": round(float(np.mean(correct[answerable] & (p[answerable] >= threshold))), 3),
        }
    return report


def calibrate(rows: list[dict], signals: tuple[str, ...]) -> tuple[ConfidenceModel, dict]:
    x = np.array([[r[s] for s in signals] for r in rows], dtype=float)
    y = np.array([r["answerable"] for r in rows])
    groups = np.array([r["set"] for r in rows])
    oof = out_of_fold(x, y, groups)
    cut = threshold(oof, y, groups)
    weights, bias = fit(x, y)
    model = ConfidenceModel(signals, tuple(round(float(w), 5) for w in weights), round(bias, 5), cut)
    return model, {"out_of_fold": figures(oof, rows, cut), "threshold": cut}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, default=ROOT / ".rag",
                        help="the RAG_HOME whose eval/ caches the dev sets' indexes and signals")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "calibration.json")
    args = parser.parse_args()
    data = {
        "evidence": [row for name in DEV for row in collect(name, args.home, verify=False)],
        "verified": [row for name in DEV for row in collect(name, args.home, verify=True)],
    }
    models, report = {}, {}
    for name, rows in data.items():
        models[name], report[name] = calibrate(rows, SIGNALS[name])
        print(name, json.dumps(report[name]))
    MODELS.write_text(json.dumps({"models": {n: m.to_dict() for n, m in models.items()}}, indent=1) + "\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
