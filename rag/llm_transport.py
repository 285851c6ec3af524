"""The httpx transport that keeps llama.cpp's replies reproducible (see rag/llm.py's
LocalServer). Its own module: httpx is imported only where a chat model is built, not by
every question (~55 ms of an extractive `rag ask`, `python -X importtime`)."""

from __future__ import annotations

import json

import httpx


class PinnedHeadTransport(httpx.BaseTransport):
    """httpx transport to a LocalServer: each chat request starts from its pinned head, or
    continues the earlier request it names (LocalServer.prepare).

    The lock is released once the response headers arrive: the request is then queued in
    the server's only slot, so the next request's restore runs after it has finished."""

    def __init__(self, server):  # a LocalServer (rag/llm.py)
        self.server = server
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or not request.url.path.endswith("/chat/completions"):
            return self.inner.handle_request(request)
        body = json.loads(request.read() or b"{}")
        with self.server.turn:
            sent = self.server.prepare(body)
            if sent != body:
                headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"content-length"]
                request = httpx.Request(request.method, request.url, headers=headers,
                                        content=json.dumps(sent).encode(), extensions=request.extensions)
            try:
                response = self.inner.handle_request(request)
            except BaseException:
                self.server._holding = None  # whatever the slot holds now, it is not known
                raise
            if response.status_code != 200:
                self.server._holding = None
            return response

    def close(self) -> None:
        self.inner.close()
