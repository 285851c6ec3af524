"""Question answering over your documents, with every answer cited to an exact passage."""

from rag.answer import Answer, Citation, Passage
from rag.pipeline import Pipeline, QuestionError, ask, ask_stream
from rag.settings import Settings

__all__ = ["Answer", "Citation", "Passage", "Pipeline", "QuestionError", "Settings", "ask", "ask_stream"]
