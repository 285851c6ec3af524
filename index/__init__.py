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
from index.ingestion import IngestReport, ingest, remove
from index.formats import SUPPORTED_SUFFIXES, Document, load
from index.store import CheckReport, Index, check_index, current_generation, open_index

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
