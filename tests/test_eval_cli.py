"""`rag eval` as a user runs it: a small real run over the seed article, its report folder,
the JSON summary, comparing two runs, and usage errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.eval import REPORT_FILES

pytestmark = pytest.mark.slow  # every test starts `rag` processes (a fresh interpreter: seconds each)
ROOT = Path(__file__).resolve().parents[1]
RAG = [sys.executable, "-m", "rag.cli"]
SEED_GOLD = "tests/data/seed_gold.jsonl"


def rag(*args, home):
    env = {**os.environ, "RAG_HOME": str(home), "RAG_ANSWERER": "extractive"}
    return subprocess.run([*RAG, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One small eval of the seed gold set against seeds/, with a report folder."""
    folder = tmp_path_factory.mktemp("eval")
    result = rag("eval", SEED_GOLD, "--corpus", "seeds", "--limit", "9", "--report", str(folder / "report"),
                 home=folder / "home")
    assert result.returncode == 0, result.stderr
    return folder, result


def test_eval_prints_the_summary_table_and_writes_every_report_file(run):
    folder, result = run
    headline = "seed_gold: 9 questions (the --limit 9 sample: 7 answerable, 2 unanswerable), answerer extractive"
    assert headline in result.stdout
    for metric in ("retrieval.hit@1", "answers.f1", "citations.precision", "refusal.answerable_refused",
                   "latency_ms.total.p95"):
        assert metric in result.stdout
    assert "Evaluating seed_gold" in result.stderr  # the progress bar
    report = folder / "report"
    assert sorted(p.name for p in report.iterdir()) == sorted(REPORT_FILES)
    for png in (name for name in REPORT_FILES if name.endswith(".png")):
        assert (report / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((report / "eval.json").read_text())
    assert data["questions"] == len(data["per_question"]) == 9 and data["metrics"]["retrieval"]["hit@5"] > 0
    markdown = (report / "report.md").read_text()
    assert "# Evaluation: seed_gold" in markdown and "| retrieval.hit@1 |" in markdown
    assert "## How far to trust the confidence" in markdown and "![reliability](reliability.png)" in markdown
    failed = [q for q in data["per_question"] if q["failure"]]
    assert failed, "the sample holds unanswerable questions the extractive answerer does not all refuse"
    assert all(f"{q['failure']}: {q['id']}" in markdown for q in failed)


def test_eval_indexes_the_corpus_apart_from_the_users_index(run):
    folder, _ = run
    home = folder / "home"
    assert not (home / "CURRENT").exists()  # the user's index was never created
    assert [p.parent.name for p in (home / "eval").glob("seeds-*/index")] != []


def test_json_summary_from_the_users_index(seed_home):
    """Without --corpus, the questions go to the index RAG_HOME names."""
    result = rag("eval", SEED_GOLD, "--limit", "3", "--json", home=seed_home)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["questions"], summary["answerer"], summary["k"]) == (3, "extractive", 5)
    assert summary["metrics"]["retrieval"]["hit@5"] == 1.0
    assert "Evaluating" not in result.stderr  # no progress bar around machine-readable output


def test_compare_marks_a_regression(run, tmp_path):
    folder, _ = run
    before = folder / "report" / "eval.json"
    worse = json.loads(before.read_text())
    worse["metrics"]["retrieval"]["hit@1"] -= 0.25
    worse["metrics"]["refusal"]["answerable_refused"] += 0.25
    after = tmp_path / "after.json"
    after.write_text(json.dumps(worse))
    compared = rag("eval", "--compare", str(before), str(after), home=folder / "home")
    assert compared.returncode == 0, compared.stderr
    rows = {line.split()[0]: line.split()[1:] for line in compared.stdout.splitlines()[3:]}
    assert rows["retrieval.hit@1"][2:] == ["-0.250", "worse"]
    assert rows["refusal.answerable_refused"][2:] == ["+0.250", "worse"]
    assert len(rows["answers.correct"]) == 2  # the same figure twice, no change shown


def test_usage_errors_exit_1_with_one_line(tmp_path):
    both = rag("eval", SEED_GOLD, "--compare", SEED_GOLD, SEED_GOLD, home=tmp_path)
    empty_index = rag("eval", SEED_GOLD, home=tmp_path / "none")
    not_gold = rag("eval", "seeds", home=tmp_path)
    not_runs = rag("eval", "--compare", SEED_GOLD, SEED_GOLD, home=tmp_path)
    for result, message in [(both, "not both"), (empty_index, "run `rag ingest` first"),
                            (not_gold, "not of ClapNQ dev or the SQuAD 2.0 sample"),
                            (not_runs, "cannot compare")]:
        assert result.returncode == 1
        assert message in result.stderr and "Traceback" not in result.stderr


def test_an_unknown_answerer_is_a_usage_error(seed_home):
    result = rag("eval", SEED_GOLD, "--limit", "1", "--answerer", "nonsense", home=seed_home)
    assert result.returncode == 1 and "unknown answerer 'nonsense'" in result.stderr


def test_a_report_folder_that_cannot_be_written_exits_1_with_one_line(seed_home, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    folder = tmp_path / "a-file" / "report"
    result = rag("eval", SEED_GOLD, "--limit", "1", "--report", str(folder), home=seed_home)
    assert result.returncode == 1
    assert f"cannot write the report to {folder}" in result.stderr and "Traceback" not in result.stderr
