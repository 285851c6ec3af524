"""What the page's events do, over one Pipeline: a conversation turn, the `/ask` endpoint,
uploads and the list of indexed documents, each for the user behind the event
(ui/identity.py): questions search only the collections they may read, uploads go to one
they may write to. Saved conversations are ui/saved.py's."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import gradio as gr

from index.collections import Grants
from rag import Answer, NoIndexError, Pipeline, RagError, TextDelta
from rag.access import readable_collections, writable_collections
from rag.answerers import WarmUp
from rag.model_queue import Waiting
from rag.team import Audit, User
from ui import render, uploads
from ui.identity import current_reader
from ui.login import client_ip

EMPTY_INDEX = "No documents are indexed yet: upload some in the Documents panel."


class Chat:
    def __init__(self, pipeline: Pipeline, reader_of: Callable[[gr.Request | None], User] = current_reader,
                 audit: Audit | None = None):
        """`reader_of` tells who sent a request (ui/identity.py); `audit`, where questions,
        uploads and removals are recorded (None: nowhere, as in tests of the page alone)."""
        self.pipeline = pipeline
        self.settings = pipeline.settings
        self.reader_of = reader_of
        self.audit = audit
        self.grants = Grants(self.settings.index_config)
        # Answers without a model are mostly SQLite and numpy: as many at once as there are
        # cores. Those with a model wait for its turn instead (rag/model_queue.py).
        self._cores = threading.BoundedSemaphore(os.cpu_count() or 1)

    def turn(
        self, question: str, messages: list, history: list, answerer: str, k: int,
        request: gr.Request | None = None,
    ) -> Iterator[tuple[str, list, list]]:
        """One question of the conversation: yields (question box, chat messages, history)
        while the answer streams in. `history` holds the plain question/answer text the
        pipeline uses for follow-ups; the messages hold what is shown."""
        for box, shown, history, _ in self.answering(question, messages, history, answerer, k,
                                                     self.reader_of(request), request):
            yield box, shown, history

    def answering(
        self, question: str, messages: list, history: list, answerer: str, k: int, reader: User,
        request: gr.Request | None = None,
    ) -> Iterator[tuple[str, list, list, Answer | None]]:
        """turn() for `reader` (who sent `request`), with the Answer once it is complete (None before)."""
        if not question.strip():
            yield question, messages, history, None
            return
        collections = self.readable(reader)
        shown = [*messages, {"role": "user", "content": render.question_html(question)}]
        yield "", [*shown, _assistant(render.pending_html(""))], history, None
        text, answer = "", None
        try:
            self._asked(reader, request, question, "chat")
            answerer, fallback = self._answerer_now(answerer)
            with self._running(answerer):
                for piece in self.pipeline.ask_stream(question, history=history, k=int(k), answerer=answerer,
                                                      collections=collections):
                    if isinstance(piece, Waiting):
                        yield "", [*shown, _assistant(render.waiting_html(piece))], history, None
                    elif isinstance(piece, TextDelta):
                        text += piece.text
                        yield "", [*shown, _assistant(render.pending_html(text))], history, None
                    else:
                        answer = _labelled(piece, fallback)
        except NoIndexError:
            yield "", [*shown, _assistant(render.error_html(EMPTY_INDEX))], history, None
            return
        except RagError as exc:
            yield "", [*shown, _assistant(render.error_html(f"Could not answer: {exc}"))], history, None
            return
        yield "", [*shown, _assistant(self.answer_html(answer, collections))], [*history, *history_of(answer)], answer

    def answer_html(self, answer: Answer, collections: list[str] | None) -> str:
        """An answer as shown, its surrounding text read from the collections given alone."""
        return render.answer_html(answer, lambda source: self.pipeline.document_text(source, collections))

    def readable(self, reader: User) -> list[str] | None:
        return readable_collections(reader, self.grants)

    def ask(self, question: str, request: gr.Request | None = None) -> dict:
        """Answer a question from the indexed documents, with the passages and exact
        citations it rests on (the dictionary of rag.Answer.to_dict())."""
        reader = self.reader_of(request)
        try:
            self._asked(reader, request, question, "api")
            answerer, fallback = self._answerer_now(None)
            with self._running(answerer):
                answer = self.pipeline.ask(question, answerer=answerer, collections=self.readable(reader))
                return _labelled(answer, fallback).to_dict()
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

    def upload(self, paths: list[str] | None, collection: str | None = None, request: gr.Request | None = None,
               progress=gr.Progress()):
        """-> (cleared upload box, report of each file, documents panel), into a collection
        the user may write to."""

        def on_progress(done, total, name):
            progress((done, total), desc=f"Indexing {name}", unit="files")

        reader = self.reader_of(request)
        writable = self.writable(reader)
        collection = collection or (writable[0] if writable else "")
        if collection not in writable:
            return None, render.error_html(f"You may not upload to the collection {collection!r}."), \
                self.documents(request)
        files = [(Path(path).name, Path(path)) for path in paths or []]
        results = uploads.add_documents(files, self.pipeline, on_progress, collection)
        for result in results:
            self._record(reader, request, "upload", name=result.name, collection=collection, ok=result.ok,
                         result=result.message)
        return None, render.upload_report_html(results), self.documents(request)

    def remove(self, source: str | None, request: gr.Request | None = None):
        """-> (status, documents panel); only from a collection the user may write to."""
        reader = self.reader_of(request)
        if not source:
            return render.error_html("Choose a document to remove."), self.documents(request)
        if source not in self._sources(self.writable(reader)):
            return render.error_html("You may not remove that document."), self.documents(request)
        message = uploads.remove_document(source, self.pipeline)
        self._record(reader, request, "remove", source=source, result=message)
        return render.text_html(message, "rag-status"), self.documents(request)

    def writable(self, reader: User) -> list[str]:
        """The collections `reader` may upload to, the first the upload box's default."""
        return writable_collections(reader, self.grants, self._collections())

    def collections(self, request: gr.Request | None = None) -> gr.Dropdown:
        """The upload box's choice of collections the user may write to."""
        writable = self.writable(self.reader_of(request))
        return gr.Dropdown(choices=writable, value=writable[0] if writable else None)

    def documents(self, request: gr.Request | None = None) -> gr.Radio:
        """The documents panel, read from the live index: those the user may read."""
        return gr.Radio(choices=self.document_choices(request), value=None)

    def document_choices(self, request: gr.Request | None = None) -> list[tuple[str, str]]:
        return uploads.indexed_documents(self._sources(self.readable(self.reader_of(request))))

    def open_index(self) -> None:
        """Open the live index now, if there is one (see build_app)."""
        self._sources(None)

    def _sources(self, collections: list[str] | None) -> list[str]:
        try:
            return self.pipeline.documents(collections)
        except NoIndexError:
            return []

    def _collections(self) -> list[str]:
        try:
            return list(self.pipeline.index.catalog.collection_sizes())
        except NoIndexError:
            return []

    def _asked(self, reader: User, request: gr.Request | None, question: str, where: str) -> None:
        if self.settings.audit_questions:
            self._record(reader, request, "question", question=question, via=where)

    def _record(self, reader: User, request: gr.Request | None, action: str, **detail) -> None:
        """An audit event by `reader`, who sent the request (nobody: the local admin of a
        server without logins)."""
        if self.audit is not None:
            self.audit.record(action, user=reader.name, ip=client_ip(request), **detail)


def history_of(answer: Answer) -> list[dict]:
    """A turn as the pipeline reads it for follow-ups: the plain question and answer text."""
    return [{"role": "user", "content": answer.question}, {"role": "assistant", "content": answer.answer}]


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
