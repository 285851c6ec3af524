"""A run's report folder: eval.json (the summary and every question), report.md (the
metrics and the worst failures, question by question) and the PNG plots."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from rag.errors import ReportError
from rag.eval.metrics import flatten
from rag.eval.records import QuestionRecord
from rag.eval.run import Evaluation
from rag.eval.scoring import FAILURES
from rag.eval.tables import format_value, headline

WORST_SHOWN = 25
REPORT_FILES = (
    "eval.json", "report.md", "metrics.png", "latency.png", "refusals.png", "risk_coverage.png", "reliability.png",
)
# The "How far to trust the confidence" lines of the report, one per summary["metrics"]["confidence"] number.
TRUST_MEANINGS = {
    "aurc": "the share of wrong answers when answering only the most confident questions, averaged over "
            "every share answered; lower is better.",
    "ece": "the gap between the confidence and the observed share of answerable questions at that "
           "confidence; 0 is calibrated.",
    "auroc": "the chance that an answerable question gets a higher confidence than an unanswerable one; "
             "0.5 is chance, 1 a perfect separation.",
}


def write_report(evaluation: Evaluation, folder: Path) -> None:
    """The report folder, created if need be; one that cannot be written is a ReportError."""
    try:
        _write(evaluation, folder)
    except OSError as exc:
        raise ReportError(f"cannot write the report to {folder}: {exc.strerror or exc}") from None


def _write(evaluation: Evaluation, folder: Path) -> None:
    # matplotlib loads only when a report is written: importing the plots takes ~0.6 s.
    from rag.eval import plots

    folder.mkdir(parents=True, exist_ok=True)
    json_path, markdown_path, metrics_path, latency_path, refusals_path, risk_coverage_path, reliability_path = (
        folder / name for name in REPORT_FILES
    )
    json_path.write_text(json.dumps(evaluation.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")
    markdown_path.write_text(markdown(evaluation), encoding="utf-8")
    plots.metric_bars(evaluation.summary, metrics_path)
    plots.latency(evaluation.summary, evaluation.questions, latency_path)
    plots.refusals(evaluation.questions, refusals_path)
    plots.risk_coverage(evaluation.questions, risk_coverage_path)
    plots.reliability(evaluation.questions, reliability_path)


def markdown(evaluation: Evaluation) -> str:
    summary = evaluation.summary
    metrics = flatten(summary["metrics"])
    lines = [
        f"# Evaluation: {summary['gold']}",
        "",
        headline(summary) + ".",
        "",
        "| metric | value |",
        "|---|---|",
        *(f"| {name} | {format_value(name, value)} |" for name, value in metrics.items()),
        "",
        "![metrics](metrics.png) ![latency](latency.png) ![refusals](refusals.png)",
        "",
        *trust_section(summary["metrics"]["confidence"]),
        "",
        "## Failures",
        "",
        "| kind | questions |",
        "|---|---|",
        *(f"| {kind} | {summary['failures'].get(kind, 0)} |" for kind in FAILURES),
        "",
        f"## The worst {WORST_SHOWN}, worst first",
        "",
        "By kind in the order above; within a kind, the most confident answer (highest citation score) first.",
    ]
    for number, record in enumerate(worst(evaluation.questions, WORST_SHOWN), start=1):
        lines += ["", *failure_entry(number, record, summary["k"])]
    return "\n".join(lines) + "\n"


def trust_section(confidence: dict) -> list[str]:
    """The confidence numbers (see rag.eval.metrics), each explained in a line, and their plots."""
    return [
        "## How far to trust the confidence",
        "",
        *(f"- {name.upper()} {format_value(f'confidence.{name}', confidence[name])}: {meaning}"
          for name, meaning in TRUST_MEANINGS.items()),
        "",
        "![risk against coverage](risk_coverage.png) ![reliability](reliability.png)",
    ]


def worst(records: list[QuestionRecord], count: int) -> list[QuestionRecord]:
    failed = [r for r in records if r.failure]
    confidence = lambda r: max((c.score for c in r.citations), default=0.0)  # noqa: E731
    return sorted(failed, key=lambda r: (FAILURES.index(r.failure), -confidence(r)))[:count]


def failure_entry(number: int, record: QuestionRecord, k: int) -> list[str]:
    rank = record.retrieval_rank
    retrieved = f"rank {rank}" if rank else (f"not in the top {k}" if record.has_gold_passage else "unknown")
    entry = [
        f"### {number}. {record.failure}: {record.id}",
        "",
        f"- Question: {_one_line(record.question)}",
        f"- Gold: {_one_line(' | '.join(record.gold_answers)) or '(unanswerable)'}",
        f"- Answer: {_one_line(record.answer)}",
        f"- Gold passage: {retrieved}",
    ]
    for citation in record.citations:
        verdict = "supports" if citation.supports else "does not support"
        quote = _one_line(citation.quote)
        entry.append(f"- [{citation.n}] {Path(citation.source).name} ({verdict}): \u201c{quote}\u201d")
    return entry


def _one_line(text: str) -> str:
    return textwrap.shorten(text, 400, placeholder=" \u2026")
