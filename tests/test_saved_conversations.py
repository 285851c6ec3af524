"""Saved conversations on both catalog backends: per user, private (admins included unless
RAG_ADMINS_SEE_CONVERSATIONS), kept across processes, exported with their citations."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rag.team import User
from rag.errors import ConversationError
from rag.saved_conversations import Conversations

ANN, BOB, ADMIN = User("ann", False), User("bob", False), User("root", True)


@pytest.fixture(scope="module")
def answers(seed_pipeline):
    return [seed_pipeline.ask("Who founded DeepSeek?"), seed_pipeline.ask("Where is DeepSeek based?")]


@pytest.fixture
def store(index_config):
    return Conversations(index_config)


def test_a_conversation_is_saved_and_listed_for_its_owner_alone(store, index_config, answers):
    saved = store.start(ANN, answers[0].question)
    for answer in answers:
        store.add_turn(ANN, saved, answer)
    assert [(c.id, c.title) for c in store.list(ANN)] == [(saved, "Who founded DeepSeek?")]
    assert store.get(ANN, saved).turns == answers
    assert store.list(BOB) == [] and store.list(ADMIN) == []
    for reader in (BOB, ADMIN):
        with pytest.raises(ConversationError, match="no saved conversation"):
            store.get(reader, saved)
        with pytest.raises(ConversationError):
            store.delete(reader, saved)
    assert len(Conversations(index_config, admins_see_all=True).list(ADMIN)) == 1
    assert Conversations(index_config, admins_see_all=True).list(BOB) == []


def test_rename_and_delete(store, answers):
    saved = store.start(ANN, "first")
    store.add_turn(ANN, saved, answers[0])
    store.rename(ANN, saved, "  DeepSeek   founders ")
    assert store.get(ANN, saved).title == "DeepSeek founders"
    with pytest.raises(ConversationError, match="cannot be empty"):
        store.rename(ANN, saved, "  ")
    store.delete(ANN, saved)
    assert store.list(ANN) == []
    with pytest.raises(ConversationError):
        store.get(ANN, saved)


def test_conversations_survive_a_fresh_process(store, index_config, answers):
    saved = store.start(ANN, answers[0].question)
    store.add_turn(ANN, saved, answers[0])
    program = ("import sys, json; from index import IndexConfig; from rag.team import User;"
               " from rag.saved_conversations import Conversations;"
               " config = IndexConfig(sys.argv[1], database_url=sys.argv[2] or None);"
               " c = Conversations(config).get(User('ann', False), sys.argv[3]);"
               " print(json.dumps(c.to_dict()))")
    done = subprocess.run([sys.executable, "-c", program, str(index_config.home), index_config.database_url or "",
                           saved], env=os.environ, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["turns"][0]["citations"] == json.loads(json.dumps(answers[0].to_dict()))["citations"]


def test_exports_carry_the_citations_with_their_exact_offsets(store, answers, seed_pipeline):
    saved = store.start(ANN, answers[0].question)
    store.add_turn(ANN, saved, answers[0])
    conversation = store.get(ANN, saved)
    citations = answers[0].citations
    assert citations
    exported = json.loads(json.dumps(conversation.to_dict()))["turns"][0]["citations"]
    for c in exported:
        assert seed_pipeline.document_text(c["source"])[c["start"]:c["end"]] == c["quote"]
    markdown = conversation.to_markdown()
    for c in citations:
        assert f"chars {c.start}-{c.end}" in markdown and c.quote in markdown and c.source in markdown


@pytest.mark.server
def test_replicas_starting_together_all_get_the_tables(postgres, rag_home):
    import threading

    from index import IndexConfig
    from index.catalog.postgres import PostgresDurable

    url, failures = postgres.new_database(), []

    def start() -> None:
        try:
            PostgresDurable(url, "rag_durable_data", 1).create_tables()  # each a replica of its own
        except Exception as exc:  # noqa: BLE001 (what failed is the assertion's message)
            failures.append(repr(exc))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert Conversations(IndexConfig(rag_home, database_url=url)).list(ANN) == []
