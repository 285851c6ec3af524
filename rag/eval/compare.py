"""Two runs side by side: each metric of both, the change, and whether it is for the worse."""

from __future__ import annotations

import json
from pathlib import Path

from rag.errors import ReportError
from rag.eval.metrics import flatten, lower_is_better
from rag.eval.tables import format_value, table

GIVE = "give two eval.json files or `rag eval --json` outputs"


def compare(first: Path, second: Path) -> str:
    """Each metric of two runs' JSON (a report's eval.json or `--json` output) side by side
    with its change; a change for the worse is marked."""
    a, b = run_metrics(first), run_metrics(second)
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


def run_metrics(path: Path) -> dict[str, float | None]:
    """The flattened metrics of a run's JSON, of any version: they are all `compare` reads."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:  # not UTF-8, or not JSON
        raise ReportError(f"{path} is not an eval run's JSON ({exc}): {GIVE}") from None
    metrics = data.get("metrics") if isinstance(data, dict) else None
    flat = flatten(metrics) if isinstance(metrics, dict) else {}
    if not flat or not all(value is None or isinstance(value, (int, float)) for value in flat.values()):
        raise ReportError(f"{path} has no metrics of an eval run: {GIVE}")
    return flat
