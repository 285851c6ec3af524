"""The PNG plots of an evaluation report: metric bars, latency distribution, refusals, and
how far to trust the confidence (risk against coverage, reliability diagram)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only: no display on a server or in CI
import matplotlib.pyplot as plt  # noqa: E402

from rag.eval.metrics import STAGES, aurc, expected_calibration_error, flatten  # noqa: E402
from rag.eval.metrics import reliability as reliability_bins  # noqa: E402
from rag.eval.metrics import risk_coverage as risk_coverage_curve  # noqa: E402
from rag.eval.records import QuestionRecord  # noqa: E402


def metric_bars(summary: dict, path: Path) -> None:
    """Every metric that is a share (0 to 1), one bar each."""
    shares = {
        name: value
        for name, value in flatten(summary["metrics"]).items()
        if value is not None and not name.startswith("latency_ms.") and name != "citations.invalid"
    }
    figure, axes = plt.subplots(figsize=(7, 0.35 * len(shares) + 1.2))
    names = list(shares)[::-1]
    bars = axes.barh(names, [shares[n] for n in names], color="#4c72b0")
    axes.bar_label(bars, fmt="%.3f", padding=3, fontsize=8)
    axes.set_xlim(0, 1.12)
    axes.set_title(f"{summary['gold']}, {summary['answerer']}: {summary['questions']} questions", fontsize=10)
    _save(figure, path)


def latency(summary: dict, records: list[QuestionRecord], path: Path) -> None:
    """Per-question time of each stage, with the summary's p50 and p95, on a log scale: a
    cached answer takes milliseconds, a cold start or a language model seconds."""
    figure, panels = plt.subplots(1, len(STAGES), figsize=(10, 3))
    for stage, axes in zip(STAGES, panels):
        times = [max(r.timings_ms[stage], 0.1) for r in records]  # a log axis has no 0
        axes.hist(times, bins=np.geomspace(min(times), max(times) * 1.01, 30), color="#55a868")
        axes.set_xscale("log")
        for percentile, style in (("p50", "-"), ("p95", "--")):
            value = summary["metrics"]["latency_ms"][stage][percentile]
            axes.axvline(value, color="black", linestyle=style, linewidth=1, label=percentile)
        axes.set_title(stage, fontsize=10)
        axes.set_xlabel("ms")
    panels[0].set_ylabel("questions")
    panels[0].legend(fontsize=8)
    _save(figure, path)


def refusals(records: list[QuestionRecord], path: Path) -> None:
    """The confusion matrix of refusing: gold answerable/unanswerable against answered/refused."""
    rows = [[r for r in records if r.unanswerable == unanswerable] for unanswerable in (False, True)]
    counts = [[sum(r.refused == refused for r in row) for refused in (False, True)] for row in rows]
    figure, axes = plt.subplots(figsize=(4.5, 3.6))
    axes.imshow([[c / max(1, sum(row)) for c in row] for row in counts], cmap="Blues", vmin=0, vmax=1)
    for i, row in enumerate(counts):
        for j, count in enumerate(row):
            share = count / max(1, sum(row))
            axes.text(j, i, f"{count}\n{share:.0%}", ha="center", va="center",
                      color="white" if share > 0.6 else "black")
    axes.set_xticks([0, 1], ["answered", "refused"])
    axes.set_yticks([0, 1], ["answerable", "unanswerable"])
    axes.set_title("refusals (share of each gold row)", fontsize=10)
    _save(figure, path)


def risk_coverage(records: list[QuestionRecord], path: Path) -> None:
    """The share of wrong answers against the share answered, refusing from the least
    confident up; the lower the curve, the better the confidence ranks answers."""
    curve = risk_coverage_curve(records)
    if not curve:
        _no_confidences(path)
        return
    coverage, risk = zip(*curve)
    figure, axes = plt.subplots(figsize=(5, 3.6))
    axes.plot(coverage, risk, marker=".", color="#4c72b0")
    axes.set_xlim(0, 1.02)
    axes.set_ylim(0, max(1.05 * max(risk), 0.05))  # a curve at 0 still shows
    axes.set_xlabel("coverage (share of questions answered)")
    axes.set_ylabel("risk (share of answers wrong)")
    axes.set_title(f"risk against coverage, AURC {aurc(records):.3f}", fontsize=10)
    _save(figure, path)


def reliability(records: list[QuestionRecord], path: Path) -> None:
    """Reliability diagram: per confidence bin, the share of answerable questions against the
    diagonal a calibrated confidence follows, with each bin's question count."""
    filled = [row for row in reliability_bins(records) if row["count"]]
    if not filled:
        _no_confidences(path)
        return
    figure, axes = plt.subplots(figsize=(5, 4))
    axes.plot([0, 1], [0, 1], color="gray", linestyle="--", linewidth=1, zorder=3, label="calibrated")
    bars = axes.bar([row["low"] for row in filled], [row["answerable_share"] for row in filled],
                    width=[row["high"] - row["low"] for row in filled], align="edge",
                    color="#4c72b0", edgecolor="white", label="observed")
    axes.bar_label(bars, labels=[f"n={row['count']}" for row in filled], padding=2, fontsize=7)
    axes.scatter([row["mean_confidence"] for row in filled], [row["answerable_share"] for row in filled],
                 color="black", s=12, zorder=3, label="mean confidence")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.12)  # room for the counts above a full bar
    axes.set_xlabel("confidence")
    axes.set_ylabel("share answerable")
    axes.set_title(f"reliability, ECE {expected_calibration_error(records):.3f}", fontsize=10)
    axes.legend(fontsize=7, loc="upper left")
    _save(figure, path)


def _no_confidences(path: Path) -> None:
    # The report always holds every file, so a run without confidences still gets one.
    figure, axes = plt.subplots(figsize=(4, 1.5))
    axes.text(0.5, 0.5, "no confidences", ha="center", va="center")
    axes.set_axis_off()
    _save(figure, path)


def _save(figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
