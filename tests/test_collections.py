"""Collections and grants, on both catalog backends: a user's answers come only from the
collections granted to them, in every part of the response (answer, passages, citations,
surrounding text), whatever ranks best elsewhere."""

from __future__ import annotations

import json
import sqlite3

import pytest

from index import IndexConfig, ingest, open_index
from index.collections import Grants, check_name, live_collection_sizes
from index.errors import CollectionError
from index.store import open_catalogs, writing
from rag import Pipeline, Settings
from rag.access import readable_collections
from rag.team import User, open_team

OWLS = "Barn owls hunt voles at night. Their hearing finds prey under snow."
MERGER = "The secret merger codename is Bluefin. Payroll rises nine percent in March after the merger."
GUIDE = "To reset the router, hold the small button for ten seconds until the light blinks amber."
ANN, BOB = User("ann", False), User("bob", False)


@pytest.fixture
def team(index_config, tmp_path):
    """`birds` (owls, and the router guide deep in folders) readable by ann; `board` (the
    merger, and the same router guide at a shallower path) readable by bob."""
    birds, board = tmp_path / "birds", tmp_path / "board"
    (birds / "manuals" / "network").mkdir(parents=True)
    board.mkdir()
    (birds / "owls.txt").write_text(OWLS)
    (birds / "manuals" / "network" / "router.txt").write_text(GUIDE)
    (board / "merger.txt").write_text(MERGER)
    (board / "router.txt").write_text(GUIDE)
    assert ingest([birds], index_config, collection="birds").errors == []
    assert ingest([board], index_config, collection="board").errors == []
    grants = Grants(index_config)
    existing = set(live_collection_sizes(index_config))
    grants.grant("birds", "ann", "read", existing)
    grants.grant("board", "bob", "write", existing)
    settings = Settings(home=index_config.home, database_url=index_config.database_url, answerer="extractive")
    return Pipeline(settings), grants, board


def response_text(pipeline: Pipeline, question: str, collections) -> str:
    """Everything a response carries but the question: the answer with its passages,
    citations and checks, and the surrounding text of each passage as the web chat shows it."""
    answer = pipeline.ask(question, collections=collections).to_dict()
    around = [pipeline.document_text(p["source"], collections) for p in answer["passages"]]
    return json.dumps([{key: value for key, value in answer.items() if key != "question"}, around])


def test_the_best_answer_in_a_forbidden_collection_never_reaches_the_user(team):
    pipeline, grants, board = team
    question = "What is the secret merger codename?"
    assert "Bluefin" in response_text(pipeline, question, None), "an admin finds it: the test can fail"
    shown = response_text(pipeline, question, readable_collections(ANN, grants))
    assert "Bluefin" not in shown and "merger" not in shown.lower() and str(board) not in shown
    assert "Bluefin" in response_text(pipeline, question, readable_collections(BOB, grants))


def test_a_copy_in_a_forbidden_collection_is_never_cited(team, tmp_path):
    pipeline, grants, board = team
    question = "How do I reset the router?"
    everyone = pipeline.ask(question).passages[0].source
    assert everyone == str(board / "router.txt"), "the shallower copy is cited when all may be read"
    passages = pipeline.ask(question, collections=readable_collections(ANN, grants)).passages
    assert passages[0].source == str(tmp_path / "birds" / "manuals" / "network" / "router.txt")
    assert all(not p.source.startswith(str(board)) for p in passages)


def test_each_search_side_alone_keeps_to_the_collections(team):
    pipeline, grants, board = team
    with open_index(pipeline.settings.index_config) as index:
        keyword = index.keyword_search("secret merger codename Bluefin", 10, ["birds"])
        dense, _ = index.vector_search(pipeline.embedder.embed_query("secret merger codename"), 10, ["birds"])
        found = index.chunks([i for i, _ in keyword + dense])
        assert found and {c.collection for c in found.values()} == {"birds"}
        assert index.keyword_search("Bluefin", 10, []) == []
        assert index.document_text(str(board / "merger.txt"), ["birds"]) is None
        assert index.documents(["birds"]) and not any("board" in s for s in index.documents(["birds"]))


def test_a_user_without_grants_reads_nothing(team):
    pipeline, grants, _ = team
    answer = pipeline.ask("What is the secret merger codename?", collections=readable_collections(
        User("carol", False), grants))
    assert answer.passages == [] and answer.citations == []


