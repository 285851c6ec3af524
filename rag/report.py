"""What an evaluation run shows: the terminal table, the report folder (JSON, Markdown
with the worst failures, PNG plots) and the side-by-side comparison of two runs."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from rag.evaluation import Evaluation
from rag.metrics import FAILURES, flatten, lower_is_better

WORST_SHOWN = 25
FILES = (
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


def format_value(name: str, value) -> str:
    if value is None:
        return "-"
    if name.startswith("latency_ms."):
        return f"{value:.1f}"
    return str(value) if isinstance(value, int) else f"{value:.3f}"


def table(rows: list[list[str]]) -> str:
    """Rows of cells as left-aligned columns, the first row a header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def headline(summary: dict) -> str:
    sampled = f"the --limit {summary['limit']} sample: " if summary["limit"] else ""
    return (
        f"{summary['gold']}: {summary['questions']} questions ({sampled}{summary['answerable']} answerable, "
        f"{summary['unanswerable']} unanswerable), generator {summary['generator']}, k={summary['k']}, "
        f"{summary['answers_scored_as']} reference answers"
    )


def summary_table(summary: dict) -> str:
    metrics = flatten(summary["metrics"])
    rows = [["metric", "value"]] + [[name, format_value(name, value)] for name, value in metrics.items()]
    failures = [f"  {kind}: {summary['failures'][kind]}" for kind in FAILURES if kind in summary["failures"]]
    return "\n".join([headline(summary), "", table(rows), "", "failures:", *(failures or ["  none"])])


def compare(first: Path, second: Path) -> str:
    """Each metric of two runs' JSON (a report's eval.json or `--json` output) side by side
    with its change; a change for the worse is marked."""
    a, b = (flatten(json.loads(Path(p).read_text(encoding="utf-8"))["metrics"]) for p in (first, second))
    rows = [["metric", "A", "B", "change", ""]]
    for name in dict.fromkeys([*a, *b]):
        before, after = a.get(name), b.get(name)
        change, verdict = "", ""
        if None not in (before, after) and format_value(name, before) != format_value(name, after):
            delta = after - before
            change = ("+" if delta > 0 else "-") + format_value(name, abs(delta))
            verdict = "worse" if (delta > 0) == lower_is_better(name) else "better"
        rows.append([name, format_value(name, before), format_value(name, after), change, verdict])
    return f"A: {first}\nB: {second}\n\n{table(rows)}"


def write(evaluation: Evaluation, folder: Path) -> None:
    """The report folder: eval.json (summary and every question), report.md, the plots."""
    from rag import plots  # matplotlib loads only when a report is asked for

    folder.mkdir(parents=True, exist_ok=True)
    json_path, markdown_path, metrics_path, latency_path, refusals_path, risk_coverage_path, reliability_path = (
        folder / name for name in FILES
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
    """The confidence numbers (see rag.metrics), each explained in a line, and their plots."""
    return [
        "## How far to trust the confidence",
        "",
        *(f"- {name.upper()} {format_value(f'confidence.{name}', confidence[name])}: {meaning}"
          for name, meaning in TRUST_MEANINGS.items()),
        "",
        "![risk against coverage](risk_coverage.png) ![reliability](reliability.png)",
    ]


def worst(records: list[dict], count: int) -> list[dict]:
    failed = [r for r in records if r["failure"]]
    confidence = lambda r: max((c["score"] for c in r["citations"]), default=0.0)  # noqa: E731
    return sorted(failed, key=lambda r: (FAILURES.index(r["failure"]), -confidence(r)))[:count]


def failure_entry(number: int, record: dict, k: int) -> list[str]:
    rank = record["retrieval_rank"]
    retrieved = f"rank {rank}" if rank else (f"not in the top {k}" if record["has_gold_passage"] else "unknown")
    entry = [
        f"### {number}. {record['failure']}: {record['id']}",
        "",
        f"- Question: {_one_line(record['question'])}",
        f"- Gold: {_one_line(' | '.join(record['gold_answers'])) or '(unanswerable)'}",
        f"- Answer: {_one_line(record['answer'])}",
        f"- Gold passage: {retrieved}",
    ]
    for citation in record["citations"]:
        verdict = "supports" if citation["supports"] else "does not support"
        quote = _one_line(citation["quote"])
        entry.append(f"- [{citation['n']}] {Path(citation['source']).name} ({verdict}): \u201c{quote}\u201d")
    return entry


def _one_line(text: str) -> str:
    return textwrap.shorten(text, 400, placeholder=" \u2026")
