"""Documents added and removed from the page.

An upload is checked (type, size, not empty), copied into RAG_HOME/uploads/ (a collection
other than `default`: RAG_HOME/uploads/<collection>/; a document is in one collection, so the
same file uploaded to two is two documents) under a cleaned name that cannot point anywhere
else, and indexed on its own: ingesting a file path never
removes other documents, and a file that fails to index is reported and leaves the index as
it was.
"""

from __future__ import annotations

import filecmp
import itertools
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from index.catalog import DEFAULT_COLLECTION
from rag import SUPPORTED_SUFFIXES, Pipeline, StoreError
from rag.settings import Settings
from index.collections import check_name

MAX_NAME_CHARS = 120
# Letters and digits of any script, and a few harmless marks; anything else (path
# separators, control characters, quotes, <, >) becomes "_".
_UNSAFE_CHARACTERS = re.compile(r"[^\w .()+-]")


@dataclass(frozen=True)
class UploadResult:
    name: str  # as the user uploaded it (cleaned)
    ok: bool
    message: str


def upload_folder(settings: Settings, collection: str = DEFAULT_COLLECTION) -> Path:
    """Where uploads to `collection` are kept (its name is checked: no path characters)."""
    folder = Path(settings.home) / "uploads"
    return folder if collection == DEFAULT_COLLECTION else folder / check_name(collection)


def safe_name(name: str) -> str:
    """A plain file name made from whatever name the browser sent: no folders (either
    separator), no control characters, no leading dots (so no `..` and no hidden files)."""
    base = re.split(r"[\\/]", name)[-1]
    base = _UNSAFE_CHARACTERS.sub("_", base).strip(" .")
    stem, suffix = os.path.splitext(base)
    return (stem[: MAX_NAME_CHARS - len(suffix)] + suffix) if base else "upload"


def problem_with(name: str, path: Path, max_bytes: int) -> str | None:
    """Why this upload cannot be indexed, or None."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return (
            f"not a supported type ({suffix or 'no extension'}); upload one of "
            f"{', '.join(SUPPORTED_SUFFIXES)}"
        )
    size = path.stat().st_size
    if size == 0:
        return "the file is empty"
    if size > max_bytes:
        return f"the file is too large ({size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:g} MB)"
    return None


def store(path: Path, folder: Path, name: str) -> tuple[Path, bool]:
    """Copy the upload into `folder` as `name`, or `name-2`, `name-3`... when that name is
    taken by other content. Returns (stored path, whether a new file was written): the
    same bytes already stored under one of those names are reused."""
    folder.mkdir(parents=True, exist_ok=True)
    stem, suffix = os.path.splitext(name)
    for n in itertools.count(1):
        target = folder / (name if n == 1 else f"{stem}-{n}{suffix}")
        try:
            with open(target, "xb") as out, open(path, "rb") as source:
                shutil.copyfileobj(source, out)
        except FileExistsError:
            if filecmp.cmp(target, path, shallow=False):
                return target, False
            continue
        except OSError:
            target.unlink(missing_ok=True)
            raise
        return target, True


def add_documents(
    files: list[tuple[str, Path]],
    pipeline: Pipeline,
    on_progress: Callable[[int, int, str], None] = lambda done, total, name: None,
    collection: str = DEFAULT_COLLECTION,
) -> list[UploadResult]:
    """Index uploaded files, given as (name the browser sent, path of the received file),
    into `collection` (the caller checked that the user may write to it)."""
    results = []
    for done, (sent_name, path) in enumerate(files):
        name = safe_name(sent_name)
        on_progress(done, len(files), name)
        results.append(_add_one(name, Path(path), pipeline, collection))
    return results


def _add_one(name: str, path: Path, pipeline: Pipeline, collection: str) -> UploadResult:
    settings = pipeline.settings
    problem = problem_with(name, path, settings.max_upload_mb * 2**20)
    if problem:
        return UploadResult(name, False, problem)
    stored, created = store(path, upload_folder(settings, collection), name)
    try:
        report = pipeline.ingest([str(stored)], collection)
        # A file named directly is always read; a loader may still find it no document.
        problems = [e["error"] for e in report.errors] + [s["reason"] for s in report.skipped]
        error = problems[0] if problems else None
    except StoreError as exc:
        error = str(exc)
    if error:
        if created:
            stored.unlink()
        return UploadResult(name, False, f"not indexed: {error}")
    renamed = f" as {stored.name}" if stored.name != name else ""
    if report.unchanged:
        return UploadResult(name, True, f"already indexed{renamed}")
    return UploadResult(name, True, f"indexed{renamed}")


def indexed_documents(sources: list[str]) -> list[tuple[str, str]]:
    """(label, source) for each indexed document: its file name, or its whole path where
    two documents share a name."""
    names = [Path(source).name for source in sources]
    return sorted(
        (name if names.count(name) == 1 else source, source) for name, source in zip(names, sources)
    )


def remove_document(source: str, pipeline: Pipeline) -> str:
    """Take a document out of the index, and delete its file if it was uploaded here."""
    try:
        removed = pipeline.remove([source])
    except StoreError as exc:
        return f"Could not remove {Path(source).name}: {exc}"
    path = Path(source)
    if upload_folder(pipeline.settings).resolve() in path.resolve().parents:
        path.unlink(missing_ok=True)
    return f"Removed {path.name}." if removed else f"{path.name} was not indexed."
