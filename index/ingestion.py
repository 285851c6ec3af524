"""Ingest: walk paths, load, chunk, embed what is new, and commit documents atomically."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from index import failpoints
from index.catalog import NewChunk
from index.chunking import Chunk, chunk_document
from index.config import IndexConfig
from index.embedding import Embedder, SentenceVectors, load_embedder
from index.loaders import Document, LoadError, is_supported, load
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
    skipped: list[str] = field(default_factory=list)  # unsupported types and hidden files

    def to_dict(self) -> dict:
        return asdict(self)


def ingest(
    paths: list[str | Path], config: IndexConfig, *, rebuild: bool = False, progress: bool = False
) -> IngestReport:
    """Bring the index of `config` in step with the files under `paths`.

    Unchanged files cost a hash; changed ones are replaced; files gone from a given folder
    are removed. A file that fails to load is reported and its indexed version kept.
    """
    started = time.perf_counter()
    report = IngestReport()
    roots = [str(p) for p in paths]
    files = _discover(roots, report)
    embedder = load_embedder(config.embed_model)
    with writing(config, rebuild, lambda: embedder, progress) as index:
        index.check_model(embedder, claim=True)
        known = index.catalog.documents()
        batch: list[tuple[Document, list[Chunk]]] = []
        for path, source in tqdm(files, desc="Indexing", unit="file", disable=not progress):
            try:
                document = load(path, source, progress=progress)
            except LoadError as exc:
                report.errors.append({"source": source, "error": str(exc)})
                continue
            if known.get(source) == document.sha256:
                report.unchanged += 1
                continue
            chunks = chunk_document(document, embedder.tokenizer, embedder.max_tokens)
            batch.append((document, chunks))
            if sum(len(c) for _, c in batch) >= BATCH_CHUNKS:
                _commit(index, embedder, batch, known, report)
                batch = []
        _commit(index, embedder, batch, known, report)
        gone = _gone(known, roots, {source for _, source in files})
        if gone:
            _replace(index, [], gone)
            report.removed = len(gone)
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


def _discover(roots: list[str], report: IngestReport) -> list[tuple[Path, str]]:
    """Supported files under the roots, as (path, source); folders are walked, links to
    folders are not followed (no loops)."""
    files = []
    for root in roots:
        if os.path.isfile(root):
            files.append((Path(root), root))
            continue
        if not os.path.isdir(root):
            report.errors.append({"source": root, "error": "no such file or folder"})
            continue

        def walk_error(exc: OSError) -> None:
            report.errors.append({"source": exc.filename, "error": f"cannot read folder: {exc.strerror}"})

        for folder, subfolders, names in os.walk(root, onerror=walk_error):
            subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
            for name in sorted(names):
                source = os.path.join(folder, name)
                if is_supported(Path(name)) and not name.startswith("."):
                    files.append((Path(source), source))
                else:
                    report.skipped.append(source)  # unsupported type, or hidden
    return files


def _gone(known: dict[str, str], roots: list[str], seen: set[str]) -> list[str]:
    """Indexed sources inside an existing given folder that were not found this time."""
    folders = [os.path.normpath(r) + os.sep for r in roots if os.path.isdir(r)]
    return [
        source
        for source in known
        if source not in seen and any(os.path.normpath(source).startswith(f) for f in folders)
    ]


def _commit(index: Index, embedder: Embedder, batch, known: dict, report: IngestReport) -> None:
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
    _replace(index, documents, [])
    for document, _ in batch:
        if document.source in known:
            report.updated += 1
        else:
            report.added += 1


def _replace(index: Index, documents, removed: list[str]) -> None:
    """Commit in the catalog (vectors included), then bring the vector store in step. A
    crash in between loses nothing: the journal tells the next writer what to redo, and
    readers search journaled vectors from the catalog meanwhile."""
    index.catalog.commit_documents(documents, removed)
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
