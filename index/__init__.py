"""Documents in, a searchable index out: loading, chunking, embedding, storing."""

from index.loaders import Document, LoadError, load
from index.pipeline import IngestReport, ingest, remove
from index.errors import (
    IndexBusyError,
    ModelMismatchError,
    NeedsMigrationError,
    NoIndexError,
    StoreError,
    VectorStoreError,
    VectorStoreUnavailable,
)
from index.store import CheckReport, check_index, open_index

__all__ = [
    "CheckReport",
    "Document",
    "IndexBusyError",
    "IngestReport",
    "LoadError",
    "ModelMismatchError",
    "NeedsMigrationError",
    "NoIndexError",
    "StoreError",
    "VectorStoreError",
    "VectorStoreUnavailable",
    "check_index",
    "ingest",
    "load",
    "open_index",
    "remove",
]
