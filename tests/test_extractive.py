"""The extractive answerer's parts on hand-made passages, with the real embedding model."""

import pytest

from rag.answer import DECLINE, Passage
from rag.answerers.confidence import load_model
from index.chunking import sentence_spans
from rag.answerers.extractive import ExtractiveAnswerer, answers_the_type, content_terms, is_heading

TEXT = (
    "The lighthouse was built in 1852 on the northern cape. "
    "Its keeper, Ada Marsh, lit the lamp every evening. "
    "Fog horns were added after a shipwreck."
)


def passage(n=1, source="doc.txt", start=100, text=TEXT):
    # The fused score of a passage that dense search ranks first.
    return Passage(n, source, start, start + len(text), text, None, 1 / 61)


def test_content_terms_stem_and_drop_question_words():
    assert content_terms("When was DeepSeek\u2019s lighthouse built?") == ["deepseek", "lighthous", "built"]
    assert content_terms("shares") == content_terms("share")


def test_answer_types():
    assert answers_the_type("How many ships sank?", "Three ships sank.")
    assert not answers_the_type("How many ships sank?", "Ships sank.")
    assert answers_the_type("By what percentage did it fall?", "It fell 3%.")
    assert not answers_the_type("By what percentage did it fall?", "It fell by $3.")
    assert answers_the_type("When was it built?", "It was built in May.")
    assert answers_the_type("Who built it?", "Nobody knows.")


def test_best_sentence_is_cited_with_document_offsets(embedder, reader):
    answerer = ExtractiveAnswerer(embedder, load_model("evidence"), reader, threshold=0.0)
    draft = answerer.answer("When was the lighthouse built?", [passage()])
    text, citations = draft.text, draft.citations
    assert not draft.refused
    assert citations[0].quote == "The lighthouse was built in 1852 on the northern cape."
    assert (citations[0].start, citations[0].end) == (100, 100 + len(citations[0].quote))
    assert text.startswith(citations[0].quote + " [1]")


def test_citation_numbers_follow_the_passage(embedder, reader):
    other = passage(n=2, source="other.txt", start=0, text="Bananas are rich in potassium.")
    answerer = ExtractiveAnswerer(embedder, load_model("evidence"), reader, threshold=0.0)
    draft = answerer.answer("Who lit the lamp of the lighthouse?", [other, passage(n=1)])
    text, citations = draft.text, draft.citations
    assert citations[0].n == 1 and "Ada Marsh" in citations[0].quote
    assert "[2]" not in text


def test_weak_evidence_is_a_refusal_that_keeps_the_withheld_answer(embedder, reader):
    answerer = ExtractiveAnswerer(embedder, load_model("evidence"), reader)  # the calibrated threshold
    draft = answerer.answer("What is the capital of Mongolia?", [passage()])
    assert draft.refused and draft.citations == [] and draft.text == DECLINE
    assert draft.checks["low_confidence"]["withheld"].endswith("[1]")
    assert draft.confidence < answerer.threshold


@pytest.mark.parametrize(("question", "phrase"), [
    ("Who lit the lamp every evening?", "Ada Marsh"),
    # A "what" question: no rule of short_answer.py knows its kind, the reader does.
    ("What were added after a shipwreck?", "Fog horns"),
])
def test_the_phrase_that_answers_is_marked_in_the_cited_sentence(embedder, reader, question, phrase):
    answerer = ExtractiveAnswerer(embedder, load_model("evidence"), reader, threshold=0.0)
    short = answerer.answer(question, [passage()]).short_answer
    assert short.text == phrase
    assert TEXT[short.start - 100 : short.end - 100] == phrase


def test_a_sentence_without_the_asked_number_scores_lower(embedder, reader):
    answerer = ExtractiveAnswerer(embedder, load_model("evidence"), reader, threshold=0.0)
    with_number = answerer.score("How many keepers lived there?", [passage(text="Two keepers lived there.")])
    without = answerer.score("How many keepers lived there?", [passage(text="Keepers lived there.")])
    assert with_number[0].evidence > without[0].evidence


def test_no_passages_is_a_refusal(embedder, reader):
    assert ExtractiveAnswerer(embedder, load_model("evidence"), reader, threshold=0.1).answer("Anything?", []).refused


CARGO = (
    "Creating a Project with Cargo\n\n"
    "Let's create a new project using Cargo and look at how it differs from our original "
    "Hello World project. Navigate back to your projects directory and run the following:\n\n"
    "$ cargo new hello_cargo\n$ cd hello_cargo\n\n"
    "The first command creates a new directory and project called hello_cargo.\n\n"
    "Building and Running a Cargo Project\n\n"
    "Now let's look at what is different when we build and run the program with Cargo."
)


def test_a_heading_ranked_first_is_answered_from_its_section(embedder, reader):
    answerer = ExtractiveAnswerer(embedder, load_model("evidence"), reader, threshold=0.0)
    question = "How do I create a new project with Cargo?"
    ranked = answerer.score(question, [passage(text=CARGO)])
    assert ranked[0].sentence.text == "Creating a Project with Cargo"  # what the issue saw answered
    citation = answerer.answer(question, [passage(text=CARGO)]).citations[0]
    section = CARGO[: CARGO.index("Building and Running")]
    assert citation.quote in section and citation.quote != "Creating a Project with Cargo"
    assert CARGO[citation.start - 100 : citation.end - 100] == citation.quote


def test_headings_are_told_from_sentences_list_items_rows_and_code():
    text = "5.1. More on Lists\n\n## Install\n\nIt is done. Really\n\n- an item\n\nA | B\n\n$ cargo new x"
    headings = [text[s:e] for s, e in sentence_spans(text) if is_heading(text, s, e)]
    assert headings == ["5.1.", "More on Lists", "## Install"]


def test_a_tables_first_row_is_its_heading_and_the_others_are_rows():
    text = "It converts:\n\nPython | JSON\n\ndict | object\n\nNone | null\n\nA lone | row | here\n\nThe end."
    headings = [text[s:e] for s, e in sentence_spans(text) if is_heading(text, s, e)]
    assert headings == ["Python | JSON"]


def test_the_sentence_holding_the_readers_span_leads(embedder, reader):
    """Evidence alone ranks the sentence that shares the question's words first; the
    reader's span is in the one that answers."""
    text = ("The keeper's log mentions the storm of 1887 many times. "
            "A storm in 1887 destroyed the lantern, which was rebuilt by the engineer Thomas Hale.")
    question = "Who rebuilt the lantern after the storm of 1887?"
    answerer = ExtractiveAnswerer(embedder, load_model("evidence"), reader, threshold=0.0)
    draft = answerer.answer(question, [passage(text=text)])
    assert draft.citations[0].quote.startswith("A storm in 1887")
    assert draft.short_answer.text == "Thomas Hale"


def test_the_readers_probability_is_a_signal(embedder, reader):
    answerer = ExtractiveAnswerer(embedder, load_model("evidence"), reader, threshold=0.0)
    answered = answerer.answer("Who lit the lamp every evening?", [passage()]).signals["reader"]
    unanswered = answerer.answer("What is the capital of Mongolia?", [passage()]).signals["reader"]
    assert answered > 0.5 > unanswered
