"""Chat messages as HTML in which document and user text is always shown as text.

Every piece of text that comes from a document, a question or a file name goes through
`html.escape`; the only markup is ours. Cited spans are located by the citations' character
offsets, never by searching for the quote, so a quote that also occurs elsewhere in a passage
is highlighted where it was actually cited.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from pathlib import Path

from rag.answer import CITATION_MARK, Answer, Passage, place
from rag.model_queue import Waiting

EXCERPT_CHARS = 240  # passage text shown on each side of a cited span
PREVIEW_CHARS = 480  # start of an uncited passage shown (closest passages of a refusal)
NEIGHBOURHOOD_CHARS = 600  # document text shown around the passage when expanded
WORD_CHARS = 40  # how far an excerpt's edge may move to end on a whole word

Span = tuple[int, int]  # document offsets [start, end)
DocumentText = Callable[[str], str | None]


def text_html(text: str, css_class: str) -> str:
    return f'<div class="{css_class}">{html.escape(text)}</div>'


def question_html(question: str) -> str:
    return text_html(question, "rag-question")


def pending_html(text: str) -> str:
    """An answer still being written (or not started: the passages are being searched)."""
    return text_html(text or "Searching the documents\u2026", "rag-answer rag-pending")


def waiting_html(waiting: Waiting) -> str:
    """A question waiting for its turn at a model; once its turn has come, pending again."""
    if not waiting.ahead:
        return pending_html("")
    questions = "question" if waiting.ahead == 1 else "questions"
    return text_html(f"Waiting for the {waiting.model} model: {waiting.ahead} {questions} ahead of yours",
                     "rag-answer rag-pending rag-waiting")


def error_html(message: str) -> str:
    return text_html(message, "rag-error")


def model_status_html(message: str, state: str) -> str:
    """The status line of the chosen answerer's model, `state` being loading, ready or
    failed (nothing when it has no model)."""
    return text_html(message, f"rag-model rag-model-{state}") if message else ""


def answer_html(answer: Answer, document_text: DocumentText) -> str:
    """The answer, or a clearly different refusal, followed by the passages behind it."""
    if answer.refused:
        head = (
            '<div class="rag-refusal"><div class="rag-refusal-title">Not found in your documents</div>'
            f"{html.escape(answer.answer)}{_notes(answer)}</div>"
        )
        title, shown = "Closest passages", answer.passages
    else:
        head = f'<div class="rag-answer">{_with_citation_refs(answer.answer)}{_notes(answer)}</div>'
        cited = {citation.n for citation in answer.citations}
        title, shown = "Sources", [p for p in answer.passages if p.n in cited]
    spans = _cited_spans(answer)
    short = answer.short_answer
    sources = "".join(
        source_html(p, spans.get(p.n, []), document_text,
                    (short.start, short.end) if short and short.source == p.source else None)
        for p in shown
    )
    return (
        f'<div class="rag-turn">{head}<div class="rag-sources">'
        f'<div class="rag-sources-title">{title}</div>{sources}</div></div>'
    )


def source_html(passage: Passage, spans: list[Span], document_text: DocumentText,
                short: Span | None = None) -> str:
    """One numbered source: where it is, an excerpt around what was cited (the short
    answer in bold), and the surrounding text of the document behind a <details>."""
    name = Path(passage.source).name
    where = [part for part in (place(passage), f"chars {passage.start:,}\u2013{passage.end:,}") if part]
    return (
        f'<div class="rag-source"><div class="rag-source-head">'
        f'<span class="rag-ref">[{passage.n}]</span> '
        f'<span class="rag-file" title="{html.escape(passage.source)}">{html.escape(name)}</span> '
        f'<span class="rag-where">{html.escape(", ".join(where))}</span></div>'
        f'<div class="rag-excerpt">{_excerpt(passage, spans, short)}</div>'
        f"<details><summary>Show surrounding text</summary>"
        f'<div class="rag-context">{_neighbourhood(passage, spans, document_text, short)}</div>'
        f"</details></div>"
    )


def upload_report_html(results: Iterable) -> str:
    """One line per uploaded file (ui.uploads.UploadResult): what became of it."""
    lines = "".join(
        f'<li class="{"rag-ok" if r.ok else "rag-failed"}">'
        f"<strong>{html.escape(r.name)}</strong>: {html.escape(r.message)}</li>"
        for r in results
    )
    return f'<ul class="rag-upload-report">{lines}</ul>' if lines else ""


def highlighted(text: str, offset: int, spans: list[Span], short: Span | None = None) -> str:
    """`text` is the document slice starting at document offset `offset`: escape it, wrap
    the parts inside `spans` in <mark>, and the short answer inside them in <strong>."""
    out, position = [], 0
    for start, end in sorted(spans):
        start, end = max(start - offset, position), min(end - offset, len(text))
        if start >= end:
            continue
        inner = _strong(text[start:end], offset + start, short)
        out += [html.escape(text[position:start]), "<mark>", inner, "</mark>"]
        position = end
    out.append(html.escape(text[position:]))
    return "".join(out)


def _strong(text: str, offset: int, short: Span | None) -> str:
    if short is None:
        return html.escape(text)
    start, end = max(short[0] - offset, 0), min(short[1] - offset, len(text))
    if start >= end:
        return html.escape(text)
    return (html.escape(text[:start]) + '<strong class="rag-short">' + html.escape(text[start:end])
            + "</strong>" + html.escape(text[end:]))


def _with_citation_refs(text: str) -> str:
    return CITATION_MARK.sub(r'<span class="rag-ref">[\1]</span>', html.escape(text))


def _notes(answer: Answer) -> str:
    """What the reader should know about how the answer was made: the phrase that answers
    and how sure it is (information), then another answerer standing in for the chosen one,
    the generated sentences taken out of it and a vector search that had to be left out
    (warnings)."""
    info = []
    if answer.short_answer and not answer.refused:
        info.append(f"short answer: {answer.short_answer.text}")
    if answer.confidence is not None:
        info.append(f"confidence that your documents answer this: {answer.confidence:.0%}"
                    + (" (too low to answer)" if "low_confidence" in answer.checks else ""))
    warnings = [answer.checks["fallback"]] if "fallback" in answer.checks else []
    warnings += [f"removed: not supported by your documents: \u201c{claim}\u201d"
                 for claim in answer.checks.get("removed") or []]
    if "index_problem" in answer.checks:
        warnings.append(answer.checks["index_problem"])
    return "".join(
        [f'<div class="rag-info">{html.escape(line)}</div>' for line in info]
        + [f'<div class="rag-note">{html.escape(line)}</div>' for line in warnings]
    )


def _cited_spans(answer: Answer) -> dict[int, list[Span]]:
    """Passage number -> the cited spans that lie inside that passage."""
    passages = {p.n: p for p in answer.passages}
    spans: dict[int, list[Span]] = {}
    for citation in answer.citations:
        passage = passages.get(citation.n)
        if passage and passage.source == citation.source and passage.start <= citation.start < citation.end <= passage.end:
            spans.setdefault(citation.n, []).append((citation.start, citation.end))
    return spans


def _excerpt(passage: Passage, spans: list[Span], short: Span | None) -> str:
    """The passage around each cited span (windows that overlap are merged), or its start."""
    if not spans:
        windows = [(passage.start, min(passage.end, passage.start + PREVIEW_CHARS))]
    else:
        windows = _merged([(start - EXCERPT_CHARS, end + EXCERPT_CHARS) for start, end in sorted(spans)])
    parts = []
    for start, end in windows:
        start, end = _word_bounds(passage, max(start, passage.start), min(end, passage.end))
        text = passage.text[start - passage.start : end - passage.start]
        parts.append(
            ("\u2026" if start > passage.start else "")
            + highlighted(text, start, spans, short)
            + ("\u2026" if end < passage.end else "")
        )
    return " ".join(parts)


def _neighbourhood(passage: Passage, spans: list[Span], document_text: DocumentText,
                   short: Span | None) -> str:
    """The whole passage, with the document text just before and after it when the indexed
    document still holds this passage (it may have been changed or removed since)."""
    inside = f'<span class="rag-passage">{highlighted(passage.text, passage.start, spans, short)}</span>'
    text = document_text(passage.source)
    if text is None or text[passage.start : passage.end] != passage.text:
        return inside
    start = max(0, passage.start - NEIGHBOURHOOD_CHARS)
    end = min(len(text), passage.end + NEIGHBOURHOOD_CHARS)
    return (
        ("\u2026" if start > 0 else "")
        + html.escape(text[start : passage.start])
        + inside
        + html.escape(text[passage.end : end])
        + ("\u2026" if end < len(text) else "")
    )


def _merged(windows: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in windows:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _word_bounds(passage: Passage, start: int, end: int) -> Span:
    """Move cut points that fall inside a word to a space close by (within the margin
    around the cited text), so an excerpt does not open or close on half a word."""
    text, base = passage.text, passage.start
    if start > base:
        space = text.find(" ", start - base, min(start + WORD_CHARS, end) - base)
        start = base + space + 1 if space != -1 else start
    if end < passage.end:
        space = text.rfind(" ", max(end - WORD_CHARS, start) - base, end - base)
        end = base + space if space != -1 else end
    return start, end
