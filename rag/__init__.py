"""Question answering over your documents, with every answer cited to an exact passage."""

from rag.answer import Answer, Citation, Passage, ShortAnswer, TextDelta
from rag.pipeline import Pipeline, QuestionError, ask, ask_stream
from rag.settings import Settings

__all__ = [
    "Answer", "Citation", "Passage", "Pipeline", "QuestionError", "Settings", "ShortAnswer", "TextDelta",
    "ask", "ask_stream",
]
