"""LangChain's own conformance tests (`langchain-tests`) run against HybridRetriever, as a
LangChain user would call it: `invoke`, `ainvoke`, and `k` in the constructor and per call."""

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from index import IndexConfig, ingest
from rag import Pipeline, Settings
from rag.langchain_retriever import HybridRetriever

# Six short documents on one subject: more passages than the largest k the tests ask for
# (the seed article alone merges into two passages, so it cannot show k=3 being honoured).
NOTES = {
    "founding.txt": "DeepSeek was founded in 2023 by Liang Wenfeng in Hangzhou, China.",
    "markets.txt": "Nvidia lost nearly $600 billion of market value in one day after DeepSeek's release.",
    "funding.txt": "DeepSeek is underpinned by the hedge fund High-Flyer, which Liang also established.",
    "model.txt": "DeepSeek's R1 model was trained at a fraction of the cost of comparable models.",
    "reaction.txt": "President Trump called DeepSeek's emergence a wake-up call for American technology firms.",
    "chips.txt": "Export controls limit which Nvidia chips Chinese companies such as DeepSeek may buy.",
}


@pytest.fixture(scope="module")
def notes_pipeline(tmp_path_factory) -> Pipeline:
    folder, home = tmp_path_factory.mktemp("notes"), tmp_path_factory.mktemp("notes-home")
    for name, text in NOTES.items():
        (folder / name).write_text(text)
    assert ingest([str(folder)], IndexConfig(home)).added == len(NOTES)
    return Pipeline(Settings(home=home, answerer="extractive"))


class TestHybridRetrieverStandard(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _pipeline(self, notes_pipeline):
        self.pipeline = notes_pipeline

    @property
    def retriever_constructor(self) -> type[HybridRetriever]:
        return HybridRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"index": self.pipeline.index, "embedder": self.pipeline.embedder}

    @property
    def retriever_query_example(self) -> str:
        return "What happened to Nvidia's market value?"
