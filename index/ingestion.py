"""Ingest: walk paths, load, chunk, embed what is new, and commit documents atomically."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, closing
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from index import failpoints
from index.catalog import DEFAULT_COLLECTION, NewChunk
from index.chunking import Chunk
from index.collections import check_name
from index.config import IndexConfig
from index.discovery import discover
from index.formats import Document
from index.parsing import parse_all
from index.vectors.embedder import Embedder, SentenceVectors, load_embedder
from index.store import Index, writing

# Documents are embedded together once this many chunks wait: small files batch well.
BATCH_CHUNKS = 256


@dataclass
class IngestReport:
    documents: int = 0  # documents in the index after the run
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    errors: list[dict] = field(default_factory=list)  # {source, error}
    skipped: list[dict] = field(default_factory=list)  # {source, reason}: files and folders not indexed
    removed_sources: list[dict] = field(default_factory=list)  # {source, reason}: "deleted", "now skipped: ..."
    warnings: list[str] = field(default_factory=list)  # include or exclude globs that matched nothing
    notes: list[dict] = field(default_factory=list)  # {source, note}: how a file was read

    def to_dict(self) -> dict:
        return asdict(self)


def ingest(
    paths: list[str | Path], config: IndexConfig, *, rebuild: bool = False, progress: bool = False,
    include: Sequence[str] = (), exclude: Sequence[str] = (), collection: str = DEFAULT_COLLECTION,
) -> IngestReport:
    """Bring the index of `config` in step with the files under `paths`.

    Which files are documents is index.discovery's call (`include`/`exclude`: gitignore-style
    globs relative to each path). Unchanged files cost a hash; changed ones are replaced;
    files gone from a given folder, or skipped now, are removed. A file that fails to load
    is reported and its indexed version kept. New and changed documents go into
    `collection`; a file another collection holds is reported and left there.
    """
    check_name(collection)
    started = time.perf_counter()
    report = IngestReport()
    roots = [str(p) for p in paths]
    found = discover(roots, include=include, exclude=exclude)
    report.errors += found.errors
    report.skipped += [asdict(item) for item in found.skipped]
    report.warnings += found.warnings
    not_documents: list[dict] = []
    embedder = load_embedder(config.embed_model, config.embed_precision)
    with writing(config, rebuild, lambda: embedder, progress) as index, ExitStack() as stack:
        index.check_model(embedder, claim=True)
        known = index.catalog.documents()
        held = index.catalog.document_collections()
        batch: list[tuple[Document, list[Chunk]]] = []
        # Closed on the way out, an error's included: its worker processes stop at once.
        parsed_files = stack.enter_context(closing(
            parse_all(found.files, known, embedder.tokenizer, embedder.max_tokens, progress)))
        for parsed in tqdm(parsed_files, total=len(found.files), desc="Indexing", unit="file", disable=not progress):
            if parsed.not_document is not None:
                not_documents.append({"source": parsed.source, "reason": parsed.not_document})
                continue
            if parsed.error is not None:
                report.errors.append({"source": parsed.source, "error": parsed.error})
                continue
            document, chunks = parsed.document, parsed.chunks
            report.notes += [{"source": document.source, "note": note} for note in document.notes]
            if held.get(document.source, collection) != collection:
                report.errors.append({"source": document.source, "error": f"already in collection "
                                      f"{held[document.source]!r}: remove it there first (a document is in one collection)"})
                continue
            if chunks is None:
                report.unchanged += 1
                continue
            batch.append((document, chunks))
            if sum(len(c) for _, c in batch) >= BATCH_CHUNKS:
                _commit(index, embedder, batch, known, report, collection)
                batch = []
        _commit(index, embedder, batch, known, report, collection)
        report.skipped += not_documents
        seen = {source for _, source in found.files} - {item["source"] for item in not_documents}
        report.removed_sources = _removed(known, roots, report.skipped, found.unsure, seen)
        if report.removed_sources:
            _replace(index, [], [item["source"] for item in report.removed_sources])
            report.removed = len(report.removed_sources)
        report.documents = len(index.catalog.documents())
        report.chunks_total = index.catalog.chunk_count()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def remove(sources: list[str], config: IndexConfig) -> list[str]:
    """Remove documents from the index by source; returns the sources that were indexed."""
    with writing(config) as index:
        known = index.catalog.documents()
        present = [source for source in sources if source in known]
        if present:
            _replace(index, [], present)
    return present


def _removed(known: dict[str, str], roots: list[str], skipped: list[dict], unsure: list[str],
             seen: set[str]) -> list[dict]:
    """Indexed sources to remove, with why ({source, reason}): skipped now, itself or a
    folder above it ("now skipped: <reason>"), or inside an existing given folder and not
    found ("deleted"). Nothing under a folder discovery could not fully see is removed."""
    reasons = {os.path.normpath(item["source"]): item["reason"] for item in skipped}
    folders = tuple(_inside(r) for r in roots if os.path.isdir(r))
    unsure_folders = tuple(_inside(folder) for folder in unsure)
    removed = []
    for source in known:
        path = os.path.normpath(source)
        if source in seen or path.startswith(unsure_folders):
            continue
        reason = next((reasons[p] for p in _self_and_parents(path) if p in reasons), None)
        if reason:
            removed.append({"source": source, "reason": f"now skipped: {reason}"})
        elif path.startswith(folders):
            removed.append({"source": source, "reason": "deleted"})
    return removed


def _self_and_parents(path: str) -> Iterator[str]:
    while True:
        yield path
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


def _inside(folder: str) -> str:
    """The prefix of every path inside `folder`."""
    return os.path.normpath(folder) + os.sep


def _commit(index: Index, embedder: Embedder, batch, known: dict, report: IngestReport,
            collection: str) -> None:
    if not batch:
        return
    vectors = _vectors_for(index, embedder, [c.text for _, chunks in batch for c in chunks], report)
    documents = []
    for document, chunks in batch:
        new_chunks = []
        for chunk in chunks:
            new_chunks.append(NewChunk(_chunk_id(document, chunk), chunk.index, chunk.start, chunk.end,
                                       chunk.page, chunk.text, *vectors[chunk.text],
                                       location=document.location(chunk.start, chunk.end)))
        documents.append((document, new_chunks))
    _replace(index, documents, [], collection)
    for document, _ in batch:
        if document.source in known:
            report.updated += 1
        else:
            report.added += 1


def _replace(index: Index, documents, removed: list[str], collection: str = DEFAULT_COLLECTION) -> None:
    """Commit in the catalog (vectors included), then bring the vector store in step. A
    crash in between loses nothing: the journal tells the next writer what to redo, and
    readers search journaled vectors from the catalog meanwhile."""
    index.catalog.commit_documents(documents, removed, collection)
    failpoints.reach("committed")
    index.apply_journal()


def _vectors_for(index: Index, embedder: Embedder, texts: list[str], report: IngestReport) -> dict:
    """text -> (input key, vector, sentence vectors). A text the model reads as it reads one
    already indexed or earlier in the batch (the same tokens: `Embedder.input_keys`) reuses
    its vectors, so a page copied into a print page and older editions is embedded once."""
    unique = list(dict.fromkeys(texts))
    keys = dict(zip(unique, embedder.input_keys(unique)))
    text_of = {key: text for text, key in keys.items()}  # any text of a key: they read alike
    vectors = index.catalog.vectors_by_text_hash(list(text_of))
    missing = [key for key in text_of if key not in vectors]
    embedded, sentences = embedder.embed_chunks([text_of[key] for key in missing])
    vectors.update(zip(missing, zip(embedded, sentences)))
    report.chunks_embedded += len(missing)
    return {text: (key, vectors[key][0], _sentences_of(vectors[key][1], text)) for text, key in keys.items()}


def _sentences_of(sentences: SentenceVectors | None, text: str) -> SentenceVectors | None:
    return sentences.for_text(text) if sentences is not None else None


def _chunk_id(document: Document, chunk: Chunk) -> str:
    """Stable per (source, content version, position): a new version gets new ids."""
    source_hash = hashlib.sha256(document.source.encode()).hexdigest()[:16]
    return f"{source_hash}-{document.sha256[:16]}-{chunk.index}"
