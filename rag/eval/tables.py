"""What `rag eval` prints: a run's headline and its metrics as plain text columns."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from rag.eval.metrics import flatten
from rag.eval.scoring import FAILURES


def format_value(name: str, value) -> str:
    if value is None:
        return "-"
    if name.startswith("latency_ms."):
        return f"{value:.1f}"
    return str(value) if isinstance(value, int) else f"{value:.3f}"


def table(rows: list[list[str]]) -> str:
    """Rows of cells as plain left-aligned columns two spaces apart, the first row a header."""
    header, *body = rows
    grid = Table(*header, box=None, pad_edge=False)
    for row in body:
        grid.add_row(*row)
    # Cells are data: no markup, emoji codes or highlighting read into them.
    console = Console(file=io.StringIO(), width=200, no_color=True, markup=False, emoji=False, highlight=False)
    console.print(grid)
    return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines())


def headline(summary: dict) -> str:
    sampled = f"the --limit {summary['limit']} sample: " if summary["limit"] else ""
    return (
        f"{summary['gold']}: {summary['questions']} questions ({sampled}{summary['answerable']} answerable, "
        f"{summary['unanswerable']} unanswerable), answerer {summary['answerer']}, k={summary['k']}, "
        f"{summary['answers_scored_as']} reference answers"
    )


def summary_table(summary: dict) -> str:
    metrics = flatten(summary["metrics"])
    rows = [["metric", "value"]] + [[name, format_value(name, value)] for name, value in metrics.items()]
    failures = [f"  {kind}: {summary['failures'][kind]}" for kind in FAILURES if kind in summary["failures"]]
    return "\n".join([headline(summary), "", table(rows), "", "failures:", *(failures or ["  none"])])
