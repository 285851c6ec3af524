"""What the page's events do, over one Pipeline: a conversation turn, the `/ask` endpoint,
uploads and the list of indexed documents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gradio as gr

from rag import NoIndexError, Pipeline, RagError, TextDelta
from ui import render, uploads

EMPTY_INDEX = "No documents are indexed yet: upload some in the Documents panel."


class Chat:
    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline
        self.settings = pipeline.settings

    def turn(
        self, question: str, messages: list, history: list, answerer: str, k: int
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
            for piece in self.pipeline.ask_stream(question, history=history, k=int(k), answerer=answerer):
                if isinstance(piece, TextDelta):
                    text += piece.text
                    yield "", [*shown, _assistant(render.pending_html(text))], history
                else:
                    answer = piece
        except NoIndexError:
            yield "", [*shown, _assistant(render.error_html(EMPTY_INDEX))], history
            return
        except RagError as exc:
            yield "", [*shown, _assistant(render.error_html(f"Could not answer: {exc}"))], history
            return
        content = render.answer_html(answer, self._document_text)
        turn = [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer}]
        yield "", [*shown, _assistant(content)], [*history, *turn]

    def ask(self, question: str) -> dict:
        """Answer a question from the indexed documents, with the passages and exact
        citations it rests on (the dictionary of rag.Answer.to_dict())."""
        try:
            return self.pipeline.ask(question).to_dict()
        except NoIndexError as exc:
            raise gr.Error(EMPTY_INDEX) from exc
        except RagError as exc:
            raise gr.Error(str(exc)) from exc

    def upload(self, paths: list[str] | None, progress=gr.Progress()):
        """-> (cleared upload box, report of each file, documents panel)"""

        def on_progress(done, total, name):
            progress((done, total), desc=f"Indexing {name}", unit="files")

        files = [(Path(path).name, Path(path)) for path in paths or []]
        results = uploads.add_documents(files, self.pipeline, on_progress)
        return None, render.upload_report_html(results), self.documents()

    def remove(self, source: str | None):
        """-> (status, documents panel)"""
        if not source:
            return render.error_html("Choose a document to remove."), self.documents()
        message = uploads.remove_document(source, self.pipeline)
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

    def _document_text(self, source: str) -> str | None:
        return self.pipeline.document_text(source)


def _assistant(content: str) -> dict:
    return {"role": "assistant", "content": content}
