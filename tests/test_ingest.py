"""ingest() end to end: the real model, a real embedded Chroma and the SQLite catalog."""

from __future__ import annotations

import os
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from helpers import (
    PDF_PAGE1,
    SEED,
    consistent_ids,
    found_by_own_vectors,
    make_docx,
    make_encrypted_pdf,
    make_pdf,
    rewrite_zip_member,
)

from index import (
    EmbeddingModelError,
    IndexConfig,
    IndexBusyError,
    ModelMismatchError,
    NoIndexError,
    ingest,
    load,
    open_index,
)
from index.chunking import chunk_document
from index.vectors.embedder import DEFAULT_MODEL_NAME, default_model_path
from index.store import current_generation, writing


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


def ids_of(home: Path, source: Path | str) -> set[str]:
    with open_index(IndexConfig(home)) as index:
        return set(index.catalog.chunk_ids([str(source)]))


def keyword_sources(home: Path, query: str, k: int = 5) -> list[str]:
    with open_index(IndexConfig(home)) as index:
        hits = index.catalog.keyword_search(query, k)
        chunks = index.catalog.chunks_by_vector([i for i, _ in hits])
        return [chunks[i].source for i, _ in hits]


def small_corpus(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "a": folder / "alpha.txt",
        "b": folder / "bravo.md",
        "c": folder / "sub" / "charlie.txt",
    }
    files["c"].parent.mkdir(exist_ok=True)
    files["a"].write_text("Alpine marmots whistle to warn each other. They hibernate in burrows.")
    files["b"].write_text("# Volcanoes\n\nBasalt lava flows quickly. Obsidian forms when lava cools fast.")
    files["c"].write_text("Coral reefs need warm shallow water. Parrotfish graze on the algae.")
    return files


# -- what is stored -----------------------------------------------------------------------------


def test_every_stored_chunk_has_exact_metadata(docs, home, embedder):
    folder = docs["pdf"].parent
    seed = folder / SEED.name
    shutil.copy(SEED, seed)
    report = ingest([folder], IndexConfig(home))

    sources = {str(p) for p in docs.values()} | {str(seed)}
    assert report.errors == [] and report.skipped == []
    assert report.added == report.documents == len(sources) == 7
    assert report.updated == report.removed == report.unchanged == 0

    loaded = {source: load(source) for source in sources}
    with open_index(IndexConfig(home)) as index:
        assert index.model == DEFAULT_MODEL_NAME
        assert index.catalog.documents() == {s: d.sha256 for s, d in loaded.items()}
        for source, document in loaded.items():
            assert index.catalog.document_text(source) == document.text

        vector_ids = sorted(index.vectors.ids())
        stored = index.catalog.chunks_by_vector(vector_ids)
        assert len(vector_ids) == len(stored) == report.chunks_total == index.catalog.chunk_count()
        per_source: dict[str, list[int]] = {}
        for chunk in stored.values():
            document = loaded[chunk.source]
            assert chunk.sha256 == document.sha256
            assert document.text[chunk.start : chunk.end] == chunk.text
            if chunk.source == str(docs["pdf"]):
                assert chunk.page == document.page_at(chunk.start) and chunk.page in (1, 2)
            else:
                assert chunk.page is None
            per_source.setdefault(chunk.source, []).append(chunk.chunk)

        # Every document is there, chunked exactly as chunk_document does it.
        assert set(per_source) == sources
        for source, numbers in per_source.items():
            expected = chunk_document(loaded[source], embedder.tokenizer, embedder.max_tokens)
            assert sorted(numbers) == list(range(len(expected)))
        assert {c.page for c in stored.values() if c.source == str(docs["pdf"])} == {1, 2}

        # The vectors are the model's normalized embeddings of exactly that text.
        ids, vectors = index.catalog.vectors(vector_ids)
        fresh = embedder.embed([stored[i].text for i in ids])
        for vector, expected in zip(vectors, fresh):
            assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-4)
            assert float(vector @ expected) > 0.999

        # Both searches find the right documents.
        hits = index.vectors.query(embedder.embed_query("honeybees build wax cells in a hive"), 1)
        assert stored[hits[0][0]].source == str(docs["md"])
        hits = index.vectors.query(embedder.embed_query("bananas shipped from warm countries"), 1)
        assert (stored[hits[0][0]].source, stored[hits[0][0]].page) == (str(docs["pdf"]), 2)
    assert report.chunks_embedded == len({c.text for c in stored.values()})
    assert keyword_sources(home, "lighthouse keepers")[0] == str(docs["docx"])
    assert keyword_sources(home, "Morag Hughes")[0] == str(docs["docx"])  # a table cell
    assert keyword_sources(home, "meltwater moraine")[0] == str(docs["html"])
    assert keyword_sources(home, "Nvidia valuation")[0] == str(seed)
    assert keyword_sources(home, "secretScriptToken secretStyleToken") == []
    consistent_ids(home)


