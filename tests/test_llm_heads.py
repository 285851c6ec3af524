"""The saved prompt heads of the local model's server: at most a few files, least recently
used deleted first; and the prompt a request continues (rag/llm.py)."""

from rag.llm import CONTINUES, _prompt_key, _SavedHeads


def test_the_least_recently_used_head_file_is_deleted(tmp_path):
    heads = _SavedHeads(str(tmp_path), maxsize=2)
    for name in ("answer", "condense", "verify"):
        (tmp_path / name).write_text("slot state")
    heads["answer"] = heads["condense"] = None
    heads["answer"]  # restored: now the most recently used
    heads["verify"] = None
    assert sorted(heads) == ["answer", "verify"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["answer", "verify"]


def test_a_continuation_names_the_prompt_of_the_request_it_continues():
    question = {"role": "user", "content": "Passages: ... Reply yes or no."}
    verification = {"model": "local", "temperature": 0, "messages": [question], "logprobs": True,
                    "top_logprobs": 10, "max_completion_tokens": 1, "stream": False}
    answer = {"model": "local", "temperature": 0, "stream": True, "max_completion_tokens": 48, CONTINUES: 1,
              "messages": [question, {"role": "assistant", "content": "Yes."}, {"role": "user", "content": "Answer."}]}
    assert _prompt_key({**answer, "messages": answer["messages"][:1]}) == _prompt_key(verification)
