"""The same text as two PDFs with the same pages and lines: typeset with a text layer, and
scanned, as a scanner makes it: grey A4 page images with no text layer (Pillow). Both use
DejaVu Serif from matplotlib's package data, which has the curly quotes of the seed article.
Then the seed gold set asked of one such PDF, and how alike two versions answer it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import matplotlib
from PIL import Image, ImageDraw, ImageFont

SCAN_DPI = 200  # a common office-scanner setting
A4_INCHES = (8.27, 11.69)
MARGIN_INCHES = 1.0
FONT_POINTS = 11
LINE_SPACING = 1.5
FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSerif.ttf"
MM_PER_INCH = 25.4
ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "deepseek-wake-up-call-market-reaction.txt"
SEED_GOLD = ROOT / "tests" / "data" / "seed_gold.jsonl"


def scanned_pdf(path: Path, text: str, points: int = FONT_POINTS) -> Path:
    """`text` (paragraphs one a line) as page images in a PDF with no text layer."""
    return scanned_lines_pdf(path, laid_out(text, points), points)


def scanned_lines_pdf(path: Path, pages: list[list[str]], points: int = FONT_POINTS) -> Path:
    """Pages of these lines, as laid out, as page images in a PDF with no text layer."""
    font = _font(points)
    width, height = (round(inches * SCAN_DPI) for inches in A4_INCHES)
    margin = round(MARGIN_INCHES * SCAN_DPI)
    line_height = round(font.size * LINE_SPACING)
    images = []
    for lines in pages:
        image = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(image)
        for row, line in enumerate(lines):
            draw.text((margin, margin + row * line_height), line, font=font, fill=0)
        images.append(image)
    images[0].save(path, save_all=True, append_images=images[1:], resolution=SCAN_DPI)
    return path


def typeset_pdf(path: Path, text: str) -> Path:
    """The same pages and lines as `scanned_pdf`, as text (fpdf2)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_font("DejaVuSerif", fname=str(FONT))
    pdf.set_font("DejaVuSerif", size=FONT_POINTS)
    margin = MARGIN_INCHES * MM_PER_INCH
    line_height = round(_font(FONT_POINTS).size * LINE_SPACING) / SCAN_DPI * MM_PER_INCH
    for lines in laid_out(text, FONT_POINTS):
        pdf.add_page()
        for row, line in enumerate(lines):
            if line:  # fpdf2 refuses an empty cell
                pdf.set_xy(margin, margin + row * line_height)
                pdf.cell(text=line)
    path.write_bytes(bytes(pdf.output()))
    return path


def laid_out(text: str, points: int) -> list[list[str]]:
    """The lines of each page: paragraphs wrapped to the text width, an empty line between."""
    font = _font(points)
    width, height = (round(inches * SCAN_DPI) for inches in A4_INCHES)
    margin = round(MARGIN_INCHES * SCAN_DPI)
    lines = _wrapped(text, font, width - 2 * margin)
    per_page = (height - 2 * margin) // round(font.size * LINE_SPACING)
    return [lines[first : first + per_page] for first in range(0, len(lines), per_page)]


def _font(points: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), round(points * SCAN_DPI / 72))


def _wrapped(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        if not paragraph.strip():
            continue
        if lines:
            lines.append("")
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if line and font.getlength(candidate) > width:
                lines.append(line)
                candidate = word
            line = candidate
        lines.append(line)
    return lines


def seed_gold_records(folder: Path, file_name: str, make: Callable[[Path, str], object]) -> list:
    """The seed article written to `file_name` by `make(path, text)`, indexed alone under
    `folder`, and the seed gold set asked of it with the extractive answerer: one
    QuestionRecord a question, in gold order."""
    from index import IndexConfig, ingest
    from rag import Pipeline, Settings
    from rag.eval import evaluate, read_gold

    documents = folder / "documents"
    documents.mkdir(parents=True)
    make(documents / file_name, SEED.read_text(encoding="utf-8"))
    report = ingest([str(documents)], IndexConfig(folder / "index"))
    assert report.errors == [] and report.added == 1, report.errors
    pipeline = Pipeline(Settings(home=folder / "index", answerer="extractive"))
    return evaluate(read_gold(SEED_GOLD), pipeline, k=5, answerer="extractive").questions


def answer_agreement(first: list, second: list) -> float:
    """The share of questions (two runs' QuestionRecords, in gold order) answered alike:
    both refused, or both answered with the same leading sentence. Runners-up are left
    out: they come and go with small score changes."""
    alike = [a.refused == b.refused and (a.refused or _leading(a.answer) == _leading(b.answer))
             for a, b in zip(first, second, strict=True)]
    return sum(alike) / len(alike)


_CITATION = re.compile(r"\s\[\d+\]")


def _leading(answer: str) -> str:
    """An extractive answer's first quoted sentence, whitespace squashed (OCR keeps the
    page's line breaks)."""
    return " ".join(_CITATION.split(answer, maxsplit=1)[0].split())
