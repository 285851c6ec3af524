"""What a generated sentence asserts that its citations must state: its numbers, dates
and names. A sentence can share most words with the passage it cites and still assert a
name the passage never states: asked which university Liang Wenfeng attended (the seed
article never says), `local` wrote "Liang Wenfeng attended Hangzhou University [1]",
citing a sentence about Hangzhou, China, at 0.6 similarity: enough for the similarity
check, not for this one ("University" is stated nowhere in the passage).
"""

from __future__ import annotations

import re
from itertools import groupby

from index import STOPWORDS
from rag.answerers.extractive import stem, words

_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
# Replies that open a sentence capitalised: no name.
_OPENERS = {"yes", "no"}
# A question answered by yes or no: its answer asserts what it asks ("Yes, Elon Musk founded
# DeepSeek [1]." for "Did Elon Musk found DeepSeek?"), so its names give no claim a pass.
_YES_NO = re.compile(r"^\W*(?:is|are|was|were|do|does|did|can|could|has|have|had|will|would|should|may|might)\b",
                     re.IGNORECASE)


def unstated(claim: str, cited: list[str], question: str = "") -> list[str]:
    """The numbers and names of `claim` that none of the `cited` texts states, compared
    normalised: numbers without thousands separators ("1,889" is "1889"), names by their
    stem and case-blind ("Nvidia's" is stated by "NVIDIA").

    A name or number the question holds is what the claim is about, not what it asserts:
    "A new school year starts in August in America." answers "when does a new school year
    start in america" from a passage that never says "America". A name is a run of
    capitalised words, held by the question only whole: "Hangzhou University" is not held by
    "Which university did Liang Wenfeng attend?". A yes-or-no question's names are what its
    answer asserts, and get no pass."""
    if _YES_NO.match(question):
        question = ""
    stated_words = {stem(w) for text in cited for w in words(text)}
    stated_numbers = {_number(n) for text in [*cited, question] for n in _NUMBER.findall(text)}
    asked = [stem(w) for w in words(question)]
    missing = [n for n in _NUMBER.findall(claim) if _number(n) not in stated_numbers]
    for name in _names(claim):
        if not _holds(asked, [stem(w) for w in name]):
            missing += [w for w in name if stem(w) not in stated_words]
    return list(dict.fromkeys(missing))


def _number(text: str) -> str:
    return text.replace(",", "").rstrip(".")


def _names(claim: str) -> list[list[str]]:
    """Runs of capitalised words, but the first word when it is capitalised only as the
    sentence's opener ("The", "It", "Yes"), and words in all capitals of one letter ("I", "A")."""
    found = [w for w in words(claim) if not w[0].isdigit()]
    if found and (found[0].lower() in STOPWORDS or found[0].lower() in _OPENERS):
        found = found[1:]
    return [list(run) for capital, run in groupby(found, key=lambda w: w[0].isupper() and len(w) > 1) if capital]


def _holds(text: list[str], run: list[str]) -> bool:
    """Whether `run` occurs in `text` as consecutive words."""
    return any(text[i:i + len(run)] == run for i in range(len(text) - len(run) + 1))
