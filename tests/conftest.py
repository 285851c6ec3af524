"""Shared fixtures: an isolated RAG_HOME for every test, the real embedder, real documents."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

# Never reach a model hub, whatever a test imports first.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from helpers import make_docs  # noqa: E402  (tests/ is on sys.path via this conftest)
from index import IndexConfig  # noqa: E402

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="session", autouse=True)
def _working_directory_untouched():
    """Fail the run if any test created ./.rag in the working directory."""
    cwd_home = Path.cwd() / ".rag"
    existed = cwd_home.exists()
    yield
    assert existed or not cwd_home.exists(), f"a test wrote an index to {cwd_home}"


@pytest.fixture(autouse=True)
def _quiet_pypdf():
    # pypdf logs a warning per recovery attempt on broken files; the assertions say enough.
    logging.getLogger("pypdf").setLevel(logging.ERROR)


@pytest.fixture(autouse=True)
def rag_home(tmp_path_factory, monkeypatch) -> Path:
    """Point RAG_HOME at a fresh folder so no test touches the working directory's .rag/."""
    home = tmp_path_factory.mktemp("rag-home")
    monkeypatch.setenv("RAG_HOME", str(home))
    # The language model loads only in tests about generation, which ask for it by name.
    monkeypatch.setenv("RAG_ANSWERER", "extractive")
    return home


@pytest.fixture(scope="session")
def postgres():
    """One real PostgreSQL server for the session; each test takes a database of its own."""
    from helpers import PostgresServer

    with PostgresServer() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.server)])
def index_config(request, rag_home) -> IndexConfig:
    """An empty index in each catalog backend: SQLite files under RAG_HOME, or a fresh
    PostgreSQL database (vectors embedded under RAG_HOME either way)."""
    if request.param == "sqlite":
        return IndexConfig(rag_home)
    return IndexConfig(rag_home, database_url=request.getfixturevalue("postgres").new_database())


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """One headless Chromium for the session, whichever modules drive it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--window-size=1400,1100",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    # The driver is given explicitly, so Selenium Manager never looks for (or downloads) one.
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    (Path(__file__).parent / "screenshots").mkdir(exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def embedder():
    from index.vectors.embedder import load_embedder

    return load_embedder()


@pytest.fixture(scope="session")
def reader():
    """The shipped reader model (rag/reader.py), the one every answerer uses."""
    from rag.reader import packaged_reader

    return packaged_reader()


@pytest.fixture
def docs(tmp_path) -> dict[str, Path]:
    """One real file of every supported format in tmp_path/docs."""
    return make_docs(tmp_path / "docs")


@pytest.fixture(scope="session")
def session_docs(tmp_path_factory) -> dict[str, Path]:
    """The same files, built once for read-only tests."""
    return make_docs(tmp_path_factory.mktemp("docs"))


SEEDS = Path(__file__).resolve().parents[1] / "seeds"


@pytest.fixture(scope="session")
def seed_home(tmp_path_factory) -> Path:
    """One index of the seed article for the whole session (read-only for tests)."""
    from index import ingest

    home = tmp_path_factory.mktemp("seed-index")
    report = ingest([str(SEEDS)], IndexConfig(home))
    assert report.errors == [] and report.added == 1
    return home


@pytest.fixture(scope="session")
def seed_pipeline(seed_home):
    from rag import Pipeline, Settings

    return Pipeline(Settings(home=seed_home, answerer="extractive"))
