"""Index problems shown to the user as one clear line."""


class StoreError(Exception):
    """Base for index problems shown to the user."""


class NoIndexError(StoreError):
    pass


class IndexBusyError(StoreError):
    pass


class ModelMismatchError(StoreError):
    pass


class VectorStoreUnavailable(StoreError):
    """The Chroma server cannot be reached (down, restarting, wrong address)."""
