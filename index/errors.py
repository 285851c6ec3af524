"""Every problem a user can hit, each shown as one clear line.

`RagError` is the one base: the CLI and the web chat catch it and nothing broader, so any
other exception is a bug and keeps its traceback. It lives here, at the bottom of the
layers (ui -> rag -> index), so the index's errors can derive from it; `rag` exports it.
"""


class RagError(Exception):
    """Base of every error shown to the user as its message alone."""


class StoreError(RagError):
    """Base for index problems shown to the user."""


class NoIndexError(StoreError):
    pass


class IndexBusyError(StoreError):
    pass


class ModelMismatchError(StoreError):
    pass


class EmbeddingModelError(StoreError):
    """The embedding model folder is missing or is not a sentence-transformers model."""


class NeedsMigrationError(StoreError):
    """An index built before vectors lived in the catalog; the next write migrates it."""


class VectorStoreError(StoreError):
    """The vector store failed; the catalog still holds every vector to rebuild it from."""


class VectorStoreUnavailable(VectorStoreError):
    """The Chroma server cannot be reached (down, restarting, wrong address)."""


class CatalogUnavailable(StoreError):
    """The PostgreSQL server of RAG_DATABASE_URL cannot be reached (down, restarting, wrong address)."""


class ReaderWorkersError(RagError):
    """The processes that read files for an ingest stopped."""


class LoadError(RagError):
    """One file cannot be read as a document; ingest reports it and goes on."""


class NotADocument(LoadError):
    """The file holds no document of its own (a site's search index, a page of links):
    ingest lists it as skipped with this reason, not as a failure, and it is not indexed."""


class CollectionError(RagError):
    """A collection name that cannot be one, or a collection that does not exist."""
