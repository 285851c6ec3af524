"""Build small real documents of every supported format, with text the tests can check."""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

from index import IndexConfig, open_index

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
    fill_table(document.add_table(rows=len(DOCX_TABLE), cols=len(DOCX_TABLE[0])), DOCX_TABLE)
    document.save(path)
    return path


def fill_table(table, rows: list) -> None:
    """A python-docx or python-pptx table's cells, given row by row."""
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value


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


SLIDES = [  # (title, body, speaker notes)
    ("Harbour survey", "The east pier needs new pilings.", "Mention the repair budget of two million."),
    ("Tide table", None, None),
]
SLIDE_TABLE = [["Day", "High tide"], ["Monday", "06:12"], ["Tuesday", "06:58"]]
SHEETS = {  # name -> rows, the header first
    "Q3": [["Region", "Sales", "Owner"], ["North", 1200, "Ann Lee"], ["South", 950.5, "Bo Chen"],
           [None, None, None], ["West", 700, None]],
    "Notes": [["Remark"], ["Figures are in euros."]],
}
NOTEBOOK_CELLS = [  # (kind, source, stdout)
    ("markdown", "# Tide model\n\nWe fit the height of the tide.", None),
    ("code", "print(2 + 2)", "4\n"),
    ("code", "", None),
    ("markdown", "The fitted amplitude is 3.1 metres.", None),
]
RST = """\
=============
Lighthouse log
=============

The keeper lights the lamp at dusk.

Duties
------

- Trim the wick.
- Wind the clockwork.

.. note:: Fuel arrives on Tuesdays.

.. code-block:: python

   lamp.light()

+---------+--------+
| Station | Keeper |
+=========+========+
| Wrath   | Morag  |
+---------+--------+
"""
CHAPTERS = [  # (file, TOC title, text), in reading order; file names sort the other way
    ("b-harbour.xhtml", "The Harbour", "Boats rest in the harbour at night."),
    ("a-storm.xhtml", "The Storm", "A storm broke the sea wall in March."),
]


def make_pptx(path: Path) -> Path:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    for title, body, notes in SLIDES:
        slide = deck.slides.add_slide(deck.slide_layouts[1 if body else 5])
        slide.shapes.title.text = title
        if body:
            slide.placeholders[1].text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    fill_table(slide.shapes.add_table(len(SLIDE_TABLE), 2, Inches(1), Inches(2), Inches(4), Inches(2)).table,
               SLIDE_TABLE)
    deck.save(path)
    return path


def make_xlsx(path: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in SHEETS.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def make_notebook(path: Path) -> Path:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    cells = [
        new_markdown_cell(source) if kind == "markdown"
        else new_code_cell(source, outputs=[new_output("stream", name="stdout", text=out)] if out else [])
        for kind, source, out in NOTEBOOK_CELLS
    ]
    nbformat.write(new_notebook(cells=cells), str(path))
    return path


def make_epub(path: Path, toc: str = "nav") -> Path:
    """A minimal valid EPUB: chapters in CHAPTERS' order, titled by an EPUB 3 navigation
    document (toc="nav") or an EPUB 2 NCX (toc="ncx")."""
    items = "".join(f'<item id="c{i}" href="text/{name}" media-type="application/xhtml+xml"/>'
                    for i, (name, _, _) in enumerate(CHAPTERS))
    spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(CHAPTERS)))
    if toc == "nav":
        links = "".join(f'<li><a href="text/{name}#top">{title}</a></li>' for name, title, _ in CHAPTERS)
        toc_item = '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
        toc_file = ("nav.xhtml", '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">'
                    f'<body><nav epub:type="toc"><ol>{links}</ol></nav></body></html>')
        spine_open = "<spine>"
    else:
        points = "".join(f'<navPoint id="p{i}"><navLabel><text>{title}</text></navLabel>'
                         f'<content src="text/{name}"/></navPoint>' for i, (name, title, _) in enumerate(CHAPTERS))
        toc_item = '<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>'
        toc_file = ("toc.ncx", f'<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/"><navMap>{points}</navMap></ncx>')
        spine_open = '<spine toc="ncx">'
    package = ('<package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata/>'
               f"<manifest>{toc_item}{items}</manifest>{spine_open}{spine}</spine></package>")
    container = ('<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" version="1.0"><rootfiles>'
                 '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
                 "</rootfiles></container>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/epub+zip", zipfile.ZIP_STORED)
        archive.writestr("META-INF/container.xml", container)
        archive.writestr("OEBPS/content.opf", package)
        archive.writestr(f"OEBPS/{toc_file[0]}", toc_file[1])
        for name, title, text in CHAPTERS:
            archive.writestr(f"OEBPS/text/{name}", '<?xml version="1.0" encoding="utf-8"?>'
                             '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Sea book'
                             f'</title></head><body><h1 id="top">{title}</h1><p>{text}</p></body></html>')
    return path


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


# -- index inspection --------------------------------------------------------------------------

