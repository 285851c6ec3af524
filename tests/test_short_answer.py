"""The phrase that answers a factoid question, found inside a sentence."""

import pytest

from rag.answerers.short_answer import short_answer_span

CASES = [
    ("How much market value did Nvidia lose?", "Nvidia lost nearly $600 billion in market value.", "$600 billion"),
    ("By what percentage did shares fall?", "Shares fell 17% on Monday.", "17%"),
    ("When was the tower finished?", "The tower was completed in March 1889 for the fair.", "March 1889"),
    ("In what year did the war end?", "The war ended in 1945 after six years.", "1945"),
    ("Who founded DeepSeek?", "The company was founded by Liang Wenfeng in 2023.", "Liang Wenfeng"),
    ("Where is DeepSeek based?", "DeepSeek is based in Hangzhou, China.", "Hangzhou"),
]


@pytest.mark.parametrize("question, sentence, phrase", CASES)
def test_the_phrase_of_the_kind_asked_is_found(question, sentence, phrase):
    start, end = short_answer_span(question, sentence)
    assert sentence[start:end] == phrase


def test_a_phrase_the_question_already_holds_is_not_an_answer():
    assert short_answer_span("Who is Liang Wenfeng?", "Liang Wenfeng runs a fund.") is None


def test_questions_of_other_kinds_get_no_short_answer():
    assert short_answer_span("Why did the shares fall?", "Shares fell 17% on Monday.") is None
