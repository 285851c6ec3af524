"""The PNG plots of an evaluation report: metric bars, latency distribution, refusals."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only: no display on a server or in CI
import matplotlib.pyplot as plt  # noqa: E402

from rag.metrics import STAGES, flatten  # noqa: E402


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
    axes.set_title(f"{summary['gold']}, {summary['generator']}: {summary['questions']} questions", fontsize=10)
    _save(figure, path)


def latency(summary: dict, records: list[dict], path: Path) -> None:
    """Per-question time of each stage, with the summary's p50 and p95, on a log scale: a
    cached answer takes milliseconds, a cold start or a language model seconds."""
    figure, panels = plt.subplots(1, len(STAGES), figsize=(10, 3))
    for stage, axes in zip(STAGES, panels):
        times = [max(r["timings_ms"][stage], 0.1) for r in records]  # a log axis has no 0
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


def refusals(records: list[dict], path: Path) -> None:
    """The confusion matrix of refusing: gold answerable/unanswerable against answered/refused."""
    rows = [[r for r in records if r["unanswerable"] == unanswerable] for unanswerable in (False, True)]
    counts = [[sum(r["refused"] == refused for r in row) for refused in (False, True)] for row in rows]
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


def _save(figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
