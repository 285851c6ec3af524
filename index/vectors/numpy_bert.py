"""A sentence-transformers BERT folder read without transformers, and its forward pass in
numpy for short texts.

A question is embedded before anything else can happen, and a cold `rag ask` paid 1.6 s
of it importing torch (cProfile). One short text's forward pass is a few small matrix
products: numpy does it as fast as torch in float32 on one core (10 ms for a 16-token
question, both), so questions, claims and the odd unstored sentence never import torch.
Where torch is loaded anyway and runs bf16, it embeds them instead (index/vectors/embedder.py:
faster there). Batches (ingest) run on torch (index/vectors/torch_bert.py): padded batches,
fused attention and both cores. Both compute the same thing from the same files;
tests/test_embedding.py holds them to float precision.
"""

from __future__ import annotations

import functools
import json
import math
import mmap
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from threadpoolctl import threadpool_limits
from tokenizers import Tokenizer

# Abramowitz and Stegun 7.1.26: erf to within 1.5e-7, below float32's resolution of GELU's
# output; scipy.special.erf would add 0.46 s of imports.
_ERF_P = 0.3275911
_ERF_A = (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)


# numpy's OpenBLAS on one thread, for the whole process: with its default of one thread a
# core, a question's small products took 420 ms instead of 15 while other work held the
# cores (its threads wait their turn), and nothing else here multiplies large matrices in
# numpy (torch has its own threads). Set when this module is first imported.
threadpool_limits(1, user_api="blas")


class UnsupportedModel(Exception):
    """The folder holds a model these encoders do not implement."""


class BertFolder:
    """A supported model folder's shape, tokenizer and weights: what both encoders start
    from. Both share one reading of the folder (`_read_folder`), so a process that runs both
    (a serving one: the first questions on numpy, batches on torch) holds the weights and the parsed
    tokenizer.json once: a process that had embedded with both went from 422 to 369 MB
    resident (VmRSS)."""

    def __init__(self, folder: Path):
        config, self.tokenizer, self.weights = _read_folder(Path(folder))
        self.heads = config["num_attention_heads"]
        self.layers = config["num_hidden_layers"]
        self.eps = config["layer_norm_eps"]
        self.dimension = config["hidden_size"]


@functools.lru_cache(maxsize=4)
def _read_folder(folder: Path) -> tuple[dict, Tokenizer, dict[str, np.ndarray]]:
    """config.json, the tokenizer and the weights as numpy arrays, dense layers' matrices
    stored (in, out) row-major: a question's numpy pass took 10 ms instead of 14 multiplying
    by the (out, in) ones transposed on the fly; torch takes them back as transposed views."""
    config = supported_config(folder)
    weights = mapped_safetensors(folder / "model.safetensors")
    if "embeddings.word_embeddings.weight" not in weights:
        raise UnsupportedModel(f"{folder}: weight names are not BertModel's")
    return config, model_tokenizer(folder, config), dense_in_out(weights)


# safetensors' dtype names that numpy has; a file holding another (BF16) is read by load_file.
SAFETENSORS_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
                      "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def mapped_safetensors(path: Path) -> dict[str, np.ndarray]:
    """A .safetensors file's tensors as arrays over a copy-on-write memory map of it: only the
    pages a process uses are read, and none is copied (the word embeddings, half of the
    packaged model, are read a row per token). A cold `rag ask` read the packaged model and
    the reader in ~0.10 s less wall time (~0.07 s CPU) than with `load_file`'s copies."""
    with open(path, "rb") as file:
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_COPY)
    size = int.from_bytes(mapped[:8], "little")
    header = json.loads(mapped[8 : 8 + size])
    header.pop("__metadata__", None)
    if any(t["dtype"] not in SAFETENSORS_DTYPES for t in header.values()):
        return load_file(str(path))
    return {name: np.frombuffer(mapped, SAFETENSORS_DTYPES[t["dtype"]], count=math.prod(t["shape"]),
                                offset=8 + size + t["data_offsets"][0]).reshape(t["shape"])
            for name, t in header.items()}


