"""The `rag` command as a user runs it: real processes, exit codes, no tracebacks."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import make_pptx

pytestmark = pytest.mark.slow  # every test starts `rag` processes (a fresh interpreter: seconds each)
RAG = [sys.executable, "-m", "rag.cli"] if not shutil.which("rag") else [shutil.which("rag")]
ROOT = Path(__file__).resolve().parents[1]


def run(*args, home, cwd=ROOT, **variables):
    env = {**os.environ, "RAG_HOME": str(home), **variables}
    return subprocess.run([*RAG, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_ask_json_prints_the_answer_dict(seed_home):
    result = run("ask", "Who founded DeepSeek?", "--json", home=seed_home)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert "Liang Wenfeng" in data["answer"] and not data["refused"]
    assert data["citations"][0]["quote"] in data["answer"]


def test_ask_prints_answer_then_numbered_sources(seed_home):
    result = run("ask", "How much market value did Nvidia lose?", home=seed_home)
    assert result.returncode == 0, result.stderr
    answer, sources = result.stdout.split("\nSources:\n")
    assert "600 billion" in answer
    assert "[1]" in sources or "[2]" in sources
    assert "deepseek-wake-up-call-market-reaction.txt" in sources


def test_sources_name_the_slide_they_are_on(tmp_path):
    make_pptx(tmp_path / "deck.pptx")
    assert run("ingest", str(tmp_path / "deck.pptx"), home=tmp_path / "home").returncode == 0
    result = run("ask", "What does the east pier need?", home=tmp_path / "home")
    assert "deck.pptx \u203a slide 1 (chars " in result.stdout, result.stdout


def test_errors_are_one_line_without_traceback(seed_home, tmp_path):
    for args, home, variables, message in [
        (("ask", "   "), seed_home, {}, "the question is empty"),
        (("ask", "x" * 4001), seed_home, {}, "too long"),
        (("ask", "Who founded DeepSeek?"), tmp_path / "none", {}, "run `rag ingest` first"),
        (("ask", "Who founded DeepSeek?", "--answerer", "oracle"), seed_home, {}, "unknown answerer 'oracle'"),
        (("ingest", str(tmp_path)), tmp_path / "none", {"RAG_K": "0"}, "invalid RAG_K"),
    ]:
        result = run(*args, home=home, **variables)
        assert result.returncode == 1
        assert message in result.stderr
        assert "Traceback" not in result.stderr


def test_the_old_name_generator_is_gone(seed_home):
    """One name for each thing: `--answerer`, RAG_ANSWERER and the "answerer" key only."""
    result = subprocess.run([*RAG, "ask", "Who founded DeepSeek?", "--json", "--generator", "extractive"],
                            cwd=ROOT, env={**os.environ, "RAG_HOME": str(seed_home)},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "No such option '--generator'" in result.stderr


def test_ingest_json_reports_and_exit_codes(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text("The lighthouse keeper lit the lamp every evening at dusk.")
    home = tmp_path / "home"
    first = run("ingest", str(docs), "--json", home=home)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["added"] == 1 and report["chunks_embedded"] == 1 and report["errors"] == []
    assert {"documents", "updated", "removed", "unchanged", "chunks_total", "seconds"} <= set(report)

    (docs / "empty.txt").write_bytes(b"")
    second = run("ingest", str(docs), "--json", home=home)
    assert second.returncode == 2
    report = json.loads(second.stdout)
    assert report["chunks_embedded"] == 0 and report["unchanged"] == 1
    assert report["errors"] == [{"source": str(docs / "empty.txt"), "error": "empty file"}]

    usage = run("ingest", "--no-such-option", home=home)
    assert usage.returncode == 1 and "Traceback" not in usage.stderr


def test_ingest_counts_skipped_files_by_reason_and_warns_of_globs_matching_nothing(tmp_path):
    docs = tmp_path / "docs"
    (docs / "node_modules" / "x").mkdir(parents=True)
    (docs / "guide.md").write_text("# Guide\n\nThe lighthouse keeper lit the lamp every evening at dusk.\n")
    (docs / "node_modules" / "x" / "index.js").write_text("module.exports = 1;\n")
    for name in ("package-lock.json", "yarn.lock"):
        (docs / name).write_text("{}\n")
    result = run("ingest", str(docs), "--exclude", "*.pdf", home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    assert "skipped 3: 2 lock file, 1 vendored packages" in result.stdout.splitlines()
    assert "warning: --exclude *.pdf matched no file" in result.stderr.splitlines()
