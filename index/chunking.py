"""Sentence-aware chunking with exact character offsets and a hard token bound.

The embedding model silently truncates past its window, so every chunk is sized with the
model's own tokenizer. WordPiece and SentencePiece pre-tokenize on whitespace, so the token
count of sentences joined by whitespace is the sum of their counts.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Protocol

from index.formats import Document

# A sentence ends at terminal punctuation (plus closing quotes/brackets) before whitespace,
# or at a blank line. An ellipsis does not end one: it mostly elides inside a quote.
_BOUNDARY = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?=\s)|\n[ \t]*\n")
_ABBREVIATION = re.compile(
    r"(?:\b(?:[A-Za-z]\.)+[A-Za-z]?|\b(?:Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|Inc|Ltd|Co|Corp|vs|etc|No|Fig|Gen|Gov|Sen|Rep)\.)$"
)


class Tokenizer(Protocol):
    """What the chunker asks of a model's tokenizer, special tokens left out."""

    def counts(self, texts: list[str]) -> list[int]: ...

    def offsets(self, text: str) -> list[tuple[int, int]]: ...


class TokenCounter:
    """A `tokenizers.Tokenizer` (a model's tokenizer.json) as the chunker's Tokenizer: no
    truncation, no padding, no special tokens, so it counts every token the model sees. It
    takes the tokenizer over and changes its settings: give it one nothing else uses."""

    def __init__(self, tokenizer, path: str | None = None):
        self._tokenizer = tokenizer
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._path = path

    @classmethod
    def from_file(cls, path: str) -> TokenCounter:
        """The tokenizer of a tokenizer.json file."""
        from tokenizers import Tokenizer as ModelTokenizer

        return cls(ModelTokenizer.from_file(path), path)

    def __reduce_ex__(self, protocol):
        """Pickled as its file when it has one: a parsing worker reads the file (~20 ms)
        instead of its parent writing the tokenizer (466 kB) into the pipe that starts the
        worker, which held the parent until the worker had imported the main module: 0.46 s
        under `rag ingest`, 4.8 s at load 10 under bench/run.py, whose imports take torch."""
        if self._path is None:
            return super().__reduce_ex__(protocol)
        return TokenCounter.from_file, (self._path,)

    def counts(self, texts: list[str]) -> list[int]:
        # encode_batch_fast tracks no offsets: the same counts in 20% less time (688 sentences
        # of docs/, 42 against 52 ms), on the ~0.2 s an ingest of the Python docs site spends here.
        return [len(e.ids) for e in self._tokenizer.encode_batch_fast(texts, add_special_tokens=False)]

    def offsets(self, text: str) -> list[tuple[int, int]]:
        return self._tokenizer.encode(text, add_special_tokens=False).offsets

    def encode(self, texts: list[str]) -> list:
        """Each text's tokens as a `tokenizers.Encoding` (ids and character offsets)."""
        return self._tokenizer.encode_batch(texts, add_special_tokens=False)


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int
    end: int
    text: str
    page: int | None
    tokens: int


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans of sentences in text[start:end], trimmed of surrounding whitespace."""
    return list(iter_sentence_spans(text, start, end))


def iter_sentence_spans(text: str, start: int = 0, end: int | None = None):
    end = len(text) if end is None else end
    begin = start
    for match in _BOUNDARY.finditer(text, start, end):
        stop = match.end()
        if match.group().startswith(".") and _ABBREVIATION.search(text, max(begin, stop - 12), stop):
            continue
        if trimmed := _trim(text, begin, stop):
            yield trimmed
        begin = stop
    if trimmed := _trim(text, begin, end):
        yield trimmed


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def chunk_document(
    document: Document, tokenizer: Tokenizer, max_tokens: int, overlap_tokens: int = 32
) -> list[Chunk]:
    """Pack whole sentences into chunks of at most max_tokens (special tokens excluded)."""
    chunks: list[Chunk] = []
    for span_start, span_end, _ in document.spans():
        units = _units(document.text, span_start, span_end, tokenizer, max_tokens)
        for start, end, tokens in _pack(units, max_tokens, overlap_tokens):
            # A region may run over pages (a PDF sentence across a page break): the first is cited.
            page = document.page_at(start)
            chunks.append(Chunk(len(chunks), start, end, document.text[start:end], page, tokens))
    return chunks


def _units(text: str, start: int, end: int, tokenizer: Tokenizer, max_tokens: int, window: int = 512):
    """Sentences as (start, end, tokens), tokenized a window at a time so memory stays flat
    on huge files; a sentence longer than max_tokens is cut into pieces."""
    spans = iter_sentence_spans(text, start, end)
    while batch := list(itertools.islice(spans, window)):
        counts = tokenizer.counts([text[s:e] for s, e in batch])
        for (s, e), count in zip(batch, counts):
            if count <= max_tokens:
                yield s, e, count
            else:
                yield from _cut_long_sentence(text, s, e, tokenizer, max_tokens)


def _cut_long_sentence(text: str, base: int, end: int, tokenizer: Tokenizer, max_tokens: int):
    """Pieces of at most max_tokens, cut where whitespace separates two tokens when possible;
    each piece is re-tokenized, since a cut inside a word changes how its rest tokenizes."""
    offsets = tokenizer.offsets(text[base:end])
    first = 0
    while first < len(offsets):
        last = min(first + max_tokens, len(offsets))
        if last < len(offsets):
            last = next((i for i in range(last, first, -1) if offsets[i][0] > offsets[i - 1][1]), last)
        while True:
            start, end = base + offsets[first][0], base + offsets[last - 1][1]
            count = tokenizer.counts([text[start:end]])[0]
            if count <= max_tokens or last - first == 1:
                break
            last -= count - max_tokens
        if trimmed := _trim(text, start, end):
            yield (*trimmed, count)
        first = last


def _pack(units, max_tokens: int, overlap_tokens: int):
    current: list[tuple[int, int, int]] = []
    for unit in units:
        if current and sum(u[2] for u in current) + unit[2] > max_tokens:
            yield current[0][0], current[-1][1], sum(u[2] for u in current)
            current = _overlap(current, overlap_tokens, max_tokens - unit[2])
        current.append(unit)
    if current:
        yield current[0][0], current[-1][1], sum(u[2] for u in current)


def _overlap(units, overlap_tokens: int, room: int):
    """Trailing whole sentences of the previous chunk to repeat, within the budget."""
    kept, total = [], 0
    for unit in reversed(units[1:]):
        if total + unit[2] > min(overlap_tokens, room):
            break
        kept.insert(0, unit)
        total += unit[2]
    return kept
