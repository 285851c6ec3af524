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


def prepare(env: dict, work: Path, users: int) -> dict[str, str]:
    """The seed article in `default`, user N's notes in collection cN readable by uN alone;
    -> each user's API token."""
    os.environ.update(env)
    from index import ingest
    from index.catalog.team import TeamStore
    from index.collections import Grants, live_collection_sizes
    from index.store import open_durable
    from rag import Settings
    from rag.team import Accounts

    config = Settings.from_env(home=work / "admin").index_config
    ingest([SEED], config)
    for n in range(users):
        folder = work / f"c{n}"
        folder.mkdir()
        (folder / f"project-{n}.txt").write_text(
            f"Notes of team {n}. The codename of project {n} is {CODEWORDS[n]}. "
            f"Project {n} ships its first release in spring.\n")
        ingest([folder], config, collection=f"c{n}")
    accounts, grants = Accounts(TeamStore(open_durable(config))), Grants(config)
    existing, tokens = set(live_collection_sizes(config)), {}
    for n in range(users):
        accounts.add(f"u{n}", f"password-{n}-long-enough")
        grants.grant(f"c{n}", f"u{n}", "read", existing)
        tokens[f"u{n}"] = accounts.create_token(f"u{n}", "bench")
    return tokens


def start_replica(env: dict, home: Path) -> tuple[subprocess.Popen, str]:
    from test_ui_server import free_port

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env={**env, "RAG_HOME": str(home), "RAG_UI_PORT": str(port)})
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/login", timeout=5).status_code == 200:
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--users", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="team-load-"))
    load_before = os.getloadavg()[0]
    (work / "chroma").mkdir()
    with PostgresServer() as postgres, ChromaServer(work / "chroma") as chroma:
        env = {**os.environ, "RAG_DATABASE_URL": postgres.new_database(), "RAG_CHROMA_HOST": chroma.HOST,
               "RAG_CHROMA_PORT": str(chroma.port), "RAG_ANSWERER": "extractive"}
        tokens = prepare(env, work, args.users)
        replicas = [start_replica(env, work / f"replica-{n}") for n in (1, 2)]
        try:
            def client_of(n: int) -> tuple[int, Client]:
                user = n % args.users
                return user, Client(replicas[n % 2][1], headers={"Authorization": f"Bearer {tokens[f'u{user}']}"},
                                    verbose=False)

            _, alone = client_of(0)
            lone = statistics.median(timed(alone, question(0))[0] for _ in range(5))

            def run(n: int) -> list[tuple[int, float, dict]]:
                user, client = client_of(n)
                asked = [question(user), question((user + 1) % args.users), "Who founded DeepSeek?"]
                return [(user, *timed(client, q)) for q in asked]

            with ThreadPoolExecutor(args.clients) as pool:
                results = [r for rs in pool.map(run, range(args.clients)) for r in rs]
        finally:
            for process, _ in replicas:
                stop_process(process, 30)
    seconds = sorted(s for _, s, _ in results)
    p50, p95 = statistics.median(seconds), seconds[int(0.95 * len(seconds)) - 1]
    leaked = [(user, leak) for user, _, answer in results for leak in leaks(user, answer, args.users)]
    own = sum(CODEWORDS[user] in answer["answer"] for user, _, answer in results[0::3])
    line = (f"| {args.clients} clients, {args.users} users | {p50:.2f} s | {p95:.2f} s | {lone:.2f} s | "
            f"{len(results)} | {len(leaked)} | {own}/{len(results) // 3} | {load_before:.1f} |")
    print(line)
    print("leaks:", leaked[:10])
    with RESULT.open("a") as out:
        out.write(line + "\n")


if __name__ == "__main__":
    main()
