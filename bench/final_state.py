"""The local model's final-layer state behind the verifier's yes/no prompt, as a further
`verified` signal (issue 26): does it gain out of fold?

    .venv/bin/python bench/final_state.py --home DIR    # DIR: a RAG_HOME whose eval/ holds the dev indexes

On bench/calibrate.py's `verified` questions (an even sample of each dev set, less the
reported ones), each is asked as `verified` asks it. The verifier's conversation is rendered
by the chat server's own template, and a second llama.cpp instance on the same GGUF (an
embedding server serves nothing else) returns the state after its last token, 1536 values
(pooling "last"). Then, with calibrate.py's folds and threshold rule (the highest that wrongly
refuses at most 8% of each set's answerable questions out of fold):
- `verified` as shipped: its signals, one logistic regression;
- the same signals plus the first n principal components of the state, fitted on each
  training fold only.
Results go to bench/results/final-state.json; the states are cached under DIR/eval/signals.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import httpx
import numpy as np
from calibrate import DEV, EVAL_SAMPLE, SIGNALS, VERIFY_SAMPLE, figures, fit, folds, threshold
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score
from tqdm import tqdm

from rag import llm
from rag.eval import eval_pipeline, read_gold, sample
from rag.reader import WEIGHTS, file_sha256
from rag.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPONENTS = (4, 16, 64)


def embedding_server(model: Path):
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.n_ctx = 4096
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = os.cpu_count() or 2
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    params.embedding = True
    params.pooling_type = xllamacpp.llama_pooling_type.LLAMA_POOLING_TYPE_LAST
    params.verbosity = -1
    return xllamacpp.Server(params)


def collect(name: str, home: Path, client: httpx.Client, embed_root: str) -> list[dict]:
    """Per question: answerability, `verified`'s signals and the state (cached)."""
    reader = file_sha256(WEIGHTS)[:12]
    out = home / "eval" / "signals" / f"{name}-final-state-reader-{reader}.jsonl"
    if out.exists():
        return [json.loads(line) for line in out.read_text().splitlines()]
    gold = read_gold(DEV[name])
    settings = Settings(home=home, answerer="extractive")
    pipeline = eval_pipeline(gold, settings)
    answerer = pipeline.answerer("verified")
    chat_root = llm.local_server(llm.local_model_file(settings)).root
    reported = {item.id for item in sample(gold.items, EVAL_SAMPLE)}
    items = [item for item in sample(gold.items, VERIFY_SAMPLE) if item.id not in reported]
    rows = []
    for item in tqdm(items, desc=f"{name} states", unit="question"):
        passages = pipeline.retriever().passages(item.question)
        draft, conversation = answerer.judged(item.question, passages)
        if not conversation:
            continue
        messages = [{"role": "user", "content": m.content} for m in conversation]
        prompt = client.post(f"{chat_root}/apply-template", json={"messages": messages}).json()["prompt"]
        reply = client.post(f"{embed_root}/embedding", json={"content": prompt})
        reply.raise_for_status()
        state = np.asarray(reply.json()[0]["embedding"], dtype=float).reshape(-1)
        # "correct" is not measured here; calibrate.figures reads it, and the report leaves it out.
        rows.append({"id": item.id, "set": name, "answerable": not item.unanswerable,
                     "correct": False, **draft.signals, "state": state.round(5).tolist()})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return rows


def out_of_fold(signals: np.ndarray, states: np.ndarray, y: np.ndarray, groups: np.ndarray,
                components: int) -> np.ndarray:
    """calibrate.py's folds and fit; the state's principal components (none when 0) fitted
    on each training fold only."""
    p = np.zeros(len(y))
    for train, test in folds(y, groups):
        x_train, x_test = signals[train], signals[test]
        if components:
            pca = PCA(components, random_state=0).fit(states[train])
            x_train = np.hstack([x_train, pca.transform(states[train])])
            x_test = np.hstack([x_test, pca.transform(states[test])])
        weights, bias = fit(x_train, y[train])
        p[test] = 1 / (1 + np.exp(-(x_test @ weights + bias)))
    return p


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "final-state.json")
    args = parser.parse_args()
    server = embedding_server(llm.local_model_file(Settings(home=args.home)))
    with httpx.Client(timeout=600) as client:
        rows = [row for name in DEV for row in collect(name, args.home, client, server.listening_address)]
    signals = np.array([[r[s] for s in SIGNALS["verified"]] for r in rows], dtype=float)
    states = np.array([r["state"] for r in rows], dtype=float)
    y = np.array([r["answerable"] for r in rows])
    groups = np.array([r["set"] for r in rows])
    report = {"questions": len(rows), "state_size": states.shape[1]}
    for components in (0, *COMPONENTS):
        p = out_of_fold(signals, states, y, groups, components)
        t = threshold(p, y, groups)
        label = "verified as shipped" if not components else f"plus {components} components of the state"
        report[label] = {"threshold": t, "auc": round(float(roc_auc_score(y, p)), 3),
                         "out_of_fold": {k: {m: v for m, v in f.items() if m != "correct"}
                                         for k, f in figures(p, rows, t).items()}}
        print(label, json.dumps(report[label]))
    state_only = out_of_fold(np.zeros((len(y), 0)), states, y, groups, 16)
    report["16 components of the state alone"] = {"auc": round(float(roc_auc_score(y, state_only)), 3)}
    print(report["16 components of the state alone"])
    args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
