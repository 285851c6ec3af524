"""Slides, sheets, notebooks, reStructuredText, EPUBs and source code: each real file's text,
its exact offsets, and the location a citation names ("slide 2", "sheet Q3, rows 2-5")."""

from __future__ import annotations

import json

import pytest
from helpers import (
    CHAPTERS,
    NOTEBOOK_CELLS,
    RST,
    SHEETS,
    SLIDE_TABLE,
    SLIDES,
    make_epub,
    make_notebook,
    make_pptx,
    make_xlsx,
)

from index import IndexConfig, ingest, load, open_index
from index.formats import spanning_location
from index.formats.markup import MAX_OUTPUT_CHARS
from rag import Pipeline, Settings


def page_text(document, label: str) -> str:
    page = next(p for p in document.pages if p.label == label)
    return document.text[page.start : page.end]


# -- slides ----------------------------------------------------------------------------------


def test_each_slide_is_a_page_labelled_with_its_number(tmp_path):
    document = load(make_pptx(tmp_path / "deck.pptx"))
    assert [(p.number, p.label) for p in document.pages] == [(1, "slide 1"), (2, "slide 2")]


def test_a_slide_page_holds_its_title_body_and_notes(tmp_path):
    document = load(make_pptx(tmp_path / "deck.pptx"))
    title, body, notes = SLIDES[0]
    assert page_text(document, "slide 1") == f"{title}\n\n{body}\n\nNotes: {notes}"


def test_a_slide_table_is_read_row_by_row(tmp_path):
    document = load(make_pptx(tmp_path / "deck.pptx"))
    rows = "\n\n".join(" | ".join(row) for row in SLIDE_TABLE)
    assert page_text(document, "slide 2") == f"{SLIDES[1][0]}\n\n{rows}"


# -- sheets ----------------------------------------------------------------------------------


def test_a_sheet_row_reads_as_header_value_lines_at_its_exact_offsets(tmp_path):
    document = load(make_xlsx(tmp_path / "book.xlsx"))
    row = document.rows[1]  # the sheet's row 3: South
    assert (row.number, document.text[row.start : row.end]) == (3, "Region: South\nSales: 950.5\nOwner: Bo Chen")


def test_empty_rows_and_cells_are_left_out_and_numbers_keep_their_sheet_row(tmp_path):
    document = load(make_xlsx(tmp_path / "book.xlsx"))
    west = document.rows[2]
    assert (west.number, document.text[west.start : west.end]) == (5, "Region: West\nSales: 700")


def test_a_sheet_is_a_page_labelled_with_its_name(tmp_path):
    document = load(make_xlsx(tmp_path / "book.xlsx"))
    assert [p.label for p in document.pages] == [f"sheet {name}" for name in SHEETS]


def test_a_span_across_rows_is_located_by_sheet_and_row_range(tmp_path):
    document = load(make_xlsx(tmp_path / "book.xlsx"))
    start, end = document.text.index("Region: South"), document.text.index("Sales: 700")
    assert document.location(start, end) == "sheet Q3, rows 3-5"


def test_a_csv_delimiter_is_sniffed_and_its_rows_located(tmp_path):
    path = tmp_path / "tides.csv"
    path.write_text('port;height\nWick;3.1\n"Thurso\nharbour";2.8\n')
    document = load(path)
    assert (document.text, document.location(0, len(document.text))) == (
        "port: Wick\nheight: 3.1\n\nport: Thurso harbour\nheight: 2.8", "rows 2-3")


def test_chunks_spanning_two_row_ranges_of_a_sheet_are_one_range():
    assert spanning_location("sheet Q3, rows 2-8", "sheet Q3, rows 8-15") == "sheet Q3, rows 2-15"


def test_spans_on_different_pages_name_both():
    assert spanning_location("slide 2", "slide 3") == "slide 2 to slide 3"


# -- notebooks -------------------------------------------------------------------------------


def test_notebook_cells_are_pages_numbered_as_in_the_notebook(tmp_path):
    document = load(make_notebook(tmp_path / "tides.ipynb"))
    assert [p.label for p in document.pages] == ["cell 1", "cell 2", "cell 4"]  # cell 3 is empty


def test_a_code_cell_page_holds_its_source_and_output(tmp_path):
    document = load(make_notebook(tmp_path / "tides.ipynb"))
    _, source, output = NOTEBOOK_CELLS[1]
    assert page_text(document, "cell 2") == f"{source}\n\nOutput:\n{output.strip()}"


