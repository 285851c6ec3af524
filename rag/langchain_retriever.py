"""The hybrid search as a LangChain retriever, for users and chains (`Pipeline.retriever()`).

Only this module imports LangChain's retriever classes: `rag ask` searches through
`HybridSearch` itself (see rag/retrieval.py).
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from rag.answer import Passage
from rag.retrieval import DEFAULT_K, HybridSearch


class HybridRetriever(BaseRetriever):
    """A LangChain `BaseRetriever` over `HybridSearch`: `invoke(query)` gives the top-k
    passages as Documents (the passage's fields as metadata)."""

    index: Any
    embedder: Any
    k: int = DEFAULT_K
    # The document collections the asker may read (rag/access.py); None: all.
    collections: list[str] | None = None

    @property
    def search(self) -> HybridSearch:
        """The search these fields describe (built per call: a field set since counts)."""
        return HybridSearch(self.index, self.embedder, self.k, collections=self.collections)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun | None = None, k: int | None = None
    ) -> list[Document]:
        """LangChain's entry point; `invoke(query, k=3)` overrides the retriever's k for one call."""
        return [_to_document(p) for p in self.search.passages(query, k)]

    def passages(self, query: str, k: int | None = None) -> list[Passage]:
        return self.search.passages(query, k)

    def retrieve(self, query: str, k: int | None = None) -> tuple[list[Passage], str | None]:
        """See `HybridSearch.retrieve`."""
        return self.search.retrieve(query, k)


def _to_document(passage: Passage) -> Document:
    metadata = {key: value for key, value in vars(passage).items() if key != "text"}
    return Document(page_content=passage.text, metadata=metadata)
