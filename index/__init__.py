"""Documents in, a searchable index out: loading, chunking, embedding, storing.

What other packages use: `IndexConfig` says where an index is; `ingest`/`remove` write it;
`open_index` gives an `Index` to search (keyword_search, vector_search, chunks, documents,
document_text); `check_index` verifies and repairs it.
"""

from index.catalog import STOPWORDS
from index.config import IndexConfig
from index.errors import (
    EmbeddingModelError,
    IndexBusyError,
    LoadError,
    ModelMismatchError,
    NeedsMigrationError,
    NoIndexError,
    RagError,
    StoreError,
    VectorStoreError,
    VectorStoreUnavailable,
)
from index.formats import SUPPORTED_SUFFIXES, Document, load
from index.lazy import lazy_attributes
from index.store import CheckReport, Index, check_index, current_generation, open_index

# Ingestion loads on first use: its imports (file discovery, parsing, tqdm; ~0.06-0.1 s with
# `python -X importtime`) are not needed by a process that only asks questions.
__getattr__ = lazy_attributes(
    __name__, {"IngestReport": "index.ingestion", "ingest": "index.ingestion", "remove": "index.ingestion"})


__all__ = [
    "STOPWORDS",
    "SUPPORTED_SUFFIXES",
    "CheckReport",
    "Document",
    "EmbeddingModelError",
    "Index",
    "IndexBusyError",
    "IndexConfig",
    "IngestReport",
    "LoadError",
    "ModelMismatchError",
    "NeedsMigrationError",
    "NoIndexError",
    "RagError",
    "StoreError",
    "VectorStoreError",
    "VectorStoreUnavailable",
    "check_index",
    "current_generation",
    "ingest",
    "load",
    "open_index",
    "remove",
]