def test_grants_are_listed_replaced_and_revoked(team):
    _, grants, _ = team
    config = team[0].settings.index_config
    grants.grant("birds", "ann", "write", set(live_collection_sizes(config)))
    assert [(g.collection, g.user, g.access) for g in grants.all()] == [
        ("birds", "ann", "write"), ("board", "bob", "write")]
    assert grants.revoke("birds", "ann") and not grants.revoke("birds", "ann")
    assert grants.readable("ann") == [] and live_collection_sizes(config) == {"birds": (2, 2), "board": (2, 2)}


def test_a_grant_on_a_missing_collection_is_a_clear_error_and_changes_nothing(team):
    _, grants, _ = team
    before = grants.all()
    with pytest.raises(CollectionError, match="no collection 'nowhere'.*rag ingest --collection nowhere"):
        grants.grant("nowhere", "ann", "read", {"birds", "board"})
    assert grants.all() == before


@pytest.mark.parametrize("name", ["../x", "a/b", "a\\b", "", "x" * 65, "white space", "."])
def test_a_collection_name_with_path_characters_is_a_clear_error(name, rag_home, tmp_path):
    with pytest.raises(CollectionError, match="not a collection name"):
        check_name(name)
    (tmp_path / "a.txt").write_text(OWLS)
    with pytest.raises(CollectionError, match="not a collection name"):
        ingest([tmp_path / "a.txt"], IndexConfig(rag_home), collection=name)
    assert open_catalogs(IndexConfig(rag_home)).live() is None, "nothing was indexed"


def test_a_document_stays_in_its_collection(team, tmp_path):
    pipeline, _, board = team
    config = pipeline.settings.index_config
    report = ingest([board / "merger.txt"], config, collection="birds")
    assert "already in collection 'board'" in report.errors[0]["error"]
    with open_index(config) as index:
        assert str(board / "merger.txt") in index.documents(["board"])


def _drop_collections(config: IndexConfig) -> None:
    """What an index made before collections looks like: no collection columns, schema 4,
    and vectors stored without a collection beside them."""
    with open_index(config) as index:
        store = index.backend.client.get_collection(index.vectors.name, embedding_function=None)
        got = store.get(include=["embeddings"])
        store.delete(ids=got["ids"])
        store.add(ids=got["ids"], embeddings=got["embeddings"])
    statements = ["DROP INDEX chunks_collection", "ALTER TABLE chunks DROP COLUMN collection",
                  "ALTER TABLE documents DROP COLUMN collection", "UPDATE meta SET value = '4' WHERE key = 'schema'"]
    generation = open_catalogs(config).live()
    if config.database_url:
        import psycopg

        with psycopg.connect(config.database_url, options=f"-c search_path=rag_{generation}") as db:
            for statement in statements:
                db.execute(statement)
        return
    db = sqlite3.connect(config.home / f"catalog-{generation}.sqlite")
    with db:
        for statement in statements:
            db.execute(statement)
    db.close()


def test_an_index_from_before_collections_keeps_its_documents_in_default(index_config, tmp_path):
    (tmp_path / "owls.txt").write_text(OWLS)
    ingest([tmp_path / "owls.txt"], index_config)
    _drop_collections(index_config)
    with writing(index_config, embedder=lambda: pytest.fail("migrating loaded the embedding model")):
        pass
    assert live_collection_sizes(index_config) == {"default": (1, 1)}
    with open_index(index_config) as index:
        assert set(index.vectors.labels().values()) == {"default"}
        assert index.keyword_search("voles", 3, ["default"]) and index.keyword_search("voles", 3, ["x"]) == []
        assert index.check(full=False).healthy


