"""What the page's events do, over one Pipeline: a conversation turn, the `/ask` endpoint,
uploads and the list of indexed documents."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import gradio as gr

from rag import Answer, NoIndexError, Pipeline, RagError, TextDelta
from rag.answerers import WarmUp
from rag.model_queue import Waiting
from rag.team import Audit
from ui import render, uploads
from ui.login import client_ip

EMPTY_INDEX = "No documents are indexed yet: upload some in the Documents panel."


class Chat:
    def __init__(self, pipeline: Pipeline, audit: Audit | None = None):
        self.pipeline = pipeline
        self.settings = pipeline.settings
        self.audit = audit
        # Answers without a model are mostly SQLite and numpy: as many at once as there are
        # cores. Those with a model wait for its turn instead (rag/model_queue.py).
        self._cores = threading.BoundedSemaphore(os.cpu_count() or 1)

    def turn(
        self, question: str, messages: list, history: list, answerer: str, k: int, request: gr.Request = None
    ) -> Iterator[tuple[str, list, list]]:
        """One question of the conversation: yields (question box, chat messages, history)
        while the answer streams in. `history` holds the plain question/answer text the
        pipeline uses for follow-ups; the messages hold what is shown."""
        if not question.strip():
            yield question, messages, history
            return
        shown = [*messages, {"role": "user", "content": render.question_html(question)}]
        yield "", [*shown, _assistant(render.pending_html(""))], history
        text, answer = "", None
        try:
            self._asked(request, question, "chat")
            answerer, fallback = self._answerer_now(answerer)
            with self._running(answerer):
                for piece in self.pipeline.ask_stream(question, history=history, k=int(k), answerer=answerer):
                    if isinstance(piece, Waiting):
                        yield "", [*shown, _assistant(render.waiting_html(piece))], history
                    elif isinstance(piece, TextDelta):
                        text += piece.text
                        yield "", [*shown, _assistant(render.pending_html(text))], history
                    else:
                        answer = _labelled(piece, fallback)
        except NoIndexError:
            yield "", [*shown, _assistant(render.error_html(EMPTY_INDEX))], history
            return
        except RagError as exc:
            yield "", [*shown, _assistant(render.error_html(f"Could not answer: {exc}"))], history
            return
        content = render.answer_html(answer, self._document_text)
        turn = [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer}]
        yield "", [*shown, _assistant(content)], [*history, *turn]

    def ask(self, question: str, request: gr.Request = None) -> dict:
        """Answer a question from the indexed documents, with the passages and exact
        citations it rests on (the dictionary of rag.Answer.to_dict())."""
        try:
            self._asked(request, question, "api")
            answerer, fallback = self._answerer_now(None)
            with self._running(answerer):
                return _labelled(self.pipeline.ask(question, answerer=answerer), fallback).to_dict()
        except NoIndexError as exc:
            raise gr.Error(EMPTY_INDEX) from exc
        except RagError as exc:
            raise gr.Error(str(exc)) from exc

    def warm_up(self, answerer: str | None = None) -> WarmUp:
        """Start loading the answerer's model in the background (once; see Answerers)."""
        return self.pipeline.answerers.warm_in_background(answerer)

    def model_status(self, answerer: str) -> tuple[str, gr.Timer]:
        """-> (status line of the answerer's model, the timer that polls it until it has loaded)"""
        warm_up = self.warm_up(answerer)
        return render.model_status_html(*_status(warm_up)), gr.Timer(active=not warm_up.finished)

    def _answerer_now(self, answerer: str | None) -> tuple[str, str | None]:
        """The answerer to use for a question asked now, and why it is not the one asked
        for: the extractive one answers while a model loads (or after it failed to)."""
        warm_up = self.warm_up(answerer)
        return (warm_up.name, None) if warm_up.ready else ("extractive", _fallback_note(warm_up))

    def _running(self, answerer: str) -> contextlib.AbstractContextManager:
        """What a question holds while it is answered: one of the cores, unless its answerer
        calls a model, whose turn it waits for in the pipeline."""
        return self._cores if self.pipeline.answerers.queue(answerer) is None else contextlib.nullcontext()

    def upload(self, paths: list[str] | None, request: gr.Request = None, progress=gr.Progress()):
        """-> (cleared upload box, report of each file, documents panel)"""

        def on_progress(done, total, name):
            progress((done, total), desc=f"Indexing {name}", unit="files")

        files = [(Path(path).name, Path(path)) for path in paths or []]
        results = uploads.add_documents(files, self.pipeline, on_progress)
        for result in results:
            self._record(request, "upload", name=result.name, ok=result.ok, result=result.message)
        return None, render.upload_report_html(results), self.documents()

    def remove(self, source: str | None, request: gr.Request = None):
        """-> (status, documents panel)"""
        if not source:
            return render.error_html("Choose a document to remove."), self.documents()
        message = uploads.remove_document(source, self.pipeline)
        self._record(request, "remove", source=source, result=message)
        return render.text_html(message, "rag-status"), self.documents()

    def documents(self) -> gr.Radio:
        """The documents panel, read from the live index."""
        return gr.Radio(choices=self.document_choices(), value=None)

    def document_choices(self) -> list[tuple[str, str]]:
        try:
            sources = self.pipeline.documents()
        except NoIndexError:
            sources = []
        return uploads.indexed_documents(sources)

    def _asked(self, request: gr.Request | None, question: str, where: str) -> None:
        if self.settings.audit_questions:
            self._record(request, "question", question=question, via=where)

    def _record(self, request: gr.Request | None, action: str, **detail) -> None:
        """An audit event by whoever sent the request (nobody on a server without logins)."""
        if self.audit is not None:
            self.audit.record(action, user=getattr(request, "username", None), ip=client_ip(request), **detail)

    def _document_text(self, source: str) -> str | None:
        return self.pipeline.document_text(source)


def _labelled(answer: Answer, fallback: str | None) -> Answer:
    """The answer, saying in its checks why another answerer gave it (shown in the page and
    returned by /ask)."""
    return replace(answer, checks={**answer.checks, "fallback": fallback}) if fallback else answer


def _fallback_note(warm_up: WarmUp) -> str:
    why = "is still loading" if warm_up.error is None else f"could not load ({warm_up.error})"
    return f"Answered extractively: the {warm_up.name} answerer's model {why}."


def _status(warm_up: WarmUp) -> tuple[str, str]:
    """-> (what to say about the answerer's model, its state: loading, ready or failed)"""
    if not warm_up.needs_loading:
        return "", "ready"
    if not warm_up.finished:
        return (f"Loading the model of the {warm_up.name} answerer\u2026 "
                "Questions are answered extractively until it is ready."), "loading"
    if warm_up.error is None:
        return (f"The {warm_up.name} answerer is ready "
                f"(its model loaded and warmed up in {warm_up.seconds:.0f} s)."), "ready"
    return (f"The {warm_up.name} answerer's model could not load: {warm_up.error}. "
            "Questions are answered extractively."), "failed"


def _assistant(content: str) -> dict:
    return {"role": "assistant", "content": content}
