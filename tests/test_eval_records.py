"""What a run writes and reads back: its typed records in the JSON shape of the committed
runs in bench/results/, the plain text table, and comparing runs, old ones included."""

import json
from pathlib import Path

import pytest

from rag.answer import Answer, Citation
from rag.errors import ReportError
from rag.eval import Evaluation, GoldItem, compare, score
from rag.eval.tables import table

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
OLD_RUNS = RESULTS / "eval-seed-extractive" / "eval.json", RESULTS / "eval-seed-local" / "eval.json"
EVIDENCE = "DeepSeek was founded in 2023 by Liang Wenfeng in Hangzhou."


def scored():
    item = GoldItem("q1", "Who founded DeepSeek?", ["Liang Wenfeng"], False, EVIDENCE)
    cited = Citation(1, "docs/a.txt", 0, len(EVIDENCE), EVIDENCE, None, 0.8)
    timings = {"retrieve": 1.0, "generate": 1.0, "total": 2.0}
    given = Answer("q", "Liang Wenfeng [1]", False, [cited], [], "extractive", timings,
                   {"invalid_citations": 0, "removed": []})
    return score(item, given, long_answers=False)


def test_a_record_keeps_the_json_shape_of_the_committed_runs():
    old = json.loads(OLD_RUNS[0].read_text(encoding="utf-8"))["per_question"]
    old_citation = next(q["citations"][0] for q in old if q["citations"])
    record = scored().to_dict()
    assert list(record) == list(old[0])
    assert list(record["citations"][0]) == list(old_citation)
    assert record["citations"][0]["supports"] and record["correct"] and record["failure"] is None


def test_an_evaluation_is_its_summary_and_every_question():
    record = scored()
    assert Evaluation({"gold": "g"}, [record]).to_dict() == {"gold": "g", "per_question": [record.to_dict()]}


def test_the_table_is_plain_left_aligned_columns():
    assert table([["metric", "value", ""], ["a.b", "1.000", ""], ["longer.name", "[1]", "worse"]]) == (
        "metric       value\n"
        "a.b          1.000\n"
        "longer.name  [1]    worse"
    )


def test_compare_reads_the_committed_runs_of_before_the_answerer_rename():
    compared = compare(*OLD_RUNS)
    rows = {line.split()[0]: line.split()[1:] for line in compared.splitlines()[3:]}
    assert rows["metric"] == ["A", "B", "change"]
    assert len(rows["retrieval.hit@1"]) in (2, 4)  # both values, and a change when there is one


@pytest.mark.parametrize("content, message", [
    (None, "cannot read"),
    ("not json", "is not an eval run's JSON"),
    ('{"questions": 3}', "has no metrics of an eval run"),
    ('{"metrics": {"retrieval": {"hit@1": "high"}}}', "has no metrics of an eval run"),
], ids=["missing", "not-json", "no-metrics", "not-numbers"])
def test_compare_of_files_that_are_not_runs_is_a_report_error(content, message, tmp_path):
    path = tmp_path / "run.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ReportError, match=message):
        compare(OLD_RUNS[0], path)
