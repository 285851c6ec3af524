"""The extractive answerer: the best one to three sentences of the passages, each cited,
with the phrase that answers the question marked inside the best one.

No generative model: it is fast, deterministic, and the baseline every other answerer
is measured against. A sentence's evidence score blends its embedding similarity to the
question (its vector pooled at ingest from its chunk's forward pass, read from the index)
with how much of the question's vocabulary it contains (rarer words weigh more),
discounted when it lacks the kind of answer asked for (a number for "how many"). The
reader (rag/reader.py, trained here) then reads the question with each passage: the
sentence holding its answer span leads, the span is the short answer, and its
probability that the passage answers is one of the signals. Whether to answer at all is
the confidence model's call (rag/answerers/confidence.py), over `evidence_signals()`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import snowballstemmer

from index import STOPWORDS
from index.chunking import sentence_spans
from rag.answer import DECLINE, Citation, Draft, Passage, ShortAnswer, TextDelta
from rag.answerers.confidence import ConfidenceModel, refuse_below
from rag.conversation import standalone_question
from rag.answerers.question_kinds import asked_kind, holds_kind
from rag.answerers.short_answer import short_answer_span
from rag.reader import Reader, Reading

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_POSSESSIVE = re.compile(r"['\u2019]s\b")
# Question words and fillers that say nothing about where the answer is: the keyword
# index's stopwords and the words questions are phrased with.
_FILLER = STOPWORDS | frozenset(
    """being doing much many those about according article say said says tell his him her
    hers get got type kind""".split()
)
_STEMMER = snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball (Porter 2) stem, as the keyword index stems: "shares" and "share" meet."""
    return _STEMMER.stemWord(word.lower())


def words(text: str) -> list[str]:
    """The words of a text, possessives dropped: "DeepSeek's" is "DeepSeek"."""
    return _WORD.findall(_POSSESSIVE.sub("", text))


def content_terms(text: str) -> list[str]:
    return list(dict.fromkeys(stem(w) for w in words(text) if len(w) > 1 and w.lower() not in _FILLER))


def answers_the_type(question: str, sentence: str) -> bool:
    """Whether a sentence holds the kind of answer asked for: a percentage, a number, a time."""
    return holds_kind(asked_kind(question), sentence)


@dataclass(frozen=True)
class Sentence:
    passage: Passage
    start: int  # offsets in the document, like the passage's
    end: int
    text: str
    terms: frozenset[str]
    heading: bool = False
    section: int | None = None  # the start of the heading it follows in its passage

    def citation(self, score: float) -> Citation:
        """This sentence quoted from its passage, with how well it supports what cites it."""
        p = self.passage
        return Citation(p.n, p.source, self.start, self.end, self.text, p.page, round(score, 4), p.location)


@dataclass(frozen=True)
class Scored:
    sentence: Sentence
    evidence: float
    similarity: float
    coverage: float


@dataclass(frozen=True)
class Span:
    """The reader's reading of one passage: `passage.text[reading.start:reading.end]`."""

    passage: Passage
    reading: Reading

    @property
    def probability(self) -> float:
        return self.reading.probability

    @property
    def found(self) -> bool:
        """Whether the reader gave a span: it gives none below its NO_ANSWER_BELOW."""
        return self.reading.end > self.reading.start

    @property
    def start(self) -> int:
        """Where the span starts in the document (offsets like a sentence's)."""
        return self.passage.start + self.reading.start

    @property
    def end(self) -> int:
        return self.passage.start + self.reading.end

    def inside(self, sentence: Sentence) -> bool:
        """Whether the span starts in `sentence`."""
        return sentence.passage is self.passage and sentence.start <= self.start < sentence.end


class QuotingAnswerer:
    """What answerers that quote sentences share: refuse a candidate below the threshold,
    stream it whole, follow up by the rule. Subclasses give `candidate` and `threshold`."""

    threshold: float

    def candidate(self, question: str, passages: list[Passage]) -> Draft:
        raise NotImplementedError

    def answer(self, question: str, passages: list[Passage]) -> Draft:
        return refuse_below(self.candidate(question, passages), self.threshold)

    def stream(self, question: str, passages: list[Passage]) -> Iterator[TextDelta | Draft]:
        draft = self.answer(question, passages)
        yield TextDelta(draft.text)
        yield draft

    def condense(self, question: str, history: list[dict]) -> str:
        return standalone_question(question, history)


