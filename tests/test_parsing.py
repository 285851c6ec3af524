"""Files read and chunked in worker processes: the same results, in the same order, as read
in the ingesting process, errors reported per file."""

from __future__ import annotations

from pathlib import Path

from index import IndexConfig, ingest, open_index
from index.formats import document_version
from index.parsing import MIN_FILES_FOR_WORKERS, parse_all


def a_folder(folder: Path, files: int) -> Path:
    """`files` text files, two of them unreadable: one empty, one binary."""
    folder.mkdir()
    for i in range(files - 2):
        words = " ".join(f"word{(i * 7 + j) % 97}" for j in range(40 + i))
        (folder / f"note-{i:03}.txt").write_text(f"Note {i}. {words}. The end of note {i}.")
    (folder / "empty.txt").write_text("")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 8)
    return folder


def test_workers_parse_as_the_ingesting_process_does(embedder, tmp_path):
    folder = a_folder(tmp_path / "docs", 12)
    files = [(path, path.name) for path in sorted(folder.iterdir())]
    indexed = {"note-003.txt": document_version((folder / "note-003.txt").read_bytes())}  # unchanged: not chunked
    alone = list(parse_all(files, indexed, embedder.tokenizer, embedder.max_tokens, workers=0))
    beside = list(parse_all(files, indexed, embedder.tokenizer, embedder.max_tokens, workers=1))
    assert beside == alone
    assert [p.source for p in beside] == [source for _, source in files]
    assert [p.source for p in beside if p.error] == ["binary.txt", "empty.txt"]
    assert [p.source for p in beside if p.document and p.chunks is None] == ["note-003.txt"]
    assert all(p.chunks for p in beside if p.document and p.source != "note-003.txt")


def test_an_ingest_of_many_files_reads_them_in_workers_and_reports_each_error(tmp_path):
    folder = a_folder(tmp_path / "docs", MIN_FILES_FOR_WORKERS + 2)
    home = tmp_path / "home"
    report = ingest([folder], IndexConfig(home))
    assert sorted(e["source"] for e in report.errors) == [str(folder / "binary.txt"), str(folder / "empty.txt")]
    assert report.added == report.documents == MIN_FILES_FOR_WORKERS
    with open_index(IndexConfig(home)) as index:
        assert index.catalog.chunk_count() == report.chunks_total == report.chunks_embedded
    again = ingest([folder], IndexConfig(home))
    assert (again.unchanged, again.added, again.chunks_embedded) == (report.documents, 0, 0)