def dense_in_out(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Weights as float32, each dense layer's matrix stored (in, out)."""
    return {name: np.ascontiguousarray(w.T if is_dense(name, w) else w, dtype=np.float32)
            for name, w in weights.items()}


def is_dense(name: str, weight: np.ndarray) -> bool:
    """A linear layer's matrix (kept transposed), as opposed to embeddings, norms and biases."""
    return weight.ndim == 2 and not name.startswith("embeddings.")


class NumpyBert:
    """BertModel's forward pass in numpy for one sequence, unpadded (no attention mask, no
    dropout): the question encoder's (token type 0), and the reader's (rag/reader.py: token
    types, and its trained layers laid over the base's weights)."""

    def __init__(self, folder: BertFolder, overlay: dict[str, np.ndarray] | None = None):
        """The folder's model; `overlay` (weight names as the folder's, from `dense_in_out`)
        replaces or adds weights without copying the folder's."""
        self.weights = {**folder.weights, **(overlay or {})}
        self.heads, self.layers, self.eps = folder.heads, folder.layers, folder.eps

    def hidden_states(self, ids: list[int], types: list[int] | None = None) -> np.ndarray:
        """The last hidden states, one row per token; `types` default to 0."""
        w = self.weights
        token_types = w["embeddings.token_type_embeddings.weight"]
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][: len(ids)]
             + (token_types[0] if types is None else token_types[types]))
        x = self.norm(x, "embeddings.LayerNorm")
        for layer in range(self.layers):
            p = f"encoder.layer.{layer}."
            q, k, v = (self.dense(x, f"{p}attention.self.{name}").reshape(len(ids), self.heads, -1).transpose(1, 0, 2)
                       for name in ("query", "key", "value"))
            # In place: the same values as new arrays, with ~10% less of the reader's time
            # (scores and GELU are its largest element-wise passes).
            scores = q @ k.transpose(0, 2, 1)
            scores /= np.sqrt(q.shape[-1], dtype=np.float32)
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            context = scores @ v
            context = context.transpose(1, 0, 2).reshape(len(ids), -1)
            x = self.norm(x + self.dense(context, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            hidden = _gelu(self.dense(x, p + "intermediate.dense"))
            x = self.norm(x + self.dense(hidden, p + "output.dense"), p + "output.LayerNorm")
        return x

    def dense(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.weights[name + ".weight"] + self.weights[name + ".bias"]

    def norm(self, x: np.ndarray, name: str) -> np.ndarray:
        centered = x - x.mean(-1, keepdims=True)
        scaled = centered / np.sqrt((centered**2).mean(-1, keepdims=True) + self.eps)
        return scaled * self.weights[name + ".weight"] + self.weights[name + ".bias"]


class NumpyBertEncoder(BertFolder):
    """Embeds texts one at a time, with no padding: for a few short texts at once."""

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.bert = NumpyBert(self)

    def token_counts(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self.tokenizer.encode_batch(texts)]

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), np.float32)
        for n, encoding in enumerate(self.tokenizer.encode_batch(texts)):
            mean = self.bert.hidden_states(encoding.ids).mean(0)
            vectors[n] = mean / np.linalg.norm(mean)
        return vectors


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, as BERT's "gelu"."""
    # In place, in the order of t * (a4 + t * (a3 + ... t * a0)) and sign(x) * (1 - p * exp(-z²)):
    # the same values, ~25% faster (1.45 -> 1.09 ms for 256 x 1536).
    z = np.abs(x)
    z /= np.float32(np.sqrt(2))
    t = _ERF_P * z
    t += 1
    np.divide(1, t, out=t)
    erf = t * _ERF_A[0]
    for a in _ERF_A[1:]:
        erf += a
        erf *= t
    z *= z
    np.negative(z, out=z)
    np.exp(z, out=z)
    erf *= z
    np.subtract(1, erf, out=erf)
    erf *= np.sign(x)
    erf += 1
    gelu = 0.5 * x
    gelu *= erf
    return gelu.astype(np.float32, copy=False)


def supported_config(folder: Path) -> dict:
    """config.json, when the folder is a sentence-transformers BERT with mean pooling and a
    normalize step in safetensors: what these encoders compute, and nothing else."""
    try:
        config = json.loads((folder / "config.json").read_text())
        modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((folder / "modules.json").read_text())]
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError, KeyError, TypeError):
        raise UnsupportedModel(f"{folder} has no sentence-transformers configuration these encoders read")
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


def model_tokenizer(folder: Path, config: dict) -> Tokenizer:
    """The folder's tokenizer, truncating where sentence-transformers does, never padding."""
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(_max_seq_length(folder, config))
    return tokenizer


def _max_seq_length(folder: Path, config: dict) -> int:
    try:
        return json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"]
    except (OSError, ValueError, KeyError):
        return config["max_position_embeddings"]