# (source, start, end) spans -> the index's stored vectors of the sentences inside them, by
# each sentence's (source, start, end): Index.sentence_vectors.
StoredSentenceVectors = Callable[[list[tuple[str, int, int]]], dict[tuple[str, int, int], np.ndarray]]


class ExtractiveAnswerer(QuotingAnswerer):
    name = "extractive"

    def __init__(
        self,
        embedder,
        model: ConfidenceModel,
        reader: Reader,
        stored_vectors: StoredSentenceVectors | None = None,
        threshold: float | None = None,
        similarity_weight: float = 0.8,
        wrong_type_factor: float = 0.7,
        runner_up_ratio: float = 0.85,
        max_sentences: int = 3,
        max_candidates: int = 24,
        # Ranked on pooled vectors alone (0), answers changed more than the issue allowed
        # (ClapNQ dev's false refusals 7% -> 9%, seed citation precision 0.56 -> 0.47); on
        # the 3 leading sentences embedded alone, no dev metric moved by more than 1.6 points
        # (README, Results), at ~3 sentences' embedding a new question.
        rescored: int = 3,
    ):
        self.embedder = embedder
        self.model = model
        self.reader = reader
        self.stored_vectors = stored_vectors
        self.threshold = model.threshold if threshold is None else threshold
        self.similarity_weight = similarity_weight
        self.wrong_type_factor = wrong_type_factor
        self.runner_up_ratio = runner_up_ratio
        self.max_sentences = max_sentences
        self.max_candidates = max_candidates
        self.rescored = rescored

    def candidate(self, question: str, passages: list[Passage]) -> Draft:
        """The answer the passages give best, with its confidence, before deciding to refuse."""
        ranked = answerable(self.score(question, passages))
        span = self.read(question, passages)
        ranked = led_by_span(ranked, span)
        signals = evidence_signals(question, ranked, passages, span.probability if span else 0.0)
        if not ranked:
            return Draft(DECLINE, [], True, confidence=0.0, signals=signals)
        parts, citations = [], []
        for scored in self._select(ranked):
            s = scored.sentence
            parts.append(f"{s.text} [{s.passage.n}]")
            citations.append(s.citation(scored.evidence))
        return Draft(" ".join(parts), citations, False, confidence=self.model.probability(signals),
                     signals=signals, short_answer=_short_answer(question, ranked[0].sentence, span))

    def read(self, question: str, passages: list[Passage]) -> Span | None:
        """The reader's answer span in the passage it finds likeliest to answer."""
        if not passages:
            return None
        readings = self.reader.read(question, [p.text for p in passages])
        best = max(range(len(passages)), key=lambda i: readings[i].probability)
        return Span(passages[best], readings[best])

    def score(self, question: str, passages: list[Passage]) -> list[Scored]:
        """Sentences of the passages, best evidence first."""
        sentences = split_sentences(passages)
        if not sentences:
            return []
        terms = content_terms(question)
        weights = _idf(terms, sentences)
        total = sum(weights.values()) or 1.0
        coverage = [sum(weights[t] for t in terms if t in s.terms) / total for s in sentences]
        # Embed only the lexically likeliest sentences; the rest keep similarity 0.
        order = sorted(range(len(sentences)), key=lambda i: -coverage[i])[: self.max_candidates]
        vectors = self.sentence_vectors([sentences[i] for i in order])
        similarity = np.zeros(len(sentences), dtype=np.float32)
        similarity[order] = vectors @ self.embedder.embed_query(question)
        scored = [self._scored(question, sentence, float(similarity[i]), coverage[i])
                  for i, sentence in enumerate(sentences)]
        return self._rescored_alone(question, sorted(scored, key=lambda x: x.evidence, reverse=True))

    def _scored(self, question: str, sentence: Sentence, similarity: float, coverage: float) -> Scored:
        evidence = self.similarity_weight * similarity + (1 - self.similarity_weight) * coverage
        if not answers_the_type(question, sentence.text):
            evidence *= self.wrong_type_factor
        return Scored(sentence, evidence, similarity, coverage)

    def _rescored_alone(self, question: str, ranked: list[Scored]) -> list[Scored]:
        """The leading sentences scored again with their vectors embedded alone, and put
        back in order. Pooled in its chunk, a sentence also carries its neighbours' meaning:
        good for finding where the answer is (the sentence holding it first for 84% of SQuAD
        dev questions against 80%), less so for which sentence states it ("In which city is
        DeepSeek based?" led with a sentence on DeepSeek's strategy), and the confidence
        model was fitted on sentences embedded alone."""
        lead = ranked[: self.rescored]
        if not lead:
            return ranked
        alone = self.embedder.embed_cached([s.sentence.text for s in lead]) @ self.embedder.embed_query(question)
        rescored = [self._scored(question, s.sentence, float(a), s.coverage) for s, a in zip(lead, alone)]
        return sorted(rescored, key=lambda x: x.evidence, reverse=True) + ranked[len(lead):]

    def sentence_vectors(self, sentences: list[Sentence]) -> np.ndarray:
        """The index's vectors of these sentences, pooled at ingest from their chunk's
        forward pass; those it lacks are embedded now. A new question's 24 candidates took
        ~170 ms of embedding at 10k chunks (bench/run.py), the stored ones < 1 ms to read."""
        stored = self.stored_vectors(_passage_spans(sentences)) if self.stored_vectors else {}
        keys = [(s.passage.source, s.start, s.end) for s in sentences]
        missing = [s.text for s, key in zip(sentences, keys) if key not in stored]
        embedded = iter(self.embedder.embed_cached(missing)) if missing else iter(())
        return np.stack([stored[key] if key in stored else next(embedded) for key in keys]).astype(np.float32)

    def _select(self, ranked: list[Scored]) -> list[Scored]:
        """The best sentence, plus up to two close runners-up that add new words."""
        best = ranked[0]
        chosen = [best]
        for candidate in ranked[1:]:
            if len(chosen) == self.max_sentences or candidate.evidence < self.runner_up_ratio * best.evidence:
                break
            seen = frozenset().union(*(c.sentence.terms for c in chosen))
            if candidate.sentence.terms - seen:
                chosen.append(candidate)
        return chosen


