"""Question answering over your documents, with every answer cited to an exact passage."""

from index import SUPPORTED_SUFFIXES, IngestReport
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
from rag.pipeline import Pipeline, ask, ask_stream
from rag.settings import Settings

__all__ = [
    "SUPPORTED_SUFFIXES", "Answer", "AnswererError", "Citation", "GoldFileError", "IngestReport", "ModelError",
    "NoIndexError", "Passage", "Pipeline", "QuestionError", "RagError", "Settings", "SettingsError",
    "ShortAnswer", "StoreError", "TextDelta", "ask", "ask_stream",
]
