"""An index on disk: the catalog (SQLite) plus its vectors (Chroma), as one unit.

`RAG_HOME/CURRENT` names the live generation. A rebuild writes a new generation beside the
live one and switches `CURRENT` atomically once it is complete, so readers never see a
half-built index and a failed rebuild loses nothing.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from contextlib import contextmanager
from pathlib import Path

from index.catalog import Catalog
from index.errors import IndexBusyError, ModelMismatchError, NoIndexError
from index.vectors import Vectors, connect


class Index:
    def __init__(self, home: Path, generation: str, client, readonly: bool = False):
        self.home = home
        self.generation = generation
        self.catalog = Catalog(home / f"catalog-{generation}.sqlite", readonly=readonly)
        self.vectors = Vectors(client, f"rag-{generation}")

    @property
    def model(self) -> str | None:
        """The label of the embedding model that built this index."""
        return self.catalog.get_meta("embed_model")

    def check_model(self, embedder, claim: bool = False) -> None:
        """Refuse an embedder other than the one that built the index; with claim, an
        empty index records this one."""
        recorded = self.catalog.get_meta("embed_model_fingerprint")
        if recorded is None:
            if claim:
                self.catalog.set_meta("embed_model", embedder.name)
                self.catalog.set_meta("embed_model_fingerprint", embedder.fingerprint)
            return
        if recorded != embedder.fingerprint:
            raise ModelMismatchError(
                f"this index was built with embedding model {self.model!r}, not "
                f"{embedder.name!r} ({embedder.path}): vectors from two models cannot be mixed. "
                "Use that model, or re-ingest with --rebuild."
            )

    def drop(self) -> None:
        self.vectors.drop()
        self.catalog.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.catalog.path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        self.catalog.close()

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def current_generation(home: Path) -> str | None:
    pointer = home / "CURRENT"
    return pointer.read_text().strip() if pointer.exists() else None


def open_index(home: Path, host: str | None = None, port: int | None = None) -> Index:
    """Open the live index for reading."""
    generation = current_generation(home)
    if generation is None:
        raise NoIndexError(f"no index in {home}: run `rag ingest` first")
    return Index(home, generation, connect(home, host, port), readonly=True)


@contextmanager
def writing(home: Path, host: str | None = None, port: int | None = None, rebuild: bool = False):
    """Open the index for writing under an exclusive lock; yields the Index to write into.

    With rebuild, a fresh generation is written and made live only when the block succeeds.
    """
    home.mkdir(parents=True, exist_ok=True)
    with _lock(home):
        client = connect(home, host, port)
        live = current_generation(home)
        generation = live if live and not rebuild else uuid.uuid4().hex[:12]
        index = Index(home, generation, client)
        _remove_stale_generations(home, client, keep={live, generation})
        try:
            yield index
        except BaseException:
            if generation != live:
                index.drop()
            else:
                index.close()
            raise
        if generation != live:
            _switch(home, generation)
            if live:
                Index(home, live, client).drop()
        index.close()


def _switch(home: Path, generation: str) -> None:
    tmp = home / "CURRENT.tmp"
    tmp.write_text(generation)
    os.replace(tmp, home / "CURRENT")


def _remove_stale_generations(home: Path, client, keep: set) -> None:
    """Drop what an interrupted rebuild left: catalogs and collections not live."""
    for path in home.glob("catalog-*.sqlite"):
        generation = path.name.removeprefix("catalog-").removesuffix(".sqlite")
        if generation not in keep:
            Index(home, generation, client).drop()


@contextmanager
def _lock(home: Path):
    with open(home / "write.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusyError(
                f"index is busy: another process is writing to {home}; try again when it finishes"
            ) from None
        yield
