"""OCR of scanned PDFs (index/formats/ocr.py): throughput, the render resolution, tesseract's
threads, and whether the scanned seed article answers the seed gold set as its text does.

    .venv/bin/python bench/ocr.py            # ~7 min on 2 busy cores; writes bench/results/ocr.json

The scanned PDFs are made as the tests make them (tests/scans.py): the seed article typeset
in 11-point DejaVu Serif on A4 page images at 200 DPI. Throughput is the user's path,
`index.load` of the PDF (text layer check, rendering, tesseract), the median of repeats,
with the CPU time tesseract took a page. The machine is shared: the load average before and
after is recorded beside the figures.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from scans import SEED, answer_agreement, scanned_pdf, seed_gold_records, typeset_pdf  # noqa: E402

from index import load  # noqa: E402
from index.formats import ocr  # noqa: E402
from index.formats import Document  # noqa: E402

THROUGHPUT_COPIES = 6  # the seed article six times over: 11 pages
DPI_CHOICES = (100, 150, 200, 300)
FONT_POINTS = (11, 8)


@contextmanager
def setting(name: str, value):
    """index.ocr's constant `name` set to `value` for the block."""
    kept = getattr(ocr, name)
    setattr(ocr, name, value)
    try:
        yield
    finally:
        setattr(ocr, name, kept)


def timed_load(path: Path) -> tuple[Document, float, float]:
    """The document, wall seconds, and CPU seconds of the tesseract processes, of one `load`."""
    cpu_before, started = os.times(), time.perf_counter()
    document = load(path)
    cpu_after, seconds = os.times(), time.perf_counter() - started
    cpu = (cpu_after.children_user + cpu_after.children_system
           - cpu_before.children_user - cpu_before.children_system)
    return document, seconds, cpu


def throughput(folder: Path, repeats: int) -> dict:
    """One and two tesseract processes at a time, interleaved so that the other load on the
    shared machine falls on both alike."""
    path = scanned_pdf(folder / "long.pdf", "\n".join([SEED.read_text(encoding="utf-8")] * THROUGHPUT_COPIES))
    runs: dict[str, list] = {"1_process": [], "2_process": [], "1_process_openmp_threads": []}
    for repeat in range(repeats):
        for workers in (1, 2):
            with setting("WORKERS", workers):
                runs[f"{workers}_process"].append(timed_load(path))
        if repeat == 0:  # tesseract's own OpenMP threads: several times slower, measured once
            with setting("WORKERS", 1), setting("ONE_THREAD", {}):
                runs["1_process_openmp_threads"].append(timed_load(path))
    pages = len(runs["1_process"][0][0].pages)
    figures = {"pages": pages, "cores": os.cpu_count(), "repeats": repeats}
    for name, samples in runs.items():
        figures[f"pages_per_s_{name}"] = round(pages / statistics.median(s for _, s, _ in samples), 3)
        figures[f"tesseract_cpu_s_per_page_{name}"] = round(statistics.median(c for _, _, c in samples) / pages, 3)
    return figures


def word_accuracy(read: str, truth: str) -> float:
    return round(difflib.SequenceMatcher(None, truth.split(), read.split(), autojunk=False).ratio(), 4)


def resolutions(folder: Path) -> list[dict]:
    """Words read right and tesseract's CPU time a page (steadier than wall time on a shared
    machine), for each render resolution and font size."""
    truth = SEED.read_text(encoding="utf-8")
    rows = []
    for points in FONT_POINTS:
        path = scanned_pdf(folder / f"seed-{points}pt.pdf", truth, points)
        for dpi in DPI_CHOICES:
            with setting("RENDER_DPI", dpi):
                document, _, cpu = timed_load(path)
            rows.append({"font_points": points, "render_dpi": dpi,
                         "word_accuracy": word_accuracy(document.text, truth),
                         "tesseract_cpu_s_per_page": round(cpu / len(document.pages), 3)})
    return rows


def agreement(folder: Path) -> dict:
    """The seed gold set answered from the scanned PDF, its typeset PDF and the seed .txt."""
    records = {
        "scanned": seed_gold_records(folder / "scanned", "seed.pdf", scanned_pdf),
        "typeset": seed_gold_records(folder / "typeset", "seed.pdf", typeset_pdf),
        "txt": seed_gold_records(folder / "txt", "seed.txt", lambda path, text: path.write_text(text)),
    }
    figures = {}
    for first, second in (("scanned", "typeset"), ("scanned", "txt"), ("typeset", "txt")):
        a, b = records[first], records[second]
        figures[f"{first}_vs_{second}"] = {
            "same_answer_and_refusal": round(answer_agreement(a, b), 4),
            "differing": [x.id for x, y in zip(a, b) if answer_agreement([x], [y]) < 1],
            "same_correctness_and_refusal": round(
                sum(x.refused == y.refused and x.correct == y.correct for x, y in zip(a, b)) / len(a), 4),
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        result = {
            "render_dpi": ocr.RENDER_DPI,
            "throughput": throughput(folder, args.repeats),
            "resolutions": resolutions(folder),
            "agreement": agreement(folder),
        }
    result["load_average_1min"] = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ocr.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
