"""The catalog owns the vectors; the vector store is derived from it and kept in step.

Crashes land at chosen points (`index.failpoints`), other processes write while one reads,
the store loses vectors or whole collections: afterwards every committed chunk is readable
and found by its own vector, no stale id remains, and earlier documents are byte-identical.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from helpers import SEED, ChromaServer, consistent_ids, found_by_own_vectors, snapshot

from index import IndexConfig, NeedsMigrationError, ingest, open_index
from index.failpoints import VARIABLE
from index.store import current_generation, writing
from rag import Pipeline, Settings

# New documents, and questions that share no word with them or the seed article (the keyword
# search finds nothing): only vector search can find them.
OWLS = "Barn owls hunt voles at night. Their hearing is extraordinarily sharp."
OWLS_QUESTION = "Which birds catch rodents in darkness?"
TIDES = "Spring tides happen near the new moon. Neap tides are weaker."
TIDES_QUESTION = "When do coastal water levels peak?"


def rag(home: Path, *args: str, failpoint: str | None = None, **extra_env) -> subprocess.CompletedProcess:
    """The `rag` command in its own process; with a failpoint it dies there."""
    env = {**os.environ, "RAG_HOME": str(home), **extra_env}
    env.pop(VARIABLE, None)
    if failpoint:
        env[VARIABLE] = failpoint
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], env=env, capture_output=True, text=True)


@pytest.fixture
def seeded(tmp_path) -> tuple[Path, dict]:
    """An index of the seed article, and its snapshot to compare with after each crash."""
    home = tmp_path / "home"
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "article.txt").write_text(SEED.read_text())
    ingest([tmp_path / "keep"], IndexConfig(home))
    return home, snapshot(home)


def new_docs(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "owls.txt").write_text(OWLS)
    (folder / "tides.txt").write_text(TIDES)
    return folder


def top_source(pipeline: Pipeline, question: str) -> str:
    assert question == "Who founded DeepSeek?" or not pipeline.index.catalog.keyword_search(question, 5)
    passages, problem = pipeline.retriever().retrieve(question, 1)
    assert problem is None
    return Path(passages[0].source).name


def assert_healthy(home: Path, kept: dict, *server, **env) -> set[str]:
    ids = consistent_ids(home, *server)
    found_by_own_vectors(home, *server)
    after = snapshot(home, *server)
    assert {k: after[k] for k in kept} == kept, "an earlier document changed"
    check = rag(home, "check", "--json", **env)
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout)["healthy"] is True
    return ids


# -- crashes at chosen points ----------------------------------------------------------------------

@pytest.mark.crash
@pytest.mark.parametrize("point, committed", [
    ("catalog-commit", False),  # inside the catalog transaction: rolled back
    ("committed", True),  # committed, the vector store not yet touched
    ("vectors-adding", True),  # committed, vectors written, the journal not yet cleared
])
def test_a_writer_killed_at_a_chosen_point_leaves_a_consistent_index(seeded, tmp_path, point, committed):
    home, kept = seeded
    docs = new_docs(tmp_path / "docs")
    reader = Pipeline(Settings(home=home, answerer="extractive"))
    assert top_source(reader, "Who founded DeepSeek?") == "article.txt"

    died = rag(home, "ingest", str(docs), "--json", failpoint=f"{point}:kill")
    assert died.returncode == -signal.SIGKILL, died.stderr

    with open_index(IndexConfig(home)) as index:
        assert {Path(s).name for s in index.catalog.documents()} == (
            {"article.txt", "owls.txt", "tides.txt"} if committed else {"article.txt"})
    if committed:
        # Before any repair, the reader that stayed open finds the committed chunks by
        # meaning: what the store has not received is searched from the catalog.
        assert top_source(reader, OWLS_QUESTION) == "owls.txt"

    report = ingest([docs], IndexConfig(home))
    assert report.errors == [] and report.chunks_embedded == (0 if committed else 2)
    assert_healthy(home, kept)
    assert top_source(reader, OWLS_QUESTION) == "owls.txt"
    assert top_source(reader, TIDES_QUESTION) == "tides.txt"


def drop_live_collection(home: Path) -> None:
    with writing(IndexConfig(home), prepare=False) as index:
        index.vectors.drop()


@pytest.mark.crash
def test_a_lost_collection_is_rebuilt_without_embedding_even_when_the_rebuild_is_killed(seeded, tmp_path):
    home, kept = seeded
    ingest([new_docs(tmp_path / "docs")], IndexConfig(home))
    before = snapshot(home)
    drop_live_collection(home)

    check = rag(home, "check", "--json")
    assert check.returncode == 1
    found = json.loads(check.stdout)
    assert found["vectors_missing"] == found["chunks"] > 0 and found["problems"]

    died = rag(home, "check", "--repair", failpoint="rebuild:kill")
    assert died.returncode == -signal.SIGKILL
    repaired = rag(home, "check", "--repair", "--json", RAG_EMBED_MODEL="/nonexistent/model")
    assert repaired.returncode == 0, repaired.stderr  # no model needed: nothing is embedded
    assert json.loads(repaired.stdout)["repaired"] is True
    assert snapshot(home) == before
    assert_healthy(home, kept)
    with open_index(IndexConfig(home)) as index:  # the killed rebuild's collection is gone
        assert index.backend.names() == [index.vectors.name]
    folders = [p for p in (home / "chroma").iterdir() if p.is_dir()]
    assert len(folders) <= 1, "dropped collections' files were left on disk"


@pytest.mark.crash
def test_missing_and_stale_vectors_are_repaired_even_when_the_repair_is_killed(seeded, tmp_path):
    home, kept = seeded
    ingest([new_docs(tmp_path / "docs")], IndexConfig(home))
    with writing(IndexConfig(home), prepare=False) as index:
        lost = index.catalog.vector_ids()[:2]
        vectors = index.catalog.vectors(lost)[1]
        index.vectors.delete(lost)
        index.vectors.add([10_000], vectors[:1], ["default"])  # an id the catalog never gave

    check = rag(home, "check", "--json")
    assert check.returncode == 1
    assert {k: json.loads(check.stdout)[k] for k in ("vectors_missing", "vectors_stale")} == {
        "vectors_missing": 2, "vectors_stale": 1}
    died = rag(home, "check", "--repair", failpoint="repair:kill")
    assert died.returncode == -signal.SIGKILL
    assert rag(home, "check", "--repair").returncode == 0
    assert_healthy(home, kept)


def test_the_next_ingest_repairs_what_its_cheap_check_finds(seeded, tmp_path):
    home, kept = seeded
    with writing(IndexConfig(home), prepare=False) as index:
        index.vectors.delete(index.catalog.vector_ids()[:1])
    report = ingest([new_docs(tmp_path / "docs")], IndexConfig(home))
    assert report.added == 2
    assert_healthy(home, kept)


@pytest.mark.slow  # two `rag check` processes
def test_lost_keyword_rows_are_rebuilt_from_the_documents(seeded):
    home, kept = seeded
    with writing(IndexConfig(home), prepare=False) as index:
        with index.catalog.db:
            index.catalog.db.execute("DELETE FROM chunks_fts WHERE rowid = (SELECT min(rowid) FROM chunks)")
    check = json.loads(rag(home, "check", "--json").stdout)
    assert check["keyword_missing"] == 1 and not check["healthy"]
    assert rag(home, "check", "--repair").returncode == 0
    assert_healthy(home, kept)


@pytest.mark.server
def test_a_chroma_server_killed_mid_ingest_ends_consistent(tmp_path):
    """The writer is stopped right after its first vectors reached the server, the server
    is SIGKILLed and restarted on the same data, then the writer goes on."""
    with ChromaServer(tmp_path) as server:
        where = (server.HOST, server.port)
        env = {"RAG_CHROMA_HOST": server.HOST, "RAG_CHROMA_PORT": str(server.port)}
        home = tmp_path / "home"
        (tmp_path / "keep").mkdir()
        (tmp_path / "keep" / "article.txt").write_text(SEED.read_text())
        ingest([tmp_path / "keep"], IndexConfig(home, chroma_host=server.HOST, chroma_port=server.port))
        kept = snapshot(home, *where)

        writer = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "ingest", str(new_docs(tmp_path / "docs"))],
            env={**os.environ, "RAG_HOME": str(home), VARIABLE: "vectors-adding:stop", **env},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until_stopped(writer.pid)
        server.process.kill()
        server.process.wait(30)
        server.start()
        os.kill(writer.pid, signal.SIGCONT)
        writer.wait(120)  # it may finish (the client reconnects) or fail: both are fine

        repaired = rag(home, "check", "--repair", **env)
        assert repaired.returncode == 0, repaired.stdout + repaired.stderr
        assert_healthy(home, kept, *where, **env)
        with open_index(IndexConfig(home, chroma_host=server.HOST, chroma_port=server.port)) as index:
            assert {Path(s).name for s in index.catalog.documents()} == {"article.txt", "owls.txt", "tides.txt"}


def wait_until_stopped(pid: int, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "T":
        assert time.monotonic() < deadline, "the writer never reached its failpoint"
        time.sleep(0.1)


# -- readers see other processes' writes ----------------------------------------------------------

@pytest.mark.slow  # two `rag ingest` processes
def test_a_reader_finds_by_meaning_what_another_process_adds_and_removes(seeded, tmp_path):
    home, _ = seeded
    reader = Pipeline(Settings(home=home, answerer="extractive"))
    assert top_source(reader, "Who founded DeepSeek?") == "article.txt"
    docs = new_docs(tmp_path / "docs")
    assert rag(home, "ingest", str(docs)).returncode == 0
    assert top_source(reader, OWLS_QUESTION) == "owls.txt"
    (docs / "owls.txt").unlink()
    assert rag(home, "ingest", str(docs)).returncode == 0
    passages, _ = reader.retriever().retrieve(OWLS_QUESTION, 5)
    assert "owls.txt" not in {Path(p.source).name for p in passages}
    assert top_source(reader, TIDES_QUESTION) == "tides.txt"


def test_a_reader_with_a_broken_store_answers_from_keywords_and_says_so(seeded):
    home, _ = seeded
    # Chroma even for this small index (the default searches it exactly, without Chroma).
    reader = Pipeline(Settings(home=home, answerer="extractive", exact_search_below=0))
    reader.ask("Who founded DeepSeek?")
    drop_live_collection(home)
    answer = reader.ask("Who founded DeepSeek?")
    assert "Liang Wenfeng" in answer.answer
    assert "rag check --repair" in answer.checks["index_problem"]


def serve(home: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "RAG_HOME": str(home), "RAG_ANSWERER": "extractive", "RAG_UI_PORT": str(port),
           "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop(VARIABLE, None)
    rag_command = Path(sys.executable).with_name("rag")
    process = subprocess.Popen([str(rag_command), "serve"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while True:
        assert process.poll() is None, "rag serve exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "rag serve did not answer within 90 s"
        time.sleep(0.5)


@pytest.mark.slow  # `rag serve` and two `rag ingest` processes
def test_a_running_rag_serve_sees_ingests_and_removals_from_the_cli(seeded, tmp_path):
    from gradio_client import Client

    home, _ = seeded
    port = ChromaServer._free_port()
    server = serve(home, port)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)

        def sources(question: str) -> list[str]:
            answer = client.predict(question, api_name="/ask")
            assert "index_problem" not in answer["checks"]
            return [Path(p["source"]).name for p in answer["passages"]]

        assert sources("Who founded DeepSeek?")[0] == "article.txt"
        docs = new_docs(tmp_path / "docs")
        assert rag(home, "ingest", str(docs)).returncode == 0
        assert sources(OWLS_QUESTION)[0] == "owls.txt"
        assert sources(TIDES_QUESTION)[0] == "tides.txt"
        (docs / "owls.txt").unlink()
        assert rag(home, "ingest", str(docs)).returncode == 0
        assert "owls.txt" not in sources(OWLS_QUESTION)
    finally:
        server.terminate()
        server.wait(30)


# -- an index made before vectors lived in the catalog --------------------------------------------

def make_legacy(home: Path) -> None:
    """Turn an index into what the previous version wrote: vectors only in a Chroma
    collection named after the generation, keyed by chunk id; no vector columns."""
    generation = current_generation(IndexConfig(home))
    with open_index(IndexConfig(home)) as index:
        chunks = index.catalog.chunks(index.catalog.chunk_ids())
        ids, vectors = index.catalog.vectors([c.vector_id for c in chunks.values()])
        by_vector = {c.vector_id: c.id for c in chunks.values()}
        live = index.vectors.name
        collection = index.backend.client.create_collection(f"rag-{generation}", embedding_function=None)
        collection.add(ids=[by_vector[i] for i in ids], embeddings=vectors)
        index.backend.drop(live)
    db = sqlite3.connect(home / f"catalog-{generation}.sqlite")
    with db:
        db.executescript("""
            DROP INDEX chunks_vector_id;
            ALTER TABLE chunks DROP COLUMN vector;
            ALTER TABLE chunks DROP COLUMN vector_id;
            DROP TABLE vector_journal;
            CREATE TABLE pending (id TEXT PRIMARY KEY);
            DELETE FROM meta WHERE key IN ('schema', 'changes', 'next_vector_id', 'vector_collection');
        """)
    db.close()


@pytest.mark.slow  # a `rag ask` process
def test_an_old_index_is_migrated_on_first_write_with_nothing_lost(seeded, tmp_path):
    home, kept = seeded
    make_legacy(home)
    with pytest.raises(NeedsMigrationError, match="rag check --repair"):
        open_index(IndexConfig(home))
    asked = rag(home, "ask", "Who founded DeepSeek?")
    assert asked.returncode == 1 and "rag check --repair" in asked.stderr

    report = ingest([new_docs(tmp_path / "docs")], IndexConfig(home))
    assert report.chunks_embedded == 2, "only the new documents were embedded"
    assert_healthy(home, kept)  # the seed article's vectors came over byte for byte
