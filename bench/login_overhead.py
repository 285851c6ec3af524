"""What logins cost a question: `/ask` timed on two real `rag serve` processes over one copy
of the seed index, one without accounts (Gradio's own server) and one with (the chat mounted
behind the login app; every request's session or token looked up in the database).

    .venv/bin/python bench/login_overhead.py [--clients 10] [--questions 3]

Both servers run at once and are asked in alternating rounds, so load from elsewhere falls
on both alike; the ratio of their times is the figure to read.
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
SEED = ROOT / "seeds"
QUESTIONS = ["Who founded DeepSeek?", "How much market value did Nvidia lose?",
             "Which Japanese companies saw their shares fall?"]


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(home: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "RAG_HOME": str(home), "RAG_UI_PORT": str(port), "RAG_ANSWERER": "extractive"}
    process = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/config", timeout=5).status_code in (200, 401):
                return process, url
        except httpx.HTTPError:
            time.sleep(0.5)
    raise SystemExit(f"rag serve on {home} did not start")


def round_of(client_factory, clients: int, questions: int) -> list[float]:
    def one(_):
        client = client_factory()
        times = []
        for question in QUESTIONS[:questions]:
            started = time.perf_counter()
            client.predict(question, api_name="/ask")
            times.append(time.perf_counter() - started)
        return times

    with ThreadPoolExecutor(clients) as pool:
        return [t for times in pool.map(one, range(clients)) for t in times]


def percentiles(times: list[float]) -> str:
    cuts = statistics.quantiles(times, n=20)
    return f"p50 {statistics.median(times) * 1000:.0f} ms, p95 {cuts[18] * 1000:.0f} ms (n={len(times)})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--questions", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="login-overhead-"))
    homes = {"open": work / "open", "login": work / "login"}
    for home in homes.values():
        env = {**os.environ, "RAG_HOME": str(home)}
        subprocess.run([sys.executable, "-m", "rag.cli", "ingest", str(SEED)], env=env, check=True,
                       capture_output=True)
    env = {**os.environ, "RAG_HOME": str(homes["login"])}
    subprocess.run([sys.executable, "-m", "rag.cli", "users", "add", "ana", "--generate"], env=env, check=True,
                   capture_output=True)
    token = subprocess.run([sys.executable, "-m", "rag.cli", "tokens", "create", "ana"], env=env, check=True,
                           capture_output=True, text=True).stdout.strip()
    servers = {name: start(home) for name, home in homes.items()}
    factories = {
        "open": lambda: Client(servers["open"][1], verbose=False),
        "login": lambda: Client(servers["login"][1], headers={"Authorization": f"Bearer {token}"}, verbose=False),
    }
    times = {name: [] for name in servers}
    try:
        for _ in range(args.rounds):
            for name, factory in factories.items():
                times[name] += round_of(factory, args.clients, args.questions)
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(30)
    for name, measured in times.items():
        print(f"{name:>5}: {percentiles(measured)}")
    print(f"login/open median ratio: {statistics.median(times['login']) / statistics.median(times['open']):.2f}")


if __name__ == "__main__":
    main()
