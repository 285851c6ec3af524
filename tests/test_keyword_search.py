"""Keyword search leaves out words that more than half the chunks hold (the 100k tail's
cause, bench/keyword_tail.py) without losing what a question asks for, ranks a long question
by its rarest words, and scores only the chunks that can still reach the top k, with the
same results as scoring every match."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import index.catalog.sqlite as sqlite_catalog
from index import ingest, open_index
from index.catalog import NewChunk, maxscore
from index.catalog.sqlite import SqliteCatalog
from index.formats.base import Document

# Every passage holds "one" and "season" (words of no rank here); each has its own words.
PASSAGES = {
    "hyperinflation.txt": "One season of hyperinflation ended when the new currency came in that season.",
    "harvest.txt": "One season the harvest failed, and one more season it failed again.",
    "tides.txt": "Neap tides came one season after the spring tides, one season late.",
    "owls.txt": "One owl hunts at night in every season; one season it nests in barns.",
    "comet.txt": "The comet returns one season in seventy-six years, one bright season.",
}


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "passages"
    folder.mkdir()
    for name, text in PASSAGES.items():
        (folder / name).write_text(text)
    return folder


def keyword_sources(config, question: str, k: int = 10) -> list[str]:
    with open_index(config) as index:
        hits = index.keyword_search(question, k)
        chunks = index.chunks([vector_id for vector_id, _ in hits])
        return [Path(chunks[vector_id].source).name for vector_id, _ in hits]


def test_a_question_with_common_words_still_finds_its_passage(index_config, corpus):
    ingest([corpus], index_config)
    assert keyword_sources(index_config, "Which one season did the hyperinflation end in?")[0] == "hyperinflation.txt"


def test_a_question_of_common_words_alone_still_ranks_by_them(index_config, corpus):
    ingest([corpus], index_config)
    assert sorted(keyword_sources(index_config, "Which one season?")) == sorted(PASSAGES)


def test_leaving_out_common_words_keeps_fts5s_order(index_config, corpus):
    """On SQLite, the chunks holding a rarer word come back in the order FTS5 gives them
    when it is asked every word."""
    if index_config.database_url:
        pytest.skip("FTS5's ranking is SQLite's")
    ingest([corpus], index_config)
    question = "One season, the spring tides and the harvest failed"
    with open_index(index_config) as index:
        everything = index.catalog.db.execute(
            "SELECT c.vector_id FROM chunks_fts f JOIN chunks c ON c.rowid = f.rowid WHERE chunks_fts MATCH"
            " '\"one\" OR \"season\" OR \"spring\" OR \"tides\" OR \"harvest\" OR \"failed\"' ORDER BY bm25(chunks_fts)"
        ).fetchall()
        ranked = [vector_id for vector_id, _ in index.keyword_search(question, 10)]
    assert len(ranked) == 2 and ranked == [vector_id for (vector_id,) in everything][:2]


# A pond of 60 one-chunk notes, each of its own length (so no two score alike), the first 30
# birds', the rest plants': "river" is in a third of them, "willow" a quarter, "heron" and
# "kingfisher" in a few of each collection. (word: (every, from))
POND_WORDS = {"heron": (10, 0), "kingfisher": (12, 5), "willow": (4, 1), "river": (3, 0)}


def pond_catalog(path: Path) -> SqliteCatalog:
    catalog = SqliteCatalog(path)
    vector = np.full(384, 1 / np.sqrt(384), np.float32)
    for collection, numbers in (("birds", range(30)), ("plants", range(30, 60))):
        documents = []
        for i in numbers:
            words = [w for w, (every, at) in POND_WORDS.items() if i % every == at] + ["note"] * (i + 1)
            text = " ".join(words)
            chunk = NewChunk(f"note-{i}", 0, 0, len(text), None, text, f"hash-{i}", vector)
            documents.append((Document(f"note-{i}.txt", text, f"sha-{i}"), [chunk]))
        catalog.commit_documents(documents, [], collection)
    return catalog


@pytest.mark.parametrize("collections", [None, ["birds"]])
@pytest.mark.parametrize(("question", "k", "clauses", "left_out"), [
    ("heron kingfisher willow river", 3, 24, True),  # rows of "willow" or "river" alone cannot reach the top 3
    ("heron kingfisher willow river", 1, 1, True),  # heron AND (willow OR river): sets cut to their first two words
    ("heron kingfisher willow river", 10, 24, False),  # the rarest words hold fewer than 10 rows: no bar
    ("heron kingfisher", 3, 24, False),  # the bar is below what either word alone can add
])
def test_keyword_search_scores_only_what_can_reach_the_top_k_and_returns_fts5s_own(
        tmp_path, monkeypatch, question, k, clauses, left_out, collections):
    """The same chunks and scores as FTS5 ranking every match, whether rows are left out
    unscored or not; the rarest words are those of 2 rows here, not RARE_ROWS (500)."""
    monkeypatch.setattr(sqlite_catalog, "RARE_ROWS", 2)
    monkeypatch.setattr(maxscore, "MAX_CLAUSES", clauses)
    catalog = pond_catalog(tmp_path / "pond.sqlite")
    allowed = "" if collections is None else " AND c.collection = 'birds'"
    every_match = catalog.db.execute(
        "SELECT c.vector_id, -bm25(chunks_fts) FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid"
        f" WHERE chunks_fts MATCH ?{allowed} ORDER BY bm25(chunks_fts) LIMIT ?",
        (" OR ".join(question.split()), k),
    ).fetchall()
    statements = []
    catalog.db.set_trace_callback(statements.append)
    found = catalog.keyword_search(question, k, collections)
    catalog.close()
    assert found == every_match
    assert any("+chunks_fts.rowid IN" in sql for sql in statements) == left_out


def test_a_long_question_ranks_by_its_rarest_words_that_some_chunk_holds(tmp_path, monkeypatch):
    """Cut to MOST_WORDS (2 here): "kingfisher" and "heron" (5 and 6 rows) rank, "willow"
    and "river" (15 and 20) do not, and "pelican" (no row) takes no place."""
    monkeypatch.setattr(sqlite_catalog, "MOST_WORDS", 2)
    catalog = pond_catalog(tmp_path / "pond.sqlite")
    rarest = catalog.db.execute(
        "SELECT c.vector_id, -bm25(chunks_fts) FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid"
        " WHERE chunks_fts MATCH 'heron OR kingfisher' ORDER BY bm25(chunks_fts) LIMIT 10").fetchall()
    found = catalog.keyword_search("pelican heron kingfisher willow river", 10)
    catalog.close()
    assert found == rarest
