"""The web chat for two users over two collections: a real `rag serve` with an account
each, its login page, real HTTP and a real Chromium, and a restart of the server."""

from __future__ import annotations

import httpx
import pytest
from gradio_client import Client

from index import IndexConfig, ingest
from index.collections import Grants, live_collection_sizes
from test_collections import MERGER, OWLS
from test_team_server import PASSWORD, TeamServer, add_users, click, log_in_page, server_env
from test_ui_server import ask, css, finished_turns, wait_for

SECRET = "What is the secret merger codename?"
pytestmark = pytest.mark.server


class Team:
    """The server over `birds` (readable by ann) and `board` (writable by bob), restartable."""

    def __init__(self, root):
        self.root = root
        self.server = TeamServer(server_env(), root / "home")

    @property
    def url(self) -> str:
        return self.server.url

    def restart(self) -> None:
        """Stop the server and start it again on the same port and RAG_HOME."""
        port = int(self.server.env["RAG_UI_PORT"])
        self.server.stop()
        self.server = TeamServer(server_env(), self.root / "home", port)

    def token(self, user: str) -> str:
        created = self.server.rag("tokens", "create", user)
        assert created.returncode == 0, created.stderr
        return created.stdout.strip()


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    root = tmp_path_factory.mktemp("team")
    (root / "birds").mkdir()
    (root / "board").mkdir()
    (root / "birds" / "owls.txt").write_text(OWLS)
    (root / "board" / "merger.txt").write_text(MERGER)
    config = IndexConfig(root / "home")
    ingest([root / "birds"], config, collection="birds")
    ingest([root / "board"], config, collection="board")
    add_users(config, "ann", "bob")
    existing = set(live_collection_sizes(config))
    Grants(config).grant("birds", "ann", "read", existing)
    Grants(config).grant("board", "bob", "write", existing)
    started = Team(root)
    yield started
    started.server.stop()


def login_cookies(url: str, user: str) -> httpx.Cookies:
    response = httpx.post(f"{url}/login", data={"username": user, "password": PASSWORD})
    assert response.status_code == 303, response.text
    return response.cookies


def test_ask_answers_each_user_from_their_own_collections(team):
    ann, bob = (Client(team.url, headers={"Authorization": f"Bearer {team.token(user)}"}, verbose=False)
                .predict(SECRET, api_name="/ask") for user in ("ann", "bob"))
    assert "Bluefin" in str(bob), "the owner of the answer gets it: the test can fail"
    assert "Bluefin" not in str(ann) and "merger.txt" not in str(ann)


def test_the_file_routes_do_not_serve_a_forbidden_document(team):
    cookies = login_cookies(team.url, "ann")
    for route in ("/gradio_api/file=", "/file="):
        response = httpx.get(f"{team.url}{route}{team.root / 'board' / 'merger.txt'}", cookies=cookies)
        assert response.status_code in (403, 404) and "Bluefin" not in response.text


def sidebar(browser) -> list[str]:
    return [e.text for e in browser.find_elements(*css("#saved label"))]


def documents(browser) -> list[str]:
    return [e.text for e in browser.find_elements(*css("#documents label"))]


def logged_in(browser, team: Team, user: str) -> None:
    """Through the login page, as a person would."""
    log_in_page(browser, team.url, user)
    wait_for(browser, lambda: browser.find_elements(*css("#question textarea")), f"{user}'s chat")


@pytest.mark.browser
def test_two_users_see_their_own_collections_and_conversations_across_a_restart(browser, team):
    logged_in(browser, team, "ann")
    wait_for(browser, lambda: documents(browser) == ["owls.txt"], "ann's documents panel")
    turn = ask(browser, "How do barn owls find prey under snow?")
    assert "hearing" in turn.text
    wait_for(browser, lambda: sidebar(browser) == ["How do barn owls find prey under snow?"])
    title = browser.find_element(*css("#conversation-title textarea"))
    title.clear()
    title.send_keys("Owls")
    click(browser, "#rename")
    wait_for(browser, lambda: sidebar(browser) == ["Owls"], "renamed")

    team.restart()  # the session and the conversation are in the database, not the process
    browser.get(team.url)
    wait_for(browser, lambda: sidebar(browser) == ["Owls"], "ann's conversation after the restart")
    assert not finished_turns(browser)
    browser.find_element(*css("#saved label")).click()
    wait_for(browser, lambda: finished_turns(browser) and "hearing" in finished_turns(browser)[0].text,
             "the saved conversation reopened")
    browser.find_element(*css("#export-md")).click()
    link = wait_for(browser, lambda: browser.find_elements(*css("#export a[href]")), "the Markdown export")[0]
    exported = httpx.get(link.get_attribute("href"), cookies=login_cookies(team.url, "ann")).text
    assert exported.startswith("# Owls\n") and "## How do barn owls find prey under snow?" in exported
    assert "owls.txt" in exported and "chars " in exported and "“" in exported  # offsets and quote
    click(browser, "#logout")
    wait_for(browser, lambda: browser.find_elements(*css("#username")), "the login page")
    browser.get(team.url)
    wait_for(browser, lambda: browser.find_elements(*css("#username")), "logged out: the session ended")

    logged_in(browser, team, "bob")
    wait_for(browser, lambda: documents(browser) == ["merger.txt"], "bob's documents panel")
    assert sidebar(browser) == []
    assert "Bluefin" in ask(browser, SECRET).text
    wait_for(browser, lambda: sidebar(browser) == [SECRET], "bob's own conversation")
    click(browser, "#logout")
