"""Build small real documents of every supported format, with text the tests can check."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

SEED = Path(__file__).resolve().parent.parent / "seeds" / "deepseek-wake-up-call-market-reaction.txt"

# fpdf2 core fonts are latin-1 only: keep PDF text ASCII.
PDF_PAGE1 = (
    "Orchard report. The first page talks about apples. Apples grow on trees in the "
    "orchard near the river. Farmers pick the apples in September and store them in "
    "cool cellars until spring."
)
PDF_PAGE2 = (
    "Market report. The second page talks about bananas. Bananas are yellow when ripe "
    "and are shipped from warm countries. Traders weigh the bananas before they sell them."
)

DOCX_PARAGRAPHS = [
    "Quarterly memo for the lighthouse keepers.",
    "The lamp at Cape Wrath was serviced in March. The keepers reported no faults.",
    "Fuel deliveries arrive every second Tuesday by boat.",
]
DOCX_TABLE = [["Station", "Keeper"], ["Cape Wrath", "Morag Hughes"], ["Duncansby", "Ewan Ross"]]

HTML_VISIBLE = [
    "Glacier field notes",  # the title
    "The glacier retreated forty metres this year.",
    "Meltwater carved a new channel below the moraine.",
]
HTML_HIDDEN = ["secretScriptToken", "secretStyleToken", "noscriptToken"]
HTML = """<!DOCTYPE html>
<html><head><title>Glacier field notes</title>
<style>.secretStyleToken { color: red; }</style>
<script>var secretScriptToken = 1;</script>
</head>
<body>
<h1>Glacier field notes</h1>
<p>The glacier <b>retreated</b> forty metres this year.</p>
<script type="text/javascript">console.log("secretScriptToken");</script>
<div>Meltwater carved a new channel below the <em>moraine</em>.</div>
<noscript>noscriptToken</noscript>
<style>p { secretStyleToken: 1 }</style>
</body></html>
"""

MARKDOWN = """# Beekeeping basics

Honeybees build hexagonal wax cells. A strong hive holds about fifty thousand bees.

## Winter

Bees cluster together to keep the queen warm. Beekeepers leave honey for the winter.
"""

# Latin-1 (ISO 8859-1) bytes: é, ï, è, û, à, ç are single bytes 0xE9, 0xEF, ...
LATIN1_TEXT = (
    "Le café du village est très célèbre. Un garçon naïve y sert une crème brûlée "
    "à la française. Le propriétaire déjà âgé préfère le thé."
)
UTF16_TEXT = "Über den Wolken fliegt der Kranich. Zoë schreibt ein Gedicht über Straßen und Flüsse."


def make_pdf(path: Path, pages: list[str]) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    path.write_bytes(bytes(pdf.output()))
    return path


def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    for paragraph in DOCX_PARAGRAPHS:
        document.add_paragraph(paragraph)
    table = document.add_table(rows=len(DOCX_TABLE), cols=len(DOCX_TABLE[0]))
    for r, row in enumerate(DOCX_TABLE):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.save(path)
    return path


def make_encrypted_pdf(path: Path) -> Path:
    from pypdf import PdfReader, PdfWriter

    plain = make_pdf(path.with_name("plain-" + path.name), [PDF_PAGE1])
    writer = PdfWriter()
    for page in PdfReader(plain).pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner")
    with open(path, "wb") as handle:
        writer.write(handle)
    plain.unlink()
    return path


def rewrite_zip_member(src: Path, dst: Path, member: str, content: bytes) -> Path:
    """Copy a zip (a DOCX) replacing one member's bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(buffer, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, content if item.filename == member else zin.read(item.filename))
    dst.write_bytes(buffer.getvalue())
    return dst


def make_docs(folder: Path) -> dict[str, Path]:
    """One file of every supported kind; returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    docs = {
        "pdf": make_pdf(folder / "report.pdf", [PDF_PAGE1, PDF_PAGE2]),
        "docx": make_docx(folder / "memo.docx"),
        "html": folder / "glacier.html",
        "md": folder / "bees.md",
        "latin1": folder / "cafe-latin1.txt",
        "utf16": folder / "wolken-utf16.txt",
    }
    docs["html"].write_text(HTML, encoding="utf-8")
    docs["md"].write_text(MARKDOWN, encoding="utf-8")
    docs["latin1"].write_bytes(LATIN1_TEXT.encode("latin-1"))
    docs["utf16"].write_bytes(UTF16_TEXT.encode("utf-16"))  # Python writes the BOM
    assert docs["utf16"].read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    return docs


def squash(text: str) -> str:
    """Whitespace-insensitive form: PDF extraction re-wraps lines."""
    return re.sub(r"\s+", " ", text).strip()
