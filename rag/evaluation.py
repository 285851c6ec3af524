"""Gold question/answer sets: the project's JSONL format and the shared ClapNQ and SQuAD
samples, each with the corpus its questions are asked against."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from index import ingest


@dataclass(frozen=True)
class GoldItem:
    id: str
    question: str
    answers: list[str]
    unanswerable: bool
    evidence: str = ""
    source: str = ""  # the document (file name) holding the evidence, when known


@dataclass
class GoldSet:
    name: str
    items: list[GoldItem]
    corpus: dict[str, str] = field(default_factory=dict)  # file name -> text; empty: user's index


def read_gold(path: str | Path) -> GoldSet:
    """A gold set in any supported format, recognised by its layout."""
    path = Path(path)
    if path.is_dir() and (path / "queries.json").exists():
        return read_squad(path)
    if path.is_dir() and list(path.glob("clapnq_dev_*.jsonl")):
        return read_clapnq(path)
    return read_jsonl(path)


def read_jsonl(path: Path) -> GoldSet:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        items.append(
            GoldItem(
                id=str(row.get("id", number)),
                question=row["question"],
                answers=list(row.get("answers", [])),
                unanswerable=bool(row.get("unanswerable", False)),
                evidence=row.get("evidence", ""),
                source=row.get("source", ""),
            )
        )
    return GoldSet(path.stem, items)


def read_clapnq(folder: Path) -> GoldSet:
    """ClapNQ dev: each question comes with one passage (for unanswerable ones, a related
    passage that does not answer it); the distinct passages are the corpus."""
    items, corpus = [], {}
    for part in ("answerable", "unanswerable"):
        for line in (folder / f"clapnq_dev_{part}.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            passage = row["passages"][0]
            name = _corpus_name(passage["title"], passage["text"])
            corpus[name] = f"{passage['title']}\n\n{passage['text'].strip()}"
            output = row["output"][0] if row["output"] else {}
            items.append(
                GoldItem(
                    id=row["id"],
                    question=row["input"],
                    answers=[output["answer"]] if output.get("answer") else [],
                    unanswerable=part == "unanswerable",
                    evidence=" ".join(output.get("selected_sentences", []) or []),
                    source=name,
                )
            )
    return GoldSet("clapnq", items, corpus)


def read_squad(folder: Path) -> GoldSet:
    """The SQuAD 2.0 sample: short extractive answers; the distinct contexts are the corpus."""
    queries = json.loads((folder / "queries.json").read_text(encoding="utf-8"))["queries"]
    truth = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))
    items, corpus = [], {}
    for query in queries:
        name = _corpus_name("", query["context"])
        corpus[name] = query["context"]
        gold = truth[query["id"]]
        items.append(
            GoldItem(
                id=query["id"],
                question=query["question"],
                answers=[a for a in dict.fromkeys(gold["answers"]) if a],
                unanswerable=bool(gold["is_impossible"]),
                source=name,
            )
        )
    return GoldSet("squad2", items, corpus)


def _corpus_name(title: str, text: str) -> str:
    digest = hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()[:16]
    return f"{digest}.txt"


def index_corpus(gold: GoldSet, cache: Path, embed_model: str | None = None) -> Path:
    """Write a gold set's corpus as files and index them into an index of its own under
    `cache`, apart from the user's. Returns the index home. Re-running embeds nothing."""
    folder = cache / gold.name
    docs = folder / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for name, text in gold.corpus.items():
        path = docs / name
        if not path.exists():
            path.write_text(text, encoding="utf-8")
    home = folder / "index"
    ingest([str(docs)], home=home, embed_model=embed_model)
    return home
