"""One suite, both catalog backends: SQLite files (the embedded default) and a real
PostgreSQL server (RAG_DATABASE_URL). Every test runs against each (`index_config`)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from index import IndexBusyError, IndexConfig, NeedsMigrationError, check_index, ingest, load, open_index, remove
from index.catalog import NewChunk
from index.vectors.embedder import SentenceVectors
from index.failpoints import VARIABLE
from index.store import open_catalogs, writing

OWLS = "Barn owls hunt voles at night. Their hearing finds prey under snow."
TIDES = "Spring tides follow the new and full moon. Neap tides come between them."


@pytest.fixture
def folder(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "owls.txt").write_text(OWLS)
    (docs / "tides.txt").write_text(TIDES)
    return docs


def rag_process(config: IndexConfig, *args: str, failpoint: str | None = None) -> subprocess.CompletedProcess:
    """The `rag` command in a process of its own, on the same index."""
    env = {**os.environ, "RAG_HOME": str(config.home)}
    env.pop(VARIABLE, None)
    env.pop("RAG_DATABASE_URL", None)
    if config.database_url:
        env["RAG_DATABASE_URL"] = config.database_url
    if failpoint:
        env[VARIABLE] = failpoint
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], env=env, capture_output=True, text=True)


def top_keyword_source(config: IndexConfig, query: str) -> str | None:
    with open_index(config) as index:
        hits = index.keyword_search(query, 3)
        return index.chunks([hits[0][0]])[hits[0][0]].source if hits else None


def test_chunks_read_back_with_their_exact_offsets(index_config, folder):
    report = ingest([folder], index_config)
    with open_index(index_config) as index:
        assert set(index.documents()) == {str(folder / "owls.txt"), str(folder / "tides.txt")}
        chunks = index.chunks(index.catalog.vector_ids())
        assert len(chunks) == report.chunks_total == index.catalog.chunk_count()
        for chunk in chunks.values():
            assert index.document_text(chunk.source)[chunk.start:chunk.end] == chunk.text


def test_keyword_search_ranks_the_chunk_with_the_asked_word_first(index_config, folder):
    ingest([folder], index_config)
    assert top_keyword_source(index_config, "When are neap tides?") == str(folder / "tides.txt")
    assert top_keyword_source(index_config, "What do owls hunt?") == str(folder / "owls.txt")


def test_a_question_of_stopwords_alone_finds_nothing_by_keyword(index_config, folder):
    ingest([folder], index_config)
    assert top_keyword_source(index_config, "What is it that they are?") is None


def test_a_changed_document_replaces_its_chunks_everywhere(index_config, folder):
    ingest([folder], index_config)
    with open_index(index_config) as index:
        old_ids, changes = set(index.catalog.chunk_ids()), index.catalog.changes()
    (folder / "owls.txt").write_text("Tawny owls call at dusk from oak woods.")
    ingest([folder], index_config)
    with open_index(index_config) as index:
        assert index.catalog.changes() > changes
        assert not old_ids & set(index.catalog.chunk_ids([str(folder / "owls.txt")]))
        assert index.catalog.journal().ids == []
        assert index.vectors.ids() == set(index.catalog.vector_ids())
    assert top_keyword_source(index_config, "Where do tawny owls call?") == str(folder / "owls.txt")
    assert top_keyword_source(index_config, "voles") is None


def test_a_removed_document_is_gone_from_both_searches(index_config, folder, embedder):
    ingest([folder], index_config)
    assert remove([str(folder / "tides.txt")], index_config) == [str(folder / "tides.txt")]
    with open_index(index_config) as index:
        assert index.documents() == [str(folder / "owls.txt")]
        hits, _ = index.vector_search(embedder.embed([TIDES])[0], 5)
        assert {index.chunks([i])[i].source for i, _ in hits} == {str(folder / "owls.txt")}
    assert top_keyword_source(index_config, "neap tides") is None


def test_a_reader_open_before_another_process_writes_sees_the_write(index_config, folder, embedder):
    ingest([folder / "owls.txt"], index_config)
    with open_index(index_config) as reader:
        done = rag_process(index_config, "ingest", str(folder / "tides.txt"))
        assert done.returncode == 0, done.stderr
        reader.catch_up()
        hits, problem = reader.vector_search(embedder.embed(["When are spring tides?"])[0], 1)
        assert problem is None
        assert reader.chunks([hits[0][0]])[hits[0][0]].source == str(folder / "tides.txt")


def test_a_second_writer_is_told_the_index_is_busy(index_config, folder):
    ingest([folder], index_config)
    with writing(index_config):
        with pytest.raises(IndexBusyError, match="index is busy"):
            ingest([folder], index_config)
    assert ingest([folder], index_config).unchanged == 2


@pytest.mark.crash
def test_a_writer_killed_inside_its_transaction_leaves_nothing_half_visible(index_config, folder):
    ingest([folder / "owls.txt"], index_config)
    died = rag_process(index_config, "ingest", str(folder / "tides.txt"), failpoint="catalog-commit:kill")
    assert died.returncode == -signal.SIGKILL, died.stderr
    with open_index(index_config) as index:
        assert index.documents() == [str(folder / "owls.txt")]
        assert index.catalog.journal().ids == []
    assert check_index(index_config).healthy
    assert ingest([folder], index_config).added == 1


def test_a_rebuild_switches_generation_and_drops_the_old_one(index_config, folder):
    ingest([folder], index_config)
    catalogs = open_catalogs(index_config)
    old = catalogs.live()
    ingest([folder], index_config, rebuild=True)
    assert catalogs.live() != old
    assert catalogs.generations() == [catalogs.live()]
    assert top_keyword_source(index_config, "neap tides") == str(folder / "tides.txt")


DELETE_KEYWORDS = {
    "sqlite": "DELETE FROM chunks_fts WHERE rowid IN (SELECT rowid FROM chunks WHERE chunk = 0)",
    "postgres": "DELETE FROM postings WHERE chunk IN (SELECT rowid FROM chunks WHERE chunk = 0)",
}


def test_check_finds_missing_keyword_rows_and_repair_restores_them(index_config, folder):
    ingest([folder], index_config)
    backend = "postgres" if index_config.database_url else "sqlite"
    with writing(index_config) as index:
        with index.catalog._transaction():
            index.catalog._execute(DELETE_KEYWORDS[backend])
    assert check_index(index_config).keyword_missing == 2
    assert check_index(index_config, repair=True).repaired
    assert check_index(index_config).healthy
    assert top_keyword_source(index_config, "neap tides") == str(folder / "tides.txt")


def test_check_finds_vectors_stored_under_each_others_ids_and_repair_restores_them(index_config, folder):
    ingest([folder], index_config)
    with writing(index_config) as index:
        ids, vectors = index.catalog.vectors(index.catalog.vector_ids()[:2])
        index.vectors.delete(ids)
        index.vectors.add(ids, vectors[::-1].copy(), ["default", "default"])
    found = check_index(index_config)
    assert (found.vectors_missing, found.vectors_unreachable) == (2, 0)
    assert check_index(index_config, repair=True).repaired
    with open_index(index_config) as index:
        stored = index.vectors.vectors(ids)
    assert all(np.array_equal(stored[i], v) for i, v in zip(ids, vectors))


def test_identical_text_reuses_the_stored_vectors(index_config, folder, tmp_path):
    ingest([folder], index_config)
    copy = tmp_path / "copy-of-owls.txt"
    copy.write_text(OWLS)
    assert ingest([copy], index_config).chunks_embedded == 0


def test_sentence_vectors_and_locations_round_trip(index_config, tmp_path):
    path = tmp_path / "deck.txt"
    path.write_text(OWLS)
    document = load(path)
    sentences = SentenceVectors(np.array([[0, 30], [31, len(OWLS)]], np.int32),
                                np.ones((2, 384), np.float16))
    vector = np.full(384, 1 / np.sqrt(384), np.float32)
    chunk = NewChunk("deck-0", 0, 0, len(OWLS), None, OWLS, "hash-0", vector, sentences, "slide 2")
    with writing(index_config) as index:
        index.catalog.commit_documents([(document, [chunk])], [])
        index.apply_journal()
    with open_index(index_config) as index:
        stored = index.catalog.chunks(["deck-0"])["deck-0"]
        assert (stored.text, stored.location, stored.start, stored.end) == (OWLS, "slide 2", 0, len(OWLS))
        found = index.sentence_vectors([(str(path), 0, len(OWLS))])
        assert sorted(found) == [(str(path), 0, 30), (str(path), 31, len(OWLS))]
        assert np.array_equal(index.catalog.vectors([stored.vector_id])[1][0],
                              vector.astype(np.float16).astype(np.float32))  # stored as float16


@pytest.mark.parametrize("collections", [None, ["default"]])
def test_sqlite_looks_chunks_up_by_their_ids_and_text_hashes(rag_home, folder, collections):
    """Not by scanning the keyword table, nor every chunk of the collection: without
    statistics SQLite chose either, and at 100k chunks each lookup took 0.3-0.6 s."""
    ingest([folder], IndexConfig(rag_home))
    with open_index(IndexConfig(rag_home)) as index:
        statements = []
        index.catalog.db.set_trace_callback(statements.append)
        # As many as a question at 100k looks up (made-up ones found nothing): with one
        # key the plans were right either way.
        ids = index.catalog.vector_ids()
        chunk = next(iter(index.chunks(ids + list(range(10**6, 10**6 + 400)), collections).values()))
        index.copies([chunk.text_hash, *(f"{n:064x}" for n in range(900))], 200, collections)
        index.catalog.db.set_trace_callback(None)
        lookups = [sql for sql in statements if sql.startswith("SELECT c.id")]
        first_steps = [index.catalog.db.execute(f"EXPLAIN QUERY PLAN {sql}").fetchone()[3] for sql in lookups]
    assert first_steps == ["SEARCH c USING INDEX chunks_vector_id (vector_id=?)",
                           "SEARCH c USING INDEX chunks_text_hash (text_hash=?)"]


def test_an_index_from_before_locations_is_migrated_without_the_model(rag_home, folder):
    config = IndexConfig(rag_home)
    ingest([folder], config)
    db = sqlite3.connect(rag_home / f"catalog-{open_catalogs(config).live()}.sqlite")
    with db:
        db.execute("ALTER TABLE chunks DROP COLUMN location")
        db.execute("UPDATE meta SET value = '3' WHERE key = 'schema'")
    db.close()
    with pytest.raises(NeedsMigrationError, match="rag check --repair"):
        open_index(config)
    with writing(config, embedder=lambda: pytest.fail("migrating loaded the embedding model")):
        pass
    with open_index(config) as index:
        assert {c.location for c in index.chunks(index.catalog.vector_ids()).values()} == {None}
    assert top_keyword_source(config, "neap tides") == str(folder / "tides.txt")


def test_a_database_url_without_psycopg_installed_is_a_clear_error(rag_home):
    program = ("import sys; sys.modules['psycopg'] = None  # as if the postgres extra were not installed\n"
               "from rag.cli import main; sys.argv = ['rag', 'ask', 'Who founded DeepSeek?']; main()")
    env = {**os.environ, "RAG_HOME": str(rag_home), "RAG_DATABASE_URL": "postgresql://rag@127.0.0.1:1/rag"}
    done = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True)
    assert done.returncode != 0
    assert "RAG_DATABASE_URL needs psycopg" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.server
def test_the_longest_prefix_rag_eval_makes_is_a_valid_index(postgres, rag_home, folder):
    longest = "a" * 31 + "_eval_" + "0123456789"  # RAG_DATABASE_PREFIX's 31 characters, then rag eval's
    config = IndexConfig(rag_home, database_url=postgres.new_database(), database_prefix=longest)
    assert ingest([folder], config).added == 2
    assert top_keyword_source(config, "neap tides") == str(folder / "tides.txt")
