"""Logging in to a real `rag serve` over real HTTP: the login page, the session cookie,
logout, expiry, throttled wrong passwords, API tokens on /ask, a removed user, the audit log,
and (over PostgreSQL) one login valid on two replicas.

"Another IP" is another loopback address: Linux accepts all of 127/8, so a client bound to
127.0.0.3 reaches a server on 127.0.0.1 as a different IP, and X-Forwarded-For, not trusted
by default, cannot fake one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from helpers import SEED, stop_process
from test_ui_server import css, free_port, wait_for

from index import IndexConfig, ingest
from index.catalog.team import TeamStore
from index.collections import Grants
from index.store import open_durable
from rag.team import Accounts, Sessions

pytestmark = pytest.mark.server
PASSWORD = "correct horse battery"
# RAG_LOGIN_WINDOW_SECONDS of the servers here, so a lock ends within the test. 2 s was too
# short at load average 13: five wrong passwords took longer than the window, so none locked.
WINDOW_SECONDS = 10
START_SECONDS = 180
POLL_SECONDS = 30


class TeamServer:
    """`rag serve` with accounts, on a free loopback port, in its own process."""

    def __init__(self, env: dict, home: Path, port: int | None = None):
        self.home = home
        self.env = {**env, "RAG_HOME": str(home), "RAG_UI_PORT": str(port or free_port())}
        self.url = f"http://127.0.0.1:{self.env['RAG_UI_PORT']}"
        self.log = home / "serve.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve"], env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)
        until(lambda: self._login_page_served(), START_SECONDS, lambda: self.log.read_text()[-3000:])

    def _login_page_served(self) -> bool:
        assert self.process.poll() is None, self.log.read_text()[-3000:]
        try:
            return httpx.get(f"{self.url}/login", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def client(self, ip: str = "127.0.0.1") -> httpx.Client:
        """A client connecting from this loopback address."""
        return httpx.Client(base_url=self.url, transport=httpx.HTTPTransport(local_address=ip), timeout=30)

    def rag(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "rag.cli", *args], env=self.env, capture_output=True,
                              text=True, timeout=120)

    def stop(self) -> None:
        stop_process(self.process, 30)


def until(condition, seconds: float = POLL_SECONDS, why=lambda: "") -> None:
    """Wait for a state by polling it (the state changes on the server's clock)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"no change within {seconds} s {why()}"
        time.sleep(0.2)


def log_in(client: httpx.Client, name: str, password: str = PASSWORD, **headers) -> httpx.Response:
    return client.post("/login", data={"username": name, "password": password}, headers=headers)


def add_users(config: IndexConfig, *names: str) -> None:
    accounts = Accounts(TeamStore(open_durable(config)))
    for name in names:
        accounts.add(name, PASSWORD, is_admin=name == "ana")


def server_env(**variables) -> dict:
    return {**os.environ, "RAG_ANSWERER": "extractive", "RAG_LOGIN_WINDOW_SECONDS": str(WINDOW_SECONDS),
            **variables}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server over the seed article, with an account for each test that changes one."""
    home = tmp_path_factory.mktemp("team-home")
    assert ingest([str(SEED)], IndexConfig(home)).added == 1
    add_users(IndexConfig(home), "ana", "ben", "carol", "dan", "erin", "gail")
    for asker in ("ben", "erin"):  # collections are private: a user reads what is granted
        Grants(IndexConfig(home)).grant("default", asker, "read", set())
    started = TeamServer(server_env(), home)
    yield started
    started.stop()


def test_strangers_are_sent_to_the_login_page_and_logout_ends_the_session(server):
    with server.client() as client:
        assert client.get("/").headers["location"] == "/login"
        assert 'name="password"' in client.get("/login").text
        assert client.get("/config").status_code == 401
        response = log_in(client, "ana")
        assert response.status_code == 303
        token = response.cookies["rag_session"]
        assert client.get("/config").status_code == 200 and client.get("/").status_code == 200
        client.get("/logout")
    assert httpx.get(f"{server.url}/config", cookies={"rag_session": token}).status_code == 401


def test_the_session_cookie_is_httponly_samesite_and_secure_behind_https(server):
    with server.client() as client:
        plain = log_in(client, "ana").headers["set-cookie"]
        behind_https = log_in(client, "ana", **{"X-Forwarded-Proto": "https"}).headers["set-cookie"]
    assert cookie_flags(plain) == {"httponly", f"max-age={12 * 3600}", "path=/", "samesite=lax"}
    assert cookie_flags(behind_https) == cookie_flags(plain) | {"secure"}


def cookie_flags(set_cookie: str) -> set[str]:
    return {part.strip().lower() for part in set_cookie.split(";")[1:]}


def test_an_expired_session_is_refused(server):
    store = TeamStore(open_durable(IndexConfig(server.home)))
    user = Accounts(store).require("ana")
    expired = Sessions(store, 1, now=lambda: time.time() - 3601).start(user)
    live = Sessions(store, 1).start(user)
    assert httpx.get(f"{server.url}/config", cookies={"rag_session": expired}).status_code == 401
    assert httpx.get(f"{server.url}/config", cookies={"rag_session": live}).status_code == 200


def test_wrong_passwords_get_429s_that_grow_and_another_ip_still_logs_in(server):
    with server.client("127.0.0.2") as guesser, server.client("127.0.0.3") as owner:
        for _ in range(5):
            assert log_in(guesser, "dan", "guess").status_code == 401
        refused = log_in(guesser, "dan")  # even the right password: the IP is locked
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        # X-Forwarded-For is not trusted: the guesser cannot claim another IP.
        assert log_in(guesser, "dan", **{"X-Forwarded-For": "10.9.8.7"}).status_code == 429
        assert log_in(owner, "dan").status_code == 303  # an IP without failures of its own

        until(lambda: log_in(guesser, "dan").status_code == 303)  # the lock ended after the window
        assert log_in(guesser, "dan", "guess again").status_code == 401
        longer = log_in(guesser, "dan")
        assert longer.status_code == 429
        assert int(longer.headers["retry-after"]) > int(refused.headers["retry-after"])


def test_an_api_token_answers_ask_and_nothing_else_does(server):
    token = server.rag("tokens", "create", "ben", "--label", "script").stdout.strip()
    client = Client(server.url, headers={"Authorization": f"Bearer {token}"}, verbose=False)
    assert "Liang Wenfeng" in client.predict("Who founded DeepSeek?", api_name="/ask")["answer"]
    for headers in ({}, {"Authorization": "Bearer rag_malformed"}, {"Authorization": f"Basic {token}"}):
        with pytest.raises(Exception):
            Client(server.url, headers=headers, verbose=False)
    assert httpx.get(f"{server.url}/config", headers={"Authorization": f"Bearer {token}x"}).status_code == 401


def test_removing_a_user_ends_their_session_and_token_at_once(server):
    with server.client() as client:
        log_in(client, "carol")
        token = server.rag("tokens", "create", "carol").stdout.strip()
        bearer = {"Authorization": f"Bearer {token}"}
        assert client.get("/config").status_code == 200
        assert httpx.get(f"{server.url}/config", headers=bearer).status_code == 200
        removed = server.rag("users", "remove", "carol")
        assert removed.returncode == 0, removed.stderr
        assert client.get("/config").status_code == 401
        assert httpx.get(f"{server.url}/config", headers=bearer).status_code == 401


def test_logins_and_questions_are_in_the_audit_log(server):
    with server.client("127.0.0.4") as client:
        assert log_in(client, "erin", "wrong password").status_code == 401
        assert log_in(client, "erin").status_code == 303
    token = server.rag("tokens", "create", "erin").stdout.strip()
    Client(server.url, headers={"Authorization": f"Bearer {token}"}, verbose=False).predict(
        "Who founded DeepSeek?", api_name="/ask")
    audited = server.rag("audit", "--json", "--user", "erin")
    events = [json.loads(line) for line in audited.stdout.splitlines()]
    assert [(e["action"], e["ip"]) for e in events[:2]] == [("login failed", "127.0.0.4"), ("login", "127.0.0.4")]
    assert events[-1]["action"] == "question" and events[-1]["detail"]["question"] == "Who founded DeepSeek?"


@pytest.mark.browser
def test_a_browser_logs_in_and_out(server, browser):
    browser.delete_all_cookies()
    browser.get(server.url)
    wait_for(browser, lambda: browser.find_elements(*css("#username")))  # sent to the login page
    log_in_page(browser, server.url, "ana", "wrong password")
    wait_for(browser, lambda: "Wrong name or password." in text_of(browser, "#login-error"))
    log_in_page(browser, server.url, "ana")
    wait_for(browser, lambda: browser.find_elements(*css("#question textarea")))
    added = add_account_in_page(browser, "frank")
    assert "Added frank. Password (shown once): " in added
    password = added.rsplit(": ", 1)[1].strip()
    assert Accounts(TeamStore(open_durable(IndexConfig(server.home)))).verify("frank", password)
    click(browser, "#logout")
    wait_for(browser, lambda: browser.find_elements(*css("#username")))
    browser.get(server.url)
    wait_for(browser, lambda: browser.find_elements(*css("#username")))  # the session ended


def text_of(browser, selector: str) -> str:
    """The element's text, or "" while it is missing or being re-rendered."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    try:
        return browser.find_element(*css(selector)).text
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def click(browser, selector: str) -> None:
    """Click the element once it is shown, again if Gradio re-rendered it meanwhile."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    def clicked() -> bool:
        try:
            shown = [e for e in browser.find_elements(*css(selector)) if e.is_displayed()]
            if shown:
                shown[0].click()
            return bool(shown)
        except (StaleElementReferenceException, WebDriverException):
            return False

    wait_for(browser, clicked, f"cannot click {selector}")


def type_into(browser, selector: str, text: str) -> None:
    wait_for(browser, lambda: browser.find_elements(*css(selector)))
    browser.find_element(*css(selector)).send_keys(text)


def log_in_page(browser, url: str, name: str, password: str = PASSWORD) -> None:
    browser.delete_all_cookies()
    browser.get(f"{url}/login")
    type_into(browser, "#username", name)
    type_into(browser, "#password", password)
    click(browser, "#login")


def add_account_in_page(browser, name: str) -> str:
    """Add an account in the Accounts panel (an admin's); -> the status shown."""
    click(browser, "#accounts button")  # open the accordion
    type_into(browser, "#account-name textarea, #account-name input", name)
    click(browser, "#account-add")
    wait_for(browser, lambda: "Added" in text_of(browser, "#account-status"))
    return text_of(browser, "#account-status")


@pytest.mark.browser
def test_the_accounts_panel_is_an_admins_only(server, browser):
    log_in_page(browser, server.url, "gail")
    wait_for(browser, lambda: browser.find_elements(*css("#question textarea")))
    click(browser, "#tokens button")
    wait_for(browser, lambda: "No tokens yet." in text_of(browser, "#tokens-list"))  # the page's load events ran
    assert not [e for e in browser.find_elements(*css("#accounts")) if e.is_displayed()]
    click(browser, "#logout")


@pytest.mark.browser
def test_a_user_creates_and_revokes_their_own_token_in_the_page(server, browser):
    log_in_page(browser, server.url, "ben")
    click(browser, "#tokens button")  # open the accordion
    type_into(browser, "#token-label textarea, #token-label input", "notebook")
    click(browser, "#token-create")
    wait_for(browser, lambda: "Your new token" in text_of(browser, "#token-status"))
    token = text_of(browser, "#token-status").rsplit(": ", 1)[1].strip()
    bearer = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{server.url}/config", headers=bearer).status_code == 200
    wait_for(browser, lambda: "notebook" in text_of(browser, "#tokens-list"))
    [listed] = [line for line in text_of(browser, "#tokens-list").splitlines() if "notebook" in line]
    type_into(browser, "#token-id textarea, #token-id input", listed.split()[0])
    click(browser, "#token-revoke")
    wait_for(browser, lambda: "Revoked" in text_of(browser, "#token-status"))
    assert httpx.get(f"{server.url}/config", headers=bearer).status_code == 401
    click(browser, "#logout")


def test_a_login_on_one_replica_is_valid_on_the_other(postgres, tmp_path_factory):
    """Two replicas over one PostgreSQL, each with a RAG_HOME of its own (an empty index:
    only logins are asked here)."""
    env = server_env(RAG_DATABASE_URL=postgres.new_database())
    add_users(IndexConfig(tmp_path_factory.mktemp("admin-host"), database_url=env["RAG_DATABASE_URL"]), "ana")
    first, second = (TeamServer(env, tmp_path_factory.mktemp(f"replica-{n}")) for n in (1, 2))
    try:
        with first.client() as client:
            token = log_in(client, "ana").cookies["rag_session"]
        on_second = {"rag_session": token}
        assert httpx.get(f"{second.url}/config", cookies=on_second).status_code == 200
        with second.client("127.0.0.5") as guesser:
            for _ in range(5):
                assert log_in(guesser, "ana", "guess").status_code == 401
        with first.client("127.0.0.5") as same_guesser:
            assert log_in(same_guesser, "ana").status_code == 429  # the failures are shared too
        httpx.get(f"{second.url}/logout", cookies=on_second)
        assert httpx.get(f"{first.url}/config", cookies=on_second).status_code == 401
    finally:
        first.stop()
        second.stop()
