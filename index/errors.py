"""Index problems shown to the user as one clear line."""


class StoreError(Exception):
    """Base for index problems shown to the user."""


class NoIndexError(StoreError):
    pass


class IndexBusyError(StoreError):
    pass


class ModelMismatchError(StoreError):
    pass


class NeedsMigrationError(StoreError):
    """An index built before vectors lived in the catalog; the next write migrates it."""


class VectorStoreError(StoreError):
    """The vector store failed; the catalog still holds every vector to rebuild it from."""


class VectorStoreUnavailable(VectorStoreError):
    """The Chroma server cannot be reached (down, restarting, wrong address)."""
