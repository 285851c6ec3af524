"""Exact search over the catalog's vectors (index/vectors/exact.py) against Chroma, on the seed index."""

import json
from pathlib import Path

import numpy as np
import pytest

from index import IndexConfig, open_index
from index.vectors.exact import ExactBackend
from index.vectors.store import ChromaBackend

GOLD = Path(__file__).parent / "data" / "seed_gold.jsonl"
QUESTIONS = [json.loads(line)["question"] for line in GOLD.open()]


@pytest.fixture(scope="module")
def both(seed_home):
    """The seed index opened for questions (exact search) and as every writer opens it (Chroma)."""
    with open_index(IndexConfig(seed_home), exact_below=1000) as exact, open_index(IndexConfig(seed_home)) as chroma:
        yield exact, chroma


def test_a_small_index_opened_for_questions_is_searched_exactly_and_otherwise_by_chroma(both):
    exact, chroma = both
    assert (type(exact.backend), type(chroma.backend)) == (ExactBackend, ChromaBackend)


def test_exact_search_ranks_as_chroma_with_the_same_similarities(both, embedder):
    exact, chroma = both
    for question in QUESTIONS:
        vector = embedder.embed_query(question)
        found, expected = exact.vectors.query(vector, 10), chroma.vectors.query(vector, 10)
        assert [i for i, _ in found] == [i for i, _ in expected], question
        assert np.allclose([s for _, s in found], [s for _, s in expected], atol=1e-6), question


def test_exact_search_keeps_to_the_collections_asked(both, embedder):
    exact, _ = both
    vector = embedder.embed_query(QUESTIONS[0])
    assert exact.vectors.query(vector, 10, ["elsewhere"]) == []
    assert exact.vectors.query(vector, 10, ["default"]) == exact.vectors.query(vector, 10)


def test_a_pipeline_moves_to_chroma_once_its_index_outgrows_exact_search(tmp_path):
    from index import ingest
    from rag import Pipeline, Settings

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "founding.txt").write_text("DeepSeek was founded in 2023 by Liang Wenfeng.")
    home = tmp_path / "home"
    ingest([tmp_path / "docs"], IndexConfig(home))
    pipeline = Pipeline(Settings(home=home, answerer="extractive", exact_search_below=2))
    assert isinstance(pipeline.index.backend, ExactBackend)
    (tmp_path / "docs" / "markets.txt").write_text("Nvidia lost nearly $600 billion of market value in one day.")
    ingest([tmp_path / "docs"], IndexConfig(home))
    assert isinstance(pipeline.index.backend, ChromaBackend)
