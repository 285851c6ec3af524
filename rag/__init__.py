"""Question answering over your documents, with every answer cited to an exact passage."""

import importlib

from index import SUPPORTED_SUFFIXES
from rag.answer import Answer, Citation, Passage, ShortAnswer, TextDelta
from rag.errors import (
    AnswererError,
    GoldFileError,
    ModelError,
    NoIndexError,
    QuestionError,
    RagError,
    SettingsError,
    StoreError,
)
from rag.settings import Settings

# The pipeline loads on first use: its answerers and reader (~40 ms of imports) are not
# needed by `rag ingest` and `rag --help`; nor is ingestion by `rag ask`.
_LAZY = {"Pipeline": "rag.pipeline", "ask": "rag.pipeline", "ask_stream": "rag.pipeline",
         "IngestReport": "index.ingestion"}  # ingestion's imports: see index/__init__.py


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")

__all__ = [
    "SUPPORTED_SUFFIXES", "Answer", "AnswererError", "Citation", "GoldFileError", "IngestReport", "ModelError",
    "NoIndexError", "Passage", "Pipeline", "QuestionError", "RagError", "Settings", "SettingsError",
    "ShortAnswer", "StoreError", "TextDelta", "ask", "ask_stream",
]
