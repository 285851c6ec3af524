"""The text of PDF pages that have no text layer (scans), read offline.

Each page is rendered to a grey image with pypdfium2 and read by Debian's `tesseract`
command (packages tesseract-ocr and tesseract-ocr-eng), one process a page, as many at a
time as there are cores. Figures are measured by bench/ocr.py (README, "Benchmarks").
"""

from __future__ import annotations

import io
import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from subprocess import run

import pypdfium2 as pdfium
from tqdm import tqdm

from index.errors import LoadError
from index.formats.base import unreadable

# Measured (bench/ocr.py) on the seed article scanned at 200 DPI: rendered at 100 DPI,
# 11-point text read 99.17% of its words right ("In a" read "Ina", "AI" read "Al") and
# 8-point text 97.65%, at 150 DPI 8-point text 99.32%; from 200 DPI both read 99.85%, as at
# 300 DPI, for ~80% of 300 DPI's tesseract time (1.37 s a page against 1.79 at 11 points).
RENDER_DPI = 200
# A page larger than this many pixels at RENDER_DPI is rendered down to about this size: a
# 200-inch poster page would otherwise take 1.6 GB. A4 at 200 DPI is 3.9 million, A0 62.
MAX_PIXELS = 40_000_000
# With its own OpenMP threads tesseract read ~4.6x fewer pages a second on 2 busy cores
# (0.095 against 0.439) and burnt 5.8x the CPU (8.7 s a page against 1.5, threads spinning
# while other processes held the cores): one thread a process, and a process a core, instead.
ONE_THREAD = {"OMP_THREAD_LIMIT": "1"}
WORKERS = os.cpu_count() or 1
LANGUAGE = "eng"
MAX_DETAIL = 300  # characters of tesseract's complaint kept in the error (it names the file it missed)
INSTALL_HINT = "install tesseract-ocr (Debian/Ubuntu: apt-get install tesseract-ocr tesseract-ocr-eng)"


def read_scanned_pages(data: bytes, numbers: list[int], *, progress: bool = False) -> dict[int, str]:
    """The OCR text of those of the PDF's pages `numbers` (1-based) that draw anything;
    blank pages are left out without running tesseract."""
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise unreadable("PDF", exc) from exc
    try:
        scanned = [number for number in numbers if _draws_anything(pdf, number)]
        if not scanned:
            return {}
        tesseract = _tesseract_command(scanned)
        return dict(zip(scanned, _read_all(pdf, scanned, tesseract, progress)))
    finally:
        pdf.close()


def _draws_anything(pdf: pdfium.PdfDocument, number: int) -> bool:
    try:
        page = pdf[number - 1]
    except (IndexError, pdfium.PdfiumError) as exc:  # a damaged file pypdf read more pages of
        raise LoadError(f"corrupt or unreadable PDF: page {number} cannot be opened") from exc
    return next(page.get_objects(), None) is not None


def _tesseract_command(scanned: list[int]) -> str:
    """Where tesseract is. Without it the whole PDF fails, text pages too: indexed without
    its scans, it would count as unchanged on every later ingest and never be read again
    once tesseract is installed."""
    command = shutil.which("tesseract")
    if command is None:
        pages = ", ".join(map(str, scanned))
        raise LoadError(f"PDF has scanned pages ({pages}) and tesseract is not installed to "
                        f"read them: {INSTALL_HINT}")
    return command


def _read_all(pdf: pdfium.PdfDocument, numbers: list[int], tesseract: str, progress: bool) -> list[str]:
    # PDFium is not thread-safe: pages are rendered one at a time, read in parallel.
    rendering = threading.Lock()

    def read(number: int) -> str:
        with rendering:
            image = _render(pdf[number - 1])
        return _ocr(tesseract, image, number)

    with ThreadPoolExecutor(WORKERS) as pool:
        texts = pool.map(read, numbers)
        return list(tqdm(texts, total=len(numbers), desc="Reading scanned pages", unit="page",
                         leave=False, disable=not progress))


def _render(page: pdfium.PdfPage) -> bytes:
    """The page as a grey PGM image: tesseract reads it without decoding cost."""
    width, height = page.get_size()  # in points, 72 an inch
    scale = min(RENDER_DPI / 72, (MAX_PIXELS / max(width * height, 1)) ** 0.5)
    image = page.render(scale=scale, grayscale=True).to_pil()
    buffer = io.BytesIO()
    image.save(buffer, format="PPM")
    return buffer.getvalue()


def _ocr(tesseract: str, image: bytes, number: int) -> str:
    done = run([tesseract, "stdin", "stdout", "-l", LANGUAGE], input=image,
               capture_output=True, env={**os.environ, **ONE_THREAD}, check=False)
    if done.returncode != 0:
        detail = " ".join(done.stderr.decode(errors="replace").split())[:MAX_DETAIL] or "no message"
        raise LoadError(f"tesseract could not read PDF page {number}: {detail} ({INSTALL_HINT})")
    return done.stdout.decode("utf-8", errors="replace").strip()
