"""What a generated sentence asserts that its citations must state: its numbers, dates
and names. A sentence can share most words with the passage it cites and still assert a
name the passage never states: asked which university Liang Wenfeng attended (the seed
article never says), `local` wrote "Liang Wenfeng attended Hangzhou University [1]",
citing a sentence about Hangzhou, China, at 0.6 similarity: enough for the similarity
check, not for this one ("University" is stated nowhere in the passage).
"""

from __future__ import annotations

import re

from index import STOPWORDS
from rag.answerers.extractive import stem, words

_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def unstated(claim: str, cited: list[str]) -> list[str]:
    """The numbers and names of `claim` that none of the `cited` texts states, compared
    normalised: numbers without thousands separators ("1,889" is "1889"), names by their
    stem and case-blind ("Nvidia's" is stated by "NVIDIA")."""
    stated_words = {stem(w) for text in cited for w in words(text)}
    stated_numbers = {_number(n) for text in cited for n in _NUMBER.findall(text)}
    missing = [n for n in _NUMBER.findall(claim) if _number(n) not in stated_numbers]
    missing += [w for w in _names(claim) if stem(w) not in stated_words]
    return list(dict.fromkeys(missing))


def _number(text: str) -> str:
    return text.replace(",", "").rstrip(".")


def _names(claim: str) -> list[str]:
    """Capitalised words, but the first word when it is capitalised only as the sentence's
    opener ("The", "It"), and words in all capitals of one letter ("I", "A")."""
    found = [w for w in words(claim) if not w[0].isdigit()]
    if found and found[0].lower() in STOPWORDS:
        found = found[1:]
    return [w for w in found if w[0].isupper() and len(w) > 1]
