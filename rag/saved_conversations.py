"""Saved conversations: each user's questions and answers, kept server-side in the durable
tables (index/catalog/durable.py), so they survive a restart and every replica sees them.

A turn is stored as the Answer's dictionary, citations with their quotes and offsets
included, appended as its own row (two replicas appending to one conversation never
overwrite each other). A user sees only their own conversations; with
RAG_ADMINS_SEE_CONVERSATIONS an admin may also read (not change) everyone's.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

from index import IndexConfig
from index.store import open_durable
from rag.answer import Answer, place
from rag.errors import ConversationError
from rag.team.accounts import User

MAX_TITLE_CHARS = 80


@dataclass(frozen=True)
class Summary:
    id: str
    owner: str
    title: str
    updated: float


@dataclass(frozen=True)
class Conversation:
    id: str
    owner: str
    title: str
    turns: list[Answer]

    def to_dict(self) -> dict:
        return {"id": self.id, "owner": self.owner, "title": self.title,
                "turns": [turn.to_dict() for turn in self.turns]}

    def to_markdown(self) -> str:
        """The questions, answers and their citations (quote, source, offsets) as Markdown."""
        lines = [f"# {self.title}", ""]
        for turn in self.turns:
            lines += [f"## {turn.question}", "", turn.answer, ""]
            for c in turn.citations:
                where = ", ".join(part for part in (c.source, place(c), f"chars {c.start}-{c.end}") if part)
                lines.append(f"- [{c.n}] {where}: \u201c{c.quote}\u201d")
            lines.append("")
        return "\n".join(lines)


def _owner(reader: User) -> str:
    return reader.name or ""  # the local admin of a chat without accounts


class Conversations:
    def __init__(self, config: IndexConfig, admins_see_all: bool = False):
        self.db = open_durable(config)
        self.admins_see_all = admins_see_all

    def start(self, reader: User, first_question: str) -> str:
        """A new conversation of `reader`'s, titled by its first question; its id."""
        conversation = uuid.uuid4().hex
        now = time.time()
        self.db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?)",
                        (conversation, _owner(reader), _title(first_question), now, now))
        return conversation

    def add_turn(self, reader: User, conversation: str, answer: Answer) -> None:
        self._own(reader, conversation)
        with self.db.transaction():
            n = self.db.execute("SELECT coalesce(max(n), 0) + 1 FROM conversation_turns WHERE conversation = ?",
                                (conversation,)).fetchone()[0]
            self.db.execute("INSERT INTO conversation_turns VALUES (?, ?, ?)",
                            (conversation, n, json.dumps(answer.to_dict(), ensure_ascii=False)))
            self.db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (time.time(), conversation))

    def list(self, reader: User) -> list[Summary]:
        """The conversations `reader` may see, latest first."""
        everyone = reader.is_admin and self.admins_see_all
        rows = self.db.execute(
            "SELECT id, owner, title, updated FROM conversations"
            + ("" if everyone else " WHERE owner = ?") + " ORDER BY updated DESC, id",
            () if everyone else (_owner(reader),)).fetchall()
        return [Summary(*row) for row in rows]

    def get(self, reader: User, conversation: str) -> Conversation:
        owner, title = self._visible(reader, conversation)
        rows = self.db.execute("SELECT answer FROM conversation_turns WHERE conversation = ? ORDER BY n",
                               (conversation,)).fetchall()
        return Conversation(conversation, owner, title, [Answer.from_dict(json.loads(row[0])) for row in rows])

    def rename(self, reader: User, conversation: str, title: str) -> None:
        self._own(reader, conversation)
        if not title.strip():
            raise ConversationError("a conversation's title cannot be empty")
        self.db.execute("UPDATE conversations SET title = ? WHERE id = ?", (_title(title), conversation))

    def delete(self, reader: User, conversation: str) -> None:
        self._own(reader, conversation)
        with self.db.transaction():
            self.db.execute("DELETE FROM conversation_turns WHERE conversation = ?", (conversation,))
            self.db.execute("DELETE FROM conversations WHERE id = ?", (conversation,))

    def _visible(self, reader: User, conversation: str) -> tuple[str, str]:
        """(owner, title) of a conversation `reader` may read; anything else is "no such
        conversation", so ids of others' conversations cannot be probed."""
        row = self.db.execute("SELECT owner, title FROM conversations WHERE id = ?", (conversation,)).fetchone()
        if row is None or not (row[0] == _owner(reader) or (reader.is_admin and self.admins_see_all)):
            raise ConversationError(f"no saved conversation {conversation!r}")
        return row[0], row[1]

    def _own(self, reader: User, conversation: str) -> None:
        owner, _ = self._visible(reader, conversation)
        if owner != _owner(reader):
            raise ConversationError("only its owner can change a conversation")


def _title(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TITLE_CHARS else text[: MAX_TITLE_CHARS - 1] + "\u2026"