def answerable(ranked: list[Scored]) -> list[Scored]:
    """The ranking without headings, which name a topic but answer nothing; when a heading
    ranks first, the sentences of its section lead, in their order of evidence."""
    if ranked and ranked[0].sentence.heading:
        best = ranked[0].sentence
        under = [s for s in ranked if s.sentence.passage is best.passage and s.sentence.section == best.start]
        ranked = under + [s for s in ranked if s not in under]
    return [s for s in ranked if not s.sentence.heading]


def led_by_span(ranked: list[Scored], span: Span | None) -> list[Scored]:
    """The ranking with the sentence holding the reader's span first, when the reader
    finds one; else as ranked by evidence."""
    if span is None or not span.found:
        return ranked
    holding = [s for s in ranked if span.inside(s.sentence)]
    return holding[:1] + [s for s in ranked if s not in holding[:1]]


def _passage_spans(sentences: list[Sentence]) -> list[tuple[str, int, int]]:
    passages = {id(s.passage): s.passage for s in sentences}.values()
    return [(p.source, p.start, p.end) for p in passages]


def _short_answer(question: str, sentence: Sentence, span: Span | None) -> ShortAnswer | None:
    """The reader's span when it lies in the answer's first sentence (cut at its end),
    else the phrase of the asked kind the rules find there (rag/answerers/short_answer.py)."""
    source = sentence.passage.source
    if span is not None and span.found and span.inside(sentence):
        end = min(span.end, sentence.end)
        return ShortAnswer(sentence.text[span.start - sentence.start : end - sentence.start], source, span.start, end)
    found = short_answer_span(question, sentence.text)
    if found is None:
        return None
    start, end = found
    return ShortAnswer(sentence.text[start:end], source, sentence.start + start, sentence.start + end)


# Tried and left out: the margin over the runner-up sentence. On ClapNQ dev it lifts the
# out-of-fold AUC from 0.75 to 0.82, but with a negative weight: ClapNQ's answerable
# passages hold long answers spread over several sentences, so one sentence that stands out
# reads as "unanswerable", and "How much did Nvidia lose?" was refused with its answer in hand.
EVIDENCE_SIGNALS = ("evidence", "similarity", "coverage", "answer_type", "names_numbers_in_sentence",
                    "names_numbers_in_passage", "retrievers_agree", "reader")


