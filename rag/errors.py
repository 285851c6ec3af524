"""The errors a user of rag can hit: one family under `RagError` (see index/errors.py)."""

from index.errors import (
    CollectionError,
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


class AccessError(RagError):
    """The user may not do this: write to a collection without a grant, say."""


class ConversationError(RagError):
    """A saved conversation that does not exist, or is not the user's."""


class ReportError(RagError):
    """An evaluation report cannot be written, or a run's JSON to compare cannot be read."""


__all__ = [
    "AccessError", "CollectionError", "ConversationError",
    "AnswererError", "EmbeddingModelError", "GoldFileError", "IndexBusyError", "LoadError", "ModelError",
    "ModelMismatchError", "NeedsMigrationError", "NoIndexError", "QuestionError", "RagError", "ReportError",
    "SettingsError", "StoreError", "VectorStoreError", "VectorStoreUnavailable",
]
