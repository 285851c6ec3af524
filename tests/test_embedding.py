"""The torch-only encoder against sentence-transformers, on the real model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from index.vectors.numpy_bert import NumpyBertEncoder, UnsupportedModel
from index.vectors.embedder import Embedder, default_model_path, load_embedder
from index.vectors.precision import resolve_precision
from index.vectors.torch_bert import BertEncoder, one_core

TEXTS = [
    "Who founded DeepSeek?",
    "",
    "Ünïcödé café — naïve résumé, 東京 and emoji 🙂",
    "Nvidia lost nearly $600 billion in market value on Monday, the largest one-day loss in history. " * 30,
    "Short.",
    "A middling sentence about the market reaction to a cheaper Chinese model, and chip stocks.",
]


@pytest.fixture(scope="module")
def float32_embedder():
    """Computes as sentence-transformers does by default, whatever the CPU."""
    return load_embedder(precision="float32")


def test_vectors_equal_sentence_transformers(float32_embedder):
    """Same vectors, in the same order, for short, empty, non-ASCII and over-long (truncated) texts."""
    embedder = float32_embedder
    assert isinstance(embedder.embed.__self__, BertEncoder)  # the packaged model runs on it
    ours = embedder.embed(TEXTS)
    theirs = embedder.model.encode(TEXTS, normalize_embeddings=True)
    assert ours.shape == theirs.shape == (len(TEXTS), 384)
    assert np.abs(ours - theirs).max() < 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1, atol=1e-5)


def test_both_encoders_share_one_reading_of_the_model_folder(embedder):
    """A serving process runs both: one copy of the weights and one parsed tokenizer.json."""
    numpy_encoder, torch_encoder = NumpyBertEncoder(embedder.path), BertEncoder(embedder.path)
    assert torch_encoder.tokenizer is numpy_encoder.tokenizer
    for name, weight in numpy_encoder.weights.items():
        assert np.shares_memory(torch_encoder.weights[name].numpy(), weight), name


def test_the_numpy_encoder_gives_sentence_transformers_vectors(embedder):
    """Questions run on numpy: the same vectors for short, empty, non-ASCII and truncated texts."""
    ours = NumpyBertEncoder(embedder.path).encode(TEXTS)
    theirs = embedder.model.encode(TEXTS, normalize_embeddings=True)
    assert np.abs(ours - theirs).max() < 1e-5


def test_cached_embeddings_are_the_models(float32_embedder):
    """Questions and sentences (embed_cached) are comparable with ingested chunks (embed)."""
    embedder = float32_embedder
    cached = embedder.embed_cached(TEXTS[:3] + TEXTS[:1])
    assert np.abs(cached[:3] - embedder.embed(TEXTS[:3])).max() < 1e-6
    assert np.array_equal(cached[0], cached[3])
    assert embedder.embed_cached([]).shape == (0, 384)


def test_bf16_vectors_agree_with_float32_ones(float32_embedder):
    """Chunks embedded in bf16 are searched with float32 questions: the two must be the
    same vectors to within what moves no ranking (cosine >= 0.999), sentences too."""
    bf16 = load_embedder(precision="bf16")
    assert bf16.precision == "bf16"
    chunks, sentences = bf16.embed_chunks(TEXTS)
    exact, exact_sentences = float32_embedder.embed_chunks(TEXTS)
    assert np.einsum("ij,ij->i", chunks, exact).min() >= 0.999
    assert np.allclose(np.linalg.norm(chunks, axis=1), 1, atol=1e-5)
    ours = np.concatenate([s.vectors for s in sentences]).astype(np.float32)
    theirs = np.concatenate([s.vectors for s in exact_sentences]).astype(np.float32)
    pooled = np.linalg.norm(theirs, axis=1) > 0  # sentences past the model's window pool nothing
    assert pooled.sum() > len(TEXTS)
    assert np.einsum("ij,ij->i", ours, theirs)[pooled].min() >= 0.999


def test_a_loaded_bf16_encoder_embeds_questions_too():
    """On bf16 a lone question runs on the batched encoder once it is loaded (faster than
    numpy's float32), so its vector is the one `embed` gives, not numpy's."""
    bf16 = Embedder(precision="bf16")
    question = TEXTS[0]
    assert not np.array_equal(bf16.embed_cached([question]), bf16.embed([question]))  # numpy's, before
    bf16.forget_cached()
    assert np.array_equal(bf16.embed_cached([question]), bf16.embed([question]))


def test_one_core_is_the_calling_threads_alone():
    """A question's forward pass on one core leaves the other threads' torch (an ingest
    beside it) on theirs, and the thread gets its own count back."""
    import torch

    threads = torch.get_num_threads()
    inside, release = threading.Event(), threading.Event()
    seen = []

    def question():
        with one_core():
            seen.append(torch.get_num_threads())
            inside.set()
            release.wait(30)
        seen.append(torch.get_num_threads())

    worker = threading.Thread(target=question)
    worker.start()
    assert inside.wait(30)
    assert torch.get_num_threads() == threads  # this thread, while the other holds one core
    release.set()
    worker.join()
    assert seen == [1, torch.get_num_threads()]


@pytest.mark.parametrize("setting, flags, precision", [
    ("auto", {"avx2", "avx512f", "avx512_bf16"}, "bf16"),
    ("auto", {"avx2", "amx_tile", "amx_bf16"}, "bf16"),
    ("auto", {"avx2", "avx512f"}, "float32"),
    ("auto", set(), "float32"),
    ("bf16", {"avx2"}, "bf16"),
    ("float32", {"avx512_bf16", "amx_bf16"}, "float32"),
])
def test_precision_follows_the_setting_and_the_cpu_flags(setting, flags, precision):
    assert resolve_precision(setting, flags) == precision


@pytest.fixture(scope="module")
def cls_pooled_model(tmp_path_factory) -> Path:
    """The packaged weights with CLS pooling: a model the torch-only encoder does not implement."""
    target = tmp_path_factory.mktemp("models") / "cls-minilm"
    shutil.copytree(default_model_path(), target)
    pooling = target / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    pooling.write_text(json.dumps({**config, "pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}))
    return target


def test_other_models_fall_back_to_sentence_transformers(cls_pooled_model):
    with pytest.raises(UnsupportedModel):
        BertEncoder(cls_pooled_model)
    other = Embedder(str(cls_pooled_model), precision="float32")
    cached = other.embed_cached(TEXTS[:2])
    assert np.abs(cached - other.model.encode(TEXTS[:2], normalize_embeddings=True)).max() < 1e-6
    # CLS pooling really gives other vectors: the fallback is not the mean-pooled encoder.
    mean_pooled = BertEncoder(Path(default_model_path())).encode(TEXTS[:1])[0]
    assert float(cached[0] @ mean_pooled) < 0.99


@pytest.fixture(scope="module")
def question_process_modules(seed_home) -> set[str]:
    """The top-level packages a fresh interpreter imported to answer one extractive question."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from rag import Pipeline, Settings\n"
        f"answer = Pipeline(Settings(home=Path({str(seed_home)!r}), answerer='extractive')).ask('Who founded DeepSeek?')\n"
        "assert 'Liang Wenfeng' in answer.answer, answer.answer\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.slow  # a fresh interpreter answering a question
def test_a_question_process_never_imports_torch(question_process_modules):
    """A cold `ask` embeds the question and reads the passages (rag/reader.py) on numpy, and
    reads the sentences' stored vectors: it pays for neither sentence-transformers nor
    transformers (~5 s), nor torch (2.0 s)."""
    assert question_process_modules & {"sentence_transformers", "transformers", "torch"} == set()


@pytest.mark.slow  # a fresh interpreter answering a question
def test_a_question_process_never_imports_langchain(question_process_modules):
    """The extractive answer searches through `HybridSearch`, not LangChain's retriever, and
    calls no chat model: LangChain's imports (~0.4 s, langsmith's most) stay out of it."""
    assert question_process_modules & {"langchain_core", "langsmith"} == set()


@pytest.mark.slow  # a fresh interpreter answering a question
def test_a_question_process_on_a_small_index_never_imports_chromadb(question_process_modules):
    """A small index is searched exactly over the catalog's vectors (index/vectors/exact.py):
    chromadb's import and client (~0.5 s) stay out of the question."""
    assert "chromadb" not in question_process_modules


@pytest.mark.slow  # a fresh interpreter indexing a file
def test_an_ingest_process_never_imports_sentence_transformers(tmp_path):
    """Chunks are sized with the model's tokenizer.json through `tokenizers`: a cold ingest
    pays for torch, not for sentence-transformers and transformers (~5 s)."""
    (tmp_path / "doc.txt").write_text("DeepSeek was founded in 2023. It is based in Hangzhou.")
    script = (
        "import sys\n"
        "from index import IndexConfig, ingest\n"
        f"report = ingest([{str(tmp_path / 'doc.txt')!r}], IndexConfig(home={str(tmp_path / 'home')!r}))\n"
        "assert report.chunks_embedded == 1, report\n"
        "print(sorted(m for m in ('sentence_transformers', 'transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
