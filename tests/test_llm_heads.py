"""The saved prompt heads of the local model's server: at most a few files, least recently
used deleted first (rag/llm.py)."""

from rag.llm import _SavedHeads


def test_the_least_recently_used_head_file_is_deleted(tmp_path):
    heads = _SavedHeads(str(tmp_path), maxsize=2)
    for name in ("answer", "condense", "verify"):
        (tmp_path / name).write_text("slot state")
    heads["answer"] = heads["condense"] = None
    heads["answer"]  # restored: now the most recently used
    heads["verify"] = None
    assert sorted(heads) == ["answer", "verify"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["answer", "verify"]
