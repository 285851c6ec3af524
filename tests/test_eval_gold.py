"""Gold sets: the readers on the shared ClapNQ and SQuAD files and the project JSONL, and
the fixed sample that `--limit` takes."""

import json
from pathlib import Path

import pytest

from rag.errors import GoldFileError
from rag.eval import GoldItem, GoldSet, eval_settings, read_gold, sample
from rag.settings import Settings
from rag.eval.scoring import normalize

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "eval"
SEED_GOLD = ROOT / "tests" / "data" / "seed_gold.jsonl"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/eval is not beside the project")


@needs_shared
def test_clapnq_reader_on_the_shared_dev_set():
    gold = read_gold(SHARED / "clapnq")
    assert gold.name == "clapnq" and gold.long_answers
    assert len(gold.items) == 600
    assert sum(i.unanswerable for i in gold.items) == 300
    assert len(gold.corpus) == 597  # the distinct passages
    answerable = [i for i in gold.items if not i.unanswerable]
    assert all(i.answers and i.source in gold.corpus for i in answerable)
    # Every annotator's answer is a reference (138 questions have two or more), but not "NA".
    assert sum(len(i.answers) > 1 for i in answerable) == 138
    assert not any(a in ("NA", ".") for i in answerable for a in i.answers)
    # The evidence is the annotators' chosen sentences of the gold passage (one chose none).
    assert sum(not i.evidence for i in answerable) == 1
    words = lambda text: set(normalize(text).split())  # noqa: E731
    assert all(words(i.evidence) <= words(gold.corpus[i.source]) for i in answerable)
    assert all(not i.answers and i.source in gold.corpus for i in gold.items if i.unanswerable)


@needs_shared
def test_squad_reader_on_the_shared_sample():
    gold = read_gold(SHARED / "squad2_500")
    assert gold.name == "squad2" and not gold.long_answers
    assert len(gold.items) == 500
    assert sum(i.unanswerable for i in gold.items) == 258
    assert len(gold.corpus) == 411
    answerable = [i for i in gold.items if not i.unanswerable]
    assert all(i.answers and "" not in i.answers for i in answerable)
    # Extractive answers: each one is a span of its own context.
    assert all(any(a in gold.corpus[i.source] for a in i.answers) for i in answerable)


def test_jsonl_reader_on_the_seed_gold_set():
    gold = read_gold(SEED_GOLD)
    assert gold.name == "seed_gold" and not gold.corpus and not gold.long_answers
    assert len(gold.items) == 36 and sum(i.unanswerable for i in gold.items) == 8
    assert all(i.evidence for i in gold.items if not i.unanswerable)


def test_jsonl_reader_scores_long_reference_answers_as_long(tmp_path):
    path = tmp_path / "long.jsonl"
    answer = "Light from the sun is scattered by the molecules of the air, and blue light the most."
    path.write_text(json.dumps({"question": "Why is the sky blue?", "answers": [answer]}) + "\n")
    gold = read_gold(path)
    assert gold.long_answers
    assert gold.items[0].id == "1" and not gold.items[0].unanswerable


def test_jsonl_reader_names_the_bad_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "Fine?"}\n\n{"answers": ["no question"]}\n')
    with pytest.raises(GoldFileError, match="line 3"):
        read_gold(path)


@needs_shared
@pytest.mark.parametrize("folder, limit, unanswerable", [("clapnq", 60, 30), ("squad2_500", 60, 31)])
def test_limit_takes_a_fixed_sample_with_the_sets_share_of_unanswerable(folder, limit, unanswerable):
    items = read_gold(SHARED / folder).items
    chosen = sample(items, limit)
    assert len(chosen) == limit
    assert sum(i.unanswerable for i in chosen) == unanswerable
    assert chosen == sample(items, limit)  # deterministic
    assert [items.index(i) for i in chosen] == sorted(items.index(i) for i in chosen)  # gold order
    assert len({i.id for i in chosen}) == limit


def test_limit_on_a_small_set():
    items = read_gold(SEED_GOLD).items
    assert sample(items, None) == items and sample(items, 100) == items
    assert [i.unanswerable for i in sample(items, 9)].count(True) == 2  # 9 x 8/36
    assert len(sample(items, 35)) == 35


def _write(path: Path, files: dict[str, bytes]) -> Path:
    path.mkdir()
    for name, content in files.items():
        (path / name).write_bytes(content)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "missing.jsonl", "cannot read the gold file"),
    (lambda tmp: _write(tmp / "folder", {"notes.txt": b"x"}), "not of ClapNQ dev or the SQuAD 2.0 sample"),
    (lambda tmp: _write(tmp / "squad", {"queries.json": b'{"queries": []}'}), "cannot read the gold file"),
    (lambda tmp: _write(tmp / "clapnq", {"clapnq_dev_answerable.jsonl": b'{"id": "1"}',
                                         "clapnq_dev_unanswerable.jsonl": b""}), "not the gold set layout"),
    (lambda tmp: _write(tmp / "binary", {"gold.jsonl": b"\xff\xfe\x00"}) / "gold.jsonl", "not the gold set layout"),
    (lambda tmp: _write(tmp / "empty", {"gold.jsonl": b"\n\n"}) / "gold.jsonl", "no questions in"),
], ids=["missing", "other-folder", "squad-without-truth", "clapnq-malformed", "not-utf8", "empty"])
def test_a_gold_set_that_cannot_be_read_is_a_gold_file_error(make, message, tmp_path):
    with pytest.raises(GoldFileError, match=message):
        read_gold(make(tmp_path))


def test_a_gold_set_with_its_own_corpus_takes_no_other(tmp_path):
    gold = GoldSet("squad2", [GoldItem("1", "Who?", ["Ann"], False)], corpus={"a.txt": "Ann did."})
    with pytest.raises(GoldFileError, match="leave out --corpus"):
        eval_settings(gold, Settings(home=tmp_path), corpus=ROOT / "seeds")
    assert not (tmp_path / "eval").exists()
