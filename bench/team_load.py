"""40 clients across two `rag serve` replicas with accounts, as bench/results/replicas.md's
run without them: each client logged in (an API token) as one of 10 users, each user
reading one collection of their own, and every answer checked to cite only that user's
collection and to name no other user's codeword.

    nice -n 10 .venv/bin/python bench/team_load.py [--clients 40] [--users 10]

Like tests/test_replicas.py's run: each replica has its own RAG_HOME, over one PostgreSQL
(catalog, keyword search, accounts, grants) and one `chroma run` (vectors), all on this
machine's cores; RAG_ANSWERER=extractive; each client asks 3 questions one after another
(its own project's codeword, another user's, and one about the seed article, which is in
`default` and granted to nobody), timed by the client (the whole `/ask` call).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from gradio_client import Client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from helpers import SEED, ChromaServer, PostgresServer, stop_process  # noqa: E402

CODEWORDS = ["Amberjack", "Basilisk", "Cormorant", "Dromedary", "Egret", "Flamingo", "Gannet", "Heron",
             "Ibex", "Jackal"]
RESULT = ROOT / "bench" / "results" / "team-load.md"


def question(user: int) -> str:
    return f"What is the codename of project {user}?"


def admin_config(env: dict, work: Path):
    os.environ.update(env)
    from rag import Settings

    return Settings.from_env(home=work / "admin").index_config


def index_documents(config, work: Path, users: int) -> None:
    """The seed article in `default`, user N's notes in collection cN."""
    from index import ingest

    ingest([SEED], config)
    for n in range(users):
        folder = work / f"c{n}"
        folder.mkdir()
        (folder / f"project-{n}.txt").write_text(
            f"Notes of team {n}. The codename of project {n} is {CODEWORDS[n]}. "
            f"Project {n} ships its first release in spring.\n")
        ingest([folder], config, collection=f"c{n}")


def add_accounts(config, users: int) -> dict[str, str]:
    """uN reads cN alone; -> each user's API token."""
    from index.catalog.team import TeamStore
    from index.collections import Grants, live_collection_sizes
    from index.store import open_durable
    from rag.team import Accounts

    accounts, grants = Accounts(TeamStore(open_durable(config))), Grants(config)
    existing, tokens = set(live_collection_sizes(config)), {}
    for n in range(users):
        accounts.add(f"u{n}", f"password-{n}-long-enough")
        grants.grant(f"c{n}", f"u{n}", "read", existing)
        tokens[f"u{n}"] = accounts.create_token(f"u{n}", "bench")
    return tokens


def start_replica(env: dict, home: Path, with_logins: bool) -> tuple[subprocess.Popen, str]:
    from test_ui_server import free_port

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env={**env, "RAG_HOME": str(home), "RAG_UI_PORT": str(port)})
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/login" if with_logins else url, timeout=5).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.5)
    raise SystemExit(f"rag serve on {home} did not start")


def leaks(user: int, answer: dict, users: int) -> list[str]:
    """What in an answer is not user N's: a citation outside cN, another user's codeword."""
    found = [c["source"] for c in answer["citations"] if f"/c{user}/" not in c["source"]]
    text = str(answer)
    return found + [word for n, word in enumerate(CODEWORDS[:users]) if n != user and word in text]


def timed(client: Client, asked: str) -> tuple[float, dict]:
    started = time.perf_counter()
    answer = client.predict(asked, api_name="/ask")
    return time.perf_counter() - started, answer


def load(env: dict, work: Path, name: str, clients: int, users: int, tokens: dict[str, str] | None) -> dict:
    """40 clients on two fresh replicas; without tokens, a server without accounts (the local
    admin reads everything, so leaks are not counted)."""
    replicas = [start_replica(env, work / f"{name}-{n}", tokens is not None) for n in (1, 2)]
    try:
        def client_of(n: int) -> tuple[int, Client]:
            user = n % users
            headers = {"Authorization": f"Bearer {tokens[f'u{user}']}"} if tokens else None
            return user, Client(replicas[n % 2][1], headers=headers, verbose=False)

        # Made one by one before the load (each reads the page's config): 40 at once timed
        # out reading it at load average 16, and only /ask is timed.
        made = [client_of(n) for n in range(clients)]
        lone = statistics.median(timed(made[0][1], question(0))[0] for _ in range(5))

        def run(n: int) -> list[tuple[int, float, dict]]:
            user, client = made[n]
            asked = [question(user), question((user + 1) % users), "Who founded DeepSeek?"]
            return [(user, *timed(client, q)) for q in asked]

        with ThreadPoolExecutor(clients) as pool:
            results = [r for rs in pool.map(run, range(clients)) for r in rs]
    finally:
        for process, _ in replicas:
            stop_process(process, 30)
    seconds = sorted(s for _, s, _ in results)
    return {"p50": statistics.median(seconds), "p95": seconds[int(0.95 * len(seconds)) - 1], "lone": lone,
            "answers": len(results),
            "leaks": [(u, leak) for u, _, answer in results for leak in leaks(u, answer, users)] if tokens else None,
            "own": sum(CODEWORDS[u] in answer["answer"] for u, _, answer in results[0::3])}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--users", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="team-load-"))
    (work / "chroma").mkdir()
    load_before = os.getloadavg()[0]
    with PostgresServer() as postgres, ChromaServer(work / "chroma") as chroma:
        env = {**os.environ, "RAG_DATABASE_URL": postgres.new_database(), "RAG_CHROMA_HOST": chroma.HOST,
               "RAG_CHROMA_PORT": str(chroma.port), "RAG_ANSWERER": "extractive"}
        config = admin_config(env, work)
        index_documents(config, work, args.users)
        # The same index, deployment and questions, first without accounts, then with them:
        # one after the other, so the ratio holds whatever else the cores are doing.
        runs = {"without accounts": load(env, work, "open", args.clients, args.users, None)}
        tokens = add_accounts(config, args.users)
        runs["10 users, own collections"] = load(env, work, "team", args.clients, args.users, tokens)
    for name, run in runs.items():
        leaked = "-" if run["leaks"] is None else str(len(run["leaks"]))
        line = (f"| {name} | {args.clients} | {run['p50']:.2f} s | {run['p95']:.2f} s | {run['lone']:.2f} s | "
                f"{run['answers']} | {leaked} | {run['own']}/{run['answers'] // 3} | {load_before:.1f} |")
        print(line)
        with RESULT.open("a") as out:
            out.write(line + "\n")
    print("leaks:", runs["10 users, own collections"]["leaks"][:10])


if __name__ == "__main__":
    main()
