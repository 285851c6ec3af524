"""Files read and chunked for ingest: in worker processes while the main one embeds, handed
back in the order they were found, so commits happen in the order they always did.

Workers are spawned, never forked: a fork would copy torch's OpenMP threads (and Chroma's)
from a process that may have embedded already. They import index/ and the readers, and
the main module as every spawned process does (torch too, when a script imports it). At most `AHEAD_PER_WORKER` files per worker are read ahead of the embedder, so memory
stays flat however large the folder; a file that fails is reported on its own, as before.

Measured on the Python docs subset (bench/real_folders.py, 57 HTML files, 481 chunks; issue
28 asks its ingest to take <= 1.1x embedding its chunks): at load 7-8 the ingest spent
10.6-11.7 s outside embedding (8 s of 18.4 on idle cores), 8-9 s of it waiting for files.
The worker's start held the ingest (the tokenizer pickled into the spawn pipe, waiting for
the worker to import the main module: bench/run.py's torch and rag), then the first batch
waited on word counts of two pages of links refused anyway (1.75 s, index/formats/html.py).
After: 3.3 s at the same load: the index opened 0.9 (Chroma's import), files read and
chunked here 1.3, input keys 0.4, two commits 0.55.
Then, near idle (load ~2, interleaved with the code before, 4 runs each): outside
embedding (~9.2 s) the ingest spends ~1.5 s: Chroma's import and client 0.37, files read
and chunked here 0.70 (two pages of links refused anyway, contents.html 2.5 MB and
genindex-all.html 1.7 MB, ~0.4 of it), input keys 0.15, two commits 0.19 (Chroma's adds
0.11 of it). Tried and left out: tokenizing each chunk once for its key and its embedding
moved it within the noise (1.54 -> 1.51 s median, with the token counts without offsets
that were kept); opening Chroma in a thread while files were read did not pay (load 3-6):
the reading, sharing the GIL and both cores with the import, took 1.45 s against 0.84,
and the time outside embedding was 2.55 s against 1.81.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from index.chunking import Chunk, TokenCounter, chunk_document
from index.errors import NotADocument, ReaderWorkersError
from index.formats import CODE_SUFFIXES, CONFIG_SUFFIXES, Document, LoadError, load

# Files read as they are (text, Markdown, code, configuration): 200 ClapNQ passages were read
# and chunked in 0.13 s, while a worker took 0.46 s to hand back its first file (spawning
# and importing, rag.cli included as the main module; a script's main module is imported
# too, torch and all under bench/run.py). Readers that parse (HTML, PDF, Office, EPUB) cost
# more: 15 ms a page read and chunked for the Python docs site's subset (57 files), 20 ms
# for its 530 pages (CPU at load 6; 30 ms before the HTML word counts were made cheap).
PLAIN_SUFFIXES = frozenset({".txt", ".md", ".markdown", *CODE_SUFFIXES, *CONFIG_SUFFIXES})
# Workers read when at least this many files need a parsing reader. The embedder keeps both
# cores of a 2-core machine busy, so a worker hides about half of the reading it takes over
# (the other half is taken from the model); that half must outweigh the ingest waiting
# ~0.5 s for the worker's first file: 0.46 s / (15 ms / 2) ~ 60 files. Under that, with
# the Python docs subset's 57 files, the time an ingest spent on anything but embedding
# (load 5-6) was 3.4 s read in the ingesting process against 6.9 s with a worker.
MIN_PARSED_FILES_FOR_WORKERS = 64
# Files read ahead per worker: a batch of ClapNQ passages (256 chunks) is ~150 files, and
# the workers should have the next one ready when the model finishes this one.
AHEAD_PER_WORKER = 64


@dataclass
class Parsed:
    """One file, read: its document and chunks; chunks None when its version is the one
    indexed (not chunked again); or why it is not a document, or its error."""

    source: str
    document: Document | None = None
    chunks: list[Chunk] | None = None
    not_document: str | None = None
    error: str | None = None


def parse(path: Path | str, source: str, indexed_version: str | None, tokenizer: TokenCounter, max_tokens: int,
          progress: bool = False) -> Parsed:
    try:
        document = load(path, source, progress=progress)
    except NotADocument as exc:
        return Parsed(source, not_document=str(exc))
    except LoadError as exc:
        return Parsed(source, error=str(exc))
    if document.sha256 == indexed_version:
        return Parsed(source, document)
    return Parsed(source, document, chunk_document(document, tokenizer, max_tokens))


def parse_all(files: list[tuple[Path | str, str]], indexed: dict[str, str], tokenizer: TokenCounter,
              max_tokens: int, progress: bool = False, workers: int | None = None) -> Iterator[Parsed]:
    """Each of `files` ((path, source) pairs) parsed, in order; `indexed`: source -> the
    version in the index; `workers`: processes to parse in (default: `worker_count`)."""
    workers = worker_count([path for path, _ in files]) if workers is None else workers
    if not workers:
        for path, source in files:
            yield parse(path, source, indexed.get(source), tokenizer, max_tokens, progress)
        return
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker, initargs=(os.getpid(), tokenizer, max_tokens))
    try:
        pending: deque[Future] = deque()
        queued = iter(files)
        for path, source in queued:
            pending.append(pool.submit(_parse_in_worker, path, source, indexed.get(source), progress))
            if len(pending) < workers * AHEAD_PER_WORKER:
                continue
            yield _result(pending.popleft())
        while pending:
            yield _result(pending.popleft())
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _result(future: Future) -> Parsed:
    try:
        return future.result()
    except BrokenProcessPool:
        raise ReaderWorkersError(
            "a process reading files for the ingest stopped (out of memory?): the files after those committed "
            "were not indexed. "
            "A script that calls ingest() must run it under `if __name__ == \"__main__\":`, as "
            "multiprocessing's spawned workers import the script again") from None


def worker_count(paths: list[Path | str]) -> int:
    """Processes to read these files in: none when few need parsing; otherwise every core
    but one (the model's), at least one and at most four."""
    parsed = sum(Path(path).suffix.lower() not in PLAIN_SUFFIXES for path in paths)
    if parsed < MIN_PARSED_FILES_FOR_WORKERS:
        return 0
    return max(1, min((os.cpu_count() or 2) - 1, 4))


_worker: dict = {}


def _start_worker(parent: int, tokenizer: TokenCounter, max_tokens: int) -> None:
    _worker.update(tokenizer=tokenizer, max_tokens=max_tokens)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int) -> None:
    """A killed ingest (SIGKILL: no clean-up runs) must not leave its workers waiting for
    work forever: they go within a second of it."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def _parse_in_worker(path: Path | str, source: str, indexed_version: str | None, progress: bool) -> Parsed:
    return parse(path, source, indexed_version, _worker["tokenizer"], _worker["max_tokens"], progress)
