"""The page's saved conversations (rag/saved_conversations.py): each turn is saved as it is
answered, and the sidebar lists the user's conversations to reopen, rename, delete or
export as Markdown or JSON, citations included."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import gradio as gr

from rag.errors import ConversationError
from rag.saved_conversations import Conversation, Conversations
from ui import render
from ui.chat import Chat, history_of
from ui.uploads import safe_name


class SavedChats:
    def __init__(self, chat: Chat):
        self.chat = chat
        settings = chat.settings
        self.store = Conversations(settings.index_config, settings.admins_see_conversations)

    def turn(self, question: str, messages: list, history: list, answerer: str, k: int, conversation: str | None,
             request: gr.Request | None = None) -> Iterator[tuple]:
        """Chat.turn, saving the answer: yields (question box, messages, history,
        conversation id, sidebar, title box); a new conversation is titled by its question."""
        reader = self.chat.reader_of(request)
        for box, shown, history, answer in self.chat.answering(question, messages, history, answerer, k, reader,
                                                                   request):
            if answer is None:
                yield box, shown, history, conversation, gr.skip(), gr.skip()
                continue
            if conversation:
                try:
                    self.store.add_turn(reader, conversation, answer)
                except ConversationError:
                    conversation = None  # another's, read with RAG_ADMINS_SEE_CONVERSATIONS: go on in one's own
            title = gr.skip()
            if conversation is None:
                conversation = self.store.start(reader, answer.question)
                self.store.add_turn(reader, conversation, answer)
                title = self.store.get(reader, conversation).title
            yield box, shown, history, conversation, self.sidebar(request, conversation), title

    def sidebar(self, request: gr.Request | None = None, selected: str | None = None) -> gr.Radio:
        """The user's saved conversations, latest first."""
        listed = self.store.list(self.chat.reader_of(request))
        return gr.Radio(choices=[(c.title, c.id) for c in listed], value=selected)

    def open(self, conversation: str | None, request: gr.Request | None = None):
        """-> (messages, history, conversation id, title box) of a saved conversation."""
        if not conversation:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        reader = self.chat.reader_of(request)
        saved = self._get(conversation, request)
        readable = self.chat.readable(reader)
        messages, history = [], []
        for answer in saved.turns:
            messages += [{"role": "user", "content": render.question_html(answer.question)},
                         {"role": "assistant", "content": self.chat.answer_html(answer, readable)}]
            history += history_of(answer)
        return messages, history, saved.id, saved.title

    def rename(self, conversation: str | None, title: str, request: gr.Request | None = None) -> gr.Radio:
        if conversation:
            self._changing(lambda: self.store.rename(self.chat.reader_of(request), conversation, title))
        return self.sidebar(request, conversation)

    def delete(self, conversation: str | None, request: gr.Request | None = None):
        """-> (messages, history, conversation id, title box, sidebar), the chat emptied."""
        if conversation:
            self._changing(lambda: self.store.delete(self.chat.reader_of(request), conversation))
        return [], [], None, "", self.sidebar(request)

    def export_markdown(self, conversation: str | None, request: gr.Request | None = None) -> str | None:
        return self.export(conversation, False, request)

    def export_json(self, conversation: str | None, request: gr.Request | None = None) -> str | None:
        return self.export(conversation, True, request)

    def export(self, conversation: str | None, as_json: bool, request: gr.Request | None = None) -> str | None:
        """A file of the conversation, Markdown or JSON, with its citations; None without one."""
        if not conversation:
            return None
        saved = self._get(conversation, request)
        suffix, text = (".json", json.dumps(saved.to_dict(), ensure_ascii=False, indent=1)) if as_json \
            else (".md", saved.to_markdown())
        path = Path(tempfile.mkdtemp(prefix="rag-export-")) / (Path(safe_name(saved.title)).stem + suffix)
        path.write_text(text, encoding="utf-8")
        return str(path)

    def _get(self, conversation: str, request: gr.Request | None) -> Conversation:
        try:
            return self.store.get(self.chat.reader_of(request), conversation)
        except ConversationError as exc:
            raise gr.Error(str(exc)) from exc

    @staticmethod
    def _changing(change) -> None:
        try:
            change()
        except ConversationError as exc:
            raise gr.Error(str(exc)) from exc
