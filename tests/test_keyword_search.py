"""Keyword search leaves out words that more than half the chunks hold (the 100k tail's
cause, bench/keyword_tail.py) without losing what a question asks for."""

from __future__ import annotations

from pathlib import Path

import pytest

from index import ingest, open_index

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
