"""index.chunking with the real tokenizer: exact offsets, the token bound, coverage, overlap."""

from __future__ import annotations

import random
import string

import pytest
from helpers import SEED, make_pdf

from index import load
from index.chunking import chunk_document, sentence_spans
from index.formats import Document

WINDOW = 256  # the model's max_seq_length, [CLS] and [SEP] included
OVERLAP = 32  # chunk_document's default overlap_tokens


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


# -- sentence_spans --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "U.S. President Donald Trump spoke. Then he left.",
            ["U.S. President Donald Trump spoke.", "Then he left."],
        ),
        (
            "Mr. Smith went to Washington. He met Dr. Jones there.",
            ["Mr. Smith went to Washington.", "He met Dr. Jones there."],
        ),
        (
            "It rained. We stayed in! Did you? Yes.",
            ["It rained.", "We stayed in!", "Did you?", "Yes."],
        ),
        ("Prices rose 3.5 percent. Analysts were surprised.", ["Prices rose 3.5 percent.", "Analysts were surprised."]),
        ('He said "Stop." Then silence.', ['He said "Stop."', "Then silence."]),
        ("Heading\n\nBody text without a final stop", ["Heading", "Body text without a final stop"]),
        ("   Padded sentence.   \n  ", ["Padded sentence."]),
        ("", []),
        (" \n\n ", []),
    ],
)
def test_sentence_spans(text, expected):
    assert _sentences(text) == expected


def test_sentence_spans_respects_window_and_offsets():
    text = "Zero one. Mr. Two three. Four five. Six."
    start, end = text.index("Mr."), text.index("Six")
    spans = sentence_spans(text, start, end)
    assert [text[a:b] for a, b in spans] == ["Mr. Two three.", "Four five."]
    assert all(start <= a < b <= end for a, b in spans)


def test_sentence_spans_cover_all_non_space_text():
    text = SEED.read_text(encoding="utf-8")
    spans = sentence_spans(text)
    covered = set()
    for (a, b), (c, _) in zip(spans, spans[1:] + [(len(text), None)]):
        assert a < b <= c, "spans are ordered and disjoint"
        covered.update(range(a, b))
    assert all(ch.isspace() for i, ch in enumerate(text) if i not in covered)
    assert len(spans) > 20


# -- documents to chunk ------------------------------------------------------------------


def _enormous_sentence() -> str:
    rng = random.Random(1)
    words = ["alpha", "river", "market", "quietly", "seventeen", "blue", "signal", "harbour"]
    return " ".join(rng.choice(words) for _ in range(3000))


def _long_words() -> str:
    """Words of 30-90 random letters: each is many WordPiece tokens."""
    rng = random.Random(2)
    return " ".join(
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(30, 90)))
        for _ in range(400)
    ) + "."


def _hyphenated() -> str:
    rng = random.Random(3)
    return "-".join("".join(rng.choice(string.ascii_lowercase) for _ in range(8)) for _ in range(2000))


def _mixed() -> str:
    """Normal sentences around a long unpunctuated run, with blank lines."""
    seed = SEED.read_text(encoding="utf-8")
    return seed[:1500] + "\n\n" + _enormous_sentence()[:6000] + "\n\n" + seed[1500:]


def _repeated_long_word() -> str:
    """The smallest case: 'antidisestablishmentarianism' is 8 WordPiece tokens."""
    return " ".join(["antidisestablishmentarianism"] * 200)


SYNTHETIC = {
    "repeated-long-word": _repeated_long_word,
    "enormous-sentence": _enormous_sentence,
    "long-words": _long_words,
    "hyphenated": _hyphenated,
    "mixed": _mixed,
}


@pytest.fixture(scope="module")
def real_documents(session_docs) -> dict[str, Document]:
    documents = {name: load(path) for name, path in session_docs.items()}
    documents["seed"] = load(SEED)
    return documents


@pytest.fixture(scope="module")
def all_documents(real_documents) -> dict[str, Document]:
    documents = dict(real_documents)
    for name, make in SYNTHETIC.items():
        documents[name] = Document(source=name, text=make(), sha256="0" * 64)
    return documents


def _chunks(document, embedder, max_tokens=None):
    return chunk_document(document, embedder.tokenizer, max_tokens or embedder.max_tokens)


# -- invariants over every document ----------------------------------------------------------

DOCUMENT_NAMES = ["pdf", "docx", "html", "md", "latin1", "utf16", "seed", *SYNTHETIC]


@pytest.mark.parametrize("name", DOCUMENT_NAMES)
def test_offsets_are_exact(all_documents, embedder, name):
    document = all_documents[name]
    chunks = _chunks(document, embedder)
    assert chunks
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert document.text[c.start : c.end] == c.text
        assert c.text == c.text.strip() and c.text


@pytest.mark.parametrize("name", DOCUMENT_NAMES)
def test_every_chunk_fits_the_model_window(all_documents, embedder, name):
    """With [CLS] and [SEP], no chunk may exceed the 256 tokens the model reads.

    A sentence longer than the window is cut into pieces; a cut inside a word changes how
    the rest tokenizes ('##' continuations), so pieces must be re-counted (regression)."""
    tokenizer = embedder.model.tokenizer  # the model's own, through transformers: the reference
    chunks = _chunks(all_documents[name], embedder)
    sizes = {c.index: len(tokenizer(c.text)["input_ids"]) for c in chunks}
    too_long = {i: n for i, n in sizes.items() if n > WINDOW}
    assert not too_long, f"{len(too_long)} of {len(chunks)} chunks exceed {WINDOW} tokens: {too_long}"
    assert all(c.tokens <= embedder.max_tokens for c in chunks)