def test_open_index_before_any_ingest(home):
    with pytest.raises(NoIndexError):
        open_index(IndexConfig(home))


# -- incremental ingest ---------------------------------------------------------------------------


def test_unchanged_folder_embeds_nothing(tmp_path, home):
    files = small_corpus(tmp_path / "docs")
    first = ingest([tmp_path / "docs"], IndexConfig(home))
    assert (first.added, first.chunks_embedded) == (3, first.chunks_total)
    assert first.chunks_total >= 3
    before = consistent_ids(home)
    generation = current_generation(IndexConfig(home))

    second = ingest([tmp_path / "docs"], IndexConfig(home))
    assert second.chunks_embedded == 0
    assert second.unchanged == len(files) == second.documents
    assert second.added == second.updated == second.removed == 0
    assert second.chunks_total == first.chunks_total
    assert consistent_ids(home) == before
    assert current_generation(IndexConfig(home)) == generation


def test_a_new_reader_version_reads_files_again_and_embeds_only_changed_text(tmp_path, home, monkeypatch):
    """After an upgrade that changes how files are read, unchanged files are read again (their
    indexed text may be the old readers'), and chunks whose text is the same keep their vectors."""
    small_corpus(tmp_path / "docs")
    first = ingest([tmp_path / "docs"], IndexConfig(home))
    monkeypatch.setattr("index.formats.READER_VERSION", 99)
    second = ingest([tmp_path / "docs"], IndexConfig(home))
    assert (second.updated, second.unchanged) == (first.added, 0)
    assert second.chunks_embedded == 0 and second.chunks_total == first.chunks_total
    found_by_own_vectors(home)


def test_modified_file_replaces_its_chunks(tmp_path, home):
    files = small_corpus(tmp_path / "docs")
    ingest([tmp_path / "docs"], IndexConfig(home))
    old_ids = ids_of(home, files["a"])
    others = consistent_ids(home) - old_ids
    assert old_ids and keyword_sources(home, "marmots") == [str(files["a"])]

    files["a"].write_text("Zeppelins floated over the lake. The airship crew waved at boats.")
    report = ingest([tmp_path / "docs"], IndexConfig(home))
    assert (report.updated, report.unchanged, report.added, report.removed) == (1, 2, 0, 0)
    assert report.chunks_embedded == 1

    now = consistent_ids(home)
    assert not old_ids & now, "old chunk ids left in the catalog"
    assert now - others == ids_of(home, files["a"]) != set()
    assert keyword_sources(home, "zeppelins") == [str(files["a"])]
    assert keyword_sources(home, "marmots") == []
    with open_index(IndexConfig(home)) as index:
        assert "Zeppelins" in index.catalog.document_text(str(files["a"]))


def test_deleted_file_is_removed_from_both_stores(tmp_path, home):
    files = small_corpus(tmp_path / "docs")
    ingest([tmp_path / "docs"], IndexConfig(home))
    gone = ids_of(home, files["c"])
    assert gone

    files["c"].unlink()
    report = ingest([tmp_path / "docs"], IndexConfig(home))
    assert (report.removed, report.unchanged, report.documents) == (1, 2, 2)
    assert report.chunks_embedded == 0
    assert not gone & consistent_ids(home)
    assert keyword_sources(home, "parrotfish") == []
    with open_index(IndexConfig(home)) as index:
        assert str(files["c"]) not in index.catalog.documents()
        assert index.catalog.document_text(str(files["c"])) is None


