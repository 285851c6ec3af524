"""ingest() and open_index() against a real `chroma run` server instead of embedded Chroma."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import SEED, ChromaServer

from index import IndexConfig, ingest, open_index
from index.store import current_generation

pytestmark = pytest.mark.server

HOST = ChromaServer.HOST

@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    with ChromaServer(tmp_path_factory.mktemp("chroma-server")) as server:
        yield server.port


def _client(port: int):
    return ChromaServer.client(port)


def live_collection(home: Path, port: int) -> str:
    with open_index(IndexConfig(home, chroma_host=HOST, chroma_port=port)) as index:
        return index.vectors.name


def _corpus(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    files = [folder / "seed.txt", folder / "owls.md", folder / "tides.txt"]
    shutil.copy(SEED, files[0])
    files[1].write_text("# Owls\n\nBarn owls hunt voles at night. Their hearing is extraordinarily sharp.")
    files[2].write_text("Spring tides happen near the new moon. Neap tides are weaker.")
    return files


def test_ingest_into_a_chroma_server(chroma_server, tmp_path, embedder):
    port = chroma_server
    home = tmp_path / "home"
    files = _corpus(tmp_path / "docs")

    report = ingest([tmp_path / "docs"], IndexConfig(home, chroma_host=HOST, chroma_port=port))
    assert report.errors == [] and report.added == report.documents == 3
    assert report.chunks_total >= 4
    assert not (home / "chroma").exists(), "vectors were written to embedded Chroma"

    # A fresh client sees the collection with every chunk in it.
    collection = _client(port).get_collection(live_collection(home, port))
    assert collection.count() == report.chunks_total
    server_ids = {int(i) for i in collection.get(include=[])["ids"]}

    with open_index(IndexConfig(home, chroma_host=HOST, chroma_port=port)) as index:
        assert set(index.catalog.vector_ids()) == server_ids
        assert index.vectors.count() == report.chunks_total
        hits = index.vectors.query(embedder.embed_query("barn owls hunting voles at night"), 3)
        assert len(hits) == 3
        assert index.catalog.chunks_by_vector([hits[0][0]])[hits[0][0]].source == str(files[1])
        assert hits[0][1] > hits[-1][1]
        seed_hit = index.vectors.query(embedder.embed_query("Nvidia lost market value"), 1)[0][0]
        assert index.catalog.chunks_by_vector([seed_hit])[seed_hit].source == str(files[0])
        old_tides = {c.vector_id for c in index.catalog.chunks(index.catalog.chunk_ids([str(files[2])])).values()}
    assert old_tides

    # Incremental changes reach the server too: stale vectors are deleted there.
    files[2].write_text("Tidal bores surge up narrow estuaries.")
    files[1].unlink()
    report = ingest([tmp_path / "docs"], IndexConfig(home, chroma_host=HOST, chroma_port=port))
    assert (report.updated, report.removed, report.unchanged) == (1, 1, 1)
    assert report.chunks_embedded == 1
    collection = _client(port).get_collection(live_collection(home, port))
    now = {int(i) for i in collection.get(include=[])["ids"]}
    assert collection.count() == report.chunks_total == len(now)
    assert not now & old_tides
    with open_index(IndexConfig(home, chroma_host=HOST, chroma_port=port)) as index:
        assert set(index.catalog.vector_ids()) == now
    assert not (home / "chroma").exists()


def test_rebuild_on_a_server_replaces_the_collection(chroma_server, tmp_path):
    port = chroma_server
    home = tmp_path / "home"
    _corpus(tmp_path / "docs")
    ingest([tmp_path / "docs"], IndexConfig(home, chroma_host=HOST, chroma_port=port))
    old = live_collection(home, port)
    report = ingest([tmp_path / "docs"], IndexConfig(home, chroma_host=HOST, chroma_port=port), rebuild=True)
    new = live_collection(home, port)
    assert new.split("-")[1] == current_generation(IndexConfig(home)) != old.split("-")[1]
    names = {c.name for c in _client(port).list_collections()}
    assert new in names and old not in names
    assert _client(port).get_collection(new).count() == report.chunks_total
    assert not (home / "chroma").exists()


def test_a_chroma_server_filters_vectors_by_collection(chroma_server, tmp_path, embedder):
    files = _corpus(tmp_path / "docs")
    config = IndexConfig(tmp_path / "home", chroma_host=HOST, chroma_port=chroma_server)
    ingest([files[1]], config, collection="birds")
    ingest([files[2]], config, collection="sea")
    question = embedder.embed_query("barn owls hunting voles at night")
    with open_index(config) as index:
        assert {c for c in index.vectors.labels().values()} == {"birds", "sea"}
        hits = index.vectors.query(question, 5, ["sea"])
        assert hits and {index.chunks([i])[i].source for i, _ in hits} == {str(files[2])}
