"""Documents in, a searchable index out: loading, chunking, embedding, storing."""

from index.loaders import Document, LoadError, load
from index.pipeline import IngestReport, ingest, remove
from index.errors import (
    IndexBusyError,
    ModelMismatchError,
    NoIndexError,
    StoreError,
    VectorStoreUnavailable,
)
from index.store import open_index

__all__ = [
    "Document",
    "IndexBusyError",
    "IngestReport",
    "LoadError",
    "ModelMismatchError",
    "NoIndexError",
    "StoreError",
    "VectorStoreUnavailable",
    "ingest",
    "load",
    "open_index",
    "remove",
]
