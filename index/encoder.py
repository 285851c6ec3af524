"""A BERT sentence encoder in plain torch.

Importing sentence-transformers (and the transformers it pulls in) costs ~5 s, most of a
cold `rag ask`, and a sentence embedding needs only a forward pass, mean pooling and a
norm. This reads the same model folder (tokenizer.json, config.json, model.safetensors)
with `tokenizers`, `safetensors` and torch alone, and batches by token budget. Its vectors
equal sentence-transformers' to float precision (tests/test_embedding.py). Imported when the
first text is embedded (index/embedding.py), so torch's ~1.2 s import is paid only then.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer
from torch.nn import functional as F

# Padded tokens per forward pass. Texts go in sorted by length, so a batch holds texts of
# similar length and little compute goes to padding; small batches keep attention in cache.
# On 2 cores, 1024 (four 256-token chunks) was fastest for chunks, and within 10% of the
# best for sentences.
BATCH_TOKENS = 1024
# A forward pass this small (a question) is no faster on two cores than on one, and on one
# it leaves the other core free, e.g. to the keyword search that runs alongside it.
SINGLE_THREAD_TOKENS = 64


class UnsupportedModel(Exception):
    """The folder holds a model this encoder does not implement."""


class BertEncoder:
    def __init__(self, folder: Path):
        config = _config_if_supported(folder)
        self.heads = config["num_attention_heads"]
        self.layers = config["num_hidden_layers"]
        self.eps = config["layer_norm_eps"]
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(_max_seq_length(folder, config))
        self.weights = load_file(str(folder / "model.safetensors"))
        if "embeddings.word_embeddings.weight" not in self.weights:
            raise UnsupportedModel(f"{folder}: weight names are not BertModel's")
        self.dimension = config["hidden_size"]

    def encode(self, texts: list[str]) -> np.ndarray:
        token_ids = [e.ids for e in self.tokenizer.encode_batch(texts)]
        vectors = np.zeros((len(texts), self.dimension), np.float32)
        for batch in _batches(sorted(range(len(texts)), key=lambda i: len(token_ids[i])), token_ids):
            rows = [token_ids[i] for i in batch]
            if sum(map(len, rows)) <= SINGLE_THREAD_TOKENS:
                vectors[batch] = _on_one_core(lambda: self._forward(rows).numpy())
            else:
                vectors[batch] = self._forward(rows).numpy()
        return vectors

    def _forward(self, rows: list[list[int]]):
        """BertModel's forward pass (token type 0, no dropout), then mean pooling and an L2 norm."""
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
            weights = mask.unsqueeze(-1).to(x.dtype)
            return F.normalize((x * weights).sum(1) / weights.sum(1), dim=-1)

    def _dense(self, x, name: str):
        return F.linear(x, self.weights[name + ".weight"], self.weights[name + ".bias"])

    def _norm(self, x, name: str):
        return F.layer_norm(x, x.shape[-1:], self.weights[name + ".weight"], self.weights[name + ".bias"], self.eps)


T = TypeVar("T")

# Small forward passes run on one thread of their own, kept at one core for good.
# torch.set_num_threads(n) sets the calling thread's count and also the count every thread
# that first uses torch afterwards starts with. Lowering it around each pass in the calling
# thread and restoring "before" raced once answers ran in parallel: a thread starting torch
# while another had it lowered read 1 as its "before", restored 1, and from then on every
# new thread (an upload's indexing) ran on one core.
_single_core: ThreadPoolExecutor | None = None
_single_core_lock = threading.Lock()


def _on_one_core(work: Callable[[], T]) -> T:
    """work() with torch on one core; no other thread's count changes. Concurrent callers
    take turns (a question's pass takes milliseconds)."""
    return _single_core_thread().submit(work).result()


def _single_core_thread() -> ThreadPoolExecutor:
    global _single_core
    with _single_core_lock:
        if _single_core is None:
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="torch-one-core")
            default = pool.submit(_lower_this_thread).result()
            # That lowered the count new threads start with too: a thread of its own puts
            # it back, changing no running thread's count.
            restore = threading.Thread(target=torch.set_num_threads, args=(default,))
            restore.start()
            restore.join()
            _single_core = pool
        return _single_core


def _lower_this_thread() -> int:
    """In a new thread: the count threads start with; then this thread's count is 1."""
    default = torch.get_num_threads()
    torch.set_num_threads(1)
    return default


def _forget_single_core() -> None:
    """A forked child has no such thread: it starts its own when it needs one."""
    global _single_core, _single_core_lock
    _single_core, _single_core_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_single_core)


def _batches(order: list[int], token_ids: list[list[int]]):
    batch: list[int] = []
    for i in order:  # shortest first, so the newest text is the batch's widest
        if batch and len(token_ids[i]) * (len(batch) + 1) > BATCH_TOKENS:
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch


def _config_if_supported(folder: Path) -> dict:
    """config.json, when the folder is a sentence-transformers BERT with mean pooling and a
    normalize step in safetensors: what this encoder computes, and nothing else."""
    try:
        config = json.loads((folder / "config.json").read_text())
        modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((folder / "modules.json").read_text())]
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError, KeyError, TypeError):
        raise UnsupportedModel(f"{folder} has no sentence-transformers configuration this encoder reads")
    modes = {k for k, on in pooling.items() if k.startswith("pooling_mode_") and on}
    supported = (
        config.get("model_type") == "bert"
        and config.get("hidden_act") == "gelu"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and modules == ["Transformer", "Pooling", "Normalize"]
        and modes == {"pooling_mode_mean_tokens"}
        and (folder / "model.safetensors").is_file()
        and (folder / "tokenizer.json").is_file()
    )
    if not supported:
        raise UnsupportedModel(f"{folder} is not a mean-pooled BERT in safetensors")
    return config


def _max_seq_length(folder: Path, config: dict) -> int:
    try:
        return json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"]
    except (OSError, ValueError, KeyError):
        return config["max_position_embeddings"]
