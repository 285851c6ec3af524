"""A BERT sentence encoder in plain torch, for batches (ingest).

Importing sentence-transformers (and the transformers it pulls in) costs ~5 s, and a
sentence embedding needs only a forward pass, mean pooling and a norm. This reads the same
model folder (tokenizer.json, config.json, model.safetensors) with `tokenizers`,
`safetensors` and torch alone, and batches by token budget. Its vectors equal
sentence-transformers' to float precision (tests/test_embedding.py). It also pools vectors
of spans (a chunk's sentences) from the same forward pass. Imported when a batch is first
embedded (index/vectors/embedder.py), so torch's ~1.6 s import is paid only then; a few short
texts run on numpy (index/vectors/numpy_bert.py).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from index.vectors.numpy_bert import BertFolder, is_dense

# Padded tokens per forward pass. Texts go in sorted by length, so a batch holds texts of
# similar length and little compute goes to padding; small batches keep attention in cache.
# On 2 cores, 1024 (four 256-token chunks) was fastest for chunks, and within 10% of the
# best for sentences.
BATCH_TOKENS = 1024
# A forward pass of at most this many tokens (a question; FEW_TOKENS in embedder.py) runs on
# the calling thread's one core, leaving the other to the keyword search beside it: at 100k
# chunks, a question embedded on both cores took 12.9 ms p50 against 6.8 on one, and the
# keyword search 11.1 against 8.6 (bench/retrieval_parts.py --serving).
ONE_CORE_TOKENS = 64


class BertEncoder(BertFolder):
    def __init__(self, folder: Path, bf16: bool = False):
        super().__init__(folder)
        # Views of the numpy encoder's arrays, not a second copy: a dense matrix stored
        # (in, out) is the (out, in) weight F.linear wants, transposed.
        self.weights = {name: torch.from_numpy(w).T if is_dense(name, w) else torch.from_numpy(w)
                        for name, w in self.weights.items()}
        if bf16:
            # The whole forward pass in bfloat16 (index/vectors/precision.py says when), on a
            # copy of the weights (+44 MB). On the shared 2-core machine (load ~9), 16 ClapNQ
            # chunks took 8.3 s against 10.3 in float32, where autocast (products in bf16,
            # the rest in float32, casts between) took 11.1: its casts cost more than its
            # products saved. Cosine to the float32 vectors >= 0.99994 (tests/test_embedding.py).
            self.weights = {name: w.to(torch.bfloat16) for name, w in self.weights.items()}

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.encode_with_spans(texts, [[] for _ in texts])[0]

    def encode_with_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's vector, and a vector for each of its character spans pooled from the
        same forward pass: the mean of the tokens inside the span, in the text's context
        (a zero row when no token falls inside). The spans cost no model time."""
        encodings = self.tokenizer.encode_batch(texts)
        token_ids = [e.ids for e in encodings]
        vectors = np.zeros((len(texts), self.dimension), np.float32)
        pooled = [np.zeros((len(s), self.dimension), np.float32) for s in spans]
        small = sum(map(len, token_ids)) <= ONE_CORE_TOKENS
        with one_core() if small else contextlib.nullcontext():
            for batch in _batches(sorted(range(len(texts)), key=lambda i: len(token_ids[i])), token_ids):
                hidden, mask = self._forward([token_ids[i] for i in batch])
                hidden = hidden.float()  # a no-op in float32
                with torch.inference_mode():
                    vectors[batch] = _mean_pool(hidden, mask).numpy()
                for n, i in enumerate(batch):
                    if spans[i]:
                        pooled[i] = _pool_spans(hidden[n], encodings[i], spans[i])
        return vectors, pooled

    def _forward(self, rows: list[list[int]]):
        """BertModel's forward pass (token type 0, no dropout): the last hidden states and
        the mask of real tokens."""
        width = max(len(r) for r in rows)
        ids = torch.zeros((len(rows), width), dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.bool)
        for n, row in enumerate(rows):
            ids[n, : len(row)] = torch.tensor(row)
            mask[n, : len(row)] = True
        w = self.weights
        with torch.inference_mode():
            x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:width]
                 + w["embeddings.token_type_embeddings.weight"][0])
            x = self._norm(x, "embeddings.LayerNorm")
            for layer in range(self.layers):
                p = f"encoder.layer.{layer}."
                q, k, v = (
                    self._dense(x, f"{p}attention.self.{name}").unflatten(-1, (self.heads, -1)).transpose(1, 2)
                    for name in ("query", "key", "value")
                )
                context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
                context = context.transpose(1, 2).flatten(2)
                x = self._norm(x + self._dense(context, p + "attention.output.dense"), p + "attention.output.LayerNorm")
                hidden = F.gelu(self._dense(x, p + "intermediate.dense"))
                x = self._norm(x + self._dense(hidden, p + "output.dense"), p + "output.LayerNorm")
        return x, mask

    def _dense(self, x, name: str):
        return F.linear(x, self.weights[name + ".weight"], self.weights[name + ".bias"])

    def _norm(self, x, name: str):
        return F.layer_norm(x, x.shape[-1:], self.weights[name + ".weight"], self.weights[name + ".bias"], self.eps)


@contextlib.contextmanager
def one_core():
    """torch on one thread for the calling thread alone: its OpenMP and MKL thread counts
    are the calling thread's (tests/test_embedding.py checks that another thread keeps its own)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _mean_pool(hidden, mask):
    """sentence-transformers' pooling: the mean of the real tokens, then an L2 norm."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return F.normalize((hidden * weights).sum(1) / weights.sum(1), dim=-1)


def _pool_spans(hidden, encoding, spans: list[tuple[int, int]]) -> np.ndarray:
    """Normalized means of one text's token states over each character span."""
    offsets = np.array(encoding.offsets)
    real = ~np.array(encoding.special_tokens_mask, dtype=bool)
    states = hidden.numpy()
    pooled = np.zeros((len(spans), states.shape[-1]), np.float32)
    for n, (start, end) in enumerate(spans):
        inside = real & (offsets[:, 0] >= start) & (offsets[:, 1] <= end)
        if inside.any():
            mean = states[: len(offsets)][inside].mean(0)
            pooled[n] = mean / np.linalg.norm(mean)
    return pooled


def _batches(order: list[int], token_ids: list[list[int]]):
    batch: list[int] = []
    for i in order:  # shortest first, so the newest text is the batch's widest
        if batch and len(token_ids[i]) * (len(batch) + 1) > BATCH_TOKENS:
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch
