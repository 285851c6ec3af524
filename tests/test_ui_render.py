"""Answers and sources as HTML: highlights placed by offsets, document text never markup."""

import re

from rag.answer import Answer, Citation, Passage
from ui import render

DOCUMENT = "Intro line. Paris is nice. More text here. Paris is nice. The end of the story."
SECOND = DOCUMENT.index("Paris is nice.", 20)


def passage(n=1, start=12, end=len(DOCUMENT), source="docs/paris.txt", text=None, page=None):
    return Passage(n, source, start, end, text if text is not None else DOCUMENT[start:end], page, 0.9)


def citation(n=1, start=SECOND, end=SECOND + len("Paris is nice."), source="docs/paris.txt"):
    return Citation(n, source, start, end, DOCUMENT[start:end], None, 0.9)


def answer(citations, passages, refused=False, text="Paris is nice. [1]"):
    return Answer("Is Paris nice?", text, refused, citations, passages, "extractive")


def marks(html: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", html)


def test_the_cited_occurrence_is_highlighted_not_the_first_match():
    html = render.answer_html(answer([citation()], [passage()]), lambda source: DOCUMENT)
    excerpt = re.search(r'<div class="rag-excerpt">(.*?)</div>', html).group(1)
    assert marks(excerpt) == ["Paris is nice."]
    # The first "Paris is nice." (offset 12) stays plain; the mark sits after "More text here."
    assert excerpt.index("Paris is nice.") < excerpt.index("<mark>")
    assert excerpt.index("More text here.") < excerpt.index("<mark>")


def test_document_text_is_escaped_everywhere():
    hostile = 'Look <script>alert(1)</script> <img src=x onerror="alert(2)"> [a](javascript:alert(3))'
    doc = "Before. " + hostile + " After."
    start = doc.index("Look")
    p = Passage(1, "docs/<b>evil</b>.md", start, start + len(hostile), hostile, None, 0.5)
    c = Citation(1, p.source, start, start + 4, "Look", None, 0.5)
    html = render.answer_html(
        Answer("<i>q</i>", hostile + " [1]", False, [c], [p], "extractive"), lambda source: doc
    )
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "onerror=&quot;alert(2)&quot;" in html
    assert marks(html) == ["Look", "Look"]  # excerpt and surrounding text
    assert render.question_html("<img src=x onerror=alert(1)>") == (
        '<div class="rag-question">&lt;img src=x onerror=alert(1)&gt;</div>'
    )


def test_sources_are_the_cited_passages_numbered_like_the_citations():
    passages = [passage(n=1), passage(n=2, start=0, end=11, source="docs/other.pdf", page=3)]
    html = render.answer_html(
        answer([citation(n=2, start=0, end=11, source="docs/other.pdf")], passages, text="Intro. [2]"),
        lambda source: None,
    )
    assert html.count('class="rag-source"') == 1
    assert '<span class="rag-ref">[2]</span>' in html  # in the answer text and the source head
    assert '<span class="rag-file" title="docs/other.pdf">other.pdf</span>' in html
    assert "page 3" in html and "Sources" in html


def test_a_source_shows_its_location_escaped_in_place_of_the_page():
    located = Passage(1, "docs/book.xlsx", 0, 11, DOCUMENT[:11], 1, 0.9, "sheet <Q3>, rows 2-41")
    html = render.answer_html(answer([citation(n=1, start=0, end=11, source="docs/book.xlsx")], [located]),
                              lambda source: None)
    assert '<span class="rag-where">sheet &lt;Q3&gt;, rows 2-41, chars 0\u201311</span>' in html


def test_a_refusal_looks_different_and_shows_the_closest_passages():
    passages = [passage(n=1), passage(n=2, start=0, end=11)]
    html = render.answer_html(
        answer([], passages, refused=True, text="I don't know."), lambda source: DOCUMENT
    )
    assert 'class="rag-refusal"' in html and 'class="rag-answer"' not in html
    assert "Closest passages" in html and html.count('class="rag-source"') == 2
    assert marks(html) == []


def test_expanding_shows_the_text_around_the_passage_while_the_document_holds_it():
    p = passage(start=SECOND, end=SECOND + 14)
    context = re.search(r'<div class="rag-context">(.*?)</div>', render.source_html(p, [], lambda s: DOCUMENT)).group(1)
    assert context.startswith("Intro line.") and context.endswith("The end of the story.")
    assert '<span class="rag-passage">Paris is nice.</span>' in context
    changed = render.source_html(p, [], lambda s: "Entirely new text of this document, longer than before.")
    assert re.search(r'<div class="rag-context">(.*?)</div>', changed).group(1) == (
        '<span class="rag-passage">Paris is nice.</span>'
    )


def test_long_passages_are_cut_around_the_citation_on_word_boundaries():
    words = " ".join(f"word{i}" for i in range(400))
    doc = words + " The cited sentence. " + words
    start = doc.index("The cited")
    p = Passage(1, "long.txt", 0, len(doc), doc, None, 0.5)
    excerpt = render.source_html(p, [(start, start + len("The cited sentence."))], lambda s: doc)
    shown = re.search(r'<div class="rag-excerpt">(.*?)</div>', excerpt).group(1)
    assert shown.startswith("\u2026word") and shown.endswith("\u2026")
    assert len(shown) < 2 * render.EXCERPT_CHARS + 60
    assert marks(shown) == ["The cited sentence."]
    assert re.fullmatch(r"\u2026(word\d+ )+<mark>.*</mark>( word\d+)+\u2026", shown)


def test_removed_claims_are_shown_as_removed_and_escaped():
    shown = answer([citation()], [passage()])
    shown.checks["removed"] = ["Paris has <script>alert(1)</script> ten million people."]
    html = render.answer_html(shown, lambda source: DOCUMENT)
    assert "removed: not supported by your documents" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; ten million people." in html
    assert "<script>" not in html


def test_a_refusal_shows_what_was_removed():
    refused = answer([], [passage()], refused=True, text="I don't know: the documents do not answer this question.")
    refused.checks["removed"] = ["The capital of France is Paris."]
    html = render.answer_html(refused, lambda source: DOCUMENT)
    assert "Not found in your documents" in html
    assert "removed: not supported by your documents: \u201cThe capital of France is Paris.\u201d" in html


def test_an_answer_from_the_keyword_side_says_so():
    shown = answer([citation()], [passage()])
    shown.checks["index_problem"] = "the vector store (embedded) failed: <gone>. Answered from keyword search only."
    html = render.answer_html(shown, lambda source: DOCUMENT)
    assert "failed: &lt;gone&gt;. Answered from keyword search only." in html
