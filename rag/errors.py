"""The errors a user of rag can hit: one family under `RagError` (see index/errors.py)."""

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


class SettingsError(RagError):
    """A `RAG_*` setting has a value it cannot take."""


class QuestionError(RagError):
    """The question cannot be asked as it is; the message says why."""


class ModelError(RagError):
    """A language model cannot be used as configured (missing, unloadable, unreachable)."""


class AnswererError(RagError):
    """The answerer asked for is unknown, or not available in this installation."""


class GoldFileError(RagError):
    """A gold question/answer set cannot be read."""


class ReportError(RagError):
    """An evaluation report cannot be written, or a run's JSON to compare cannot be read."""


__all__ = [
    "AnswererError", "EmbeddingModelError", "GoldFileError", "IndexBusyError", "LoadError", "ModelError",
    "ModelMismatchError", "NeedsMigrationError", "NoIndexError", "QuestionError", "RagError", "ReportError",
    "SettingsError", "StoreError", "VectorStoreError", "VectorStoreUnavailable",
]
