"""The local model's own judgement of whether the passages answer a question: the
probability of "yes", read from the server's token logprobs of a one-token reply.

Measured here: ~2 s a question on 2 cores over ~400 characters of compact context; on
ClapNQ dev it separates answerable from unanswerable questions better than any lexical
signal (bench/calibrate.py), so it is one signal of the confidence model.
"""

from __future__ import annotations

import math

from langchain_core.messages import BaseMessage
from langchain_core.prompts import ChatPromptTemplate

from rag.answer import Passage

QUESTION = """Passages:
{context}

Question: {question}

Do the passages state the answer to this question? Reply yes or no."""


class Verifier:
    def __init__(self, chat_model, compact):
        """`compact(question, passages, budget_chars)` -> the context the model reads."""
        self.prompt = ChatPromptTemplate.from_messages([("human", QUESTION)])
        self.model = chat_model.bind(logprobs=True, top_logprobs=10, max_tokens=1)
        self.compact = compact

    def conversation(self, question: str, passages: list[Passage]) -> list[BaseMessage]:
        """The messages the model is asked: `local` writes its answer as their continuation."""
        return self.prompt.invoke({"context": self.compact(question, passages, 400), "question": question}).to_messages()

    def judge(self, conversation: list[BaseMessage]) -> float:
        """For messages made by `conversation`: P(yes) / (P(yes) + P(no)) over the first
        reply token; 0.5 when neither is likely."""
        reply = self.model.invoke(conversation)
        first = reply.response_metadata["logprobs"]["content"][0]["top_logprobs"]
        yes = sum(math.exp(t["logprob"]) for t in first if t["token"].strip().lower() == "yes")
        no = sum(math.exp(t["logprob"]) for t in first if t["token"].strip().lower() == "no")
        return yes / (yes + no) if yes + no > 0 else 0.5
