"""No copy of a chunk's text beside its document's (schema 7). SQLite's keyword index is an
external-content FTS5 table over the view `chunk_texts`: the catalog gives it each chunk's
text (a slice of the document's) to index and to delete, so every delete must give the text
that went in; a schema 6 catalog is rebuilt in place with the same results. PostgreSQL drops
its `chunks.text`."""

from __future__ import annotations

import numpy as np
import pytest

from index import IndexConfig, NeedsMigrationError, open_index
from index.catalog import NewChunk
from index.catalog.sqlite import PAGE_SIZE, SqliteCatalog
from index.chunking import sentence_spans
from index.formats import Document, document_version
from index.store import writing
from tests.conftest import SEEDS

QUESTIONS = ["How much market value did Nvidia lose?", "Who founded DeepSeek?",
             "Which Japanese companies saw their shares fall?", "What did Trump call it?"]


def document(source: str, text: str) -> tuple[Document, list[NewChunk]]:
    """The text as a document with a chunk per sentence (random vectors: nothing here
    searches by vector)."""
    rng = np.random.default_rng(len(text))
    chunks = [NewChunk(f"{source}-{n}", n, start, end, None, text[start:end], f"{source}-{n}",
                       rng.standard_normal(384).astype(np.float32))
              for n, (start, end) in enumerate(sentence_spans(text))]
    return Document(source, text, document_version(text.encode())), chunks


def seed_documents() -> list[tuple[Document, list[NewChunk]]]:
    """Each paragraph of the seed article a document."""
    lines = next(SEEDS.iterdir()).read_text(encoding="utf-8").splitlines()
    return [document(f"seed-{n}.txt", line) for n, line in enumerate(lines) if line.strip()]


def commit(config: IndexConfig, documents: list, removed: list[str] = ()) -> None:
    with writing(config) as index:
        index.catalog.commit_documents(documents, list(removed))
        index.apply_journal()


def assert_keywords_whole(config: IndexConfig) -> None:
    """FTS5's own check of the index against the view's text (it raises when they differ),
    and the catalog's count of missing and stale rows."""
    with writing(config) as index:
        index.catalog.db.execute("INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('integrity-check', 1)")
        assert index.catalog.keyword_problems() == (0, 0)


def as_schema_6(catalog) -> None:
    """The keyword table as schema 6 kept it: with its own copy of every chunk's text."""
    with catalog.db:
        catalog.db.execute("DROP TABLE chunks_fts")
        catalog.db.execute("CREATE VIRTUAL TABLE chunks_fts USING fts5(text,"
                           " tokenize = 'porter unicode61 remove_diacritics 2')")
        catalog.db.execute("INSERT INTO chunks_fts (rowid, text) SELECT rowid, text FROM chunk_texts")
        catalog.db.execute("UPDATE meta SET value = '6' WHERE key = 'schema'")


def test_a_schema_6_catalog_is_rebuilt_in_place_with_the_same_keyword_results(rag_home):
    config = IndexConfig(rag_home)
    commit(config, seed_documents())
    with writing(config) as index:
        as_schema_6(index.catalog)
        before = {q: index.catalog.keyword_search(q, 30) for q in QUESTIONS}
    with pytest.raises(NeedsMigrationError, match="rag check --repair"):
        open_index(config)

    with writing(config, embedder=lambda: pytest.fail("migrating loaded the embedding model")):
        pass
    with open_index(config) as index:
        assert not index.catalog.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'chunks_fts_content'").fetchall()
        assert {q: index.catalog.keyword_search(q, 30) for q in QUESTIONS} == before  # scores too
        assert all(before.values())
    assert_keywords_whole(config)


def test_text_with_nul_and_astral_characters_reads_back_and_is_replaced_exactly(rag_home):
    """SQL's substr stops at a NUL; the view slices as Python does."""
    config = IndexConfig(rag_home)
    text = "Barn owls\x00 hunt voles 🦉 at night. Spring tides 𝔱urn\x00 twice with the moon."
    commit(config, [document("odd.txt", text)])
    with open_index(config) as index:
        chunks = index.catalog.chunks(index.catalog.chunk_ids())
        assert [c.text for c in chunks.values()] == [text[c.start:c.end] for c in chunks.values()]
        assert len(index.keyword_search("twice", 5)) == 1
    commit(config, [document("odd.txt", "Neap tides come between them.")])
    with open_index(config) as index:
        assert index.keyword_search("twice voles", 5) == []
    assert_keywords_whole(config)


def test_chunks_read_while_another_process_replaces_their_document_are_left_out(rag_home):
    """A chunk's row and its document's text are two reads: a chunk whose document changed in
    between is not cut from the new text."""
    config = IndexConfig(rag_home)
    commit(config, [document("owls.txt", "Barn owls hunt voles at night. Tides turn twice a day.")])
    with open_index(config) as index:
        rows = index.catalog._execute(index.catalog._select_chunks("1 = 1")).fetchall()
        assert len(index.catalog._stored_chunks(rows)) == 2
        commit(config, [document("owls.txt", "Neap tides come between them. Owls sleep by day.")])
        assert index.catalog._stored_chunks(rows) == []


def test_a_document_whose_keyword_rows_were_lost_is_removed_cleanly(rag_home):
    """FTS5 deletes a row by tokenizing the view's text again, whether it holds the row or
    not: the catalog deletes only the rows it holds."""
    config = IndexConfig(rag_home)
    commit(config, seed_documents())
    with writing(config) as index, index.catalog.db:
        index.catalog.db.execute("DELETE FROM chunks_fts WHERE rowid IN"
                                 " (SELECT rowid FROM chunks WHERE source = 'seed-0.txt')")
    commit(config, [], removed=["seed-0.txt"])
    assert_keywords_whole(config)


def test_a_new_catalog_has_16_kb_pages(tmp_path):
    """Set before the file's first write (WAL mode fixes it): a chunk's ~3.8 KB row wastes
    less of a 16 KB page than of a 4 KB one."""
    catalog = SqliteCatalog(tmp_path / "catalog.sqlite")
    assert catalog.db.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE == 16384
    catalog.close()


@pytest.mark.server
def test_a_schema_6_postgres_catalog_drops_its_copy_of_the_text(rag_home, postgres):
    """PostgreSQL kept each chunk's text in `chunks.text` beside the document's."""
    config = IndexConfig(rag_home, database_url=postgres.new_database())
    commit(config, seed_documents())
    with writing(config) as index:
        before = {q: index.catalog.keyword_search(q, 30) for q in QUESTIONS}
        with index.catalog._transaction():
            index.catalog._execute("ALTER TABLE chunks ADD COLUMN text TEXT NOT NULL DEFAULT 'a copy'")
            index.catalog._execute("UPDATE meta SET value = '6' WHERE key = 'schema'")

    with writing(config, embedder=lambda: pytest.fail("migrating loaded the embedding model")):
        pass
    with open_index(config) as index:
        columns = index.catalog._execute("SELECT column_name FROM information_schema.columns"
                                         " WHERE table_schema = ? AND table_name = 'chunks'",
                                         (index.catalog.schema,)).fetchall()
        assert "text" not in {name for (name,) in columns}
        assert {q: index.keyword_search(q, 30) for q in QUESTIONS} == before
