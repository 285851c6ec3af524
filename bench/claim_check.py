"""`local`'s claim check calibrated on dev: the model's answers recorded once, the check replayed.

Writing is the slow part of `local` (~3-4 s a question here), the check milliseconds, so
`record` runs `rag eval --answerer local` (the same sample and report) and keeps, per
question, the text the model wrote, the passages it was checked against and the gate's
confidence; `replay` applies the check to those texts with each names rule and support
threshold, then the shipped check behind other gate thresholds (docs/results.md, "`local` on
its 120-question samples").

    python bench/claim_check.py record ../shared/eval/clapnq --limit 120 --texts T.jsonl [--report DIR]
    python bench/claim_check.py replay T.jsonl [T.jsonl ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections import Counter
from pathlib import Path

from rag.answer import Passage
from rag.answerers import generation
from rag.answerers.assertions import unstated
from rag.answerers.generation import CitationChecker
from rag.eval import eval_pipeline, evaluate, read_gold, summary_table, write_report
from rag.eval.scoring import answer_scores, is_correct
from rag.pipeline import Pipeline, clean_question
from rag.settings import Settings

NAMES_RULES = {
    "every name and number in the cited passages": lambda claim, cited, question: unstated(claim, cited),
    "the question's names and numbers exempt (shipped)": unstated,
    "names and numbers not checked": lambda claim, cited, question: [],
}
SUPPORTS = (0.55, 0.45, 0.35)
GATES = (None, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)  # None: the shipped gate's own threshold


class RecordingChecker:
    """The answerer's checker, keeping what it was given per question."""

    def __init__(self, checker: CitationChecker):
        self.checker = checker
        self.given: dict[str, tuple[str, list[Passage]]] = {}

    def __call__(self, text: str, passages: list[Passage], question: str = ""):
        self.given[question] = (text, passages)
        return self.checker(text, passages, question)


def record(gold_path: Path, limit: int | None, texts: Path, report: Path | None) -> None:
    gold = read_gold(gold_path)
    pipeline: Pipeline = eval_pipeline(gold, Settings.from_env(), progress=True)
    local = pipeline.answerer("local")
    local.checker = recording = RecordingChecker(local.checker)
    result = evaluate(gold, pipeline, limit=limit, answerer="local", progress=True)
    if report:
        write_report(result, report)
    print(summary_table(result.summary))
    with texts.open("w") as out:
        for question in result.questions:
            row = {"question": question.question, "unanswerable": question.unanswerable,
                   "gold_answers": question.gold_answers, "long_answers": gold.long_answers,
                   "confidence": question.confidence, "gate": local.gate.threshold}
            # The checker is given the question as the pipeline cleaned it (35 of SQuAD's 500
            # differ in their spaces).
            asked = clean_question(question.question, pipeline.settings.max_question_chars)
            if asked in recording.given:
                text, passages = recording.given[asked]
                row |= {"text": text, "passages": [dataclasses.asdict(p) for p in passages]}
            out.write(json.dumps(row, default=str) + "\n")


def outcome(row: dict, checker: CitationChecker, gate: float | None) -> str:
    """refused, answered (an unanswerable question), correct or wrong."""
    if "text" not in row or row["confidence"] < (gate if gate is not None else row["gate"]):
        return "refused"
    draft = checker(row["text"], [Passage(**p) for p in row["passages"]], row["question"])
    if draft.refused:
        return "refused"
    if row["unanswerable"]:
        return "answered"
    scores = answer_scores(draft.text, row["gold_answers"], row["long_answers"])
    return "correct" if is_correct(scores, row["long_answers"]) else "wrong"


def figures(rows: list[dict], checker: CitationChecker, gate: float | None = None) -> str:
    counts = Counter((row["unanswerable"], outcome(row, checker, gate)) for row in rows)
    unanswerable, answerable = sum(r["unanswerable"] for r in rows), sum(not r["unanswerable"] for r in rows)
    return (f"{counts[True, 'refused'] / unanswerable:.3f} / {counts[False, 'refused'] / answerable:.3f}"
            f" (correct {counts[False, 'correct'] / answerable:.3f})")


def replay(files: list[Path]) -> None:
    from index.vectors.embedder import load_embedder

    sets = {path.stem: [json.loads(line) for line in path.open()] for path in files}
    embedder = load_embedder()
    print("unanswerable refused / answerable refused (answers correct), per set:", ", ".join(sets))
    try:
        for rule, check_names in NAMES_RULES.items():
            generation.unstated = check_names
            for support in SUPPORTS:
                checker = CitationChecker(embedder, min_support=support, find_sources=True)
                print(f"{rule}, support {support}: " + " | ".join(figures(rows, checker) for rows in sets.values()))
        generation.unstated = unstated
        checker = CitationChecker(embedder, find_sources=True)
        for gate in GATES:
            print(f"shipped check, gate {gate or 'shipped'}: "
                  + " | ".join(figures(rows, checker, gate) for rows in sets.values()))
    finally:
        generation.unstated = unstated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    recording = commands.add_parser("record", help="run rag eval --answerer local, keeping what was checked")
    recording.add_argument("gold", type=Path)
    recording.add_argument("--limit", type=int)
    recording.add_argument("--texts", type=Path, required=True, help="JSONL file the answers are kept in")
    recording.add_argument("--report", type=Path, help="rag eval's report folder")
    replaying = commands.add_parser("replay", help="apply the check's variants to recorded answers")
    replaying.add_argument("texts", type=Path, nargs="+")
    args = parser.parse_args()
    if args.command == "record":
        record(args.gold, args.limit, args.texts, args.report)
    else:
        replay(args.texts)


if __name__ == "__main__":
    main()
