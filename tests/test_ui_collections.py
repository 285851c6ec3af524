"""The web chat for two users over two collections: a real server with one login each
(Gradio's own login, standing in for accounts: `reader_of` is the seam ui/identity.py
gives them), real HTTP and a real Chromium."""

from __future__ import annotations

import httpx
import pytest
from gradio_client import Client

from index import IndexConfig, ingest
from index.collections import Grants, live_collection_sizes
from rag.access import Reader
from rag.settings import Settings
from test_collections import MERGER, OWLS
from test_ui_server import css, finished_turns, free_port, wait_for, ask
from ui.app import build_app

USERS = [("ann", "ann-pass"), ("bob", "bob-pass")]
SECRET = "What is the secret merger codename?"


def logged_in_user(request) -> Reader:
    """Each login is a user with no admin right."""
    return Reader(request.username, False)


@pytest.fixture(scope="module")
def team_url(tmp_path_factory):
    """`birds` readable by ann, `board` writable by bob."""
    root = tmp_path_factory.mktemp("team")
    (root / "birds").mkdir()
    (root / "board").mkdir()
    (root / "birds" / "owls.txt").write_text(OWLS)
    (root / "board" / "merger.txt").write_text(MERGER)
    config = IndexConfig(root / "home")
    ingest([root / "birds"], config, collection="birds")
    ingest([root / "board"], config, collection="board")
    existing = set(live_collection_sizes(config))
    Grants(config).grant("birds", "ann", "read", existing)
    Grants(config).grant("board", "bob", "write", existing)
    settings = Settings(home=config.home, answerer="extractive")
    app = build_app(settings, reader_of=logged_in_user)
    app.launch(auth=USERS, server_port=free_port(), prevent_thread_lock=True, quiet=True)
    yield app.local_url.rstrip("/"), root
    app.close()


def login_cookies(url: str, user: tuple[str, str]) -> httpx.Cookies:
    response = httpx.post(f"{url}/login", data={"username": user[0], "password": user[1]})
    assert response.status_code == 200
    return response.cookies


@pytest.mark.browser
def test_ask_answers_each_user_from_their_own_collections(team_url):
    url, _ = team_url
    ann = Client(url, auth=USERS[0], verbose=False).predict(SECRET, api_name="/ask")
    bob = Client(url, auth=USERS[1], verbose=False).predict(SECRET, api_name="/ask")
    assert "Bluefin" in str(bob), "the owner of the answer gets it: the test can fail"
    assert "Bluefin" not in str(ann) and "merger.txt" not in str(ann)


@pytest.mark.browser
def test_the_file_routes_do_not_serve_a_forbidden_document(team_url):
    url, root = team_url
    cookies = login_cookies(url, USERS[0])
    for route in ("/gradio_api/file=", "/file="):
        response = httpx.get(f"{url}{route}{root / 'board' / 'merger.txt'}", cookies=cookies)
        assert response.status_code in (403, 404) and "Bluefin" not in response.text


def log_in(browser, url: str, user: tuple[str, str]) -> None:
    browser.get(url)
    browser.delete_all_cookies()
    for name, value in login_cookies(url, user).items():
        browser.add_cookie({"name": name, "value": value})
    browser.get(url)
    wait_for(browser, lambda: browser.find_elements(*css("#question textarea")))


def sidebar(browser) -> list[str]:
    return [e.text for e in browser.find_elements(*css("#saved label"))]


def documents(browser) -> list[str]:
    return [e.text for e in browser.find_elements(*css("#documents label"))]


@pytest.mark.browser
def test_each_user_sees_their_documents_and_their_saved_conversations(browser, team_url):
    url, _ = team_url
    log_in(browser, url, USERS[0])
    wait_for(browser, lambda: documents(browser) == ["owls.txt"], "ann's documents panel")
    turn = ask(browser, "How do barn owls find prey under snow?")
    assert "hearing" in turn.text
    wait_for(browser, lambda: sidebar(browser) == ["How do barn owls find prey under snow?"])
    title = browser.find_element(*css("#conversation-title textarea"))
    assert title.get_attribute("value") == "How do barn owls find prey under snow?"
    title.clear()
    title.send_keys("Owls")
    browser.find_element(*css("#rename")).click()
    wait_for(browser, lambda: sidebar(browser) == ["Owls"], "renamed")
    browser.refresh()  # a new page: the conversation comes back from the server
    wait_for(browser, lambda: sidebar(browser) == ["Owls"])
    assert not finished_turns(browser)
    browser.find_element(*css("#saved label")).click()
    wait_for(browser, lambda: finished_turns(browser) and "hearing" in finished_turns(browser)[0].text,
             "the saved conversation reopened")
    browser.find_element(*css("#export-md")).click()
    link = wait_for(browser, lambda: browser.find_elements(*css("#export a[href]")), "the Markdown export")[0]
    exported = httpx.get(link.get_attribute("href"), cookies=login_cookies(url, USERS[0])).text
    assert exported.startswith("# Owls\n") and "## How do barn owls find prey under snow?" in exported
    assert "owls.txt" in exported
    assert "chars " in exported and "“" in exported  # each citation: its offsets and its quote

    log_in(browser, url, USERS[1])
    wait_for(browser, lambda: documents(browser) == ["merger.txt"], "bob's documents panel")
    assert sidebar(browser) == []
