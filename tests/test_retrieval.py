"""Hybrid retrieval on the seed index: fusion, merging, and the LangChain interface."""

from langchain_core.retrievers import BaseRetriever

from index import load
from index.catalog import StoredChunk
from rag.retrieval import merge_passages, reciprocal_rank_fusion


def test_reciprocal_rank_fusion_weights_and_order():
    fused = dict(reciprocal_rank_fusion([["a", "b"], ["b", "c"]], [1.0, 0.5], rrf_k=60))
    assert fused["a"] == 1 / 61
    assert fused["b"] == 1 / 62 + 0.5 / 61
    assert fused["c"] == 0.5 / 62
    assert [i for i, _ in reciprocal_rank_fusion([["a", "b"], ["b", "c"]], [1.0, 0.5])] == ["b", "a", "c"]


def _chunk(i, source, start, text):
    return StoredChunk(str(i), i, source, i, start, start + len(text), None, "sha", text)


def test_overlapping_chunks_merge_into_one_exact_passage():
    text = "One two three. Four five six. Seven eight nine."
    a = _chunk(0, "doc", 0, text[:29])   # "One two three. Four five six."
    b = _chunk(1, "doc", 15, text[15:])  # "Four five six. Seven eight nine."
    passages = merge_passages([(b, 0.9), (a, 0.8)], k=5)
    assert len(passages) == 1
    assert (passages[0].start, passages[0].end) == (0, len(text))
    assert passages[0].text == text
    assert passages[0].score == 0.9


def test_near_duplicates_across_documents_are_dropped_and_k_is_respected():
    same = "DeepSeek released a model that shook the markets."
    ranked = [
        (_chunk(0, "a.txt", 0, same), 0.9),
        (_chunk(1, "b.txt", 0, same), 0.8),
        (_chunk(2, "c.txt", 0, "Something else entirely."), 0.7),
        (_chunk(3, "d.txt", 0, "A fourth text."), 0.6),
    ]
    passages = merge_passages(ranked, k=2)
    assert [p.source for p in passages] == ["a.txt", "c.txt"]
    assert [p.n for p in passages] == [1, 2]


def test_retriever_is_a_langchain_retriever_with_exact_offsets(seed_pipeline):
    retriever = seed_pipeline.retriever(k=3)
    assert isinstance(retriever, BaseRetriever)
    documents = retriever.invoke("How much market value did Nvidia lose?")
    assert documents and len(documents) <= 3
    assert "600 billion" in documents[0].page_content
    for document in documents:
        meta = document.metadata
        assert load(meta["source"]).text[meta["start"] : meta["end"]] == document.page_content


def test_keyword_side_finds_a_rare_name(seed_pipeline):
    passages = seed_pipeline.retriever(k=1).passages("Advantest")
    assert "Advantest" in passages[0].text