def test_the_collections_commands(rag_home, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from rag.cli import cli

    monkeypatch.setenv("RAG_HOME", str(rag_home))
    (tmp_path / "board").mkdir()
    (tmp_path / "board" / "merger.txt").write_text(MERGER)
    (tmp_path / "owls.txt").write_text(OWLS)
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", "--json", "--collection", "board", str(tmp_path / "board")]).exit_code == 0
    assert runner.invoke(cli, ["ingest", "--json", str(tmp_path / "owls.txt")]).exit_code == 0
    unknown = runner.invoke(cli, ["collections", "grant", "board", "bob", "--write"])
    assert unknown.exit_code == 1 and "no account named 'bob'" in unknown.output
    assert runner.invoke(cli, ["users", "add", "bob", "--generate"]).exit_code == 0
    granted = runner.invoke(cli, ["collections", "grant", "board", "bob", "--write"])
    assert granted.exit_code == 0 and "bob may now write board" in granted.output
    missing = runner.invoke(cli, ["collections", "grant", "nowhere", "bob"])
    assert missing.exit_code == 1 and "no collection 'nowhere'" in missing.output
    bad = runner.invoke(cli, ["ingest", "--collection", "../x", str(tmp_path / "owls.txt")])
    assert bad.exit_code == 1 and "not a collection name: '../x'" in bad.output
    listed = runner.invoke(cli, ["collections", "list", "--json"])
    assert json.loads(listed.output) == {
        "board": {"documents": 1, "chunks": 1, "grants": [{"user": "bob", "access": "write"}]},
        "default": {"documents": 1, "chunks": 1, "grants": []}}
    assert "board: 1 documents, 1 chunks; bob (write)" in runner.invoke(cli, ["collections", "list"]).output
    assert "bob may no longer read board" in runner.invoke(cli, ["collections", "revoke", "board", "bob"]).output
    assert Grants(IndexConfig(rag_home)).all() == []
    actions = [(e.action, e.detail.get("account")) for e in open_team(Settings.from_env()).audit.events()]
    assert actions == [("user added", "bob"), ("grant", "bob"), ("revoke", "bob")]


def test_check_repair_gives_the_vectors_the_catalogs_collections(index_config, tmp_path):
    from index import check_index

    (tmp_path / "owls.txt").write_text(OWLS)
    ingest([tmp_path / "owls.txt"], index_config, collection="birds")
    with open_index(index_config) as index:
        store = index.backend.client.get_collection(index.vectors.name, embedding_function=None)
        store.update(ids=store.get()["ids"], metadatas=[{"collection": "board"}])
    assert check_index(index_config).vectors_missing == 1, "a vector labelled with another collection"
    assert check_index(index_config, repair=True).repaired
    with open_index(index_config) as index:
        assert set(index.vectors.labels().values()) == {"birds"}


def test_rag_eval_answers_from_the_collection_given(rag_home, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from rag.cli import cli

    monkeypatch.setenv("RAG_HOME", str(rag_home))
    (tmp_path / "board").mkdir()
    (tmp_path / "board" / "merger.txt").write_text(MERGER)
    (tmp_path / "owls.txt").write_text(OWLS)
    ingest([tmp_path / "board"], IndexConfig(rag_home), collection="board")
    ingest([tmp_path / "owls.txt"], IndexConfig(rag_home))
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"question": "What is the secret merger codename?", "answers": ["Bluefin"]}) + "\n")
    runner = CliRunner()
    metrics = {}
    for collection in ("board", "default"):
        result = runner.invoke(cli, ["eval", str(gold), "--json", "--collection", collection])
        assert result.exit_code == 0, result.output
        metrics[collection] = json.loads(result.output)["metrics"]
    assert metrics["board"]["answers"]["correct"] == 1.0, "answered from `board`"
    assert metrics["default"]["refusal"]["answerable_refused"] == 1.0, "`default` alone does not answer it"


def test_uploads_and_removals_need_a_write_grant(team, tmp_path):
    from ui.chat import Chat
    from ui.uploads import upload_folder

    pipeline, _, board = team
    received = tmp_path / "received" / "minutes.txt"
    received.parent.mkdir()
    received.write_text("The board minutes record a vote on the harbour lease.")
    audit = open_team(pipeline.settings).audit
    as_ann, as_bob = Chat(pipeline, lambda request: ANN, audit), Chat(pipeline, lambda request: BOB, audit)
    assert as_ann.writable(ANN) == [] and as_bob.writable(BOB) == ["board"]
    _, report, _ = as_ann.upload([str(received)], "board")
    assert "may not upload" in report and not (upload_folder(pipeline.settings, "board") / "minutes.txt").exists()
    status, _ = as_ann.remove(str(board / "merger.txt"))
    assert "may not remove" in status and str(board / "merger.txt") in pipeline.documents(["board"])
    _, report, _ = as_bob.upload([str(received)], "board")
    stored = upload_folder(pipeline.settings, "board") / "minutes.txt"
    assert "indexed" in report and str(stored) in pipeline.documents(["board"])
    assert as_ann.document_choices() == [("owls.txt", str(tmp_path / "birds" / "owls.txt")),
                                         ("router.txt", str(tmp_path / "birds" / "manuals" / "network" / "router.txt"))]
    as_bob.ask("What does the board record a vote on?")
    as_bob.remove(str(stored))
    # Each recorded once, by its user; ann's refused attempts changed nothing and are not uploads.
    events = [(e.action, e.user, e.detail.get("collection")) for e in audit.events()]
    assert events == [("upload", "bob", "board"), ("question", "bob", None), ("remove", "bob", None)]
