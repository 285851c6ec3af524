"""Question answering over your documents, with every answer cited to an exact passage."""

from index import SUPPORTED_SUFFIXES
from index.lazy import lazy_attributes
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
__getattr__ = lazy_attributes(
    __name__, {"Pipeline": "rag.pipeline", "ask": "rag.pipeline", "ask_stream": "rag.pipeline",
               "IngestReport": "index.ingestion"})  # ingestion's imports: see index/__init__.py

__all__ = [
    "SUPPORTED_SUFFIXES", "Answer", "AnswererError", "Citation", "GoldFileError", "IngestReport", "ModelError",
    "NoIndexError", "Passage", "Pipeline", "QuestionError", "RagError", "Settings", "SettingsError",
    "ShortAnswer", "StoreError", "TextDelta", "ask", "ask_stream",
]