def test_only_given_folders_lose_missing_files(tmp_path, home):
    """A folder not named in this run keeps its documents; a named one is synced."""
    small_corpus(tmp_path / "one")
    other = small_corpus(tmp_path / "two")
    ingest([tmp_path / "one", tmp_path / "two"], IndexConfig(home))
    (tmp_path / "one" / "alpha.txt").unlink()
    report = ingest([tmp_path / "one"], IndexConfig(home))
    assert (report.removed, report.documents) == (1, 5)
    with open_index(IndexConfig(home)) as index:
        assert {str(p) for p in other.values()} <= set(index.catalog.documents())
    consistent_ids(home)


def test_same_text_under_two_paths_is_embedded_once(tmp_path, home, embedder):
    folder = tmp_path / "docs"
    (folder / "copy").mkdir(parents=True)
    first, second = folder / "seed.txt", folder / "copy" / "seed-again.txt"
    shutil.copy(SEED, first)
    shutil.copy(SEED, second)
    per_copy = len(chunk_document(load(first), embedder.tokenizer, embedder.max_tokens))
    assert per_copy >= 2

    report = ingest([folder], IndexConfig(home))
    assert report.added == 2
    assert report.chunks_embedded == per_copy
    assert report.chunks_total == 2 * per_copy
    ids = consistent_ids(home)
    assert len(ids) == 2 * per_copy
    with open_index(IndexConfig(home)) as index:
        assert set(index.catalog.documents()) == {str(first), str(second)}
        chunks = index.catalog.chunks(sorted(ids))
        vector_ids, matrix = index.catalog.vectors([c.vector_id for c in chunks.values()])
    vectors = dict(zip(vector_ids, matrix))
    by_text: dict[str, list] = {}
    for chunk in chunks.values():
        by_text.setdefault(chunk.text, []).append(chunk)
    assert all(len(group) == 2 for group in by_text.values())
    for a, b in by_text.values():
        assert a.source != b.source and a.vector_id != b.vector_id
        np.testing.assert_array_equal(vectors[a.vector_id], vectors[b.vector_id])

    # A third copy later reuses the stored vectors too.
    shutil.copy(SEED, folder / "third.txt")
    report = ingest([folder], IndexConfig(home))
    assert (report.added, report.unchanged, report.chunks_embedded) == (1, 2, 0)
    assert len(consistent_ids(home)) == 3 * per_copy


# -- bad files ----------------------------------------------------------------------------------


