"""Files read and chunked in worker processes: the same results, in the same order, as read
in the ingesting process, errors reported per file."""

from __future__ import annotations

from pathlib import Path

from index import IndexConfig, ingest, open_index
from index.formats import document_version
from index.parsing import MIN_PARSED_FILES_FOR_WORKERS, parse_all, worker_count


def a_folder(folder: Path, files: int) -> Path:
    """`files` HTML pages (a reader that parses), two of them unreadable: one empty, one binary."""
    folder.mkdir()
    for i in range(files - 2):
        words = " ".join(f"word{(i * 7 + j) % 97}" for j in range(10 + i % 16))
        (folder / f"note-{i:03}.html").write_text(
            f"<html><head><title>Note {i}</title></head><body><main><h1>Note {i}</h1>"
            f"<p>Note {i} is about {words}.</p><p>The end of note {i}, which says little more.</p></main></body></html>")
    (folder / "empty.html").write_text("")
    (folder / "binary.html").write_bytes(bytes(range(256)) * 8)
    return folder


def test_workers_parse_as_the_ingesting_process_does(embedder, tmp_path):
    folder = a_folder(tmp_path / "docs", 12)
    files = [(path, path.name) for path in sorted(folder.iterdir())]
    indexed = {"note-003.html": document_version((folder / "note-003.html").read_bytes())}  # unchanged: not chunked
    alone = list(parse_all(files, indexed, embedder.tokenizer, embedder.max_tokens, workers=0))
    beside = list(parse_all(files, indexed, embedder.tokenizer, embedder.max_tokens, workers=1))
    assert beside == alone
    assert [p.source for p in beside] == [source for _, source in files]
    assert [p.source for p in beside if p.error] == ["binary.html", "empty.html"]
    assert [p.source for p in beside if p.document and p.chunks is None] == ["note-003.html"]
    assert all(p.chunks for p in beside if p.document and p.source != "note-003.html")


def test_an_ingest_of_many_files_reads_them_in_workers_and_reports_each_error(tmp_path):
    folder = a_folder(tmp_path / "docs", MIN_PARSED_FILES_FOR_WORKERS + 2)
    assert worker_count(list(folder.iterdir())) >= 1
    home = tmp_path / "home"
    report = ingest([folder], IndexConfig(home))
    assert sorted(e["source"] for e in report.errors) == [str(folder / "binary.html"), str(folder / "empty.html")]
    assert report.added == report.documents == MIN_PARSED_FILES_FOR_WORKERS
    with open_index(IndexConfig(home)) as index:
        assert index.catalog.chunk_count() == report.chunks_total == report.chunks_embedded
    again = ingest([folder], IndexConfig(home))
    assert (again.unchanged, again.added, again.chunks_embedded) == (report.documents, 0, 0)