def evidence_signals(question: str, ranked: list[Scored], passages: list[Passage],
                     reader: float) -> dict[str, float]:
    """What the retrieved evidence says about answerability, each signal within [0, 1.25];
    `reader` is the reader's probability that its likeliest passage answers."""
    if not ranked:
        return dict.fromkeys(EVIDENCE_SIGNALS, 0.0)
    best = ranked[0]
    in_passage = [s.sentence.terms for s in ranked if s.sentence.passage is best.sentence.passage]
    keys = _names_and_numbers(question)
    return {
        "evidence": best.evidence,
        "similarity": best.similarity,
        "coverage": best.coverage,
        "answer_type": float(answers_the_type(question, best.sentence.text)),
        "names_numbers_in_sentence": _share(keys, best.sentence.terms),
        "names_numbers_in_passage": _share(keys, frozenset().union(*in_passage)),
        # The top passage's fused score x 61: 1 when dense search ranks it first, 1.25
        # when keyword search does too.
        "retrievers_agree": passages[0].score * 61,
        "reader": reader,
    }


def _names_and_numbers(question: str) -> frozenset[str]:
    """Names (capitalised words past the first) and numbers: what a question most often
    turns on, and what an unanswerable one most often gets wrong."""
    words = _WORD.findall(question)[1:]
    return frozenset(stem(w) for w in words if w[0].isupper() or any(c.isdigit() for c in w))


def _share(wanted: frozenset[str], held: frozenset[str]) -> float:
    """The share of `wanted` in `held`; 1 when nothing is wanted."""
    return len(wanted & held) / len(wanted) if wanted else 1.0


def split_sentences(passages: list[Passage]) -> list[Sentence]:
    sentences = []
    for passage in passages:
        section = None
        for start, end in sentence_spans(passage.text):
            text = passage.text[start:end]
            heading = is_heading(passage.text, start, end)
            section = passage.start + start if heading else section
            sentences.append(
                Sentence(passage, passage.start + start, passage.start + end, text,
                         frozenset(content_terms(text)), heading, section)
            )
    return sentences


# A heading, told from the text alone (the loaders' sections are not in the catalog, and a
# .txt file has none): a Markdown "## " line, or a short line standing alone between blank
# lines that starts with a letter or digit and holds no sentence end ("5.1. More on Lists"
# may be numbered). List items ("- "), table rows (" | ") and code ("$ cargo new") stand
# alone too but are not headings, except a table's first row when the next has as many
# cells: it names the columns. Asked how to read a JSON file into a Python object, the
# conversion table's "Python | JSON" was the answer.
MAX_HEADING_WORDS = 12
_MARKDOWN_HEADING = re.compile(r"#{1,6}[ \t]")
_SECTION_NUMBER = re.compile(r"(?:\d+\.)*\d+\.?[ \t]+")
_SENTENCE_END = re.compile(r"[.!?:;,\"'\u201d\u2019)\]](?:\s|$)")
_BLANK_BEFORE = re.compile(r"\n[ \t]*\n[ \t]*$")
_BLANK_AFTER = re.compile(r"[ \t]*\n[ \t]*(?:\n|$)")


def is_heading(text: str, start: int, end: int) -> bool:
    """Whether text[start:end], a sentence of `text`, lies in a heading line."""
    first = text.rfind("\n", 0, start) + 1
    last = text.find("\n", end)
    last = len(text) if last < 0 else last
    line = text[first:last].strip()
    alone = ((not text[:first].strip() or _BLANK_BEFORE.search(text, 0, first))
             and (not text[last:].strip() or _BLANK_AFTER.match(text, last)))
    if not line or not alone:
        return False
    if _MARKDOWN_HEADING.match(line):
        return True
    if " | " in line:
        return _heads_a_table(text, first, last, line)
    words = _SECTION_NUMBER.sub("", line, count=1)
    return line[0].isalnum() and not _SENTENCE_END.search(words) and len(line.split()) <= MAX_HEADING_WORDS


def _heads_a_table(text: str, first: int, last: int, row: str) -> bool:
    """Whether the table row text[first:last] is its table's first, with a row of as many cells next."""
    before = text[:first].rstrip().rpartition("\n")[2]
    after = text[last:].lstrip().partition("\n")[0]
    return " | " not in before and after.count(" | ") == row.count(" | ")


def _idf(terms: list[str], sentences: list[Sentence]) -> dict[str, float]:
    """Inverse frequency among the candidate sentences; a term none contains weighs most."""
    n = len(sentences)
    return {t: math.log(1 + n / (1 + sum(t in s.terms for s in sentences))) for t in terms}