def test_bad_files_are_reported_and_good_versions_kept(tmp_path, home):
    folder = tmp_path / "docs"
    folder.mkdir()
    good = folder / "good.txt"
    keep = folder / "keep.txt"
    good.write_text("Glass is made from sand heated in a furnace.")
    keep.write_text("Kestrels hover above the motorway verge looking for voles.")
    bad = {
        "random.pdf": b"%PDF-1.4\n" + os.urandom(2000),
        "empty.txt": b"",
        "blank.md": b"  \n\n  ",
        "binary.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(2000),
        "fake.docx": b"not a zip archive at all",
    }
    for name, data in bad.items():
        (folder / name).write_bytes(data)
    whole = make_pdf(tmp_path / "whole.pdf", [PDF_PAGE1]).read_bytes()
    (folder / "truncated.pdf").write_bytes(whole[: len(whole) // 2])
    make_encrypted_pdf(folder / "locked.pdf")
    bad_sources = {str(folder / n) for n in [*bad, "truncated.pdf", "locked.pdf"]}

    report = ingest([folder], IndexConfig(home))
    assert {e["source"] for e in report.errors} == bad_sources
    assert all(e["error"] for e in report.errors)
    messages = {Path(e["source"]).name: e["error"] for e in report.errors}
    assert messages["empty.txt"] == messages["blank.md"] == "empty file"
    assert "binary" in messages["binary.txt"]
    assert "encrypted" in messages["locked.pdf"]
    assert "PDF" in messages["random.pdf"] and "PDF" in messages["truncated.pdf"]
    assert "DOCX" in messages["fake.docx"]
    assert report.added == report.documents == 2
    with open_index(IndexConfig(home)) as index:
        assert set(index.catalog.documents()) == {str(good), str(keep)}
    kept_sha = load(keep).sha256
    kept_ids = ids_of(home, keep)

    # keep.txt is now corrupt: its indexed version survives, and nothing else changes.
    keep.write_bytes(b"\x00\x01\x02\x03" * 300)
    (folder / "later.txt").write_text("Lichen grows slowly on north facing stones.")
    report = ingest([folder], IndexConfig(home))
    assert str(keep) in {e["source"] for e in report.errors}
    assert {e["source"] for e in report.errors} == bad_sources | {str(keep)}
    assert (report.added, report.unchanged, report.removed, report.documents) == (1, 1, 0, 3)
    with open_index(IndexConfig(home)) as index:
        assert index.catalog.documents()[str(keep)] == kept_sha
    assert ids_of(home, keep) == kept_ids
    assert keyword_sources(home, "kestrels") == [str(keep)]
    assert keyword_sources(home, "lichen") == [str(folder / "later.txt")]
    consistent_ids(home)


def test_loader_crashes_do_not_abort_the_ingest(tmp_path, home):
    """Parser errors of every type (pypdf's NotImplementedError, lxml's XMLSyntaxError) are
    one file's failure, never the run's (regression)."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.txt").write_text("Glass is made from sand heated in a furnace.")
    pdf = make_pdf(tmp_path / "whole.pdf", [PDF_PAGE1]).read_bytes()
    (folder / "odd-filter.pdf").write_bytes(pdf.replace(b"/FlateDecode", b"/FlateDecodX"))
    rewrite_zip_member(
        make_docx(tmp_path / "good.docx"), folder / "bad-xml.docx", "word/document.xml", b"<w:document oops"
    )
    report = ingest([folder], IndexConfig(home))
    assert {Path(e["source"]).name for e in report.errors} == {"odd-filter.pdf", "bad-xml.docx"}
    assert report.documents == 1
    consistent_ids(home)


def test_unsupported_and_hidden_files(tmp_path, home):
    folder = tmp_path / "docs"
    small_corpus(folder)
    (folder / "table.xls").write_text("a,b\n1,2\n")
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / "Makefile").write_text("all:\n")
    (folder / ".hidden.txt").write_text("Secret hidden words.")
    (folder / ".git").mkdir()
    (folder / ".git" / "notes.txt").write_text("Inside a dot folder.")
    missing = tmp_path / "nowhere"

    report = ingest([folder, missing], IndexConfig(home))
    # Each with its reason; dot folders (.git) are listed once, not walked.
    assert {item["source"]: item["reason"] for item in report.skipped} == {
        str(folder / "table.xls"): "unsupported type", str(folder / "photo.png"): "asset: image",
        str(folder / "Makefile"): "unsupported type", str(folder / ".hidden.txt"): "hidden",
        str(folder / ".git"): "hidden folder",
    }
    assert report.errors == [{"source": str(missing), "error": "no such file or folder"}]
    assert report.documents == 3
    assert keyword_sources(home, "secret hidden dot folder") == []
    consistent_ids(home)


def test_single_file_path(tmp_path, home):
    files = small_corpus(tmp_path / "docs")
    report = ingest([files["b"]], IndexConfig(home))
    assert (report.added, report.documents) == (1, 1)
    with open_index(IndexConfig(home)) as index:
        assert set(index.catalog.documents()) == {str(files["b"])}
    consistent_ids(home)


# -- rebuild -------------------------------------------------------------------------------------


def _collections(home: Path) -> set[str]:
    """The generations that have vector collections."""
    with open_index(IndexConfig(home)) as index:
        return {name.split("-")[1] for name in index.backend.names()}


def test_rebuild_makes_a_complete_new_generation(tmp_path, home):
    files = small_corpus(tmp_path / "docs")
    ingest([tmp_path / "docs"], IndexConfig(home))
    old_generation = current_generation(IndexConfig(home))
    old_ids = consistent_ids(home)
    old_a = ids_of(home, files["a"])
    files["a"].write_text("Narwhals use their tusks to sense the water. They live in Arctic seas.")

    report = ingest([tmp_path / "docs"], IndexConfig(home), rebuild=True)
    new_generation = current_generation(IndexConfig(home))
    assert new_generation != old_generation
    assert (report.added, report.updated, report.unchanged, report.documents) == (3, 0, 0, 3)
    assert report.chunks_embedded == report.chunks_total
    new_ids = consistent_ids(home)
    new_a = ids_of(home, files["a"])
    assert new_a and not new_a & old_a
    assert new_ids - new_a == old_ids - old_a  # unchanged files keep their stable ids
    assert keyword_sources(home, "narwhals") == [str(files["a"])]
    assert keyword_sources(home, "marmots") == []
    # The old generation is gone from disk and from Chroma.
    assert sorted(p.name for p in home.glob("catalog-*.sqlite")) == [f"catalog-{new_generation}.sqlite"]
    assert _collections(home) == {new_generation}


def _assert_old_index_intact(home, generation, ids, sources):
    assert current_generation(IndexConfig(home)) == generation
    assert consistent_ids(home) == ids
    with open_index(IndexConfig(home)) as index:
        assert set(index.catalog.documents()) == sources
    assert sorted(p.name for p in home.glob("catalog-*.sqlite")) == [f"catalog-{generation}.sqlite"]
    assert _collections(home) == {generation}
    assert keyword_sources(home, "marmots")


def test_failed_rebuild_with_a_missing_model_keeps_the_old_index(tmp_path, home):
    files = small_corpus(tmp_path / "docs")
    ingest([tmp_path / "docs"], IndexConfig(home))
    generation, ids = current_generation(IndexConfig(home)), consistent_ids(home)
    with pytest.raises(EmbeddingModelError, match="embedding model folder not found"):
        ingest([tmp_path / "docs"], IndexConfig(home, embed_model=str(tmp_path / "no-such-model")), rebuild=True)
    _assert_old_index_intact(home, generation, ids, {str(p) for p in files.values()})


def test_rebuild_failing_midway_keeps_the_old_index(tmp_path, home, monkeypatch):
    import index.ingestion as ingestion
    import index.parsing as parsing  # reads a folder this small in this process

    files = small_corpus(tmp_path / "docs")
    ingest([tmp_path / "docs"], IndexConfig(home))
    generation, ids = current_generation(IndexConfig(home)), consistent_ids(home)
    (tmp_path / "docs" / "delta.txt").write_text("Dolphins sleep with half their brain awake.")

    real = parsing.chunk_document
    calls, catalogs = [], []

    def failing(document, *args, **kwargs):
        calls.append(document.source)
        if len(calls) == 3:
            catalogs.extend(home.glob("catalog-*.sqlite"))
            raise RuntimeError("simulated crash during rebuild")
        return real(document, *args, **kwargs)

    monkeypatch.setattr(ingestion, "BATCH_CHUNKS", 1)  # commit (and write vectors) per document
    monkeypatch.setattr(parsing, "chunk_document", failing)
    with pytest.raises(RuntimeError, match="simulated crash"):
        ingest([tmp_path / "docs"], IndexConfig(home), rebuild=True)
    assert len(calls) == 3
    assert len(catalogs) == 2, "the new generation was being written beside the live one"
    _assert_old_index_intact(home, generation, ids, {str(p) for p in files.values()})

    monkeypatch.setattr(parsing, "chunk_document", real)
    report = ingest([tmp_path / "docs"], IndexConfig(home))
    assert (report.added, report.unchanged) == (1, 3)
    consistent_ids(home)


def test_leftovers_of_a_killed_rebuild_are_removed(tmp_path, home, monkeypatch):
    import index.ingestion as ingestion
    from index.store import Index

    small_corpus(tmp_path / "docs")
    ingest([tmp_path / "docs"], IndexConfig(home))
    generation = current_generation(IndexConfig(home))

    # A rebuild killed outright never runs its cleanup: simulate with a no-op drop().
    monkeypatch.setattr(Index, "drop", lambda self: self.close())
    monkeypatch.setattr(ingestion, "_removed", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        ingest([tmp_path / "docs"], IndexConfig(home), rebuild=True)
    monkeypatch.undo()
    assert len(list(home.glob("catalog-*.sqlite"))) == 2
    assert len(_collections(home)) == 2

    report = ingest([tmp_path / "docs"], IndexConfig(home))
    assert report.unchanged == 3 and current_generation(IndexConfig(home)) == generation
    assert [p.name for p in home.glob("catalog-*.sqlite")] == [f"catalog-{generation}.sqlite"]
    assert _collections(home) == {generation}
    consistent_ids(home)


# -- models --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def other_model(tmp_path_factory) -> Path:
    """A model that differs from the packaged one: same weights, shorter window."""
    target = tmp_path_factory.mktemp("models") / "other-minilm"
    shutil.copytree(default_model_path(), target)
    config = target / "sentence_bert_config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "max_seq_length": 128}))
    return target


def test_a_copied_model_folder_is_the_same_model(tmp_path, home, tmp_path_factory):
    copy = tmp_path_factory.mktemp("models") / "copied-minilm"
    shutil.copytree(default_model_path(), copy)
    small_corpus(tmp_path / "docs")
    ingest([tmp_path / "docs"], IndexConfig(home))
    assert ingest([tmp_path / "docs"], IndexConfig(home, embed_model=str(copy))).unchanged == 3


def test_a_different_model_is_refused(tmp_path, home, other_model):
    files = small_corpus(tmp_path / "docs")
    ingest([tmp_path / "docs"], IndexConfig(home))
    generation, ids = current_generation(IndexConfig(home)), consistent_ids(home)
    files["a"].write_text("Changed text that must not be indexed with another model.")

    with pytest.raises(ModelMismatchError) as caught:
        ingest([tmp_path / "docs"], IndexConfig(home, embed_model=str(other_model)))
    assert DEFAULT_MODEL_NAME in str(caught.value) and "other-minilm" in str(caught.value)
    assert current_generation(IndexConfig(home)) == generation and consistent_ids(home) == ids
    assert keyword_sources(home, "marmots") == [str(files["a"])]

    # A rebuild may switch models.
    report = ingest([tmp_path / "docs"], IndexConfig(home, embed_model=str(other_model)), rebuild=True)
    assert report.documents == 3
    with open_index(IndexConfig(home)) as index:
        assert index.model == "other-minilm"
    consistent_ids(home)


def test_explicit_default_model_path_is_the_same_model(tmp_path, home):
    """The packaged model named by its path is the model an index built by default used."""
    small_corpus(tmp_path / "docs")
    ingest([tmp_path / "docs"], IndexConfig(home))
    report = ingest([tmp_path / "docs"], IndexConfig(home, embed_model=default_model_path()))
    assert report.unchanged == 3


# -- one writer at a time ----------------------------------------------------------------------------


def test_second_writer_in_process_is_busy(tmp_path, home):
    small_corpus(tmp_path / "docs")
    ingest([tmp_path / "docs"], IndexConfig(home))
    ids = consistent_ids(home)
    (tmp_path / "docs" / "new.txt").write_text("Walruses haul out on sea ice.")

    holding, release = threading.Event(), threading.Event()

    def writer():
        with writing(IndexConfig(home)):
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(30)
        with pytest.raises(IndexBusyError, match="busy"):
            ingest([tmp_path / "docs"], IndexConfig(home))
    finally:
        release.set()
        thread.join(30)
    assert consistent_ids(home) == ids
    report = ingest([tmp_path / "docs"], IndexConfig(home))
    assert report.added == 1


def test_second_writer_process_is_busy(tmp_path, home):
    small_corpus(tmp_path / "docs")
    ingest([tmp_path / "docs"], IndexConfig(home))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys\n"
            f"h = open({str(home / 'write.lock')!r}, 'w')\n"
            "fcntl.flock(h, fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(IndexBusyError):
            ingest([tmp_path / "docs"], IndexConfig(home))
    finally:
        holder.stdin.close()
        holder.wait(30)
    assert ingest([tmp_path / "docs"], IndexConfig(home)).unchanged == 3


def test_remove_takes_a_document_out_of_both_stores(tmp_path, home):
    from index import remove

    files = small_corpus(tmp_path / "docs")
    ingest([tmp_path / "docs"], IndexConfig(home))
    before = consistent_ids(home)
    assert remove([str(files["a"]), "never-indexed.txt"], IndexConfig(home)) == [str(files["a"])]
    after = consistent_ids(home)
    assert after < before and after
    assert keyword_sources(home, "marmots") == []
