"""Evaluation runs: gold question/answer sets (the project's JSONL format and the shared
ClapNQ and SQuAD samples), the index their questions are asked against, and the run that
asks them and scores every answer."""

from __future__ import annotations

import hashlib
import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from index import ingest
from rag.answer import Answer
from rag.metrics import answer_scores, failure, is_correct, normalize, retrieval_rank, summarize, supports
from rag.settings import Settings

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
    """A gold set in any supported format, recognised by its layout."""
    path = Path(path)
    if path.is_dir() and (path / "queries.json").exists():
        return read_squad(path)
    if path.is_dir() and list(path.glob("clapnq_dev_*.jsonl")):
        return read_clapnq(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder, but not of ClapNQ dev or the SQuAD 2.0 sample")
    return read_jsonl(path)


def read_jsonl(path: Path) -> GoldSet:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question = row["question"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}, line {number}: not a gold question ({exc})") from None
        items.append(
            GoldItem(
                id=str(row.get("id", number)),
                question=question,
                answers=list(row.get("answers", [])),
                unanswerable=bool(row.get("unanswerable", False)),
                evidence=row.get("evidence", ""),
                source=row.get("source", ""),
            )
        )
    return GoldSet(path.stem, items, long_answers=_mostly_long(items))


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
            # Up to seven annotators: every answer is a reference ("NA" is an annotator's none),
            # every sentence they chose is evidence.
            outputs = row["output"]
            selected = (s for output in outputs for s in output.get("selected_sentences") or [])
            answers = (output.get("answer", "") for output in outputs)
            items.append(
                GoldItem(
                    id=row["id"],
                    question=row["input"],
                    answers=[a for a in answers if normalize(a) not in ("", "na")],
                    unanswerable=part == "unanswerable",
                    evidence=" ".join(dict.fromkeys(selected)),
                    source=name,
                )
            )
    return GoldSet("clapnq", items, corpus, long_answers=True)


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


def _mostly_long(items: list[GoldItem]) -> bool:
    """Reference answers averaging more than LONG_ANSWER_WORDS words are scored as long."""
    lengths = [len(answer.split()) for item in items for answer in item.answers]
    return bool(lengths) and statistics.fmean(lengths) > LONG_ANSWER_WORDS


def _corpus_name(title: str, text: str) -> str:
    digest = hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()[:16]
    return f"{digest}.txt"


def index_corpus(gold: GoldSet, cache: Path, embed_model: str | None = None, progress: bool = False) -> Path:
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
    ingest([str(docs)], home=home, embed_model=embed_model, progress=progress)
    return home


def index_documents(corpus: Path, cache: Path, embed_model: str | None = None,
                    progress: bool = False) -> Path:
    """Index the files at `corpus` into a cached index of their own under `cache`, named
    after the resolved path. Returns the index home."""
    resolved = Path(corpus).resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:8]
    home = cache / f"{resolved.name}-{digest}" / "index"
    ingest([str(corpus)], home=home, embed_model=embed_model, progress=progress)
    return home


def eval_settings(gold: GoldSet, settings: Settings, corpus: Path | None = None,
                  progress: bool = False) -> Settings:
    """The settings to ask a gold set's questions with. A set that brings its corpus, or a
    `corpus` given, is indexed under RAG_HOME/eval, never into the user's index; otherwise
    the questions go to the user's index."""
    if gold.corpus and corpus:
        raise ValueError(f"the {gold.name} gold set brings its own corpus: leave out --corpus")
    cache = settings.home / "eval"
    if gold.corpus:
        home = index_corpus(gold, cache, settings.embed_model, progress)
    elif corpus:
        home = index_documents(corpus, cache, settings.embed_model, progress)
    else:
        return settings
    # Eval indexes are always embedded, even when the user's index is on a Chroma server.
    return settings.model_copy(update={"home": home, "chroma_host": None})


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


@dataclass
class Evaluation:
    """A run's outcome, as `rag eval` prints it and as a report's eval.json holds it."""

    summary: dict  # the gold set, the settings, counts and metrics: what `rag eval --json` prints
    questions: list[dict]  # one scored record per question, in gold order

    def to_dict(self) -> dict:
        return {**self.summary, "per_question": self.questions}


def evaluate(
    gold: GoldSet,
    pipeline,
    *,
    k: int | None = None,
    limit: int | None = None,
    generator: str | None = None,
    progress: bool = False,
) -> Evaluation:
    """Ask each gold question (or a `limit` sample) through `pipeline` and score the answers."""
    k = k or pipeline.settings.k
    items = sample(gold.items, limit)
    pipeline.answerer(generator)  # load a language model now: its start is not a question's time
    answers = [
        pipeline.ask(item.question, k=k, generator=generator)
        for item in tqdm(items, desc=f"Evaluating {gold.name}", unit="question", disable=not progress)
    ]
    records = [score(item, answer, gold.long_answers) for item, answer in zip(items, answers)]
    summary = {
        "gold": gold.name,
        "generator": answers[0].generator if answers else generator,
        "k": k,
        "limit": limit,
        "answers_scored_as": "long" if gold.long_answers else "short",
        "questions": len(records),
        "answerable": sum(not r["unanswerable"] for r in records),
        "unanswerable": sum(r["unanswerable"] for r in records),
        "metrics": summarize(records, k, gold.long_answers),
        "failures": dict(Counter(r["failure"] for r in records if r["failure"])),
    }
    return Evaluation(summary, records)


def score(item: GoldItem, answer: Answer, long_answers: bool) -> dict:
    """One question's record: the gold, the answer, and how it measures up."""
    record = {
        "id": item.id,
        "question": item.question,
        "unanswerable": item.unanswerable,
        "gold_answers": item.answers,
        "answer": answer.answer,
        "refused": answer.refused,
        "retrieval_rank": retrieval_rank(answer.passages, item.source, item.evidence),
        "has_gold_passage": bool(item.source or item.evidence),
        "citations": [
            {"n": c.n, "source": c.source, "quote": c.quote, "score": c.score,
             "supports": supports(c.quote, item.answers, item.evidence)}
            for c in answer.citations
        ],
        "invalid_citations": answer.checks["invalid_citations"],
        "removed_claims": len(answer.checks["removed"]),
        "timings_ms": answer.timings_ms,
        "confidence": answer.confidence,
        "short_answer": answer.short_answer.text if answer.short_answer else None,
        "scores": {},
        "correct": None,
        "correct_if_answered": False,
    }
    if not item.unanswerable:
        shown = "" if answer.refused else answer.answer
        scores = answer_scores(shown, item.answers, long_answers)
        if not long_answers:  # SQuAD's own measures, of the phrase that answers when there is one
            phrase = answer_scores(record["short_answer"] or shown, item.answers, long_answers)
            scores |= {"short_exact_match": phrase["exact_match"], "short_f1": phrase["f1"]}
        record["scores"] = scores
        record["correct"] = not answer.refused and is_correct(scores, long_answers)
        if answer.refused:
            scores_if_answered = answer_scores(_withheld(answer), item.answers, long_answers)
        else:
            scores_if_answered = scores
        record["correct_if_answered"] = is_correct(scores_if_answered, long_answers)
    record["failure"] = failure(record)
    return record


def _withheld(answer: Answer) -> str:
    """The answer a refusal for low confidence withheld ("" for any other refusal)."""
    return (answer.checks.get("low_confidence") or {}).get("withheld") or ""
