"""`verified`: the extractive answer, with the local model deciding whether to give it.

The evidence stays quoted sentences (no generated claim to check), and the local model's
P(yes) to "do the passages state the answer?" joins the evidence signals in the `verified`
confidence model: one output token, ~2 s a question on 2 cores, against ~5 s for a
generated answer (README, Results).
"""

from __future__ import annotations

from dataclasses import replace

from langchain_core.messages import BaseMessage

from rag import llm
from rag.answer import Draft, Passage
from rag.answerers.confidence import ConfidenceModel, load_model
from rag.answerers.extractive import ExtractiveAnswerer, QuotingAnswerer
from rag.answerers.generation import compact_context
from rag.answerers.verification import Verifier


class VerifiedAnswerer(QuotingAnswerer):
    name = "verified"

    def __init__(self, extractive: ExtractiveAnswerer, verifier: Verifier, model: ConfidenceModel,
                 threshold: float | None = None):
        self.extractive = extractive
        self.verifier = verifier
        self.model = model
        self.threshold = model.threshold if threshold is None else threshold

    @classmethod
    def build(cls, answerers) -> VerifiedAnswerer:
        extractive = answerers.get("extractive")
        verifier = Verifier(llm.local_chat_model(answerers.settings),
                            lambda question, passages, budget: compact_context(question, passages, extractive, budget))
        return cls(extractive, verifier, load_model("verified"), answerers.settings.min_confidence)

    def candidate(self, question: str, passages: list[Passage]) -> Draft:
        return self.judged(question, passages)[0]

    def judged(self, question: str, passages: list[Passage]) -> tuple[Draft, list[BaseMessage]]:
        """The candidate, and the conversation the local model was asked to judge it (none
        without passages): `local` writes its answer as that conversation's continuation,
        so the model reads the passages once (rag/answerers/generation.py, ChatAnswerer)."""
        draft = self.extractive.candidate(question, passages)
        if not passages:
            return draft, []
        conversation = self.verifier.conversation(question, passages)
        yes = self.verifier.judge(conversation)
        signals = {**draft.signals, "verified_yes": yes}
        checks = {**draft.checks, "verification": {"model": "local", "p_yes": round(yes, 4)}}
        return replace(draft, confidence=self.model.probability(signals), signals=signals, checks=checks), conversation
