"""Gold question/answer sets: the project's JSONL format and the shared ClapNQ and SQuAD
samples, read into one shape, and the fixed sample that `--limit` takes."""

from __future__ import annotations

import hashlib
import json
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import GoldFileError
from rag.eval.scoring import normalize

LONG_ANSWER_WORDS = 10


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
    long_answers: bool = False  # reference answers are written passages (ClapNQ), not short spans


def read_gold(path: str | Path) -> GoldSet:
    """A gold set in any supported format, recognised by its layout; one that is missing,
    unreadable, malformed or empty is a GoldFileError."""
    path = Path(path)
    gold = _read_layout(path)
    if not gold.items:
        raise GoldFileError(f"no questions in {path}")
    return gold


def _read_layout(path: Path) -> GoldSet:
    if path.is_dir() and (path / "queries.json").exists():
        return read_squad(path)
    if path.is_dir() and list(path.glob("clapnq_dev_*.jsonl")):
        return read_clapnq(path)
    if path.is_dir():
        raise GoldFileError(f"{path} is a folder, but not of ClapNQ dev or the SQuAD 2.0 sample")
    return read_jsonl(path)


def read_jsonl(path: Path) -> GoldSet:
    """The project's format: one JSON object a line (see README, Evaluation)."""
    with _parsing(path):
        lines = _read_text(path).splitlines()
    items = [_jsonl_item(path, number, line) for number, line in enumerate(lines, start=1) if line.strip()]
    return GoldSet(path.stem, items, long_answers=_mostly_long(items))


def _jsonl_item(path: Path, number: int, line: str) -> GoldItem:
    try:
        row = json.loads(line)
        return GoldItem(
            id=str(row.get("id", number)),
            question=row["question"],
            answers=list(row.get("answers", [])),
            unanswerable=bool(row.get("unanswerable", False)),
            evidence=row.get("evidence", ""),
            source=row.get("source", ""),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # not JSON, no question, not an object
        raise GoldFileError(f"{path}, line {number}: not a gold question ({exc})") from None


def read_clapnq(folder: Path) -> GoldSet:
    """ClapNQ dev: each question comes with one passage (for unanswerable ones, a related
    passage that does not answer it); the distinct passages are the corpus."""
    items, corpus = [], {}
    for part in ("answerable", "unanswerable"):
        path = folder / f"clapnq_dev_{part}.jsonl"
        with _parsing(path):
            for line in _read_text(path).splitlines():
                item, text = _clapnq_item(json.loads(line), part == "unanswerable")
                corpus[item.source] = text
                items.append(item)
    return GoldSet("clapnq", items, corpus, long_answers=True)


def _clapnq_item(row: dict, unanswerable: bool) -> tuple[GoldItem, str]:
    """A ClapNQ row as a gold item, and the text of its passage."""
    passage = row["passages"][0]
    # Up to seven annotators: every answer is a reference ("NA" is an annotator's none),
    # every sentence they chose is evidence.
    outputs = row["output"]
    selected = (s for output in outputs for s in output.get("selected_sentences") or [])
    answers = (output.get("answer", "") for output in outputs)
    item = GoldItem(
        id=row["id"],
        question=row["input"],
        answers=[a for a in answers if normalize(a) not in ("", "na")],
        unanswerable=unanswerable,
        evidence=" ".join(dict.fromkeys(selected)),
        source=_corpus_name(passage["title"], passage["text"]),
    )
    return item, f"{passage['title']}\n\n{passage['text'].strip()}"


def read_squad(folder: Path) -> GoldSet:
    """The SQuAD 2.0 sample: short extractive answers; the distinct contexts are the corpus."""
    with _parsing(folder):
        queries = json.loads(_read_text(folder / "queries.json"))["queries"]
        truth = json.loads(_read_text(folder / "ground_truth.json"))
        items = [_squad_item(query, truth[query["id"]]) for query in queries]
    corpus = {item.source: query["context"] for item, query in zip(items, queries)}
    return GoldSet("squad2", items, corpus)


def _squad_item(query: dict, gold: dict) -> GoldItem:
    return GoldItem(
        id=query["id"],
        question=query["question"],
        answers=[a for a in dict.fromkeys(gold["answers"]) if a],
        unanswerable=bool(gold["is_impossible"]),
        source=_corpus_name("", query["context"]),
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GoldFileError(f"cannot read the gold file {path}: {exc.strerror or exc}") from None


@contextmanager
def _parsing(path: Path) -> Iterator[None]:
    """Gold data not of the layout expected (not UTF-8 or JSON, a key or passage missing,
    a value of the wrong type) is a GoldFileError naming its file or folder."""
    try:
        yield
    except (ValueError, LookupError, TypeError, AttributeError) as exc:
        raise GoldFileError(f"{path}: not the gold set layout expected ({exc!r})") from None


def _mostly_long(items: list[GoldItem]) -> bool:
    """Reference answers averaging more than LONG_ANSWER_WORDS words are scored as long."""
    lengths = [len(answer.split()) for item in items for answer in item.answers]
    return bool(lengths) and statistics.fmean(lengths) > LONG_ANSWER_WORDS


def _corpus_name(title: str, text: str) -> str:
    digest = hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()[:16]
    return f"{digest}.txt"


def sample(items: list[GoldItem], limit: int | None) -> list[GoldItem]:
    """Up to `limit` items spread evenly over the set, with the set's share of unanswerable
    ones, in gold order. Deterministic: a limit always picks the same questions."""
    if limit is None or limit >= len(items):
        return list(items)
    unanswerable = [n for n, item in enumerate(items) if item.unanswerable]
    answerable = [n for n, item in enumerate(items) if not item.unanswerable]
    wanted = min(round(limit * len(unanswerable) / len(items)), len(unanswerable))
    wanted = max(wanted, limit - len(answerable))
    chosen = _spread(unanswerable, wanted) + _spread(answerable, limit - wanted)
    return [items[n] for n in sorted(chosen)]


def _spread(positions: list[int], count: int) -> list[int]:
    return [positions[i * len(positions) // count] for i in range(count)]