def _config(home: Path, server: tuple) -> IndexConfig:
    """The index at `home`, its vectors embedded or at a Chroma server's (host, port)."""
    host, port = server or (None, 8000)
    return IndexConfig(home, chroma_host=host, chroma_port=port)


def consistent_ids(home: Path, *server) -> set[str]:
    """The catalog, its keyword rows and the vector store (embedded, or at the server's
    host and port) hold exactly the same chunks. Returns the chunk ids."""
    with open_index(_config(home, server)) as index:
        catalog_ids = index.catalog.chunk_ids()
        assert len(catalog_ids) == len(set(catalog_ids))
        vector_ids = index.catalog.vector_ids()
        assert len(vector_ids) == len(catalog_ids)
        assert index.vectors.ids() == set(vector_ids)
        assert index.vectors.count() == index.catalog.chunk_count()
        assert index.catalog.journal().adds == index.catalog.journal().deletes == []
        # Every chunk row has its full-text row (chunks() joins them).
        assert set(index.catalog.chunks(catalog_ids)) == set(catalog_ids)
    return set(catalog_ids)


def found_by_own_vectors(home: Path, *server) -> None:
    """Every chunk comes back first when its own vector is the query."""
    with open_index(_config(home, server)) as index:
        for ids, vectors in index.catalog.all_vectors(256):
            for vector_id, hits in zip(ids, index.vectors.query_many(vectors, 4)):
                assert any(i == vector_id and s >= hits[0][1] - 1e-5 for i, s in hits), vector_id


def snapshot(home: Path, *server) -> dict:
    """Everything a user could lose: each document's text and hash, its chunks' offsets and
    text, and each chunk's vector, keyed by source. Equal snapshots = nothing lost."""
    with open_index(_config(home, server)) as index:
        ids = index.catalog.chunk_ids()
        chunks = index.catalog.chunks(ids)
        vector_ids, matrix = index.catalog.vectors([c.vector_id for c in chunks.values()])
        vectors = dict(zip(vector_ids, matrix))
        documents = {}
        for source, sha in index.catalog.documents().items():
            own = sorted((c for c in chunks.values() if c.source == source), key=lambda c: c.chunk)
            documents[source] = {
                "sha256": sha,
                "text": index.catalog.document_text(source),
                "chunks": [(c.start, c.end, c.page, c.text, vectors[c.vector_id].tobytes()) for c in own],
            }
        return documents


def stop_process(process: subprocess.Popen, seconds: float = 15) -> None:
    """SIGTERM, and SIGKILL if it has not ended within `seconds`."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(seconds)


# -- a real Chroma server --------------------------------------------------------------------------


class ChromaServer:
    """`chroma run` on a free loopback port, stoppable and restartable on the same data."""

    HOST = "127.0.0.1"

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = self._free_port()
        self.process = None

    def __enter__(self) -> "ChromaServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        chroma = Path(sys.executable).parent / "chroma"
        log = open(self.folder / "server.log", "ab")
        self.process = subprocess.Popen(
            [str(chroma), "run", "--path", str(self.folder / "db"), "--host", self.HOST, "--port", str(self.port)],
            cwd=self.folder, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"chroma run exited: {(self.folder / 'server.log').read_text()[-2000:]}")
            try:
                self.client(self.port).heartbeat()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError("chroma server did not answer its heartbeat within 60 s") from None
                time.sleep(0.25)

    def stop(self) -> None:
        if self.process:
            stop_process(self.process)

    @classmethod
    def client(cls, port: int):
        import chromadb
        from chromadb.config import Settings

        return chromadb.HttpClient(host=cls.HOST, port=port, settings=Settings(anonymized_telemetry=False))

    @classmethod
    def _free_port(cls) -> int:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((cls.HOST, 0))
            return sock.getsockname()[1]


# -- a real PostgreSQL server ------------------------------------------------------------------------


class PostgresServer:
    """Debian's PostgreSQL in a fresh data folder on a free loopback port, stoppable and
    restartable on the same data. It refuses to run as root (CI runs as root), so there it
    runs as the `postgres` user the package creates, in a folder that user owns."""

    HOST = "127.0.0.1"
    USER = "rag"

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="rag-pg-"))
        self.port = ChromaServer._free_port()
        self.bin = max(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self._run("initdb", "-D", str(self.folder / "data"), "-A", "trust", "-U", self.USER, "-E", "UTF8")

    def __enter__(self) -> "PostgresServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def start(self) -> None:
        # fsync off: a test's data need not survive a power cut, and commits are 10x faster.
        options = f"-p {self.port} -k {self.folder} -c listen_addresses={self.HOST} -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-o", options, "-l", str(self.folder / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop", check=False)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.USER}@{self.HOST}:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        import psycopg

        name = f"t{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        command = [str(self.bin / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, cwd=self.folder, capture_output=True, text=True)
        if check and done.returncode:
            log = self.folder / "log"
            raise RuntimeError(f"{program} failed: {done.stderr}{log.read_text()[-2000:] if log.exists() else ''}")
