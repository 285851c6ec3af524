"""The reader's network on torch (rag/reader.py reads on numpy): what bench/train_reader.py
trains, and `TorchReader`, the same reading on it, which tests/test_reader.py holds the numpy
pass to and bench/reader_backends.py times it against. The web chat reads on it (RAG_READER_BACKEND):
on 2 idle cores one question over 5 SQuAD paragraphs took 110 ms in bf16 against numpy's 285
(docs/results.md).

The forward pass is BERT's with token types (the passage is segment 1), written as modules
so that training and inference run the same code; windows go in padded batches.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer
from torch import nn
from torch.nn import functional as F

from index.vectors.numpy_bert import supported_config
from index.vectors.precision import cpu_flags, resolve_precision
from rag.errors import ModelError
from rag.reader import WEIGHTS, WINDOW_TOKENS, Reader, WindowLogits, base_folder, existing, passage_tokens, window_tokenizer

# Reading, the real tokens' rows go through the network in a multiple of this many (`_packed`):
# a few dozen shapes for oneDNN instead of one a question. What the padding costs is inside
# the spread of two runs (ClapNQ reads, p50: float32 34.2-36.3 ms unpadded, 34.9-37.9 padded;
# bf16 22.6-26.1 and 24.2-24.6).
ROWS_STEP = 64


class TorchReader(Reader):
    """The reader with its windows read by `ReaderNet`, in one batch; under bf16
    autocast with `bf16` (products in bf16, the rest in float32). Against numpy's float32 on
    the 500 SQuAD questions with their gold passages, bf16 gave the same AUROC, EM and F1 to 3
    places, the same span on 490, probabilities within 0.010."""

    def __init__(self, net: "ReaderNet", tokenizer: Tokenizer, bf16: bool = False):
        self.net = net.eval()
        self.tokenizer = tokenizer
        self.bf16 = bf16

    @classmethod
    def load(cls, weights: Path = WEIGHTS, base: Path | None = None, bf16: bool = False) -> "TorchReader":
        base = Path(base or base_folder())
        net = ReaderNet.from_base(base)
        net.load_trained(load_file(str(existing(weights))))
        return cls(net, window_tokenizer(base, WINDOW_TOKENS), bf16)

    def window_logits(self, windows: list) -> list[WindowLogits]:
        # Two askers' reads at once on 2 cores (4 OpenMP threads) finished 12 reads in 1.5 s,
        # one at a time behind a lock in 1.8 (6 seed questions each, idle cores): no lock.
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            answer, start, end = self.net(*batch_tensors(windows))
        answer, start, end = answer.float(), start.float(), end.float()  # bf16 under autocast: numpy has none
        return [WindowLogits(float(answer[n]), start[n, : len(w.ids)].numpy(), end[n, : len(w.ids)].numpy())
                for n, w in enumerate(windows)]


@functools.cache
def packaged_torch_reader() -> TorchReader:
    """The shipped reader on torch, loaded once per process: in bf16 where the CPU multiplies
    it natively, as the batched encoder decides (index/vectors/precision.py)."""
    return TorchReader.load(bf16=resolve_precision("auto", cpu_flags()) == "bf16")


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
    """True at the tokens of the passage (segment 1, not [SEP]), padded to `width`."""
    mask = torch.zeros((len(windows), width), dtype=torch.bool)
    for n, window in enumerate(windows):
        mask[n, : len(window.ids)] = torch.from_numpy(passage_tokens(window))
    return mask


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
        """(answerability logit per window, start logits, end logits per token; 0 at padding).

        Reading (not training), every layer but attention runs on the real tokens alone:
        the seed questions' windows are 14% padding (1,190 real tokens of 1,380 a question),
        and a read took 119-129 ms in bf16 against 136-138 padded (p50 of 72 reads, 3 rounds
        interleaved, idle cores). Attention in float32 as well gave no gain (123-130 ms).
        The real tokens' rows are padded to a multiple of ROWS_STEP (`_packed`)."""
        tokens = None if self.training else mask.flatten().nonzero().squeeze(1)
        x = self.embeddings(ids, types)
        x = F.dropout(x, self.dropout, self.training) if tokens is None else _packed(x.flatten(0, 1), tokens)
        for layer in self.encoder.layer:
            x = layer(x, mask, self.heads, self.dropout if self.training else 0.0, tokens)
        start, end = _padded(self.span(x), tokens, mask.shape).unbind(-1)
        lengths = mask.sum(1)
        first = x[:, 0] if tokens is None else x[lengths.cumsum(0) - lengths]  # each window's [CLS]
        return self.answerable(first).squeeze(-1), start, end


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

    def forward(self, x: torch.Tensor, mask: torch.Tensor, heads: int, dropout: float,
                tokens: torch.Tensor | None = None) -> torch.Tensor:
        """x: (windows, width, size), or with `tokens` (the real tokens' places in the
        flattened windows) those tokens' rows (`_packed`), put in windows only for attention."""
        attention = self.attention.self
        q, k, v = (_padded(getattr(attention, name)(x), tokens, mask.shape).unflatten(-1, (heads, -1)).transpose(1, 2)
                   for name in ("query", "key", "value"))
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :], dropout_p=dropout)
        context = context.transpose(1, 2).flatten(2)
        x = self.attention.output(context if tokens is None else _packed(context.flatten(0, 1), tokens), x, dropout)
        return self.output(F.gelu(self.intermediate.dense(x)), x, dropout)


def _packed(flat: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """The rows of the real tokens (`tokens`: their places in `flat`, the flattened windows),
    then zero rows up to a multiple of ROWS_STEP. oneDNN, which multiplies here in bf16 (and
    runs GELU in float32), builds and keeps a primitive for each shape it is given. With as
    many rows as a question's real tokens, nearly every question made new ones: a web-chat
    process at 100k chunks grew from 982 to 1,544 MB resident over ClapNQ questions 50 to
    300, and stayed at 873-892 MB padded. The reader alone, 300 questions in bf16: 352 ->
    826 MB unpadded, flat at ~392 padded (bench/reader_memory.py)."""
    return F.pad(flat[tokens], (0, 0, 0, -len(tokens) % ROWS_STEP))


def _padded(rows: torch.Tensor, tokens: torch.Tensor | None, shape: torch.Size) -> torch.Tensor:
    """The rows of the real tokens (`tokens`: their places in the flattened windows; the rows
    after them pad `_packed`'s) back in windows of `shape`, zeros at the padding; unchanged
    without `tokens`."""
    if tokens is None:
        return rows
    padded = rows.new_zeros((shape[0] * shape[1], rows.shape[-1]))
    padded[tokens] = rows[: len(tokens)]
    return padded.unflatten(0, tuple(shape))


class _Output(nn.Module):
    def __init__(self, inner: int, size: int, eps: float):
        super().__init__()
        self.dense = nn.Linear(inner, size)
        self.LayerNorm = nn.LayerNorm(size, eps=eps)

    def forward(self, hidden: torch.Tensor, residual: torch.Tensor, dropout: float) -> torch.Tensor:
        return self.LayerNorm(residual + F.dropout(self.dense(hidden), dropout, dropout > 0))