@pytest.mark.parametrize("name", ["pdf", "docx", "html", "md", "latin1", "utf16", "seed"])
def test_recorded_token_count_is_the_real_one(real_documents, embedder, name):
    tokenizer = embedder.model.tokenizer  # the model's own, through transformers: the reference
    for c in _chunks(real_documents[name], embedder):
        assert c.tokens == len(tokenizer(c.text, add_special_tokens=False)["input_ids"])


def test_long_inputs_are_really_split(all_documents, embedder):
    # The bound above must not hold vacuously: these documents need many chunks.
    for name in SYNTHETIC:
        chunks = _chunks(all_documents[name], embedder)
        assert len(chunks) >= 4, name
        assert max(c.tokens for c in chunks) > embedder.max_tokens - 20, name


@pytest.mark.parametrize("name", DOCUMENT_NAMES)
def test_chunks_cover_every_sentence(all_documents, embedder, name):
    document = all_documents[name]
    chunks = _chunks(document, embedder)
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    for span_start, span_end, _ in document.spans():
        for a, b in sentence_spans(document.text, span_start, span_end):
            lost = [i for i in range(a, b) if i not in covered and not document.text[i].isspace()]
            assert not lost, f"sentence {document.text[a:b][:60]!r} loses characters {lost[:5]}"
            if b - a < 500:  # a sentence that fits is never split between chunks
                assert any(c.start <= a and b <= c.end for c in chunks)
    assert all(ch.isspace() for i, ch in enumerate(document.text) if i not in covered)


@pytest.mark.parametrize("name", DOCUMENT_NAMES)
def test_consecutive_chunks_overlap_a_little(all_documents, embedder, name):
    document = all_documents[name]
    tokenizer = embedder.model.tokenizer  # the model's own, through transformers: the reference
    chunks = _chunks(document, embedder)
    for prev, nxt in zip(chunks, chunks[1:]):
        assert prev.start < nxt.start and prev.end < nxt.end, "chunks move forward"
        if nxt.start < prev.end:
            shared = document.text[nxt.start : prev.end]
            assert len(tokenizer(shared, add_special_tokens=False)["input_ids"]) <= OVERLAP
            assert prev.page == nxt.page, "overlap never crosses a page"


def test_seed_chunks_do_overlap(real_documents, embedder):
    chunks = _chunks(real_documents["seed"], embedder, max_tokens=80)
    assert len(chunks) >= 8
    pairs = list(zip(chunks, chunks[1:]))
    assert sum(nxt.start < prev.end for prev, nxt in pairs) >= len(pairs) // 2
    for c in chunks:
        assert len(embedder.model.tokenizer(c.text, add_special_tokens=False)["input_ids"]) <= 80


def test_small_budget_keeps_bound_and_offsets(real_documents, embedder):
    document = real_documents["seed"]
    for budget in (16, 40):
        for c in _chunks(document, embedder, max_tokens=budget):
            assert document.text[c.start : c.end] == c.text
            assert len(embedder.model.tokenizer(c.text, add_special_tokens=False)["input_ids"]) <= budget


# -- pages ------------------------------------------------------------------------------------


def test_pdf_chunks_carry_their_page(real_documents, embedder):
    document = real_documents["pdf"]
    chunks = _chunks(document, embedder)
    assert {c.page for c in chunks} == {1, 2}
    for c in chunks:
        assert document.page_at(c.start) == c.page == document.page_at(c.end - 1)
    assert all(c.page == 1 for c in chunks if "apples" in c.text)
    assert all(c.page == 2 for c in chunks if "bananas" in c.text)
    assert any("apples" in c.text for c in chunks) and any("bananas" in c.text for c in chunks)


def test_multi_chunk_pages(tmp_path, embedder):
    """Pages long enough for several chunks each: every chunk stays inside its page."""
    rng = random.Random(4)
    nouns = ["lantern", "harbour", "granite", "meadow", "falcon", "copper", "willow"]
    pages = [
        " ".join(
            f"Page {p} sentence {i} describes the {rng.choice(nouns)} and the {rng.choice(nouns)}."
            for i in range(40)
        )
        for p in (1, 2, 3)
    ]
    document = load(make_pdf(tmp_path / "long.pdf", pages))
    assert [p.number for p in document.pages] == [1, 2, 3]
    chunks = _chunks(document, embedder)
    for number in (1, 2, 3):
        on_page = [c for c in chunks if c.page == number]
        assert len(on_page) >= 2
        page = document.pages[number - 1]
        for c in on_page:
            assert page.start <= c.start < c.end <= page.end
            assert f"Page {number} sentence" in c.text
            assert all(f"Page {other} sentence" not in c.text for other in (1, 2, 3) if other != number)


def test_the_chunk_budget_is_the_window_sentence_transformers_reads(embedder):
    """max_tokens comes from the folder's configuration, without loading the model through
    sentence-transformers: it must be that model's window less [CLS] and [SEP]."""
    assert embedder.max_tokens == embedder.model.max_seq_length - 2
