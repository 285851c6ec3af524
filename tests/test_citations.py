"""CitationChecker on hand-written model outputs: what a model may get wrong is caught."""

import pytest

from rag.answer import DECLINE, Passage
from rag.answerers.assertions import unstated
from rag.answerers.generation import CitationChecker

TEXT_1 = "The Eiffel Tower was completed in 1889. It was built for the World's Fair."
TEXT_2 = "Gustave Eiffel's company designed the tower. Its engineers were Koechlin and Nouguier."
PASSAGES = [
    Passage(1, "paris.txt", 500, 500 + len(TEXT_1), TEXT_1, None, 0.9),
    Passage(2, "eiffel.txt", 0, len(TEXT_2), TEXT_2, 3, 0.8, "slide 3"),
]


@pytest.fixture(scope="module")
def check(embedder):
    return CitationChecker(embedder)


def test_valid_citation_is_pinned_to_the_supporting_sentence(check):
    draft = check("The tower was finished in 1889 [1].", PASSAGES)
    assert not draft.refused
    assert draft.text == "The tower was finished in 1889 [1]."
    [citation] = draft.citations
    assert citation.quote == "The Eiffel Tower was completed in 1889."
    assert TEXT_1[citation.start - 500 : citation.end - 500] == citation.quote
    assert draft.checks == {"invalid_citations": 0, "removed": []}


def test_out_of_range_and_malformed_citations_are_removed_and_counted(check):
    draft = check("It was finished in 1889 [1][7]. Engineers designed it [source].", PASSAGES)
    assert "[7]" not in draft.text and "[source]" not in draft.text
    assert draft.checks["invalid_citations"] == 2
    assert {c.n for c in draft.citations} == {1}


def test_grouped_citations_are_split(check):
    draft = check("Eiffel's company designed the tower, finished in 1889 [1, 2].", PASSAGES)
    assert {c.n for c in draft.citations} == {1, 2}
    assert next(c for c in draft.citations if c.n == 2).page == 3


def test_a_citation_names_where_its_passage_is(check):
    draft = check("Koechlin and Nouguier were its engineers [2].", PASSAGES)
    assert [c.location for c in draft.citations] == ["slide 3"]


def test_no_valid_citation_is_a_refusal(check):
    draft = check("The tower is 330 metres tall.", PASSAGES)
    assert draft.refused and draft.text == DECLINE and draft.citations == []


def test_explicit_decline_is_a_refusal(check):
    assert check("I don't know.", PASSAGES).refused
    assert check("The passages do not contain this information.", PASSAGES).refused


def test_a_claim_its_quote_does_not_support_is_removed(check):
    draft = check("It was finished in 1889 [1]. Bananas are rich in potassium [2].", PASSAGES)
    assert not draft.refused
    assert draft.text == "It was finished in 1889 [1]."
    assert {c.n for c in draft.citations} == {1}, "the removed claim's citation goes with it"
    assert draft.checks["removed"] == ["Bananas are rich in potassium."]


def test_an_answer_with_no_supported_claim_is_a_refusal(check):
    draft = check("The population of Hangzhou is 10.4 million [1].", PASSAGES)
    assert draft.refused and draft.text == DECLINE and draft.citations == []
    assert draft.checks["removed"] == ["The population of Hangzhou is 10.4 million."]


def test_a_claim_naming_what_its_passage_never_states_is_removed(check):
    """The issue's case: every word but the asserted name is in the cited passage."""
    passage = "Liang Wenfeng was born in Guangdong and founded DeepSeek in Hangzhou, China."
    draft = check("Liang Wenfeng attended Hangzhou University [1].",
                  [Passage(1, "deepseek.txt", 0, len(passage), passage, None, 0.9)])
    assert draft.refused and draft.checks["removed"] == ["Liang Wenfeng attended Hangzhou University."]


def test_a_name_the_question_gives_is_kept_and_one_it_does_not_removed(check):
    claim = "The tower in Paris, France was completed in 1889 [1]."
    assert not check(claim, PASSAGES, "When was the tower in Paris, France completed?").refused
    assert check(claim, PASSAGES, "When was the tower in Paris completed?").checks["removed"]


def test_a_number_its_passage_never_states_is_removed(check):
    draft = check("The tower was completed in 1899 [1].", PASSAGES)
    assert draft.refused and draft.checks["removed"] == ["The tower was completed in 1899."]


def test_names_and_numbers_match_normalised():
    passage = "NVIDIA's shares fell 17%, erasing 589,000 million dollars on Monday."
    assert unstated("Nvidia's market value fell by 589000 million on Monday.", [passage]) == []
    assert unstated("Nvidia fell 17% on Tuesday.", [passage]) == ["Tuesday"]


def test_what_the_question_names_is_no_claim_but_a_name_it_only_partly_holds_is():
    """ClapNQ dev: "America" restates the question, it asserts nothing; but "Hangzhou
    University" is an answer, though the question says "university" and the passage
    "Hangzhou"."""
    school = "In most states the school year starts in late August or early September."
    assert unstated("A new school year starts in August in America.", [school],
                    "when does a new school year start in america") == []
    assert unstated("A new school year starts in August in America.", [school]) == ["America"]
    liang = "Liang Wenfeng was born in 1985 in a village near Zhanjiang and studied in Hangzhou."
    assert unstated("Liang Wenfeng attended Hangzhou University.", [liang],
                    "Which university did Liang Wenfeng attend?") == ["University"]


def test_a_yes_or_no_questions_names_get_no_pass():
    """Asked "Did Elon Musk found DeepSeek?", `local` wrote "Yes, Elon Musk founded DeepSeek
    [1]." citing the founding sentence, which names Liang Wenfeng."""
    founding = "Founded in 2023 by Liang Wenfeng in Hangzhou, China, DeepSeek is underpinned by a hedge fund."
    assert unstated("Yes, Elon Musk founded DeepSeek.", [founding], "Did Elon Musk found DeepSeek?") == ["Elon", "Musk"]
    assert unstated("Nvidia lost 600 billion.", ["Nvidia lost 589 billion."], "Did Nvidia lose 600 billion?") == ["600"]


def test_a_reply_opening_a_sentence_is_no_name():
    passage = "Shakespeare's plays were popular in his lifetime."
    assert unstated("Yes, Shakespeare's plays were popular when he was alive.", [passage]) == []
