"""Which chunks can still reach a keyword search's top k (MaxScore, Turtle & Flood 1995),
from what each word can add at most to a chunk's score.

FTS5's bm25 (sqlite's ext/fts5/fts5_aux.c) scores a row as the sum, over the query's
phrases, of idf(t) * f * (k1 + 1) / (f + k1 * (1 - b + b * len / average len)) with
k1 = 1.2, idf(t) = log((N - n + 0.5) / (n + 0.5)) floored at 1e-6, for a word held by n of
the N rows and f times by this one. Whatever f and len are, a word adds less than
idf(t) * (k1 + 1). A row can only score at least `need` if the words it holds can add that
much: the rows holding too few of them need no score at all.
"""

from __future__ import annotations

import math

BM25_K1 = 1.2
IDF_FLOOR = 1e-6
# The bounds are raised, and the score a row must reach lowered, by this share, so that
# neither a bound nor a score rounded a last bit the other way drops a row that ties.
ROUNDING = 1e-9
# More clauses than this cost FTS5 more to walk than scoring the rows they leave out: at
# 100k chunks, 28 of them took 28 ms to find 2,600 candidates of 47,000 matches, of which
# scoring all took 40 ms.
MAX_CLAUSES = 24
MAX_SETS = 2000  # sets listed before giving up on listing them


def word_bound(rows_holding: int, rows: int) -> float:
    """The most a word held by `rows_holding` of `rows` rows adds to one row's bm25."""
    idf = math.log((rows - rows_holding + 0.5) / (rows_holding + 0.5))
    return max(idf, IDF_FLOOR) * (BM25_K1 + 1) * (1 + ROUNDING)


def candidate_clauses(bounds: dict[str, float], need: float) -> list[list[list[str]]] | None:
    """Clauses a row must match one of to score `need`, each an AND of parts, each part an
    OR of words. The clauses are the smallest sets of words whose bounds add up to `need`;
    when they are more than MAX_CLAUSES, one a set's first word: it, and any of the second
    words of the sets it begins (each set cut to its first two words, which still holds
    every row the set held). None when every word alone is a clause: nothing is left out."""
    words = sorted(bounds, key=bounds.get, reverse=True)
    need *= 1 - ROUNDING
    sets: list[list[str]] = []
    _gather(words, [bounds[w] for w in words], need, 0, [], 0.0, sets)
    if len(sets) > MAX_SETS:  # too many to list: MaxScore's essential words, each alone
        sets = [[w] for i, w in enumerate(words) if sum(bounds[v] for v in words[i:]) >= need]
    if len(sets) <= MAX_CLAUSES:
        clauses = [[[w] for w in s] for s in sets]
    else:
        seconds: dict[str, list[str]] = {}
        for first, *rest in sets:  # a word that is a set alone begins no other set
            seconds.setdefault(first, []).extend(rest[:1])
        clauses = [[[w], list(dict.fromkeys(then))] if then else [[w]] for w, then in seconds.items()]
    if not clauses or clauses == [[[w]] for w in words]:
        return None
    return clauses


def _gather(words, bounds, need, start, chosen, total, sets) -> None:
    """Depth first, strongest word first: a set is kept as soon as it reaches `need`, and a
    branch is left when even every weaker word could not bring it there."""
    if len(sets) > MAX_SETS:
        return
    if total >= need:
        sets.append(list(chosen))
        return
    if total + sum(bounds[start:]) < need:
        return
    for i in range(start, len(words)):
        chosen.append(words[i])
        _gather(words, bounds, need, i + 1, chosen, total + bounds[i], sets)
        chosen.pop()