def test_a_huge_output_is_cut_and_the_cut_is_stated(tmp_path):
    path = make_notebook(tmp_path / "tides.ipynb")
    notebook = json.loads(path.read_text())
    notebook["cells"][1]["outputs"][0]["text"] = "x" * (MAX_OUTPUT_CHARS + 500)
    path.write_text(json.dumps(notebook))
    assert page_text(load(path), "cell 2").endswith("x\n[output cut: 500 more characters not indexed]")


# -- reStructuredText ------------------------------------------------------------------------


def test_rst_is_plain_text_with_headings_lists_notes_code_and_tables_apart(tmp_path):
    path = tmp_path / "log.rst"
    path.write_text(RST)
    assert load(path).text == (
        "Lighthouse log\n\nThe keeper lights the lamp at dusk.\n\nDuties\n\n- Trim the wick.\n\n"
        "- Wind the clockwork.\n\nNote: Fuel arrives on Tuesdays.\n\nlamp.light()\n\n"
        "Station | Keeper\n\nWrath | Morag"
    )


def test_rst_include_and_raw_directives_read_no_other_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("The vault code is 4312.")
    path = tmp_path / "sneaky.rst"
    path.write_text(f"Hello.\n\n.. include:: {secret}\n\n.. raw:: html\n   :file: {secret}\n")
    assert load(path).text == "Hello."


# -- EPUB ------------------------------------------------------------------------------------


@pytest.mark.parametrize("toc", ["nav", "ncx"])
def test_epub_chapters_come_in_reading_order_titled_from_the_table_of_contents(tmp_path, toc):
    document = load(make_epub(tmp_path / f"sea-{toc}.epub", toc))
    expected = [f"chapter {n}: {title}" for n, (_, title, _) in enumerate(CHAPTERS, start=1)]
    assert [p.label for p in document.pages] == expected


def test_an_epub_chapter_page_holds_its_text(tmp_path):
    document = load(make_epub(tmp_path / "sea.epub"))
    _, title, text = CHAPTERS[1]
    assert page_text(document, f"chapter 2: {title}") == f"{title}\n\n{text}"


# -- source code and configuration -----------------------------------------------------------


@pytest.mark.parametrize("name", ["tide.py", "settings.yaml", "Cargo.toml"])
def test_source_and_config_files_are_read_verbatim(tmp_path, name):
    path = tmp_path / name
    path.write_text("# Tide settings\nheight = 3.1  # metres\n\n\nport = 'Wick'\n")
    assert load(path).text == path.read_text()


# -- through the index and the answer --------------------------------------------------------


@pytest.fixture(scope="module")
def formats_home(tmp_path_factory):
    folder = tmp_path_factory.mktemp("formats")
    make_pptx(folder / "deck.pptx")
    make_xlsx(folder / "book.xlsx")
    make_notebook(folder / "tides.ipynb")
    make_epub(folder / "sea.epub")
    (folder / "log.rst").write_text(RST)
    home = tmp_path_factory.mktemp("formats-home")
    report = ingest([folder], IndexConfig(home))
    assert report.errors == [] and report.added == 5
    return home


def stored_chunks(home):
    with open_index(IndexConfig(home)) as index:
        return list(index.catalog.chunks_by_vector(sorted(index.vectors.ids())).values())


def test_every_stored_chunk_is_its_documents_exact_text(formats_home):
    documents = {}
    for chunk in stored_chunks(formats_home):
        document = documents.setdefault(chunk.source, load(chunk.source))
        assert document.text[chunk.start : chunk.end] == chunk.text, chunk.source


def test_every_stored_chunk_keeps_the_location_its_document_names(formats_home):
    locations = {}
    for chunk in stored_chunks(formats_home):
        locations[chunk.id] = (chunk.location, load(chunk.source).location(chunk.start, chunk.end))
    assert all(stored == named for stored, named in locations.values()), locations


def test_a_retrieved_sheet_passage_carries_its_sheet_and_rows_to_the_api(formats_home):
    answer = Pipeline(Settings(home=formats_home, answerer="extractive")).ask("Who is the owner for the South region?")
    sheet = next(p for p in answer.to_dict()["passages"] if p["source"].endswith("book.xlsx"))
    assert sheet["location"] == "sheet Q3, rows 2-5"
