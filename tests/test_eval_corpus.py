"""The index a gold set is asked against: a set that brings its corpus is written out and
indexed under RAG_HOME/eval, apart from the user's index, and asked from there."""

from rag.eval import GoldItem, GoldSet, eval_settings, evaluate
from rag.pipeline import Pipeline
from rag.settings import Settings

CORPUS = {
    "founder.txt": "DeepSeek was founded in 2023 by Liang Wenfeng in Hangzhou.",
    "markets.txt": "Nvidia lost nearly $600 billion of market value in a single day.",
}
GOLD = GoldSet("tiny", [GoldItem("q1", "Who founded DeepSeek?", ["Liang Wenfeng"], False, source="founder.txt"),
                        GoldItem("q2", "How much value did Nvidia lose?", ["$600 billion"], False,
                                 source="markets.txt")], CORPUS)


def test_a_gold_sets_corpus_is_indexed_apart_and_asked_from_there(tmp_path):
    users = Settings(home=tmp_path, answerer="extractive", chroma_host="chroma.example")
    settings = eval_settings(GOLD, users)
    assert settings.home == tmp_path / "eval" / "tiny" / "index" and settings.chroma_host is None
    assert sorted(p.name for p in (tmp_path / "eval" / "tiny" / "docs").iterdir()) == sorted(CORPUS)
    assert not (tmp_path / "CURRENT").exists()  # the user's index was never created
    summary = evaluate(GOLD, Pipeline(settings)).summary
    assert summary["answerer"] == "extractive" and summary["metrics"]["retrieval"]["hit@1"] == 1.0
    assert eval_settings(GOLD, users) == settings  # a re-run finds the same index
