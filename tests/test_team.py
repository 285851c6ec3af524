"""Accounts, tokens, sessions, the throttling rule and the audit log over both catalog
backends, with a hand-moved clock; and the `rag users|tokens|audit` commands' errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from index.catalog.team import TeamStore
from index.store import open_durable
from rag.cli import cli
from rag.settings import Settings
from rag.team import AccountError, Accounts, Audit, Sessions, Throttle
from rag.team.accounts import User

PASSWORD = "correct horse battery"
WINDOW = 60.0


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(index_config):
    return TeamStore(open_durable(index_config))


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_an_account_logs_in_with_its_password_only(store):
    accounts = Accounts(store)
    assert accounts.add("ana", PASSWORD, is_admin=True) == User("ana", True)
    assert accounts.verify("ana", PASSWORD) == User("ana", True)
    assert accounts.verify("ana", "wrong password") is None
    assert accounts.verify("nobody", PASSWORD) is None
    assert store.user("ana")[1].startswith("$argon2id$")


def test_a_duplicate_account_is_refused_and_the_first_keeps_its_password(store):
    accounts = Accounts(store)
    accounts.add("ana", PASSWORD)
    with pytest.raises(AccountError, match="already exists"):
        accounts.add("ana", "another password", is_admin=True)
    assert accounts.verify("ana", PASSWORD) == User("ana", False)


@pytest.mark.parametrize("name", ["", "../etc", "a b", "ana/x", "<b>", "x" * 65])
def test_names_are_letters_digits_dots_dashes_underscores(store, name):
    with pytest.raises(AccountError, match="not an account name"):
        Accounts(store).add(name, PASSWORD)
    assert store.users() == []


def test_removing_a_user_ends_their_sessions_and_tokens(store, clock):
    accounts, sessions = Accounts(store, clock), Sessions(store, 1, clock)
    user = accounts.add("ben", PASSWORD)
    session, token = sessions.start(user), accounts.create_token("ben", "laptop")
    assert sessions.user(session) == user and accounts.user_for_token(token) == user
    accounts.remove("ben")
    assert sessions.user(session) is None and accounts.user_for_token(token) is None
    assert store.tokens("ben") == []
    with pytest.raises(AccountError, match="no account named 'ben'"):
        accounts.remove("ben")


def test_removing_a_user_takes_their_grants_and_conversations(store, index_config):
    from index.collections import Grants
    from rag.saved_conversations import Conversations

    accounts, grants, conversations = Accounts(store), Grants(index_config), Conversations(index_config)
    ben, ana = accounts.add("ben", PASSWORD), accounts.add("ana", PASSWORD)
    for user in (ben, ana):
        grants.grant("default", user.name, "write", set())
        conversations.start(user, "What did the board decide?")
    accounts.remove("ben")
    assert [g.user for g in grants.all()] == ["ana"]
    assert conversations.list(ben) == [] and len(conversations.list(ana)) == 1
    accounts.add("ben", PASSWORD)  # a new account of that name starts with nothing
    assert grants.readable("ben") == [] and conversations.list(ben) == []


def test_a_new_password_ends_the_sessions_but_not_the_tokens(store, clock):
    accounts, sessions = Accounts(store, clock), Sessions(store, 1, clock)
    user = accounts.add("ana", PASSWORD)
    session, token = sessions.start(user), accounts.create_token("ana")
    accounts.set_password("ana", "another long password")
    assert sessions.user(session) is None and accounts.user_for_token(token) == user
    assert accounts.verify("ana", "another long password") == user and accounts.verify("ana", PASSWORD) is None


def test_a_session_ends_when_it_expires_or_logs_out(store, clock):
    user = Accounts(store, clock).add("ana", PASSWORD)
    sessions = Sessions(store, 1, clock)
    first, second = sessions.start(user), sessions.start(user)
    clock.now += 3599
    assert sessions.user(first) == user
    sessions.end(second)
    assert sessions.user(second) is None
    clock.now += 1
    assert sessions.user(first) is None


def test_tokens_are_stored_hashed_and_revoked_by_their_id(store, clock):
    accounts = Accounts(store, clock)
    accounts.add("ana", PASSWORD)
    token = accounts.create_token("ana", "ci")
    assert token.startswith("rag_") and token not in json.dumps(store.tokens("ana"))
    [info] = accounts.tokens("ana")
    for malformed in ("", "rag_", "rag_short", token + "x", "Bearer " + token):
        assert accounts.user_for_token(malformed) is None
    with pytest.raises(AccountError, match="not a token id"):
        accounts.revoke_token("ana", "not-hex!")
    with pytest.raises(AccountError, match="no live token"):
        accounts.revoke_token("ana", "0" * 12)  # no digest starts so (odds 2^-48)
    accounts.revoke_token("ana", info.id)
    assert accounts.user_for_token(token) is None and accounts.tokens("ana")[0].revoked == clock.now


def test_the_audit_log_refuses_changes(store):
    audit = Audit(store)
    audit.record("grant", user="ana", ip="10.0.0.1", collection="hr", to="ben")
    [event] = audit.events(user="ana")
    assert (event.action, event.ip, event.detail) == ("grant", "10.0.0.1", {"collection": "hr", "to": "ben"})
    for statement in ("UPDATE audit SET action = 'nothing'", "DELETE FROM audit"):
        with pytest.raises(Exception, match="append-only"):
            with store._transaction():
                store._execute(statement)
    assert len(audit.events()) == 1


def test_an_ip_is_locked_after_five_failures_and_longer_while_it_goes_on(store, clock):
    throttle = Throttle(store, 5, WINDOW, clock)
    for _ in range(4):
        throttle.failed("10.0.0.1", "ana")
        clock.now += 1
    assert throttle.retry_after("10.0.0.1", "ana") is None
    throttle.failed("10.0.0.1", "ana")
    assert throttle.retry_after("10.0.0.1", "ana") == WINDOW
    assert throttle.retry_after("10.0.0.1", "ben") == WINDOW  # the IP's lock holds for any account
    for lock in (2 * WINDOW, 4 * WINDOW):
        clock.now += throttle.retry_after("10.0.0.1", "ana")
        assert throttle.retry_after("10.0.0.1", "ana") is None
        throttle.failed("10.0.0.1", "ana")
        assert throttle.retry_after("10.0.0.1", "ana") == lock
    clock.now += 4 * WINDOW + WINDOW + 1  # quiet for a window after its lock: forgiven
    throttle.failed("10.0.0.1", "ana")
    assert throttle.retry_after("10.0.0.1", "ana") is None


def test_an_attacked_account_still_lets_in_an_ip_without_failures(store, clock):
    throttle = Throttle(store, 5, WINDOW, clock)
    for n in range(5):
        throttle.failed(f"10.0.0.{n}", "ana")  # spread over IPs: none of them locked
    assert throttle.retry_after("10.0.0.9", "ana") is None  # the owner's IP, no failures of its own
    assert throttle.retry_after("10.0.0.0", "ana") == WINDOW  # a guesser's IP
    assert throttle.retry_after("10.0.0.0", "ben") is None
    clock.now += WINDOW
    assert throttle.retry_after("10.0.0.0", "ana") is None  # the account's lock never grows


def rag(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input)


def test_cli_errors_are_clear_and_lose_nothing():
    added = rag("users", "add", "ana", "--admin", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert added.exit_code == 0 and "Added admin ana." in added.output
    token = rag("tokens", "create", "ana").output.strip()
    for args, message in [
        (("users", "add", "ana", "--generate"), "the account 'ana' already exists"),
        (("users", "add", "ana/../x", "--generate"), "not an account name: 'ana/../x'"),
        (("users", "remove", "nobody"), "no account named 'nobody'"),
        (("users", "passwd", "nobody", "--generate"), "no account named 'nobody'"),
        (("tokens", "create", "nobody"), "no account named 'nobody'"),
        (("tokens", "revoke", "ana", "rag_not-a-token!"), "not a token id"),
        (("audit", "--since", "yesterday"), "not a time: 'yesterday'"),
    ]:
        result = rag(*args)
        assert result.exit_code != 0 and message in result.output, (args, result.output)
    assert rag("users", "list", "--json").output.splitlines() == ['{"name": "ana", "admin": true}']
    team_store = TeamStore(open_durable(Settings.from_env().index_config))
    assert Accounts(team_store).verify("ana", PASSWORD) and Accounts(team_store).user_for_token(token)


def test_rag_audit_reads_account_changes_by_time_and_user():
    generated = rag("users", "add", "ben", "--generate").output
    assert "Password (shown once): " in generated
    rag("users", "remove", "ben")
    events = [json.loads(line) for line in rag("audit", "--json", "--since", "1h").output.splitlines()]
    assert [(e["action"], e["detail"]["account"]) for e in events] == [("user added", "ben"), ("user removed", "ben")]
    assert rag("audit", "--since", "2999-01-01T00:00").output == ""
    assert rag("audit", "--user", "ben").output == ""  # done by the CLI, not by ben's account
